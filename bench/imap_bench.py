#!/usr/bin/python3
"""IMAP part of `make bench` (issue 8): ulak's imapd beside a private
Dovecot (Debian's dovecot-imapd; /work/shared/PEERS.md), both on loopback,
each serving an identical copy of one Maildir whose INBOX holds N
(default 10,000) varied messages of a few KB, generated here with a fixed
random seed (plain text, quoted-printable UTF-8, multipart/alternative,
attachments in base64, RFC 2047 subjects and names, replies).

Both servers are spoken to the same way: implicit TLS (ulak's imaps on
BASE+993, Dovecot's imaps listener, both with ulak init's certificate),
or plaintext on both with --plain.  A minimal raw-socket client sends each
command and reads until its tagged reply, so the time is the server's
(plus the same socket and TLS cost for both), not imaplib's parsing.

Phases (time of each command, per server, and ratio ulak/Dovecot: a time
ratio, so lower is better for ulak; target <= 1.5):
  select        SELECT INBOX
  fetch         FETCH 1:* (FLAGS ENVELOPE)
  search        UID SEARCH HEADER Subject "<word in ~1% of subjects>"
each measured
  cold          in the first session of each server: both build their
                index then (ulak: ulak-uidlist; Dovecot: dovecot-uidlist,
                dovecot.index, and its cache during FETCH)
  warm          best of R later sessions (min, and the max), after the
                folder has been left alone for 3.5 s (both servers rescan
                a Maildir whose directories changed in the last seconds)
Memory per idle session: S sessions logged in with INBOX selected, then
idle; RSS growth of ulak's imapd process(es) / S (target < 256 KiB), and
for Dovecot the growth of the summed PSS of its processes / S, for the
10,000-message INBOX and for a small one (user "small", 20 messages).

Needs root (Dovecot's master); Dovecot's userdb uses the uid ulak init
gave its mail users (mail_owner's), so nothing belongs to uid 0.
Call run_imap_bench(build_dir) from bench/bench.py; it returns
{"select-cold": (ulak_s, dovecot_s), ..., "idle-kib": (ulak, dovecot),
"idle-small-kib": (...)}.
Standalone: bench/imap_bench.py [--build DIR] [--messages N] [--runs R]
  [--sessions S] [--plain] [--keep]
"""
import argparse
import base64
import os
import pathlib
import random
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
PASSWORD = "benchpass"
TIMEOUT = 300
SEED = 8
NEEDLE = "quarterly"
SMALL_MESSAGES = 20

# ---------------------------------------------------------------- messages

FIRST = ["Anna", "Ben", "Chloé", "David", "Emre", "Fatma", "Georg", "Hana",
         "Ivan", "Jürgen", "Kemal", "Lena", "Marta", "Nils", "Olga", "Pavel",
         "Rosa", "Selin", "Tomás", "Ulla", "Vera", "Wim", "Yusuf", "Zoë"]
LAST = ["Adams", "Baker", "Çelik", "Dubois", "Eriksson", "Fischer", "García",
        "Hoffmann", "Ivanova", "Jensen", "Kaya", "López", "Müller", "Novak",
        "Öztürk", "Petrov", "Rossi", "Schmidt", "Tanaka", "Yılmaz"]
DOMAINS = ["example.org", "example.net", "lists.example.com", "mail.test",
           "corp.example", "university.example.edu"]
WORDS = ("project meeting review draft report budget team update schedule "
         "release notes plan proposal agenda minutes feedback question "
         "answer issue ticket server backup migration design document "
         "invoice order shipment delivery contract offer price travel "
         "conference workshop lunch dinner weekend holiday photos family "
         "birthday party reminder deadline status summary analysis data "
         "results figures chart slides presentation demo launch customer "
         "support request access account password security patch version "
         "build test bug fix merge branch commit deploy monitoring alert "
         "network storage database cluster cache latency throughput").split()
UTF8_WORDS = ["Grüße", "Überblick", "größer", "çalışma", "toplantı",
              "résumé", "café", "naïve", "Ålborg", "İstanbul", "żółw"]


def _enc_word(text):
    """RFC 2047 encoded-word (B) of a UTF-8 text."""
    return "=?UTF-8?B?" + base64.b64encode(text.encode()).decode() + "?="


def _name(rng):
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _addr(rng, name=None):
    name = name or _name(rng)
    local = name.split()[0].lower().encode("ascii", "ignore").decode() \
        or "user"
    local += "." + name.split()[1].lower().encode("ascii", "ignore") \
        .decode()
    dom = rng.choice(DOMAINS)
    if all(ord(c) < 128 for c in name):
        if rng.random() < 0.3:
            return f"{local}@{dom}"
        return f"\"{name}\" <{local}@{dom}>" if rng.random() < 0.2 \
            else f"{name} <{local}@{dom}>"
    return f"{_enc_word(name)} <{local}@{dom}>"


def _sentence(rng, words=None):
    n = rng.randint(6, 16)
    w = [rng.choice(words or WORDS) for _ in range(n)]
    return " ".join(w).capitalize() + "."


def _paragraphs(rng, size, utf8=False):
    out = []
    total = 0
    while total < size:
        words = WORDS + (UTF8_WORDS if utf8 else [])
        p = " ".join(_sentence(rng, words) for _ in range(rng.randint(2, 6)))
        # wrap at ~72 columns
        line, lines = "", []
        for w in p.split():
            if len(line) + len(w) + 1 > 72:
                lines.append(line)
                line = w
            else:
                line = f"{line} {w}" if line else w
        lines.append(line)
        text = "\n".join(lines) + "\n\n"
        out.append(text)
        total += len(text.encode())
    return "".join(out)


def _qp(text):
    import quopri
    return quopri.encodestring(text.encode()).decode()


def _b64_lines(data):
    b = base64.b64encode(data).decode()
    return "\n".join(b[i:i + 76] for i in range(0, len(b), 76)) + "\n"


def make_messages(n, seed=SEED):
    """N varied messages (bytes, LF line ends as `local` writes them) and
    the number whose Subject holds NEEDLE."""
    rng = random.Random(seed)
    msgs = []
    hits = 0
    t0 = 1_700_000_000
    for i in range(n):
        date = time.strftime("%a, %d %b %Y %H:%M:%S +0000",
                             time.gmtime(t0 + i * 600 + rng.randint(0, 599)))
        frm = _addr(rng)
        to = ", ".join(_addr(rng) for _ in range(rng.randint(1, 3)))
        words = [rng.choice(WORDS) for _ in range(rng.randint(3, 8))]
        if rng.random() < 0.01:
            words.insert(rng.randint(0, len(words)), NEEDLE)
        subj = " ".join(words).capitalize()
        has_needle = NEEDLE in subj.lower()
        if rng.random() < 0.25:
            subj = "Re: " + subj
        if rng.random() < 0.1 and not has_needle:
            subj = _enc_word(subj + " " + rng.choice(UTF8_WORDS))
        hits += has_needle
        h = [f"Return-Path: <{frm.split('<')[-1].rstrip('>')}>",
             f"Received: from mx{rng.randint(1, 9)}.{rng.choice(DOMAINS)} "
             f"(mx.example [192.0.2.{rng.randint(1, 254)}])\n"
             f"\tby mail.example.test (ulak) with ESMTPS id "
             f"{rng.getrandbits(48):012X}\n\tfor <demo@example.test>; {date}",
             f"Date: {date}", f"From: {frm}", f"To: {to}"]
        if rng.random() < 0.3:
            h.append(f"Cc: {_addr(rng)}")
        h.append(f"Subject: {subj}")
        h.append(f"Message-ID: <{rng.getrandbits(64):x}.{i}@"
                 f"{rng.choice(DOMAINS)}>")
        if subj.startswith("Re: "):
            h.append(f"In-Reply-To: <{rng.getrandbits(64):x}@"
                     f"{rng.choice(DOMAINS)}>")
        h.append("MIME-Version: 1.0")
        kind = rng.random()
        size = rng.randint(800, 6000)
        if kind < 0.5:
            h.append("Content-Type: text/plain; charset=us-ascii")
            body = _paragraphs(rng, size)
        elif kind < 0.7:
            h.append("Content-Type: text/plain; charset=utf-8")
            h.append("Content-Transfer-Encoding: quoted-printable")
            body = _qp(_paragraphs(rng, size, utf8=True))
        elif kind < 0.9:
            b = f"=_alt_{rng.getrandbits(40):x}"
            h.append(f"Content-Type: multipart/alternative; "
                     f"boundary=\"{b}\"")
            text = _paragraphs(rng, size // 2)
            html = "<html><body>" + "".join(
                f"<p>{p}</p>\n" for p in text.split("\n\n") if p) + \
                "</body></html>\n"
            body = (f"This is a multi-part message in MIME format.\n\n"
                    f"--{b}\nContent-Type: text/plain; charset=us-ascii\n\n"
                    f"{text}\n--{b}\nContent-Type: text/html; "
                    f"charset=us-ascii\n\n{html}\n--{b}--\n")
        else:
            b = f"=_mix_{rng.getrandbits(40):x}"
            h.append(f"Content-Type: multipart/mixed; boundary=\"{b}\"")
            text = _paragraphs(rng, size // 3)
            blob = rng.randbytes(rng.randint(500, 3000))
            fname = f"{rng.choice(WORDS)}-{i}.pdf"
            body = (f"--{b}\nContent-Type: text/plain; charset=utf-8\n"
                    f"Content-Transfer-Encoding: 8bit\n\n{text}\n"
                    f"--{b}\nContent-Type: application/pdf; "
                    f"name=\"{fname}\"\nContent-Transfer-Encoding: base64\n"
                    f"Content-Disposition: attachment; "
                    f"filename=\"{fname}\"\n\n{_b64_lines(blob)}--{b}--\n")
        msgs.append(("\n".join(h) + "\n\n" + body).encode())
    return msgs, hits


def fill_maildir(md, msgs, uid, gid, new_count, seed=SEED):
    """Write MSGS: the last NEW_COUNT into new/, the others into cur/
    with varied flags (most read); file times are the messages' order."""
    rng = random.Random(seed + 1)
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(md, sub), exist_ok=True)
    t = 1_700_000_000
    for i, m in enumerate(msgs):
        base = f"{t + i * 600}.M{i}P{1000 + i}Q{i}.bench,S={len(m)}"
        if i >= len(msgs) - new_count:
            path = os.path.join(md, "new", base)
        else:
            fl = ""
            r = rng.random()
            if r < 0.05:
                fl += "F"
            if rng.random() < 0.15:
                fl += "R"
            if rng.random() < 0.9:
                fl += "S"
            path = os.path.join(md, "cur", f"{base}:2,{fl}")
        with open(path, "wb") as f:
            f.write(m)
        os.utime(path, (t + i * 600, t + i * 600))
    if os.getuid() == 0:
        for dirpath, dirs, files in os.walk(md):
            os.chown(dirpath, uid, gid)
            for f in files:
                os.chown(os.path.join(dirpath, f), uid, gid)


# ------------------------------------------------------------ raw client

class Client:
    """A minimal IMAP client: one command at a time, reads up to the
    tagged reply; no parsing beyond that."""

    def __init__(self, port, tls):
        s = socket.create_connection(("127.0.0.1", port), TIMEOUT)
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            s = ctx.wrap_socket(s)
        self.s = s
        self.n = 0
        self.buf = b""
        self._until(lambda b: b.endswith(b"\r\n"))
        if not self.buf.startswith(b"* OK"):
            raise RuntimeError(f"port {port}: greeting {self.buf[:80]!r}")

    def _until(self, done):
        while not done(self.buf):
            d = self.s.recv(1 << 20)
            if not d:
                raise RuntimeError("connection closed")
            self.buf += d

    def cmd(self, text):
        """Send TEXT, return (seconds, whole answer)."""
        self.n += 1
        tag = b"b%d" % self.n
        self.buf = b""
        t0 = time.monotonic()
        self.s.sendall(tag + b" " + text.encode() + b"\r\n")
        chunks = []
        tail = b""
        total = 0
        while True:
            d = self.s.recv(1 << 20)
            if not d:
                raise RuntimeError("connection closed")
            chunks.append(d)
            total += len(d)
            tail = (tail + d)[-4096:]
            if tail.endswith(b"\r\n"):
                parts = tail[:-2].rsplit(b"\r\n", 1)
                if parts[-1].startswith(tag + b" ") and (
                        len(parts) > 1 or total == len(tail)):
                    break
        dt = time.monotonic() - t0
        data = b"".join(chunks)
        last = data[:-2].rsplit(b"\r\n", 1)[-1]
        if not last.startswith(tag + b" OK"):
            raise RuntimeError(f"{text!r}: {last[:200]!r}")
        return dt, data

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


# ---------------------------------------------------------------- servers

from benchnet import free_base as _free_base  # noqa: E402
from benchnet import free_port as _free_port  # noqa: E402


def _wait_port(port, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), 2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


def _proc_argv(pid):
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
    except OSError:
        return []


def _status_kib(pid, key):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kib(pid):
    try:
        for line in open(f"/proc/{pid}/smaps_rollup"):
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Ulak:
    def __init__(self, build, root, tls):
        self.bin = os.path.join(build, "ulak")
        self.dir = os.path.join(root, "ulak")
        self.base = _free_base()
        self.tls = tls
        self.port = self.base + (993 if tls else 143)
        r = subprocess.run([self.bin, "init", self.dir, "--ports",
                            str(self.base), "--user", f"demo:{PASSWORD}",
                            "--user", f"small:{PASSWORD}"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("ulak init failed: " + r.stderr)
        if not tls:
            self.ulak("conf", "-e", "imapd_tls_auth_only=no")
        # The idle-session phase opens more than the default 50
        # connections from 127.0.0.1 (Dovecot: mail_max_userip_connections).
        self.ulak("conf", "-e", "imapd_client_connection_count_limit=0")
        self.users = {}
        for line in open(os.path.join(self.dir, "users")):
            f = line.split(":")
            if len(f) >= 6:
                self.users[f[0]] = (int(f[2]), int(f[3]),
                                    os.path.join(f[5], "Maildir"))
        self.uid, self.gid, self.maildir = self.users["demo"]
        self.cert = os.path.join(self.dir, "tls", "cert.pem")
        self.key = os.path.join(self.dir, "tls", "key.pem")

    def ulak(self, *args):
        return subprocess.run([self.bin, "-c", self.dir, *args],
                              capture_output=True, text=True)

    def start(self):
        r = self.ulak("start")
        if r.returncode != 0:
            raise RuntimeError("ulak start failed: " + r.stderr)
        _wait_port(self.port)

    def stop(self):
        self.ulak("stop")
        deadline = time.monotonic() + 30
        while self.pids() and time.monotonic() < deadline:
            time.sleep(0.1)

    def pids(self):
        out = []
        for e in os.listdir("/proc"):
            if e.isdigit():
                argv = _proc_argv(e)
                if argv and argv[0].endswith(b"/imapd") and \
                        self.dir.encode() in argv:
                    out.append(int(e))
        return out

    def memory_kib(self):
        return sum(_status_kib(p, "VmRSS") for p in self.pids())


class Dovecot:
    """A private Dovecot on loopback (PEERS.md), IMAP only."""

    def __init__(self, root, uid, gid, cert, key, tls):
        self.dir = os.path.join(root, "dovecot")
        self.port = _free_port()
        self.tls = tls
        self.proc = None
        for sub in ("run", "state", "mail"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        self.uid, self.gid = uid, gid
        self.maildirs = {u: os.path.join(self.dir, "mail", u, "Maildir")
                         for u in ("demo", "small")}
        self.maildir = self.maildirs["demo"]
        with open(os.path.join(self.dir, "users"), "w") as f:
            for u in self.maildirs:
                f.write(f"{u}:{PASSWORD}::::::\n")
        d = self.dir
        listener = (f"inet_listener imap {{\n    port = 0\n  }}\n"
                    f"  inet_listener imaps {{\n    address = 127.0.0.1\n"
                    f"    port = {self.port}\n    ssl = yes\n  }}"
                    if tls else
                    f"inet_listener imap {{\n    address = 127.0.0.1\n"
                    f"    port = {self.port}\n  }}\n"
                    f"  inet_listener imaps {{\n    port = 0\n  }}")
        ssl_conf = (f"ssl = required\nssl_cert = <{cert}\nssl_key = <{key}"
                    if tls else "ssl = no\ndisable_plaintext_auth = no")
        conf = f"""
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
listen = 127.0.0.1
protocols = imap
{ssl_conf}
auth_mechanisms = plain
mail_location = maildir:{d}/mail/%u/Maildir
first_valid_uid = {uid}
last_valid_uid = 0
first_valid_gid = {gid}
default_internal_user = dovecot
default_login_user = dovenull
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {d}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/mail/%u
}}
service imap-login {{
  {listener}
}}
service imap {{
  process_limit = 4096
}}
protocol imap {{
  mail_max_userip_connections = 100000
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
        if os.getuid() == 0:
            for u in self.maildirs:
                home = os.path.join(d, "mail", u)
                os.makedirs(home, exist_ok=True)
                os.chown(home, uid, gid)

    def start(self):
        self.log = open(os.path.join(self.dir, "stdout.log"), "w")
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", self.conf],
                                     stdout=self.log, stderr=self.log)
        try:
            _wait_port(self.port)
        except RuntimeError:
            self.stop()
            p = os.path.join(self.dir, "dovecot.log")
            raise RuntimeError("dovecot did not start: " + (
                open(p).read()[-2000:] if os.path.exists(p) else ""))

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def pids(self):
        """Every process of this Dovecot (its master's descendants)."""
        if self.proc is None:
            return []
        kids = {}
        for e in os.listdir("/proc"):
            if not e.isdigit():
                continue
            try:
                stat = open(f"/proc/{e}/stat").read()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            kids.setdefault(ppid, []).append(int(e))
        out, todo = [], [self.proc.pid]
        while todo:
            p = todo.pop()
            out.append(p)
            todo.extend(kids.get(p, []))
        return out

    def memory_kib(self):
        return sum(_pss_kib(p) for p in self.pids())


# ---------------------------------------------------------------- phases

def session(port, tls, user, n_expected):
    """One timed session: {phase: seconds}, plus the search hit count."""
    c = Client(port, tls)
    try:
        c.cmd(f'LOGIN {user} "{PASSWORD}"')
        t_sel, data = c.cmd("SELECT INBOX")
        if f"* {n_expected} EXISTS".encode() not in data:
            raise RuntimeError(f"port {port}: SELECT: {data[:300]!r}")
        t_fetch, data = c.cmd("FETCH 1:* (FLAGS ENVELOPE)")
        got = data.count(b" FETCH (")
        if got != n_expected:
            raise RuntimeError(f"port {port}: FETCH gave {got} of "
                               f"{n_expected}")
        t_search, data = c.cmd(f'UID SEARCH HEADER Subject "{NEEDLE}"')
        line = data.split(b"\r\n", 1)[0]
        hits = len(line.split()) - 2
        c.cmd("LOGOUT")
    finally:
        c.close()
    return {"select": t_sel, "fetch": t_fetch, "search": t_search}, hits


def idle_memory(srv, port, tls, user, count):
    """KiB per idle session (logged in, INBOX selected)."""
    clients = []
    try:
        # One session first, so that one-time costs (index build, caches,
        # the first TLS context use) are not counted per session.
        first = Client(port, tls)
        first.cmd(f'LOGIN {user} "{PASSWORD}"')
        first.cmd("SELECT INBOX")
        clients.append(first)
        time.sleep(0.5)
        before = srv.memory_kib()
        for _ in range(count):
            c = Client(port, tls)
            c.cmd(f'LOGIN {user} "{PASSWORD}"')
            c.cmd("SELECT INBOX")
            clients.append(c)
        time.sleep(1.0)
        after = srv.memory_kib()
    finally:
        for c in clients:
            c.close()
    return (after - before) / count


def run_imap_bench(build, root=None, messages=10000, runs=5, sessions=50,
                   tls=True, keep=False, out=print):
    """Run every IMAP phase; returns {phase: (ulak, dovecot)}."""
    if os.getuid() != 0:
        raise RuntimeError("imap_bench needs root (Dovecot's master)")
    own_root = root is None
    if own_root:
        root = tempfile.mkdtemp(prefix="ulak-imap-bench-")
    os.chmod(root, 0o755)
    u = Ulak(build, root, tls)
    dv = Dovecot(root, u.uid, u.gid, u.cert, u.key, tls)
    msgs, expect_hits = make_messages(messages)
    new_count = min(100, messages // 10)
    fill_maildir(u.maildir, msgs, u.uid, u.gid, new_count)
    fill_maildir(dv.maildir, msgs, u.uid, u.gid, new_count)
    small = msgs[:SMALL_MESSAGES]
    fill_maildir(u.users["small"][2], small, u.uid, u.gid, 2)
    fill_maildir(dv.maildirs["small"], small, u.uid, u.gid, 2)
    results = {}
    try:
        u.start()
        dv.start()
        cold_u, hits_u = session(u.port, tls, "demo", messages)
        cold_d, hits_d = session(dv.port, tls, "demo", messages)
        if hits_u != hits_d or hits_u != expect_hits:
            out(f"# warning: SEARCH hits ulak {hits_u}, dovecot {hits_d}, "
                f"generated {expect_hits}")
        # Warm: the folder unchanged for a few seconds, as after any pause
        # in real use.  Both servers rescan a Maildir whose directories
        # changed within the last seconds (a change in the same clock
        # tick could hide behind an unchanged time); the cold sessions
        # just moved new/ to cur/.
        time.sleep(3.5)
        warm_u = [session(u.port, tls, "demo", messages)[0]
                  for _ in range(runs)]
        warm_d = [session(dv.port, tls, "demo", messages)[0]
                  for _ in range(runs)]
        out(f"# IMAP: INBOX of {messages} messages "
            f"({sum(map(len, msgs)) // messages} bytes on average), "
            f"{'implicit TLS' if tls else 'plaintext'} on loopback; "
            f"{expect_hits} SEARCH hits; times in ms; ratio = time "
            f"ulak/dovecot (lower is better for ulak, target <= 1.5)")
        for ph in ("select", "fetch", "search"):
            results[f"{ph}-cold"] = (cold_u[ph], cold_d[ph])
            tu = sorted(r[ph] for r in warm_u)
            td = sorted(r[ph] for r in warm_d)
            results[f"{ph}-warm"] = (tu[0], td[0])
            out(f"imap-{ph + '-cold':<13} ulak {cold_u[ph] * 1e3:8.1f}   "
                f"dovecot {cold_d[ph] * 1e3:8.1f}   ratio "
                f"{cold_u[ph] / cold_d[ph]:5.2f}")
            out(f"imap-{ph + '-warm':<13} ulak {tu[0] * 1e3:8.1f} "
                f"(max {tu[-1] * 1e3:.1f})   dovecot {td[0] * 1e3:8.1f} "
                f"(max {td[-1] * 1e3:.1f})   ratio {tu[0] / td[0]:5.2f}")
        # Memory in a fresh imapd (a process's RSS does not shrink after
        # the FETCH buffers, the header cache and the views of the phases
        # above are freed: reused, that memory would hide the sessions'),
        # and the small INBOX first for the same reason.
        if sessions > 0:
            u.stop()
            u.start()
        for user, label in ((("small", f"{SMALL_MESSAGES} msgs"),
                             ("demo", f"{messages} msgs"))
                            if sessions > 0 else ()):
            mu = idle_memory(u, u.port, tls, user, sessions)
            md = idle_memory(dv, dv.port, tls, user, sessions)
            key = "idle-kib" if user == "demo" else "idle-small-kib"
            results[key] = (mu, md)
            out(f"imap-idle ({label:<11}) {sessions} sessions, INBOX "
                f"selected: ulak imapd {mu:7.1f} KiB/session (RSS; target "
                f"< 256)   dovecot {md:7.1f} KiB/session (PSS)")
    finally:
        u.stop()
        dv.stop()
        if own_root and not keep:
            shutil.rmtree(root, ignore_errors=True)
        elif keep:
            out(f"# kept {root}")
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=str(HERE.parent / "build"))
    ap.add_argument("--messages", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sessions", type=int, default=50)
    ap.add_argument("--plain", action="store_true",
                    help="no TLS on either server")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    run_imap_bench(os.path.abspath(args.build), messages=args.messages,
                   runs=args.runs, sessions=args.sessions,
                   tls=not args.plain, keep=args.keep)


if __name__ == "__main__":
    main()
