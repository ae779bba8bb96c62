"""Test helpers for qmgr: a fake delivery agent / bounce service speaking
the daemon protocol of docs/protocols.md on a Unix socket under
$queue_directory/private/, and a way to mark recipients in a queue file
as a real agent does.

Only for tests; the real agents are src/local, src/smtp and src/bounce.
"""
import os
import pathlib
import socket
import threading
import time

from ulak_queue import escape, unescape


def mark_offsets(path):
    """Byte offsets of each recipient's done-mark in queue file PATH."""
    data = pathlib.Path(path).read_bytes()
    offsets = []
    pos = 0
    while True:
        end = data.index(b"\n", pos)
        line = data[pos:end]
        if line == b"":
            break
        if line.startswith(b"done="):
            offsets.append(pos + 5)
        pos = end + 1
    return offsets


def mark(path, index, mark_byte=b"D"):
    """Set recipient INDEX's done-mark in queue file PATH (durably)."""
    off = mark_offsets(path)[index]
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, mark_byte, off)
        os.fsync(fd)
    finally:
        os.close(fd)


def marks(path):
    data = pathlib.Path(path).read_bytes()
    return "".join(chr(data[o]) for o in mark_offsets(path))


def parse_request(raw):
    """Attribute lines (bytes, without the empty line) -> list of pairs."""
    out = []
    for line in raw.split(b"\n"):
        n, _, v = line.partition(b"=")
        out.append((n.decode(), unescape(v).decode("utf-8",
                                                    "surrogateescape")))
    return out


class Request:
    def __init__(self, pairs):
        self.pairs = pairs
        self.attrs = {}
        for n, v in pairs:
            self.attrs.setdefault(n, v)
        self.rcpts = [int(v) for n, v in pairs if n == "rcpt"]

    def __getitem__(self, k):
        return self.attrs[k]

    def get(self, k, default=None):
        return self.attrs.get(k, default)


class FakeService:
    """A Unix-socket server at QUEUE/private/NAME.  HANDLER(service, req)
    returns the reply as a list of (name, value) pairs, or None to close
    the connection without a reply.  Every request is kept in .requests;
    .active counts connections being served, .max_active the most at once.
    """

    def __init__(self, queue, name, handler, uid=None, gid=None):
        self.queue = pathlib.Path(queue)
        self.name = name
        self.path = self.queue / "private" / name
        self.handler = handler
        self.requests = []
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        self.stopping = False
        if self.path.exists():
            self.path.unlink()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(self.path))
        if uid is not None:
            os.chown(self.path, uid, gid)
        self.sock.listen(200)
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,),
                             daemon=True).start()

    def _serve(self, c):
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        rest = b""
        try:
            c.settimeout(30)
            while True:
                while b"\n\n" not in rest:
                    got = c.recv(65536)
                    if not got:
                        return
                    rest += got
                raw, _, rest = rest.partition(b"\n\n")
                req = Request(parse_request(raw))
                with self.lock:
                    self.requests.append(req)
                reply = self.handler(self, req)
                if reply is None:
                    return
                out = b"".join(n.encode() + b"=" + escape(v) + b"\n"
                               for n, v in reply) + b"\n"
                c.sendall(out)
        except OSError:
            pass
        finally:
            with self.lock:
                self.active -= 1
            c.close()

    def close(self):
        self.stopping = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


def agent_handler(outcome):
    """A delivery-agent handler: OUTCOME(req, index) -> (dsn, text) for
    each recipient; a 2.x.x outcome marks the recipient D first."""
    def handler(svc, req):
        qfile = svc.queue / req["queue_file"]
        reply = [("status", "0")]
        for i in req.rcpts:
            dsn, text = outcome(req, i)
            if dsn.startswith("2"):
                mark(qfile, i, b"D")
            reply.append(("result", f"{i} {dsn} {text}"))
        return reply
    return handler


def bounce_handler(status="0"):
    def handler(svc, req):
        if status == "0":
            return [("status", "0")]
        return [("status", status), ("dsn", "4.3.0"),
                ("reason", "cannot queue the notice")]
    return handler


def wait_for(cond, timeout=15.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = cond()
        if r:
            return r
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")
