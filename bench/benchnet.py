"""Loopback helpers shared by the benchmarks: free ports and waiting for a
server's greeting.  Only 127.0.0.1 is ever used."""
import random
import socket
import time

# The listener offsets of an instance written by `ulak init --ports BASE`.
INSTANCE_OFFSETS = (25, 110, 143, 465, 587, 993, 995)


def free_port():
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_base():
    """A port base whose instance listeners are all free on 127.0.0.1."""
    for _ in range(200):
        base = random.randrange(20000, 60000, 10)
        socks = []
        try:
            for off in INSTANCE_OFFSETS:
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", base + off))
            return base
        except OSError:
            pass
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free ports")


def wait_greeting(port, prefix=b"", timeout=30):
    """Poll until 127.0.0.1:PORT accepts and, with PREFIX, greets with it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), 2) as s:
                if not prefix or s.recv(100).startswith(prefix):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"no greeting on port {port}")
