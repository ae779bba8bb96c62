"""smtpd's client rate limits (Postfix's smtpd_client_*_rate_limit with
anvil_rate_time_unit): for each limit N events are allowed, the N+1th is
refused with Postfix's reply and logged with Postfix's warning, clients
in smtpd_client_event_limit_exceptions are not limited, and the counts
start over after the time unit.  The test client is put outside
mynetworks and connects from 127.0.0.2 (`ulak start` probes the port
from 127.0.0.1: those connections count for another key); the time unit
is 2 seconds."""
import re
import socket
import ssl
import time

import pytest

import smtpraw

UNIT = 2          # anvil_rate_time_unit, seconds
HOST = "mail.example.test"
SRC = "127.0.0.2"
CLIENT = f"unknown[{SRC}]"
REMOTE = "someone@remote.example"


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def wait_for(cond, timeout=10, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def limited(instance, dns):
    """An instance whose test client is outside mynetworks (so not in
    smtpd_client_event_limit_exceptions either), with a short time unit
    and the test DNS server."""
    instance.set(mynetworks="192.0.2.0/24", dns_servers=dns.address,
                 dns_timeout="5s", smtpd_peername_lookup="no",
                 anvil_rate_time_unit=f"{UNIT}s",
                 smtpd_sasl_failure_delay="0")
    yield instance
    instance.stop()


def raw(port):
    """A raw SMTP client connected from SRC."""
    r = smtpraw.Raw.__new__(smtpraw.Raw)
    r.sock = socket.create_connection(("127.0.0.1", port), 10,
                                      source_address=(SRC, 0))
    r.buf = b""
    return r


def greeted(port):
    """A raw client that got the 220 greeting."""
    r = raw(port)
    code, lines = r.reply()
    assert code == 220, lines
    return r


def session(port):
    r = greeted(port)
    r.expect("EHLO client.example.net", 250)
    return r


def starttls(port):
    """Greeting, EHLO, STARTTLS and the handshake; returns the client."""
    r = session(port)
    r.expect("STARTTLS", 220)
    r.sock = tls_context().wrap_socket(r.sock)
    return r


def service(inst, name="smtp"):
    """The master.cf service name of `ulak init` (host:port), as logged."""
    return f"127.0.0.1:{inst.ports[name]}"


def warned(inst, text):
    try:
        wait_for(lambda: f"warning: {text}" in inst.log(), timeout=5)
    except AssertionError:
        tail = "\n".join(inst.log().splitlines()[-15:])
        raise AssertionError(f"no log line {text!r}; log ends:\n{tail}")


# ---- smtpd_client_connection_rate_limit ----

def test_connection_rate_limit(limited):
    limited.set(smtpd_client_connection_rate_limit="3")
    limited.start()
    port = limited.ports["smtp"]
    for _ in range(3):
        r = greeted(port)
        r.expect("QUIT", 221)
        r.close()
    r = raw(port)
    code, lines = r.reply()
    assert lines == [f"421 4.7.0 {HOST} Error: too many connections from "
                     f"{SRC}"], lines
    assert r.closed()
    warned(limited, f"Connection rate limit exceeded: 4 from {CLIENT} for "
           "service "
           f"{service(limited)}")
    # Another service (another smtpd process) keeps its own counts.
    greeted(limited.ports["submission"]).close()

    # A new time unit: greeted again.
    def again():
        r = raw(port)
        code, _ = r.reply()
        r.close()
        return code == 220
    t0 = time.monotonic()
    wait_for(again, timeout=UNIT + 5, what="a new time unit")
    assert time.monotonic() - t0 < UNIT + 2


@pytest.mark.parametrize("params", [
    {"smtpd_client_event_limit_exceptions": "127.0.0.0/8"},
    {"mynetworks": "127.0.0.0/8"},    # the default exceptions: $mynetworks
    {"smtpd_client_event_limit_exceptions": "192.0.2.1, [::1]/128, "
     "!127.0.0.3, 127.0.0.0/8"},
])
def test_exceptions_not_limited(limited, params):
    limited.set(smtpd_client_connection_rate_limit="1",
                smtpd_client_message_rate_limit="1",
                smtpd_client_recipient_rate_limit="1",
                smtpd_client_auth_rate_limit="1", **params)
    limited.start()
    for _ in range(4):
        r = session(limited.ports["smtp"])
        for _ in range(2):
            r.expect(f"MAIL FROM:<{REMOTE}>", 250)
            r.expect(f"RCPT TO:<{limited.user}@{limited.domain}>", 250)
            r.expect("RSET", 250)
        r.expect("QUIT", 221)
        r.close()
    assert "rate limit exceeded" not in limited.log()


# ---- smtpd_client_message_rate_limit ----

def test_message_rate_limit(limited):
    limited.set(smtpd_client_message_rate_limit="2")
    limited.start()
    r = session(limited.ports["smtp"])
    # Counted whether accepted or not: a refused MAIL counts too
    # (reject_unauth_local_sender: our own domain from outside).
    r.expect(f"MAIL FROM:<forged@{limited.domain}>", 553)
    r.expect(f"MAIL FROM:<{REMOTE}>", 250)
    r.expect("RSET", 250)
    code, lines = r.cmd(f"MAIL FROM:<{REMOTE}>")
    assert lines == [f"450 4.7.1 Error: too much mail from {SRC}"], lines
    warned(limited, "Message delivery request rate limit exceeded: 3 from "
           f"{CLIENT} for service "
           f"{service(limited)}")
    # The session goes on; a new connection is limited just the same.
    r2 = session(limited.ports["smtp"])
    assert r2.cmd(f"MAIL FROM:<{REMOTE}>")[0] == 450
    r2.close()
    wait_for(lambda: r.cmd(f"MAIL FROM:<{REMOTE}>")[0] == 250,
             timeout=UNIT + 5, what="a new time unit")
    r.expect(f"RCPT TO:<{limited.user}@{limited.domain}>", 250)
    r.close()


# ---- smtpd_client_recipient_rate_limit ----

def test_recipient_rate_limit(limited):
    limited.set(smtpd_client_recipient_rate_limit="2")
    limited.start()
    r = session(limited.ports["smtp"])
    r.expect(f"MAIL FROM:<{REMOTE}>", 250)
    rcpt = f"RCPT TO:<{limited.user}@{limited.domain}>"
    r.expect(rcpt, 250)
    r.expect("RCPT TO:<nobody@elsewhere.example>", 554)   # counts too
    code, lines = r.cmd(rcpt)
    assert lines == [f"450 4.7.1 Error: too many recipients from {SRC}"], \
        lines
    warned(limited, "Recipient address rate limit exceeded: 3 from "
           f"{CLIENT} for service "
           f"{service(limited)}")
    assert "NOQUEUE" not in "".join(
        ln for ln in limited.log().splitlines() if "too many recip" in ln)
    wait_for(lambda: r.cmd(rcpt)[0] == 250, timeout=UNIT + 5,
             what="a new time unit")
    r.expect("DATA", 354)
    r.send("Subject: rate\r\n\r\nafter the unit\r\n.\r\n")
    assert r.reply()[0] == 250
    r.close()


# ---- smtpd_client_auth_rate_limit ----

def test_auth_rate_limit(limited):
    limited.set(smtpd_client_auth_rate_limit="2")
    limited.start()
    r = starttls(limited.ports["smtp"])
    r.expect("EHLO client.example.net", 250)
    r.expect("AUTH NOSUCH", 504)
    r.expect("AUTH NOSUCH", 504)
    code, lines = r.cmd("AUTH PLAIN")
    assert lines == ["450 4.7.1 Error: too many AUTH commands from "
                     f"{SRC}"], lines
    warned(limited, f"AUTH command rate limit exceeded: 3 from {CLIENT} "
           "for service "
           f"{service(limited)}")
    wait_for(lambda: r.cmd("AUTH NOSUCH")[0] == 504, timeout=UNIT + 5,
             what="a new time unit")
    r.close()


# ---- smtpd_client_new_tls_session_rate_limit ----

def test_new_tls_session_rate_limit(limited):
    limited.set(smtpd_client_new_tls_session_rate_limit="1")
    limited.start()
    port = limited.ports["smtp"]
    r = starttls(port)
    r.expect("EHLO client.example.net", 250)
    r.close()
    # The second new session is refused once it exists ...
    r = starttls(port)
    code, lines = r.reply()
    assert lines == [f"421 4.7.0 {HOST} Error: too many new TLS sessions "
                     f"from {CLIENT}"], lines
    assert r.closed()
    warned(limited, f"New TLS session rate limit exceeded: 2 from {CLIENT} "
           "for service "
           f"{service(limited)}")
    # ... and a third is not even started.
    r = session(port)
    code, lines = r.cmd("STARTTLS")
    assert lines == ["454 4.7.0 Error: too many new TLS sessions from "
                     f"{CLIENT}"], lines
    r.expect("QUIT", 221)
    warned(limited, f"Refusing STARTTLS request from {CLIENT} for service "
           f"{service(limited)}")

    def again():
        r = session(port)
        ok = r.cmd("STARTTLS")[0] == 220
        r.close()
        return ok
    wait_for(again, timeout=UNIT + 5, what="a new time unit")


def test_new_tls_session_rate_limit_wrapper_mode(limited):
    limited.set(smtpd_client_new_tls_session_rate_limit="1")
    limited.start()
    port = limited.ports["submissions"]
    limited.wait_port(port)

    def tls_greeting():
        r = raw(port)
        r.sock = tls_context().wrap_socket(r.sock)
        return r, r.reply()
    r, (code, _) = tls_greeting()
    assert code == 220
    r.close()
    r, (code, lines) = tls_greeting()
    assert lines == [f"421 4.7.0 {HOST} Error: too many new TLS sessions "
                     f"from {CLIENT}"], lines
    r.close()
    # Refused before any handshake: the connection is simply closed.
    with pytest.raises((ssl.SSLError, ConnectionError, EOFError, OSError)):
        tls_greeting()
    warned(limited, f"Refusing TLS service request from {CLIENT} for "
           "service "
           f"{service(limited, 'submissions')}")


# ---- the count limit is still there, with the same exceptions ----

def test_connection_count_limit(limited):
    limited.set(smtpd_client_connection_count_limit="2")
    limited.start()
    port = limited.ports["smtp"]
    held = [greeted(port), greeted(port)]
    r = raw(port)
    assert r.reply()[1] == [f"421 4.7.0 {HOST} Error: too many connections "
                            f"from {SRC}"]
    warned(limited, f"Connection concurrency limit exceeded: 3 from {CLIENT} "
           "for service "
           f"{service(limited)}")
    for h in held:
        h.close()
    assert not re.search(r"rate limit exceeded", limited.log())
