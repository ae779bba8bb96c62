"""The smtp agent under master (`ulak start`): smtplib -> smtpd ->
cleanup -> qmgr -> smtp -> a scriptable SMTP server.  Deferral with a
reason `ulak queue` shows, delivery after `ulak queue flush`, a bounce
for a 5xx reply that reaches the sender, routing through transport_maps
and an MX from the test DNS server."""
import mailbox
import smtplib
import socket
import time

import pytest

from smtpsink import Sink


def wait_for(cond, timeout=30.0, what="condition", inst=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = cond()
        if r:
            return r
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}" +
                         (f"\nlog:\n{inst.log()}" if inst else ""))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def send(inst, sender, rcpt, subject):
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30) as s:
        s.sendmail(sender, [rcpt], f"Subject: {subject}\r\nFrom: {sender}"
                   f"\r\nTo: {rcpt}\r\n\r\nbody of {subject}\r\n")


def maildir(inst, user):
    try:
        box = mailbox.Maildir(str(inst.dir / "home" / user / "Maildir"),
                              create=False)
        return [box.get_bytes(k) for k in box.keys()]
    except (FileNotFoundError, mailbox.Error):
        return []


@pytest.fixture
def sinks():
    made = []
    yield made
    for s in made:
        s.stop()


def test_deferred_reason_then_flush(running, sinks):
    port = free_port()
    running.set(relayhost=f"[127.0.0.1]:{port}",
                minimal_backoff_time="300s", maximal_backoff_time="600s")
    running.run("reload")
    send(running, "demo@example.test", "bob@remote.test", "deferred")
    q = wait_for(lambda: "Connection refused" in running.run("queue").stdout
                 and running.run("queue").stdout, what="deferral in queue",
                 inst=running)
    assert f"connect to 127.0.0.1[127.0.0.1]:{port}: Connection refused" \
        in q
    assert "bob@remote.test" in q
    sink = Sink("127.0.0.1", port).start()
    sinks.append(sink)
    r = running.run("queue", "flush")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: sink.messages, what="delivery after flush",
             inst=running)
    assert sink.messages[0].rcpts == ["TO:<bob@remote.test>"]
    assert b"Subject: deferred" in sink.messages[0].data
    wait_for(lambda: running.run("queue").stdout.strip() in
             ("", "Mail queue is empty"), what="empty queue", inst=running)


def test_5xx_bounces_to_the_sender(running, sinks):
    port = free_port()
    sink = Sink("127.0.0.1", port)
    sink.rcpt_reply = lambda line: "550 5.1.1 <nobody@remote.test>: " \
        "Recipient address rejected: User unknown"
    sink.start()
    sinks.append(sink)
    running.set(relayhost=f"[127.0.0.1]:{port}")
    running.run("reload")
    send(running, "demo@example.test", "nobody@remote.test", "will bounce")
    msgs = wait_for(lambda: maildir(running, "demo"), what="bounce notice",
                    inst=running)
    text = msgs[0].decode("utf-8", "replace")
    assert "nobody@remote.test" in text
    assert "550 5.1.1" in text
    assert "Subject: will bounce" in text      # the returned headers
    assert not sink.messages
    assert "status=bounced" in running.log()


def test_transport_maps_and_mx_routing(running, sinks, dns):
    port = free_port()
    mx = Sink("127.0.0.1", port).start()
    sinks.append(mx)
    other = Sink("127.0.0.1").start()
    sinks.append(other)
    dns.add("mxroute.test", "MX", "10 mx.mxroute.test")
    dns.add("mx.mxroute.test", "A", "127.0.0.1")
    (running.dir / "transport").write_text(
        f"special.test smtp:[127.0.0.1]:{other.port}\n")
    r = running.run("map", f"hash:{running.dir}/transport")
    assert r.returncode == 0, r.stderr
    running.set(dns_servers=dns.address, smtp_tcp_port=port,
                transport_maps=f"hash:{running.dir}/transport")
    running.run("reload")
    send(running, "demo@example.test", "a@mxroute.test", "by mx")
    send(running, "demo@example.test", "b@special.test", "by transport")
    wait_for(lambda: mx.messages and other.messages, what="both delivered",
             inst=running)
    assert mx.messages[0].rcpts == ["TO:<a@mxroute.test>"]
    assert other.messages[0].rcpts == ["TO:<b@special.test>"]
    # The sent lines are logged once the recipients are marked done,
    # just after the sinks said 250.
    wait_for(lambda: f"relay=mx.mxroute.test[127.0.0.1]:{port}" in
             running.log() and f"relay=127.0.0.1[127.0.0.1]:{other.port}"
             in running.log(), what="both sent log lines", inst=running)
