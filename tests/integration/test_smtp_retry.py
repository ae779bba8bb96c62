"""Retries with back-off and the bounce after maximal_queue_lifetime, with
the real smtp agent under master: a destination that refuses connections
is tried again and again at growing intervals, gets the mail once it
listens, and a message that never gets through comes back to its sender
with 5.4.7 after its lifetime."""
import re
import time

from smtpsink import Sink
from test_smtp_e2e import free_port, maildir, send, wait_for


def attempts(inst, rcpt):
    """Times (log order) of the deferral lines for RCPT."""
    return [line for line in inst.log().splitlines()
            if f"to=<{rcpt}>" in line and "status=deferred" in line]


def test_retry_with_backoff_until_delivered(running):
    port = free_port()
    running.set(relayhost=f"[127.0.0.1]:{port}", minimal_backoff_time="1s",
                maximal_backoff_time="4s", queue_run_delay="1s")
    running.run("reload")
    t0 = time.monotonic()
    send(running, "demo@example.test", "bob@remote.test", "retried")
    # Three deferrals: the first attempt and two retries.
    wait_for(lambda: len(attempts(running, "bob@remote.test")) >= 3,
             timeout=40, what="three attempts", inst=running)
    elapsed = time.monotonic() - t0
    # Back-off as Postfix: the pause is the message's age, at least
    # minimal_backoff_time (1 s) and at most maximal_backoff_time, so the
    # third attempt cannot come before 1 s + 1 s.  The queue shows the
    # message as deferred with the reason.
    assert elapsed >= 1.9, elapsed
    q = running.run("queue").stdout
    assert "Connection refused" in q and "bob@remote.test" in q
    sink = Sink("127.0.0.1", port).start()
    try:
        # No flush: the next scheduled retry delivers it.
        wait_for(lambda: sink.messages, timeout=30,
                 what="delivery on a later retry", inst=running)
        assert b"Subject: retried" in sink.messages[0].data
    finally:
        sink.stop()
    wait_for(lambda: "status=sent" in running.log(), what="sent log line",
             inst=running)


def test_bounce_after_maximal_queue_lifetime(running):
    port = free_port()
    running.set(relayhost=f"[127.0.0.1]:{port}", minimal_backoff_time="1s",
                maximal_backoff_time="1s", queue_run_delay="1s",
                maximal_queue_lifetime="4s")
    running.run("reload")
    send(running, "demo@example.test", "carol@remote.test", "expires")
    msgs = wait_for(lambda: maildir(running, "demo"), timeout=60,
                    what="expiry bounce", inst=running)
    text = msgs[0].decode("utf-8", "replace")
    assert "carol@remote.test" in text
    assert re.search(r"Status: 5\.4\.7", text), text
    assert "Connection refused" in text          # the last reason kept
    assert "Subject: expires" in text
    wait_for(lambda: running.run("queue").stdout.strip() in
             ("", "Mail queue is empty"), what="empty queue", inst=running)
