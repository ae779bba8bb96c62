#!/usr/bin/python3
"""POP3 part of `make bench`: UIDL + RETR of N messages from ulak's pop3d
and from a private Dovecot (docs: /work/shared/PEERS.md), both on loopback,
both serving a copy of the same Maildir, both without TLS (like with
like: ulak's bench instance sets pop3d_tls_auth_only = no, Dovecot
disable_plaintext_auth = no).

Call run_pop3_bench(build_dir) from bench/bench.py; it returns
{"pop3-cold": (ulak_seconds, dovecot_seconds), "pop3-warm": (...)} and
prints one line per phase:
  pop3-cold   the first session: each server also builds its index
              (ulak: UID list and sizes; Dovecot: dovecot.index, uidlist)
  pop3-warm   best of three later sessions
Each session: USER/PASS, UIDL, RETR of every message, QUIT (nothing is
deleted).  Needs root (Dovecot's master) and Debian's dovecot-pop3d.
Standalone: bench/pop3_bench.py [--build DIR] [--messages N] [--size B]
"""
import argparse
import os
import pathlib
import poplib
import pwd
import grp
import shutil
import signal
import subprocess
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
from benchnet import free_base as _free_base  # noqa: E402
from benchnet import free_port as _free_port  # noqa: E402
from benchnet import wait_greeting  # noqa: E402
PASSWORD = "benchpass"
TIMEOUT = 300


def make_messages(n, size):
    """N messages of about SIZE bytes, LF line ends (as local writes)."""
    msgs = []
    line = "Lorem ipsum dolor sit amet, consectetur adipiscing elit sed.\n"
    for i in range(n):
        head = (f"Return-Path: <bench@example.org>\nFrom: bench@example.org\n"
                f"To: demo@example.test\nSubject: bench message {i}\n"
                f"Message-ID: <{i}.bench@example.org>\n\n")
        body = line * max(1, (size - len(head)) // len(line))
        msgs.append((head + body).encode())
    return msgs


def fill_maildir(md, msgs, uid, gid):
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(md, sub), exist_ok=True)
    t = int(time.time())
    for i, m in enumerate(msgs):
        name = f"{t}.M{i}P1Q{i}.bench,S={len(m)}"
        with open(os.path.join(md, "new", name), "wb") as f:
            f.write(m)
    for dirpath, dirs, files in os.walk(md):
        os.chown(dirpath, uid, gid)
        for f in files:
            os.chown(os.path.join(dirpath, f), uid, gid)


def pop3_session(port, user, n):
    """One full download; returns seconds."""
    t0 = time.monotonic()
    p = poplib.POP3("127.0.0.1", port, timeout=TIMEOUT)
    p.user(user)
    p.pass_(PASSWORD)
    resp, lines, _ = p.uidl()
    if len(lines) != n:
        raise RuntimeError(f"port {port}: UIDL lists {len(lines)} of {n}")
    for i in range(1, n + 1):
        p.retr(i)
    p.quit()
    return time.monotonic() - t0


class UlakPop3:
    def __init__(self, build, root):
        self.bin = os.path.join(build, "ulak")
        self.dir = os.path.join(root, "ulak")
        self.base = _free_base()
        self.port = self.base + 110
        r = subprocess.run([self.bin, "init", self.dir, "--ports",
                            str(self.base), "--user", f"demo:{PASSWORD}"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("ulak init failed: " + r.stderr)
        # No TLS on either side: compare the mail store, not the cipher.
        self.ulak("conf", "-e", "pop3d_tls_auth_only=no")
        for line in open(os.path.join(self.dir, "users")):
            f = line.split(":")
            if f[0] == "demo":
                self.uid, self.gid = int(f[2]), int(f[3])
                self.maildir = os.path.join(f[5], "Maildir")

    def ulak(self, *args):
        return subprocess.run([self.bin, "-c", self.dir, *args],
                              capture_output=True, text=True)

    def start(self):
        r = self.ulak("start")
        if r.returncode != 0:
            raise RuntimeError("ulak start failed: " + r.stderr)
        _wait_pop3(self.port)

    def stop(self):
        self.ulak("stop")


class DovecotPeer:
    """A private Dovecot on loopback (POP3 and IMAP), per PEERS.md."""

    def __init__(self, root):
        self.dir = os.path.join(root, "dovecot")
        self.port = _free_port()
        self.imap_port = _free_port()
        self.proc = None
        for sub in ("run", "state", "mail"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        self.maildir = os.path.join(self.dir, "mail", "demo", "Maildir")
        self.uid = pwd.getpwnam("nobody").pw_uid
        self.gid = grp.getgrnam("nogroup").gr_gid
        with open(os.path.join(self.dir, "users"), "w") as f:
            f.write(f"demo:{PASSWORD}::::::\n")
        d = self.dir
        conf = f"""
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
listen = 127.0.0.1
protocols = imap pop3
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:{d}/mail/%u/Maildir
default_internal_user = dovecot
default_login_user = dovenull
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {d}/users
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={d}/mail/%u
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""
        self.conf = os.path.join(d, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        os.chmod(d, 0o755)
        os.chmod(os.path.join(d, "mail"), 0o755)

    def start(self):
        self.log = open(os.path.join(self.dir, "stdout.log"), "w")
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", self.conf],
                                     stdout=self.log, stderr=self.log)
        try:
            _wait_pop3(self.port)
        except RuntimeError:
            self.stop()
            raise RuntimeError("dovecot did not start: " + open(
                os.path.join(self.dir, "dovecot.log")).read()[-2000:]
                if os.path.exists(os.path.join(self.dir, "dovecot.log"))
                else "dovecot did not start")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def run_pop3_bench(build, root=None, messages=1000, size=4096, out=print):
    """Run the POP3 phases; returns {phase: (ulak_s, dovecot_s)}."""
    own_root = root is None
    if own_root:
        root = tempfile.mkdtemp(prefix="ulak-pop3-bench-")
        os.chmod(root, 0o755)
    u = UlakPop3(build, root)
    dv = DovecotPeer(root)
    msgs = make_messages(messages, size)
    fill_maildir(u.maildir, msgs, u.uid, u.gid)
    fill_maildir(dv.maildir, msgs, dv.uid, dv.gid)
    results = {}
    try:
        u.start()
        dv.start()
        cold = (pop3_session(u.port, "demo", messages),
                pop3_session(dv.port, "demo", messages))
        results["pop3-cold"] = cold
        warm_u = min(pop3_session(u.port, "demo", messages)
                     for _ in range(3))
        warm_d = min(pop3_session(dv.port, "demo", messages)
                     for _ in range(3))
        results["pop3-warm"] = (warm_u, warm_d)
        for name, (tu, td) in results.items():
            ratio = tu / td if td else float("nan")
            out(f"{name:<14} ulak {messages / tu:9.1f} msg/s   dovecot "
                f"{messages / td:9.1f} msg/s   time ratio ulak/dovecot "
                f"{ratio:5.2f} (target <= 1.5)")
    finally:
        u.stop()
        dv.stop()
        if own_root:
            shutil.rmtree(root, ignore_errors=True)
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=str(HERE.parent / "build"))
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--size", type=int, default=4096)
    args = ap.parse_args()
    print(f"# POP3: UIDL + RETR of {args.messages} messages of {args.size} "
          "bytes, loopback, no TLS")
    run_pop3_bench(os.path.abspath(args.build), messages=args.messages,
                   size=args.size)


if __name__ == "__main__":
    main()


def _wait_pop3(port, timeout=30):
    wait_greeting(port, b"+OK", timeout)
