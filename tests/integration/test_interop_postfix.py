"""Interop with a real Postfix (Debian's package, a private instance on a
loopback port, bench/postfix_peer.py), end to end through `ulak start`:

- ulak relays to Postfix through relayhost, and through an MX record
  served by the test DNS server (smtp_tcp_port = Postfix's port);
- Postfix relays to ulak (its relayhost is ulak's smtpd);
- STARTTLS each way, with a self-signed certificate made here.

The message bytes must arrive unchanged except for the trace headers
that the receiving side adds at the top."""
import email.utils
import mailbox
import os
import pathlib
import shutil
import smtplib
import subprocess
import sys
import time

import pytest

from conftest import SOURCE_DIR

sys.path.insert(0, str(SOURCE_DIR / "bench"))
from postfix_peer import PostfixPeer  # noqa: E402

pytestmark = pytest.mark.skipif(
    shutil.which("postfix") is None or os.geteuid() != 0,
    reason="needs the postfix package and root (Postfix starts as root)")

# Header fields MTAs add on the way: trace fields, and the DKIM signature
# ulak adds to mail it sends for its own domain (docs/dkim.md).
TRACE = (b"received:", b"return-path:", b"delivered-to:", b"x-original-to:",
         b"dkim-signature:")


def wait_for(cond, timeout=30.0, what="condition", logs=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = cond()
        if r:
            return r
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}\n" +
                         "\n".join(f() for f in logs))


def strip_trace(data):
    """The message without the trace header fields at its top."""
    lines = data.split(b"\n")
    i = 0
    while i < len(lines):
        low = lines[i].lower()
        if low.startswith(TRACE):
            i += 1
            while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
                i += 1
            continue
        break
    return b"\n".join(lines[i:])


def trace_headers(data):
    head = data.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    return head.decode("utf-8", "replace")


def message(subject, rcpt):
    return (f"Date: {email.utils.formatdate()}\r\n"
            f"Message-ID: <{subject.replace(' ', '.')}@example.test>\r\n"
            f"From: Jane <jane@example.test>\r\n"
            f"To: <{rcpt}>\r\n"
            f"Subject: {subject}\r\n"
            f"\r\n"
            f"Line one.\r\n"
            f".a line with a leading dot\r\n"
            f"\r\n"
            f"{'x' * 900}\r\n"
            f"last line\r\n").encode()


@pytest.fixture(scope="module")
def selfsigned():
    # Outside pytest's 0700 tree: Postfix's unprivileged processes and
    # ulak's daemons must reach it.
    import tempfile
    d = pathlib.Path(tempfile.mkdtemp(prefix="ulak-pfcert-"))
    yield from _selfsigned(d)
    shutil.rmtree(d, ignore_errors=True)


def _selfsigned(d):
    r = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-keyout", "key.pem", "-out", "cert.pem", "-days", "2", "-subj",
         "/CN=postfix.bench.test"], cwd=d, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    os.chmod(d, 0o755)
    for f in d.iterdir():
        f.chmod(0o644)
    yield d


class Peer(PostfixPeer):
    """PostfixPeer with STARTTLS offered (smtpd) and, when relaying,
    required (smtp)."""

    def __init__(self, root, port, cert_dir, relay_port=None,
                 smtp_level="encrypt"):
        super().__init__(root, port, relay_port=relay_port)
        self.cert_dir = cert_dir
        self.smtp_level = smtp_level

    def write_config(self):
        super().write_config()
        with open(os.path.join(self.root, "main.cf"), "a") as f:
            f.write(f"smtpd_tls_cert_file = {self.cert_dir}/cert.pem\n"
                    f"smtpd_tls_key_file = {self.cert_dir}/key.pem\n"
                    "smtpd_tls_security_level = may\n"
                    "smtpd_tls_received_header = yes\n"
                    f"smtp_tls_security_level = {self.smtp_level}\n"
                    "smtp_tls_loglevel = 1\n"
                    "smtpd_tls_loglevel = 1\n")

    def log(self):
        try:
            return pathlib.Path(self.root, "maillog").read_text(
                errors="replace")
        except FileNotFoundError:
            return ""

    def messages(self):
        out = []
        for sub in ("new", "cur"):
            p = pathlib.Path(self.maildir, sub)
            if p.exists():
                out += [f.read_bytes() for f in sorted(p.iterdir())]
        return out


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start_peer(root, cert_dir, **kw):
    """A started Peer; a port taken between the check and Postfix's bind
    (other tests run in parallel) makes `postfix start` fail: retry."""
    for attempt in range(3):
        root.mkdir(exist_ok=True)
        peer = Peer(str(root), free_port(), cert_dir, **kw)
        try:
            peer.start()
            return peer
        except (subprocess.CalledProcessError, RuntimeError):
            log = peer.log()
            peer.cleanup()
            if attempt == 2:
                raise AssertionError("postfix did not start:\n" + log)


@pytest.fixture
def postfix(daemon_tmp, selfsigned):
    peer = start_peer(daemon_tmp / "postfix", selfsigned)
    yield peer
    peer.cleanup()


def send_to_ulak(inst, rcpt, data):
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30) as s:
        s.sendmail("jane@example.test", [rcpt], data)


def check_arrived(got, data):
    body = strip_trace(got.replace(b"\r\n", b"\n"))
    assert body == data.replace(b"\r\n", b"\n"), (body, data)


def test_ulak_to_postfix_via_relayhost_with_starttls(running, postfix):
    running.set(relayhost=f"[127.0.0.1]:{postfix.port}",
                smtp_tls_security_level="encrypt")
    running.run("reload")
    data = message("via relayhost", "user@bench.test")
    send_to_ulak(running, "user@bench.test", data)
    msgs = wait_for(postfix.messages, what="mail at Postfix",
                    logs=(running.log, postfix.log))
    assert len(msgs) == 1
    check_arrived(msgs[0], data)
    trace = trace_headers(msgs[0])
    assert "with ESMTPS id" in trace, trace
    log = running.log()
    assert (f"TLS connection established to 127.0.0.1[127.0.0.1]:"
            f"{postfix.port}: TLSv1.") in log
    assert f"relay=127.0.0.1[127.0.0.1]:{postfix.port}" in log
    assert "status=sent (250 2.0.0 Ok: queued as" in log


def test_ulak_to_postfix_via_mx(running, postfix, dns):
    dns.add("bench.test", "MX", "10 pf.bench.test")
    dns.add("pf.bench.test", "A", "127.0.0.1")
    running.set(dns_servers=dns.address, smtp_tcp_port=postfix.port)
    running.run("reload")
    data = message("via mx", "user@bench.test")
    send_to_ulak(running, "user@bench.test", data)
    msgs = wait_for(postfix.messages, what="mail at Postfix",
                    logs=(running.log, postfix.log))
    check_arrived(msgs[0], data)
    assert (f"relay=pf.bench.test[127.0.0.1]:{postfix.port}" in
            running.log())
    assert ("bench.test", "MX") in dns.queries


def ulak_offers_starttls(inst):
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30) as s:
        s.ehlo("probe.test")
        return s.has_extn("starttls")


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "starttls"])
def test_postfix_to_ulak(running, daemon_tmp, selfsigned, tls):
    assert ulak_offers_starttls(running)
    peer = start_peer(daemon_tmp / "postfix-relay", selfsigned,
                      relay_port=running.ports["smtp"],
                      smtp_level="encrypt" if tls else "none")
    try:
        data = message("from postfix", "demo@example.test")
        with smtplib.SMTP("127.0.0.1", peer.port, timeout=30) as s:
            s.sendmail("jane@example.test", ["demo@example.test"], data)
        md = running.dir / "home" / "demo" / "Maildir"

        def arrived():
            try:
                box = mailbox.Maildir(str(md), create=False)
                return [box.get_bytes(k) for k in box.keys()]
            except (FileNotFoundError, mailbox.Error):
                return []
        msgs = wait_for(arrived, what="mail in demo's Maildir",
                        logs=(running.log, peer.log))
        assert len(msgs) == 1
        check_arrived(msgs[0], data)
        trace = trace_headers(msgs[0])
        assert "by postfix.bench.test (Postfix)" in trace, trace
        if tls:
            # ulak's own Received: says TLS.
            assert "with ESMTPS" in trace, trace
            assert "TLS connection established to 127.0.0.1" in peer.log()
    finally:
        peer.cleanup()
