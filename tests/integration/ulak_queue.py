"""Test helpers for the receiving side: a reader of queue files
(docs/queue-format.md), a client of the cleanup protocol
(docs/protocols.md) and a way to start a daemon by hand with its
listening Unix socket, as master would.

Only for tests; the C reader (queue_file.h) is the real one.
"""
import os
import pathlib
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time

from conftest import BUILD_DIR, free_port_base, run_ulak


def unescape(value):
    """Decode the %XX escapes of the daemon protocol / queue files."""
    return re.sub(rb"%([0-9A-F]{2})",
                  lambda m: bytes([int(m.group(1), 16)]), value)


def escape(value):
    """Encode bytes or str as a daemon-protocol value."""
    if isinstance(value, str):
        value = value.encode()
    out = bytearray()
    for b in value:
        if b == 0x25 or b < 0x20 or b == 0x7F:
            out += b"%%%02X" % b
        else:
            out.append(b)
    return bytes(out)


class QueueFile:
    """A parsed queue file: fields (dict of str), rcpts (list of dicts with
    rcpt/orcpt/notify/done), content (bytes), headers (list of (name,
    value) pairs of the content's header block, unfolded)."""

    def __init__(self, path):
        data = pathlib.Path(path).read_bytes()
        self.path = pathlib.Path(path)
        self.id = self.path.name
        lines = iter(data.split(b"\n"))
        pos = 0
        magic = next(lines)
        assert magic == b"ulak-queue-file 1", magic
        pos += len(magic) + 1
        self.fields = {}
        self.rcpts = []
        length = None
        for line in lines:
            pos += len(line) + 1
            if line == b"":
                break
            name, _, value = line.partition(b"=")
            name = name.decode()
            value = unescape(value).decode("utf-8", "surrogateescape")
            if name == "content_length":
                length = int(value)
            elif name == "rcpt":
                self.rcpts.append({"rcpt": value})
            elif name in ("orcpt", "notify", "done"):
                self.rcpts[-1][name] = value
            else:
                self.fields[name] = value
        assert length is not None
        self.content = data[pos:pos + length]
        assert data[pos + length:] == b"end=%020d\n" % length
        self.headers = []
        head = self.content.split(b"\r\n\r\n", 1)[0]
        for line in head.split(b"\r\n"):
            if line[:1] in (b" ", b"\t") and self.headers:
                n, v = self.headers[-1]
                self.headers[-1] = (n, v + "\r\n" + line.decode(
                    "utf-8", "surrogateescape"))
            elif b":" in line:
                n, _, v = line.partition(b":")
                self.headers.append((n.decode(), v.decode(
                    "utf-8", "surrogateescape").strip()))

    def header(self, name):
        """Values of every header NAME (case ignored)."""
        return [v for n, v in self.headers if n.lower() == name.lower()]

    @property
    def body(self):
        parts = self.content.split(b"\r\n\r\n", 1)
        return parts[1] if len(parts) == 2 else b""


def queue_files(qdir, folder="incoming"):
    """Queue files (not .tmp-*) in QDIR/FOLDER, sorted."""
    d = pathlib.Path(qdir) / folder
    return sorted(p for p in d.iterdir() if not p.name.startswith("."))


def all_files(qdir, folder="incoming"):
    return sorted(p.name for p in (pathlib.Path(qdir) / folder).iterdir())


def wait_for(cond, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = cond()
        if r:
            return r
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class CleanupClient:
    """One connection to cleanup speaking the cleanup protocol."""

    def __init__(self, path, timeout=30):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.rest = b""

    def request(self, *pairs):
        out = b""
        for n, v in pairs:
            out += n.encode() + b"=" + escape(v) + b"\n"
        self.sock.sendall(out + b"\n")

    def reply(self):
        while b"\n\n" not in self.rest and not self.rest.startswith(b"\n"):
            got = self.sock.recv(65536)
            if not got:
                raise EOFError("cleanup closed the connection")
            self.rest += got
        req, _, self.rest = self.rest.partition(b"\n\n")
        out = {}
        for line in req.split(b"\n"):
            n, _, v = line.partition(b"=")
            out[n.decode()] = unescape(v).decode()
        return out

    def open(self, sender, env=(), origin="smtpd"):
        """request=open; returns its reply."""
        self.request(("request", "open"), ("origin", origin),
                     ("sender", sender), *env)
        return self.reply()

    def send_message(self, sender, rcpts, content, env=(), chunk=4096,
                     end=True, origin="smtpd"):
        """Send one message; RCPTS are addresses or (address, orcpt,
        notify) tuples.  Returns the reply to request=end (or the failed
        reply to request=open), or None when not END."""
        r = self.open(sender, env, origin)
        if r["status"] != "0":
            return r
        self.open_reply = r
        for rc in rcpts:
            if isinstance(rc, str):
                rc = (rc,)
            pairs = [("request", "rcpt"), ("address", rc[0])]
            if len(rc) > 1 and rc[1]:
                pairs.append(("orcpt", rc[1]))
            if len(rc) > 2 and rc[2]:
                pairs.append(("notify", rc[2]))
            self.request(*pairs)
        if isinstance(content, str):
            content = content.encode()
        for i in range(0, len(content), chunk):
            part = content[i:i + chunk]
            self.sock.sendall(b"request=data\nlength=%d\n\n" % len(part) +
                              part)
        self.length = len(content)
        if not end:
            return None
        return self.end()

    def end(self, length=None):
        n = self.length if length is None else length
        self.sock.sendall(b"request=end\ncontent_length=%d\n\n" % n)
        return self.reply()

    def close(self):
        self.sock.close()


class ByHand:
    """An instance made by `ulak init` whose daemons the test starts by hand
    with a listening socket, as master would.  When the tests run as root
    the daemons drop to `nobody` (mail_owner), which owns the queue."""

    def __init__(self):
        self.top = pathlib.Path(tempfile.mkdtemp(prefix="ulak-cleanup-"))
        os.chmod(self.top, 0o755)
        self.dir = self.top / "inst"
        r = run_ulak(BUILD_DIR / "ulak", "init", self.dir, "--ports",
                     free_port_base())
        assert r.returncode == 0, r.stderr
        self.queue = self.dir / "queue"
        self.log = self.dir / "log" / "ulak.log"
        self.procs = {}
        self.socks = {}
        self.overrides = []
        self.as_root = os.geteuid() == 0
        if self.as_root:
            nobody = pwd.getpwnam("nobody")
            self.uid, self.gid = nobody.pw_uid, nobody.pw_gid
            for p in [self.queue, *self.queue.rglob("*"), self.dir / "log",
                      *(self.dir / "log").glob("*")]:
                os.chown(p, self.uid, self.gid)
            self.overrides = ["-o", "mail_owner=nobody"]

    def set(self, **params):
        r = run_ulak(BUILD_DIR / "ulak", "-c", self.dir, "conf", "-e",
                     *[f"{k}={v}" for k, v in params.items()])
        assert r.returncode == 0, r.stderr

    def socket_path(self, service):
        return self.queue / "private" / service

    def start(self, daemon, service=None, extra=(), preexec=None):
        service = service or daemon
        path = self.socket_path(service)
        if path.exists():
            path.unlink()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(str(path))
        s.listen(100)
        if self.as_root:
            os.chown(path, self.uid, self.gid)
        fd = s.fileno()
        if fd == 3:
            # "3<&3 3<&-" would close it: move it off descriptor 3 first.
            fd = os.dup(s.fileno())
            s.close()
            s = socket.socket(fileno=fd)
        env = dict(os.environ, ULAK_LISTEN_FDS="1")
        env.pop("ULAK_CONFIG_DIR", None)
        args = [str(BUILD_DIR / daemon), "-c", str(self.dir), "-n", service,
                "-t", "unix", *self.overrides, *extra]
        with open(self.top / f"stderr-{service}", "ab") as err:
            p = subprocess.Popen(
                ["/bin/bash", "-c", f'exec "$0" "$@" 3<&{fd} {fd}<&-',
                 *args],
                pass_fds=(fd,), env=env, stdout=subprocess.DEVNULL,
                stderr=err, preexec_fn=preexec)
        s.close()
        self.procs[service] = p
        return p

    def stop(self, service, sig=15):
        p = self.procs.pop(service, None)
        if p is None:
            return None
        if p.poll() is None:
            p.send_signal(sig)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        return p

    def logtext(self):
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def sanitizer_reports(self):
        """ASan/UBSan reports the daemons wrote on stderr."""
        out = []
        for f in self.top.glob("stderr-*"):
            text = f.read_text(errors="replace")
            if "runtime error" in text or "Sanitizer" in text:
                out.append(f"{f.name}:\n{text}")
        return out

    def close(self):
        for s in list(self.procs):
            self.stop(s)
        reports = self.sanitizer_reports()
        shutil.rmtree(self.top, ignore_errors=True)
        assert not reports, "\n".join(reports)

