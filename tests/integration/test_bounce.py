"""bounce, started by hand with cleanup: a queue file (made through
cleanup) and its bounce/ID or defer/ID log (written here as qmgr would,
docs/protocols.md "Bounce logs"), then request=notify; the notices that
cleanup queues in incoming/ are read with Python's email package."""
import email
import email.policy
import os
import socket

import pytest

from ulak_queue import ByHand, CleanupClient, QueueFile, escape, \
    queue_files, unescape, wait_for

HOST = "mail.example.test"
ORIGIN = "example.test"

MSG = ("From: Jane <jane@example.org>\r\n"
       "To: bob@example.test\r\n"
       "Subject: lunch\r\n"
       "Message-ID: <orig1@example.org>\r\n"
       "\r\n"
       "Shall we meet at noon?\r\n")


@pytest.fixture
def inst():
    i = ByHand()
    yield i
    i.close()


def start(inst, cleanup=True, extra=()):
    if cleanup:
        inst.start("cleanup")
        wait_for(lambda: inst.socket_path("cleanup").exists(),
                 what="cleanup socket")
    inst.start("bounce", extra=list(extra))
    wait_for(lambda: inst.socket_path("bounce").exists(),
             what="bounce socket")
    return inst


@pytest.fixture
def both(inst):
    return start(inst)


def own(inst, path):
    if inst.as_root:
        os.chown(path, inst.uid, inst.gid)


def queue_message(inst, sender="jane@example.org", rcpts=None, content=MSG,
                  env=(), folder="active"):
    """A message queued through cleanup, then moved to FOLDER as qmgr
    would; returns its queue ID."""
    if rcpts is None:
        rcpts = [("bob@example.test", "rfc822;Bob@example.test", "")]
    before = set(p.name for p in queue_files(inst.queue))
    c = CleanupClient(inst.socket_path("cleanup"))
    r = c.send_message(sender, rcpts, content, env=env)
    c.close()
    assert r["status"] == "0", r
    qid = r["queue_id"]
    assert qid not in before
    os.rename(inst.queue / "incoming" / qid, inst.queue / folder / qid)
    return qid


def write_log(inst, folder, qid, entries):
    """bounce/ID or defer/ID: ENTRIES are (index, address, action, dsn,
    reason) tuples."""
    path = inst.queue / folder / qid
    with open(path, "ab") as f:
        for idx, addr, action, dsn, reason in entries:
            f.write(b"rcpt=%d\naddress=%s\naction=%s\ndsn=%s\nreason=%s\n"
                    b"time=1700000000\n\n" % (
                        idx, escape(addr), escape(action), escape(dsn),
                        escape(reason)))
    own(inst, path)


class Bounce:
    """A connection to private/bounce."""

    def __init__(self, inst):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(str(inst.socket_path("bounce")))
        self.rest = b""

    def send(self, raw):
        self.sock.sendall(raw)

    def reply(self):
        while b"\n\n" not in self.rest:
            got = self.sock.recv(65536)
            if not got:
                raise EOFError("bounce closed the connection")
            self.rest += got
        req, _, self.rest = self.rest.partition(b"\n\n")
        out = {}
        for line in req.split(b"\n"):
            n, _, v = line.partition(b"=")
            out[n.decode()] = unescape(v).decode()
        return out

    def notify(self, qid, kind="failure", folder="active"):
        self.send(b"request=notify\nqueue_id=%s\nqueue_file=%s/%s\n"
                  b"kind=%s\n\n" % (qid.encode(), folder.encode(),
                                    qid.encode(), kind.encode()))
        return self.reply()

    def closed(self):
        """True when bounce closed the connection (without a reply)."""
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


def notify(inst, qid, kind="failure", folder="active"):
    b = Bounce(inst)
    try:
        return b.notify(qid, kind, folder)
    finally:
        b.close()


def new_notices(inst, exclude=()):
    """The queue files in incoming/ (the notices), as (QueueFile,
    email.message.Message)."""
    out = []
    for p in queue_files(inst.queue):
        if p.name in exclude:
            continue
        q = QueueFile(p)
        out.append((q, email.message_from_bytes(
            q.content, policy=email.policy.compat32)))
    return out


def parts(msg):
    """(text part, delivery-status part, original part) of a notice."""
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    p = msg.get_payload()
    assert len(p) == 3, [x.get_content_type() for x in p]
    assert p[0].get_content_type() == "text/plain"
    assert p[1].get_content_type() == "message/delivery-status"
    return p[0], p[1], p[2]


def status_groups(part):
    """Per-message fields and the list of per-recipient field groups."""
    groups = part.get_payload()
    return groups[0], groups[1:]


def test_failure_notice(both):
    qid = queue_message(both, rcpts=[
        ("bob@example.test", "rfc822;Bob@example.test", ""),
        ("carol@example.test", "", "never"),
        ("dave@example.test", "", "failure")],
        env=(("envid", "ENV-42"),))
    write_log(both, "bounce", qid, [
        (0, "bob@example.test", "failed", "5.1.1",
         'unknown user: "bob"'),
        (1, "carol@example.test", "failed", "5.1.1", "unknown user"),
        (2, "dave@example.test", "failed", "5.7.1",
         "host mx.example.net[192.0.2.5] said: 550 5.7.1 go away "
         "(in reply to RCPT TO command)")])
    r = notify(both, qid)
    assert r == {"status": "0"}
    notices = new_notices(both)
    assert len(notices) == 1
    q, msg = notices[0]
    # From the null sender, to the original sender.
    assert q.fields["sender"] == ""
    assert [x["rcpt"] for x in q.rcpts] == ["jane@example.org"]
    assert "flags" not in q.fields
    assert msg["From"] == f"MAILER-DAEMON@{HOST} (Mail Delivery System)"
    assert msg["To"] == "jane@example.org"
    assert msg["Subject"] == "Undelivered Mail Returned to Sender"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["Date"]
    # cleanup added the Message-ID.
    assert msg["Message-ID"] == f"<{q.id}@{HOST}>"
    text, status, orig = parts(msg)
    body = text.get_payload()
    assert f"This is the mail system at host {HOST}." in body
    assert '<bob@example.test>: unknown user: "bob"' in body
    assert "<dave@example.test>: host mx.example.net[192.0.2.5] said:" in \
        body
    # NOTIFY=NEVER: carol is not reported.
    assert "carol" not in body
    per_msg, rcpts = status_groups(status)
    assert per_msg["Reporting-MTA"] == f"dns; {HOST}"
    assert per_msg["X-Ulak-Queue-ID"] == qid
    assert per_msg["X-Ulak-Sender"] == "rfc822; jane@example.org"
    assert per_msg["Original-Envelope-Id"] == "ENV-42"
    assert per_msg["Arrival-Date"]
    assert len(rcpts) == 2
    bob, dave = rcpts
    assert bob["Final-Recipient"] == "rfc822; bob@example.test"
    assert bob["Original-Recipient"] == "rfc822;Bob@example.test"
    assert bob["Action"] == "failed"
    assert bob["Status"] == "5.1.1"
    assert bob["Diagnostic-Code"] == 'X-Ulak; unknown user: "bob"'
    assert bob["Last-Attempt-Date"]
    assert dave["Final-Recipient"] == "rfc822; dave@example.test"
    assert dave["Original-Recipient"] is None
    assert dave["Remote-MTA"] == "dns; mx.example.net"
    assert dave["Diagnostic-Code"] == "smtp; 550 5.7.1 go away"
    # The whole original comes back.
    assert orig.get_content_type() == "message/rfc822"
    inner = orig.get_payload()[0]
    assert inner["Subject"] == "lunch"
    assert inner["Message-ID"] == "<orig1@example.org>"
    assert inner.get_payload() == "Shall we meet at noon?\r\n"
    assert f"{qid}: sender non-delivery notification: {q.id}" in \
        both.logtext()


def test_ret_hdrs_and_size_limit(inst):
    start(inst, extra=["-o", "bounce_size_limit=500"])
    q1 = queue_message(inst, env=(("ret", "hdrs"),))
    big = MSG + "x" * 70 + "\r\n" * 1 + ("y" * 70 + "\r\n") * 20
    q2 = queue_message(inst, content=big)
    for qid in (q1, q2):
        write_log(inst, "bounce", qid, [(0, "bob@example.test", "failed",
                                         "5.1.1", "unknown user")])
        assert notify(inst, qid)["status"] == "0"
    notices = new_notices(inst)
    assert len(notices) == 2
    for q, msg in notices:
        text, status, orig = parts(msg)
        assert orig.get_content_type() == "text/rfc822-headers"
        payload = orig.get_payload()
        assert "Subject: lunch\r\n" in payload
        assert "Shall we meet" not in payload
        assert "yyyy" not in payload
    bodies = sorted(parts(m)[0].get_payload() for _, m in notices)
    assert sum("larger than 500 bytes" in b for b in bodies) == 1


def test_success_and_delay_notices(both):
    qid = queue_message(both, rcpts=[
        ("bob@example.test", "", "success"),
        ("carol@example.test", "", ""),
        ("dave@example.test", "", "success,delay")])
    write_log(both, "bounce", qid, [
        (0, "bob@example.test", "delivered", "2.0.0",
         "delivered to maildir"),
        # No NOTIFY=SUCCESS: no notice.
        (1, "carol@example.test", "delivered", "2.0.0",
         "delivered to maildir")])
    write_log(both, "defer", qid, [
        (2, "dave@example.test", "delayed", "4.4.1",
         "connect to mx.example.net[192.0.2.5]:25: Connection refused"),
        (2, "dave@example.test", "delayed", "4.4.1", "the last reason")])
    assert notify(both, qid, "success")["status"] == "0"
    notices = new_notices(both)
    assert len(notices) == 1
    q, msg = notices[0]
    assert msg["Subject"] == "Successful Mail Delivery Report"
    text, status, orig = parts(msg)
    _, rcpts = status_groups(status)
    assert [(r["Final-Recipient"], r["Action"], r["Status"])
            for r in rcpts] == [("rfc822; bob@example.test", "delivered",
                                 "2.0.0")]
    assert orig.get_content_type() == "text/rfc822-headers"

    assert notify(both, qid, "delay")["status"] == "0"
    delay = new_notices(both, exclude={q.id})
    assert len(delay) == 1
    q2, msg = delay[0]
    assert q2.fields["sender"] == ""
    assert msg["Subject"] == "Delayed Mail (still being retried)"
    text, status, orig = parts(msg)
    assert "WARNING ONLY" in text.get_payload()
    _, rcpts = status_groups(status)
    assert len(rcpts) == 1
    assert rcpts[0]["Action"] == "delayed"
    assert rcpts[0]["Status"] == "4.4.1"
    assert rcpts[0]["Diagnostic-Code"] == "X-Ulak; the last reason"
    assert rcpts[0]["Will-Retry-Until"]
    assert orig.get_content_type() == "text/rfc822-headers"


def test_delay_only_for_open_recipients(both):
    qid = queue_message(both)
    write_log(both, "defer", qid, [(0, "bob@example.test", "delayed",
                                    "4.4.1", "busy")])
    # Mark the recipient delivered in the queue file: no warning due.
    path = both.queue / "active" / qid
    data = path.read_bytes()
    i = data.index(b"done=-\n")
    with open(path, "r+b") as f:
        f.seek(i + 5)
        f.write(b"D")
    assert notify(both, qid, "delay")["status"] == "0"
    assert new_notices(both) == []


def test_notify_never_and_no_log(both):
    qid = queue_message(both, rcpts=[("bob@example.test", "", "never")])
    write_log(both, "bounce", qid, [(0, "bob@example.test", "failed",
                                     "5.1.1", "unknown user")])
    assert notify(both, qid)["status"] == "0"
    q2 = queue_message(both)
    # No bounce/ID at all: nothing is due.
    assert notify(both, q2)["status"] == "0"
    assert new_notices(both) == []


def test_no_bounce_for_a_bounce(inst):
    # Postfix's default notify_classes (no 2bounce): dropped, as Postfix.
    both = start(inst, extra=["-o", "notify_classes=resource,software"])
    qid = queue_message(both, sender="")
    write_log(both, "bounce", qid, [(0, "bob@example.test", "failed",
                                     "5.1.1", "unknown user")])
    assert notify(both, qid)["status"] == "0"
    assert new_notices(both) == []
    assert f"{qid}: undeliverable bounce discarded" in both.logtext()


def test_double_bounce_to_postmaster_by_default(both):
    qid = queue_message(both, sender="")
    write_log(both, "bounce", qid, [(0, "bob@example.test", "failed",
                                     "5.1.1", "unknown user")])
    assert notify(both, qid)["status"] == "0"
    assert len(new_notices(both)) == 1


def test_double_bounce_to_postmaster(inst):
    start(inst, extra=["-o", "notify_classes=2bounce"])
    qid = queue_message(inst, sender="")
    write_log(inst, "bounce", qid, [(0, "bob@example.test", "failed",
                                     "5.1.1", "unknown user")])
    assert notify(inst, qid)["status"] == "0"
    notices = new_notices(inst)
    assert len(notices) == 1
    q, msg = notices[0]
    assert q.fields["sender"] == "double-bounce@" + ORIGIN
    assert [x["rcpt"] for x in q.rcpts] == ["postmaster@" + ORIGIN]
    assert msg["To"] == "postmaster@" + ORIGIN
    assert msg["Subject"] == "Postmaster Copy: Undelivered Mail"
    text, status, orig = parts(msg)
    assert "null sender" in text.get_payload()
    assert orig.get_content_type() == "text/rfc822-headers"
    # The double bounce fails too: never a third notice.
    os.rename(inst.queue / "incoming" / q.id, inst.queue / "active" / q.id)
    write_log(inst, "bounce", q.id, [(0, "postmaster@" + ORIGIN, "failed",
                                      "5.1.1", "unknown user")])
    assert notify(inst, q.id)["status"] == "0"
    assert new_notices(inst) == []
    assert f"{q.id}: undeliverable postmaster notification discarded" in \
        inst.logtext()


def test_postmaster_copy(inst):
    start(inst, extra=["-o", "notify_classes=bounce,delay"])
    qid = queue_message(inst)
    write_log(inst, "bounce", qid, [(0, "bob@example.test", "failed",
                                     "5.1.1", "unknown user")])
    assert notify(inst, qid)["status"] == "0"
    notices = new_notices(inst)
    assert len(notices) == 2
    by_rcpt = {q.rcpts[0]["rcpt"]: (q, m) for q, m in notices}
    q, m = by_rcpt["jane@example.org"]
    assert q.fields["sender"] == ""
    assert parts(m)[2].get_content_type() == "message/rfc822"
    q, m = by_rcpt["postmaster@" + ORIGIN]
    assert q.fields["sender"] == "double-bounce@" + ORIGIN
    assert m["Subject"] == "Postmaster Copy: Undelivered Mail"
    assert parts(m)[2].get_content_type() == "text/rfc822-headers"


def test_eight_bit_original(both):
    content = ("From: jane@example.org\r\nSubject: caf\u00e9\r\n\r\n"
               "R\u00e9sum\u00e9 attached.\r\n").encode()
    qid = queue_message(both, content=content,
                        env=(("flags", "8bitmime"),))
    write_log(both, "bounce", qid, [(0, "bob@example.test", "failed",
                                     "5.1.1", "unknown user")])
    assert notify(both, qid)["status"] == "0"
    [(q, msg)] = new_notices(both)
    assert q.fields["flags"] == "8bitmime"
    assert msg["Content-Transfer-Encoding"] == "8bit"
    orig = parts(msg)[2]
    assert orig["Content-Transfer-Encoding"] == "8bit"
    assert "R\u00e9sum\u00e9".encode() in q.content


def test_smtputf8_sender(both):
    sender = "j\u00f6rg@example.org"
    qid = queue_message(both, sender=sender,
                        env=(("flags", "8bitmime,smtputf8"),))
    write_log(both, "bounce", qid, [(0, "bob@example.test", "failed",
                                     "5.1.1", "unknown user")])
    assert notify(both, qid)["status"] == "0"
    [(q, msg)] = new_notices(both)
    assert q.fields["flags"] == "8bitmime,smtputf8"
    assert [x["rcpt"] for x in q.rcpts] == [sender]
    assert b"To: " + sender.encode() + b"\r\n" in q.content


def test_cleanup_down_gives_status_4(inst):
    start(inst)
    qid = queue_message(inst)
    write_log(inst, "bounce", qid, [(0, "bob@example.test", "failed",
                                     "5.1.1", "unknown user")])
    inst.stop("cleanup")
    inst.socket_path("cleanup").unlink()
    r = notify(inst, qid)
    assert r["status"] == "4"
    assert r["dsn"] == "4.3.0"
    # Once cleanup is back, the same request succeeds.
    inst.start("cleanup")
    wait_for(lambda: inst.socket_path("cleanup").exists(), what="socket")
    assert notify(inst, qid)["status"] == "0"
    assert len(new_notices(inst)) == 1


def test_missing_queue_file_gives_status_4(both):
    qid = queue_message(both)
    os.unlink(both.queue / "active" / qid)
    r = notify(both, qid)
    assert r["status"] == "4"


def test_several_requests_on_one_connection(both):
    ids = []
    for _ in range(3):
        qid = queue_message(both)
        write_log(both, "bounce", qid, [(0, "bob@example.test", "failed",
                                         "5.1.1", "unknown user")])
        ids.append(qid)
    b = Bounce(both)
    for qid in ids:
        assert b.notify(qid) == {"status": "0"}
    b.close()
    assert len(new_notices(both)) == 3


@pytest.mark.parametrize("raw", [
    b"request=frobnicate\n\n",
    b"request=notify\nqueue_id=1GA4GC208J03NQK8N\nkind=failure\n\n",
    b"request=notify\nqueue_id=1GA4GC208J03NQK8N\n"
    b"queue_file=active/../../etc/passwd\nkind=failure\n\n",
    b"request=notify\nqueue_id=1GA4GC208J03NQK8N\n"
    b"queue_file=corrupt/1GA4GC208J03NQK8N\nkind=failure\n\n",
    b"request=notify\nqueue_id=1GA4GC208J03NQK8N\n"
    b"queue_file=active/1GA4GC208J03NQK8N\nkind=sometimes\n\n",
    b"request=notify\nqueue_id=../x\nqueue_file=active/../x\n"
    b"kind=failure\n\n",
    b"Bad Line\n\n",
])
def test_bad_requests_close_the_connection(both, raw):
    b = Bounce(both)
    b.send(raw)
    assert b.closed()
    b.close()
    # bounce still serves others.
    qid = queue_message(both)
    assert notify(both, qid)["status"] == "0"


def test_sigusr1_drains(both):
    qid = queue_message(both)
    write_log(both, "bounce", qid, [(0, "bob@example.test", "failed",
                                     "5.1.1", "unknown user")])
    # A first answer on each connection shows bounce is up (the socket
    # exists before it runs) and has accepted it.
    b = Bounce(both)
    idle = Bounce(both)
    assert b.notify(queue_message(both))["status"] == "0"
    assert idle.notify(queue_message(both))["status"] == "0"
    b.send(b"request=notify\nqueue_id=%s\n" % qid.encode())
    p = both.procs["bounce"]
    p.send_signal(10)
    # The request under way is finished, then bounce exits; the idle
    # connection is closed.
    assert idle.closed()
    b.send(b"queue_file=active/%s\nkind=failure\n\n" % qid.encode())
    assert b.reply() == {"status": "0"}
    assert p.wait(10) == 0
    assert len(new_notices(both)) == 1
    b.close()
    idle.close()


def test_sigterm_stops(both):
    assert notify(both, queue_message(both))["status"] == "0"
    p = both.procs["bounce"]
    p.terminate()
    assert p.wait(10) == 0


# End to end, under master (`ulak start`): smtpd -> cleanup -> qmgr ->
# local; the notice goes bounce -> cleanup -> qmgr -> local into the
# sender's Maildir.

FAST = dict(minimal_backoff_time="1s", maximal_backoff_time="2s",
            queue_run_delay="1s")


def maildir_reports(inst):
    import mailbox
    try:
        box = mailbox.Maildir(str(inst.dir / "home" / inst.user /
                                  "Maildir"), factory=None, create=False)
        return [m for m in box if m.get_content_type() ==
                "multipart/report"]
    except (FileNotFoundError, mailbox.Error):
        return []


@pytest.fixture
def e2e(instance):
    instance.set(**FAST)
    aliases = instance.dir / "aliases"
    aliases.write_text(aliases.read_text() +
                       'fail: "|echo no such thing here; exit 67"\n')
    r = instance.run("aliases")
    assert r.returncode == 0, r.stderr
    yield instance
    instance.stop()


def test_e2e_failing_command_bounces_to_sender(e2e):
    import smtplib
    e2e.start()
    sender = f"{e2e.user}@{e2e.hostname}"
    with smtplib.SMTP("127.0.0.1", e2e.ports["smtp"]) as s:
        s.sendmail(sender, [f"fail@{e2e.hostname}"],
                   "From: demo\r\nSubject: to a command\r\n"
                   "Message-ID: <e2e-bounce@example.test>\r\n\r\nhi\r\n",
                   mail_options=["ENVID=E2E-1"],
                   rcpt_options=["ORCPT=rfc822;fail@" + e2e.hostname])
    reports = wait_for(lambda: maildir_reports(e2e), timeout=30,
                       what="the bounce in the sender's Maildir")
    assert len(reports) == 1
    msg = reports[0]
    assert msg["Return-Path"] == "<>"
    assert msg["Subject"] == "Undelivered Mail Returned to Sender"
    assert msg["From"] == \
        f"MAILER-DAEMON@{e2e.hostname} (Mail Delivery System)"
    assert msg["To"] == sender
    text, status, orig = parts(msg)
    assert f"<fail@{e2e.hostname}>" in text.get_payload()
    assert "no such thing here" in text.get_payload()
    per_msg, rcpts = status_groups(status)
    assert per_msg["Original-Envelope-Id"] == "E2E-1"
    assert len(rcpts) == 1
    assert rcpts[0]["Final-Recipient"] == f"rfc822; fail@{e2e.hostname}"
    assert rcpts[0]["Original-Recipient"] == f"rfc822;fail@{e2e.hostname}"
    assert rcpts[0]["Action"] == "failed"
    assert rcpts[0]["Status"].startswith("5.")
    assert orig.get_content_type() == "message/rfc822"
    assert orig.get_payload()[0]["Message-ID"] == "<e2e-bounce@example.test>"
    assert ": sender non-delivery notification: " in e2e.log()


def test_e2e_success_notice(e2e):
    import smtplib
    e2e.start()
    me = f"{e2e.user}@{e2e.hostname}"
    with smtplib.SMTP("127.0.0.1", e2e.ports["smtp"]) as s:
        s.sendmail(me, [me], "Subject: tell me\r\n\r\nhi\r\n",
                   rcpt_options=["NOTIFY=SUCCESS"])
    reports = wait_for(lambda: maildir_reports(e2e), timeout=30,
                       what="the success notice")
    msg = reports[0]
    assert msg["Subject"] == "Successful Mail Delivery Report"
    _, rcpts = status_groups(parts(msg)[1])
    assert rcpts[0]["Action"] == "delivered"
    assert rcpts[0]["Status"].startswith("2.")


def test_e2e_double_bounce_to_postmaster(e2e):
    import smtplib
    e2e.set(notify_classes="resource, software, 2bounce")
    e2e.start()
    # A notice (null sender) that fails: postmaster (the demo user, by
    # alias) gets it; nothing goes back to <>.
    with smtplib.SMTP("127.0.0.1", e2e.ports["smtp"]) as s:
        s.sendmail("<>", [f"fail@{e2e.hostname}"],
                   "From: MAILER-DAEMON\r\nSubject: a notice\r\n\r\nx\r\n")
    reports = wait_for(lambda: maildir_reports(e2e), timeout=30,
                       what="the double bounce")
    msg = reports[0]
    assert msg["Subject"] == "Postmaster Copy: Undelivered Mail"
    assert msg["Return-Path"] == f"<double-bounce@{e2e.conf('myorigin')}>"
    assert parts(msg)[2].get_content_type() == "text/rfc822-headers"


def test_e2e_delay_warning(e2e):
    import smtplib
    aliases = e2e.dir / "aliases"
    aliases.write_text(aliases.read_text() +
                       'later: "|echo try again later; exit 75"\n')
    assert e2e.run("aliases").returncode == 0
    e2e.set(delay_warning_time="1s")
    e2e.start()
    me = f"{e2e.user}@{e2e.hostname}"
    with smtplib.SMTP("127.0.0.1", e2e.ports["smtp"]) as s:
        s.sendmail(me, [f"later@{e2e.hostname}"],
                   "Subject: slow\r\n\r\nhi\r\n")
    reports = wait_for(lambda: maildir_reports(e2e), timeout=30,
                       what="the delay warning")
    msg = reports[0]
    assert msg["Subject"] == "Delayed Mail (still being retried)"
    text, status, orig = parts(msg)
    assert "try again later" in text.get_payload()
    _, rcpts = status_groups(status)
    assert rcpts[0]["Final-Recipient"] == f"rfc822; later@{e2e.hostname}"
    assert rcpts[0]["Action"] == "delayed"
    assert rcpts[0]["Status"].startswith("4.")
    assert rcpts[0]["Will-Retry-Until"]
    assert orig.get_content_type() == "text/rfc822-headers"
    assert ": sender delay notification: " in e2e.log()
