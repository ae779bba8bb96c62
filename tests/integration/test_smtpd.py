"""smtpd, started by hand with its listening socket as master would, in
front of a real cleanup: every command and extension, pipelining, BDAT,
SIZE, DSN parameters in the queue file, the relay tricks, smuggling
attempts, unknown local users, the limits, and kill -9 at the worst
moments."""
import os
import signal
import smtplib
import socket
import subprocess
import time

import pytest

from conftest import BUILD_DIR
from smtpraw import Raw
from ulak_queue import ByHand, QueueFile, all_files, queue_files, wait_for

# Keep descriptor 3 taken, so that no listening socket of ours is fd 3
# (the start-up trick below moves it to fd 3).
_HOLD = os.open("/dev/null", os.O_RDONLY)

HOST = "mail.example.test"
USER = "demo@example.test"
SENDER = "jane@remote.example"


class Server:
    """cleanup + smtpd on an instance of `ulak init`."""

    def __init__(self):
        self.inst = ByHand()
        # No reverse DNS: the log names stay "unknown" whatever the
        # machine's resolver says about 127.0.0.1 (test_checks.py tests it).
        self.inst.set(smtpd_forbid_bare_newline="reject",
                      smtpd_forbid_bare_newline_exclusions="",
                      smtpd_error_sleep_time="0",
                      smtpd_peername_lookup="no")
        self.inst.start("cleanup")
        wait_for(lambda: self.inst.socket_path("cleanup").exists(),
                 what="cleanup socket")
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(1000)
        self.port = self.lsock.getsockname()[1]
        self.proc = None
        self.queue = self.inst.queue

    def start(self, **params):
        extra = []
        for k, v in params.items():
            extra += ["-o", f"{k}={v}"]
        fd = self.lsock.fileno()
        env = dict(os.environ, ULAK_LISTEN_FDS="1")
        env.pop("ULAK_CONFIG_DIR", None)
        args = [str(BUILD_DIR / "smtpd"), "-c", str(self.inst.dir),
                "-n", "smtp", "-t", "inet", *self.inst.overrides, *extra]
        with open(self.inst.top / "stderr-smtpd", "ab") as err:
            self.proc = subprocess.Popen(
                ["/bin/bash", "-c", f'exec "$0" "$@" 3<&{fd}', *args],
                pass_fds=(fd,), env=env, stdout=subprocess.DEVNULL,
                stderr=err)
        return self.proc

    def stop(self, sig=signal.SIGTERM):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
        p, self.proc = self.proc, None
        return p

    def restart(self, **params):
        self.stop()
        return self.start(**params)

    def client(self):
        r = Raw(self.port)
        code, lines = r.reply()
        assert code == 220, lines
        return r

    def smtp(self):
        return smtplib.SMTP("127.0.0.1", self.port, timeout=10)

    def log(self):
        return self.inst.logtext()

    def files(self):
        return queue_files(self.queue)

    def close(self):
        self.stop(signal.SIGKILL)
        self.lsock.close()
        reports = self.inst.sanitizer_reports()
        self.inst.close()
        assert not reports, "\n".join(reports)


@pytest.fixture
def srv():
    s = Server()
    s.start()
    yield s
    s.close()


def only_file(srv):
    files = wait_for(srv.files, what="queue file")
    assert len(files) == 1, files
    return QueueFile(files[0])


MSG = "Subject: test\r\nFrom: jane@remote.example\r\n\r\nHello.\r\n"


# Commands and extensions.

def test_banner_and_ehlo_keywords(srv):
    c = srv.smtp()
    code, msg = c.ehlo("client.example.net")
    assert code == 250
    lines = msg.decode().split("\n")
    assert lines[0] == HOST
    # No AUTH before TLS (smtpd_tls_auth_only = yes); test_tls_auth.py.
    assert lines[1:] == ["PIPELINING", "SIZE 10240000", "VRFY", "STARTTLS",
                         "ENHANCEDSTATUSCODES", "8BITMIME", "DSN",
                         "SMTPUTF8", "CHUNKING"]
    c.quit()
    r = Raw(srv.port)
    assert r.reply() == (220, [f"220 {HOST} ESMTP ulak"])
    r.close()


def test_basic_commands(srv):
    r = srv.client()
    assert r.expect("HELO client.example.net", 250) == f"250 {HOST}"
    assert r.expect("NOOP", 250) == "250 2.0.0 Ok"
    assert r.expect("RSET", 250) == "250 2.0.0 Ok"
    assert r.expect(f"VRFY {USER}", 252).startswith("252 2.0.0 ")
    assert r.expect("VRFY nosuch@example.test", 550) == \
        "550 5.1.1 <nosuch@example.test>: Recipient address rejected: " \
        "User unknown in local recipient table"
    assert r.expect("VRFY <bad", 501) == \
        "501 5.1.3 Bad recipient address syntax"
    assert r.expect("HELP", 214).startswith("214 2.0.0 ")
    assert r.expect("EXPN staff", 502).startswith("502 5.5.2")
    assert r.expect("FOO bar", 502) == \
        "502 5.5.2 Error: command not recognized"
    assert r.expect("AUTH PLAIN x", 503) == \
        "503 5.5.1 Error: authentication not enabled"
    assert r.expect("QUIT", 221) == "221 2.0.0 Bye"
    assert r.closed()
    log = wait_for(lambda: "disconnect from" in srv.log() and srv.log())
    assert "connect from unknown[127.0.0.1]" in log
    assert ("disconnect from unknown[127.0.0.1] helo=1 auth=0/1 "
            "rset=1 noop=1 vrfy=1/3 expn=0/1 help=1 quit=1 unknown=0/1 "
            "commands=6/11") in log


def test_vrfy_disabled(srv):
    srv.restart(disable_vrfy_command="yes")
    r = srv.client()
    assert r.expect(f"VRFY {USER}", 502) == \
        "502 5.5.1 VRFY command is disabled"
    code, lines = r.cmd("EHLO x.example")
    assert "250-VRFY" not in lines


def test_command_sequence_errors(srv):
    r = srv.client()
    r.expect("EHLO client.example.net", 250)
    assert r.expect(f"RCPT TO:<{USER}>", 503) == \
        "503 5.5.1 Error: need MAIL command"
    assert r.expect("DATA", 503) == "503 5.5.1 Error: need MAIL command"
    r.expect(f"MAIL FROM:<{SENDER}>", 250)
    assert r.expect("MAIL FROM:<x@y.example>", 503) == \
        "503 5.5.1 Error: nested MAIL command"
    assert r.expect("DATA", 503) == "503 5.5.1 Error: need RCPT command"
    r.expect("RCPT TO:<nosuch@example.test>", 550)
    assert r.expect("DATA", 554) == "554 5.5.1 Error: no valid recipients"
    assert r.expect("MAIL FROM:<a@b", 501).startswith("501 5.1.7")
    r.expect("RSET", 250)
    r.expect("MAIL FROM:<>", 250)
    assert r.expect("RCPT TO:<a b@example.test>", 501).startswith("501 ")
    r.expect("QUIT", 221)


def test_helo_required(srv):
    srv.restart(smtpd_helo_required="yes")
    r = srv.client()
    assert r.expect(f"MAIL FROM:<{SENDER}>", 503) == \
        "503 5.5.1 Error: send HELO/EHLO first"
    r.expect("HELO x.example", 250)
    r.expect(f"MAIL FROM:<{SENDER}>", 250)


def test_message_queued(srv):
    c = srv.smtp()
    c.ehlo("client.example.net")
    c.mail(SENDER)
    c.rcpt(USER)
    # smtplib dot-stuffs ".leading dot"; smtpd must unstuff it.
    code, msg = c.data(MSG + ".leading dot\r\n")
    assert code == 250
    assert msg.decode().startswith("2.0.0 Ok: queued as ")
    qid = msg.decode().split()[-1]
    c.quit()
    q = only_file(srv)
    assert q.id == qid
    assert q.fields["sender"] == SENDER
    assert q.fields["client_address"] == "127.0.0.1"
    assert q.fields["helo_name"] == "client.example.net"
    assert q.fields["protocol"] == "ESMTP"
    assert [x["rcpt"] for x in q.rcpts] == [USER]
    # The content as sent, dot-unstuffed, after cleanup's Received:.
    assert q.content.endswith((MSG + ".leading dot\r\n").encode())
    log = wait_for(lambda: "disconnect from" in srv.log() and srv.log())
    assert f"{qid}: client=unknown[127.0.0.1]" in log
    assert ("disconnect from unknown[127.0.0.1] ehlo=1 mail=1 rcpt=1 "
            "data=1 quit=1 commands=5") in log


def test_helo_protocol_smtp(srv):
    c = srv.smtp()
    c.helo("old.example.net")
    c.sendmail(SENDER, [USER], MSG)
    c.quit()
    assert only_file(srv).fields["protocol"] == "SMTP"


def test_two_messages_one_session(srv):
    c = srv.smtp()
    c.sendmail(SENDER, [USER], MSG)
    c.sendmail("", [USER, "postmaster@example.test"], MSG)
    c.quit()
    files = wait_for(lambda: len(srv.files()) == 2 and srv.files())
    senders = sorted(QueueFile(f).fields["sender"] for f in files)
    assert senders == ["", SENDER]


def test_pipelining_whole_transaction_in_one_packet(srv):
    r = srv.client()
    r.send(f"EHLO client.example.net\r\nMAIL FROM:<{SENDER}>\r\n"
           f"RCPT TO:<nosuch@example.test>\r\nRCPT TO:<{USER}>\r\n"
           "RCPT TO:<postmaster@example.test>\r\nDATA\r\n"
           f"{MSG}.\r\nNOOP\r\nQUIT\r\n")
    codes = [r.reply()[0] for _ in range(8)]
    assert codes == [250, 250, 550, 250, 250, 354, 250, 250]
    assert r.reply() == (221, ["221 2.0.0 Bye"])
    assert r.closed()
    q = only_file(srv)
    assert [x["rcpt"] for x in q.rcpts] == [USER, "postmaster@example.test"]


def test_pipelining_without_ehlo_refused(srv):
    r = srv.client()
    r.expect("HELO client.example.net", 250)
    r.send(f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{USER}>\r\n")
    assert r.reply() == (554, ["554 5.5.0 Error: SMTP protocol "
                               "synchronization"])
    assert r.closed()
    assert ("improper command pipelining after MAIL from "
            "unknown[127.0.0.1]: RCPT TO:<demo@example.test>\\015\\012"
            ) in srv.log()
    # Off: the same client is served.
    srv.restart(smtpd_forbid_unauth_pipelining="no")
    r = srv.client()
    r.expect("HELO client.example.net", 250)
    r.send(f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{USER}>\r\n")
    assert r.reply()[0] == 250
    assert r.reply()[0] == 250


def test_swaks_pipelining(srv):
    p = subprocess.run(["swaks", "--server", "127.0.0.1", "--port",
                        str(srv.port), "--from", SENDER, "--to", USER,
                        "--pipeline", "--helo", "client.example.net",
                        "--body", "swaks body"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "queued as" in p.stdout
    assert b"swaks body" in only_file(srv).content
    p = subprocess.run(["swaks", "--server", "127.0.0.1", "--port",
                        str(srv.port), "--from", SENDER, "--to", USER,
                        "--quit-after", "RCPT"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert len(srv.files()) == 1


def test_bdat(srv):
    r = srv.client()
    r.expect("EHLO client.example.net", 250)
    r.expect(f"MAIL FROM:<{SENDER}> BODY=8BITMIME", 250)
    r.expect(f"RCPT TO:<{USER}>", 250)
    part1 = b"Subject: bdat\r\n\r\nline one\r\n.\r\n"
    part2 = b"line \xc3\xa9 two\r\n"
    r.send(b"BDAT %d\r\n" % len(part1) + part1)
    assert r.reply() == (250, [f"250 2.0.0 Ok: {len(part1)} bytes"])
    # The last chunk pipelined with the next command.
    r.send(b"BDAT %d LAST\r\n" % len(part2) + part2 + b"NOOP\r\n")
    code, lines = r.reply()
    assert code == 250 and "queued as" in lines[0], lines
    assert r.reply()[0] == 250
    q = only_file(srv)
    assert q.content.endswith(part1 + part2)
    assert q.fields["flags"] == "8bitmime"
    # BDAT without a transaction: the chunk is read and refused.
    r.send(b"BDAT 5\r\nhelloNOOP\r\n")
    assert r.reply() == (503, ["503 5.5.1 Error: need MAIL command"])
    assert r.reply()[0] == 250
    # BDAT 0 LAST ends an empty message.
    r.expect(f"MAIL FROM:<{SENDER}>", 250)
    r.expect(f"RCPT TO:<{USER}>", 250)
    r.send("BDAT 0 LAST\r\n")
    code, lines = r.reply()
    assert code == 250 and "queued as" in lines[0]


def test_size(srv):
    r = srv.client()
    r.expect("EHLO client.example.net", 250)
    assert r.expect(f"MAIL FROM:<{SENDER}> SIZE=10240001", 552) == \
        "552 5.3.4 Message size exceeds fixed limit"
    r.expect(f"MAIL FROM:<{SENDER}> SIZE=1000", 250)
    r.close()
    srv.restart(message_size_limit="1000")
    r = srv.client()
    code, lines = r.cmd("EHLO client.example.net")
    assert "250-SIZE 1000" in lines
    r.expect(f"MAIL FROM:<{SENDER}>", 250)
    r.expect(f"RCPT TO:<{USER}>", 250)
    r.expect("DATA", 354)
    r.send("Subject: big\r\n\r\n" + "x" * 70 + "\r\n" * 0)
    r.send(("y" * 78 + "\r\n") * 100 + ".\r\n")
    assert r.reply() == (552, ["552 5.3.4 Message size exceeds fixed "
                               "limit"])
    # The session goes on, and nothing was queued.  cleanup removes its
    # temporary file when smtpd drops the connection: a moment later.
    r.expect("NOOP", 250)
    assert srv.files() == []
    wait_for(lambda: not list(all_files(srv.queue)), timeout=10,
             what="cleanup to remove its temporary file")
    # BDAT over the limit too.
    r.expect(f"MAIL FROM:<{SENDER}>", 250)
    r.expect(f"RCPT TO:<{USER}>", 250)
    r.send(b"BDAT 2000 LAST\r\n" + b"z" * 2000)
    assert r.reply()[0] == 552
    assert srv.files() == []


def test_dsn_parameters_kept(srv):
    r = srv.client()
    r.expect("EHLO client.example.net", 250)
    r.expect(f"MAIL FROM:<{SENDER}> RET=HDRS ENVID=QQ+2B314", 250)
    r.expect(f"RCPT TO:<{USER}> NOTIFY=SUCCESS,DELAY "
             "ORCPT=rfc822;Demo+2Bx@example.test", 250)
    r.expect("RCPT TO:<postmaster@example.test> NOTIFY=NEVER", 250)
    r.expect("DATA", 354)
    r.send(MSG + ".\r\n")
    assert r.reply()[0] == 250
    q = only_file(srv)
    assert q.fields["ret"] == "hdrs"
    assert q.fields["envid"] == "QQ+314"
    assert q.rcpts[0]["orcpt"] == "rfc822;Demo+x@example.test"
    assert q.rcpts[0]["notify"] == "success,delay"
    assert q.rcpts[1]["notify"] == "never"


def test_smtputf8(srv):
    r = srv.client()
    r.expect("EHLO client.example.net", 250)
    r.expect("MAIL FROM:<j\u00f6rg@remote.example> SMTPUTF8", 250)
    r.expect(f"RCPT TO:<{USER}>", 250)
    r.expect("DATA", 354)
    r.send(MSG + ".\r\n")
    assert r.reply()[0] == 250
    q = only_file(srv)
    assert q.fields["sender"] == "j\u00f6rg@remote.example"
    assert "smtputf8" in q.fields["flags"]


# The relay tests.  Loopback is in mynetworks, so pretend it is not.

RELAY_TRICKS = [
    "user@other.example",
    "demo%other.example@example.test",
    "@example.test:demo@other.example",
    '"demo@other.example"@example.test',
    "other.example!demo@example.test",
]


@pytest.mark.parametrize("restrictions,code,enh", [
    (None, 554, "5.7.1"),
    ("permit_mynetworks, defer_unauth_destination", 454, "4.7.1"),
])
def test_not_an_open_relay(srv, restrictions, code, enh):
    params = {"mynetworks": "192.0.2.0/24"}
    if restrictions:
        params["smtpd_relay_restrictions"] = restrictions
    srv.restart(**params)
    r = srv.client()
    r.expect("EHLO client.example.net", 250)
    r.expect(f"MAIL FROM:<{SENDER}>", 250)
    for addr in RELAY_TRICKS:
        got = r.expect(f"RCPT TO:<{addr}>", code)
        assert got.startswith(f"{code} {enh} <") and \
            got.endswith(">: Relay access denied"), got
    assert r.expect("RCPT TO:<user@other.example@example.test>",
                    501).startswith("501 5.1.3")
    r.expect(f"RCPT TO:<{USER}>", 250)
    log = srv.log()
    assert (f"NOQUEUE: reject: RCPT from unknown[127.0.0.1]: {code} {enh} "
            f"<user@other.example>: Relay access denied; "
            f"from=<{SENDER}> to=<user@other.example> proto=ESMTP "
            "helo=<client.example.net>") in log


def test_relay_from_mynetworks(srv):
    c = srv.smtp()
    c.ehlo("client.example.net")
    c.mail(SENDER)
    assert c.rcpt("someone@other.example")[0] == 250


def test_forged_local_sender_refused(srv):
    srv.restart(mynetworks="192.0.2.0/24")
    r = srv.client()
    r.expect("EHLO client.example.net", 250)
    # Refused at MAIL FROM already, despite smtpd_delay_reject = yes.
    assert r.expect(f"MAIL FROM:<{USER}>", 553) == \
        f"553 5.7.1 <{USER}>: Sender address rejected: not logged in"
    r.expect(f"RCPT TO:<{USER}>", 503)


def test_unknown_local_user(srv):
    r = srv.client()
    r.expect("EHLO client.example.net", 250)
    r.expect(f"MAIL FROM:<{SENDER}>", 250)
    reply = ("550 5.1.1 <nosuch@example.test>: Recipient address rejected: "
             "User unknown in local recipient table")
    assert r.expect("RCPT TO:<nosuch@example.test>", 550) == reply
    r.expect("RCPT TO:<demo@localhost>", 250)
    assert (f"NOQUEUE: reject: RCPT from unknown[127.0.0.1]: {reply}; "
            f"from=<{SENDER}> to=<nosuch@example.test> proto=ESMTP "
            "helo=<client.example.net>") in srv.log()


def test_access_tables(srv):
    srv.restart(smtpd_sender_restrictions="check_sender_access "
                "inline:{ spam.example=REJECT }")
    r = srv.client()
    r.expect("EHLO client.example.net", 250)
    r.expect("MAIL FROM:<x@spam.example>", 250)
    assert r.expect(f"RCPT TO:<{USER}>", 554) == \
        "554 5.7.1 <x@spam.example>: Sender address rejected: Access " \
        "denied"


def test_bad_restriction_is_fatal(srv):
    p = srv.restart(smtpd_recipient_restrictions="reject_bogus")
    assert p.wait(10) != 0
    assert "fatal: smtpd_recipient_restrictions: unknown restriction: " \
        "reject_bogus" in srv.log()


# SMTP smuggling.

SMUGGLE = [b"\n.\n", b"\r.\r", b"\r\n.\n", b"\n.\r\n"]


@pytest.mark.parametrize("end", SMUGGLE)
def test_smuggling_rejected(srv, end):
    r = srv.client()
    r.expect("EHLO client.example.net", 250)
    r.expect(f"MAIL FROM:<{SENDER}>", 250)
    r.expect(f"RCPT TO:<{USER}>", 250)
    r.expect("DATA", 354)
    r.send(b"Subject: a\r\n\r\nfirst" + end +
           f"MAIL FROM:<evil@remote.example>\r\nRCPT TO:<{USER}>\r\n"
           "DATA\r\n".encode() + b"Subject: smuggled\r\n\r\nx\r\n.\r\n")
    code, lines = r.reply()
    assert code == 550 and lines[0] in (
        "550 5.5.2 Error: bare <LF> received",
        "550 5.5.2 Error: bare <CR> received"), lines
    # The smuggled commands were content: no further replies.
    r.expect("NOOP", 250)
    assert srv.files() == []


@pytest.mark.parametrize("end", SMUGGLE)
def test_smuggling_normalized(srv, end):
    srv.restart(smtpd_forbid_bare_newline="normalize")
    r = srv.client()
    r.expect("EHLO client.example.net", 250)
    r.expect(f"MAIL FROM:<{SENDER}>", 250)
    r.expect(f"RCPT TO:<{USER}>", 250)
    r.expect("DATA", 354)
    r.send(b"Subject: a\r\n\r\nfirst" + end +
           f"MAIL FROM:<evil@remote.example>\r\nRCPT TO:<{USER}>\r\n"
           "DATA\r\n".encode() + b"Subject: smuggled\r\n\r\nx\r\n.\r\n")
    code, lines = r.reply()
    assert code == 250, lines
    r.expect("NOOP", 250)
    q = only_file(srv)
    # One message, the would-be commands inside it.
    assert b"MAIL FROM:<evil@remote.example>" in q.content
    assert b"\n" not in q.content.replace(b"\r\n", b"")
    assert q.fields["sender"] == SENDER


# Limits.

def test_line_too_long(srv):
    r = srv.client()
    assert r.expect("NOOP " + "x" * 5000, 500) == \
        "500 5.5.2 Error: line too long"
    assert r.expect("NOOP", 250) == "250 2.0.0 Ok"


def test_recipient_limit(srv):
    srv.restart(smtpd_recipient_limit="2")
    r = srv.client()
    r.expect("EHLO client.example.net", 250)
    r.expect(f"MAIL FROM:<{SENDER}>", 250)
    r.expect(f"RCPT TO:<{USER}>", 250)
    r.expect("RCPT TO:<postmaster@example.test>", 250)
    assert r.expect("RCPT TO:<demo@localhost>", 452) == \
        "452 4.5.3 Error: too many recipients"


def test_hard_error_limit(srv):
    srv.restart(smtpd_hard_error_limit="3")
    r = srv.client()
    r.expect("FOO", 502)
    r.expect("BAR", 502)
    assert r.cmd("BAZ")[0] == 502
    assert r.reply() == (421, [f"421 4.7.0 {HOST} Error: too many errors"])
    assert r.closed()
    assert "too many errors after UNKNOWN from unknown[127.0.0.1]" in \
        wait_for(lambda: "too many errors" in srv.log() and srv.log())


def test_soft_error_limit_slows_down(srv):
    srv.restart(smtpd_soft_error_limit="1", smtpd_error_sleep_time="1s")
    r = srv.client()
    r.expect("FOO", 502)
    start = time.monotonic()
    r.expect("FOO", 502)
    assert time.monotonic() - start >= 0.9
    # Meanwhile the server serves other clients at once.
    other = srv.client()
    r.send("FOO\r\n")
    start = time.monotonic()
    other.expect("NOOP", 250)
    assert time.monotonic() - start < 0.9
    assert r.reply()[0] == 502


def test_connection_count_limit(srv):
    # Clients in mynetworks are not limited (as in Postfix).
    srv.restart(smtpd_client_connection_count_limit="2",
                mynetworks="192.0.2.0/24")
    a, b = srv.client(), srv.client()
    c = Raw(srv.port)
    assert c.reply() == (421, [f"421 4.7.0 {HOST} Error: too many "
                               "connections from 127.0.0.1"])
    assert c.closed()
    a.expect("QUIT", 221)
    assert a.closed()
    # Once one has gone, a new client gets in.
    d = wait_for(lambda: (lambda x: x if x.reply()[0] == 220 else None)(
        Raw(srv.port)), what="a free slot")
    d.expect("NOOP", 250)
    b.expect("NOOP", 250)


def test_timeout(srv):
    srv.restart(smtpd_timeout="1s")
    r = srv.client()
    r.sock.settimeout(10)
    assert r.reply() == (421, [f"421 4.4.2 {HOST} Error: timeout "
                               "exceeded"])
    assert r.closed()
    assert "timeout after CONNECT from unknown[127.0.0.1]" in srv.log()


def test_many_sessions(srv):
    clients = [srv.client() for _ in range(200)]
    for c in clients:
        c.send("NOOP\r\n")
    for c in clients:
        assert c.reply()[0] == 250
    c = srv.smtp()
    c.sendmail(SENDER, [USER], MSG)
    c.quit()


# Crashes and signals.

def test_kill_during_data_leaves_nothing(srv):
    r = srv.client()
    r.expect("EHLO client.example.net", 250)
    r.expect(f"MAIL FROM:<{SENDER}>", 250)
    r.expect(f"RCPT TO:<{USER}>", 250)
    r.expect("DATA", 354)
    r.send("Subject: half\r\n\r\n" + "x" * 100000 + "\r\n")
    srv.stop(signal.SIGKILL)
    assert r.closed()
    wait_for(lambda: all_files(srv.queue) == [], what="incoming/ empty")
    srv.start()
    c = srv.smtp()
    c.sendmail(SENDER, [USER], MSG)
    c.quit()
    assert len(srv.files()) == 1


def test_kill_after_250_loses_nothing(srv):
    r = srv.client()
    r.expect("EHLO client.example.net", 250)
    r.expect(f"MAIL FROM:<{SENDER}>", 250)
    r.expect(f"RCPT TO:<{USER}>", 250)
    r.expect("DATA", 354)
    r.send(MSG + ".\r\n")
    code, lines = r.reply()
    assert code == 250
    srv.stop(signal.SIGKILL)
    qid = lines[0].split()[-1]
    assert [f.name for f in srv.files()] == [qid]
    assert QueueFile(srv.files()[0]).content.endswith(MSG.encode())


def test_sigusr1_drains(srv):
    r = srv.client()
    r.expect("EHLO client.example.net", 250)
    srv.proc.send_signal(signal.SIGUSR1)
    wait_for(lambda: "draining" in srv.log(), what="drain log")
    # The session in progress goes on to the end.
    r.expect(f"MAIL FROM:<{SENDER}>", 250)
    r.expect(f"RCPT TO:<{USER}>", 250)
    r.expect("DATA", 354)
    r.send(MSG + ".\r\n")
    assert r.reply()[0] == 250
    assert srv.proc.poll() is None
    r.expect("QUIT", 221)
    assert srv.proc.wait(10) == 0


def test_cleanup_down_gives_451(srv):
    srv.inst.stop("cleanup")
    os.unlink(srv.inst.socket_path("cleanup"))
    r = srv.client()
    r.expect("EHLO client.example.net", 250)
    r.expect(f"MAIL FROM:<{SENDER}>", 250)
    assert r.expect(f"RCPT TO:<{USER}>", 451) == \
        "451 4.3.0 Error: queue file write error"
    r.expect("NOOP", 250)


# Under master (`ulak start`), as a user runs it.

def test_under_master_and_restart_after_kill(instance):
    r = instance.run("start")
    assert r.returncode == 0, r.stdout + r.stderr
    try:
        port = instance.ports["smtp"]

        def send():
            try:
                c = smtplib.SMTP("127.0.0.1", port, timeout=10)
                c.sendmail(SENDER, [f"{instance.user}@{instance.domain}"],
                           MSG)
                c.quit()
                return True
            except (OSError, smtplib.SMTPException):
                return False

        wait_for(send, timeout=20, what="a message accepted")
        logf = instance.dir / "log" / "ulak.log"
        log = logf.read_text()
        pids = [ln.split("smtpd[")[1].split("]")[0]
                for ln in log.splitlines()
                if "/smtpd[" in ln and "connect from" in ln]
        assert pids, log
        os.kill(int(pids[-1]), signal.SIGKILL)
        # master starts a new smtpd; the next client gets through.
        wait_for(send, timeout=30, what="a message after kill -9")
        log = logf.read_text()
        assert any("/smtpd[" in ln and "connect from" in ln and
                   pids[-1] not in ln for ln in log.splitlines())
    finally:
        instance.run("stop")


# Bad input.

def test_bare_lf_command_lines(srv):
    r = srv.client()
    r.send("NOOP\n")
    assert r.reply() == (550, ["550 5.5.2 Error: bare <LF> received"])
    r.close()
    srv.restart(smtpd_forbid_bare_newline="normalize")
    r = srv.client()
    r.send("EHLO x.example\nNOOP\n")
    assert r.reply()[0] == 250
    assert r.reply() == (250, ["250 2.0.0 Ok"])


def test_garbage_does_not_hurt(srv):
    import random
    rng = random.Random(5321)
    for _ in range(20):
        r = srv.client()
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1,
                                                                     20000)))
        for word in (b"MAIL FROM:<", b"RCPT TO:<", b"DATA\r\n", b"BDAT ",
                     b"\r\n.\r\n", b"\x00", b"EHLO "):
            pos = rng.randrange(len(junk) + 1)
            junk = junk[:pos] + word + junk[pos:]
        try:
            r.send(junk + b"\r\n")
        except OSError:
            pass
        r.close()
    c = srv.smtp()
    c.sendmail(SENDER, [USER], MSG)
    c.quit()
    assert srv.proc.poll() is None
