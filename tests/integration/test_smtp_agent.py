"""The smtp delivery agent, started by hand on private/smtp, driven like
qmgr drives it (request=deliver, docs/protocols.md), against scriptable
SMTP servers (smtpsink.Sink) on 127.0.0.x and the test DNS server.

Checks the reply, the done-marks in the queue file and what the servers
received: routing (MX order, next MX, implicit MX, null MX, loops),
replies (4xx/5xx per stage), extensions (PIPELINING, SIZE, SMTPUTF8, DSN,
HELO fallback), timeouts and broken servers, and every TLS level with
certificates made here."""
import os
import pathlib
import socket
import subprocess
import time

import pytest

from procwatch import peak_growth, rss_kib
from smtpsink import Sink
from ulak_queue import ByHand, QueueFile, escape, unescape, wait_for

DOMAIN = "remote.test"
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_seq = [1]


def b32(n, width=None):
    out = ""
    while n:
        out = ALPHABET[n % 32] + out
        n //= 32
    out = out or "0"
    return out.rjust(width, "0") if width else out


def new_queue_id():
    _seq[0] += 1
    return b32(int(time.time() * 1e6), 11) + b32(_seq[0] + 1000)


def write_queue_file(inst, sender, rcpts, content, envid=None, ret=None,
                     flags=None, folder="active"):
    """A queue file as cleanup writes it; RCPTS are addresses or
    (address, orcpt, notify) tuples.  Returns (queue_id, path)."""
    qid = new_queue_id()
    if isinstance(content, str):
        content = content.encode()
    env = [b"ulak-queue-file 1", b"arrival_time=%d" % int(time.time()),
           b"sender=" + escape(sender)]
    if envid:
        env.append(b"envid=" + escape(envid))
    if ret:
        env.append(b"ret=" + ret.encode())
    if flags:
        env.append(b"flags=" + flags.encode())
    for r in rcpts:
        if isinstance(r, str):
            r = (r, "", "")
        env += [b"rcpt=" + escape(r[0]), b"orcpt=" + escape(r[1]),
                b"notify=" + r[2].encode(), b"done=-"]
    env.append(b"content_length=%020d" % len(content))
    data = b"\n".join(env) + b"\n\n" + content + b"end=%020d\n" % len(content)
    path = inst.queue / folder / qid
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    if inst.as_root:
        os.chown(path.parent, inst.uid, inst.gid)
        os.chown(path, inst.uid, inst.gid)
    return qid, path


def deliver(inst, qid, nexthop, rcpts, service="smtp", timeout=60,
            folder="active"):
    """Send request=deliver; returns (status, {index: (dsn, text)})."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(str(inst.socket_path(service)))
    req = [b"request=deliver", b"queue_id=" + qid.encode(),
           b"queue_file=" + f"{folder}/{qid}".encode(),
           b"transport=" + service.encode(), b"nexthop=" + escape(nexthop)]
    req += [b"rcpt=%d" % i for i in rcpts]
    s.sendall(b"\n".join(req) + b"\n\n")
    data = b""
    while not data.endswith(b"\n\n"):
        chunk = s.recv(65536)
        assert chunk, f"agent closed the connection; got {data!r}"
        data += chunk
    s.close()
    status, results, attrs = None, {}, {}
    for line in data.split(b"\n"):
        if not line:
            continue
        name, _, value = line.partition(b"=")
        value = unescape(value).decode("utf-8", "replace")
        if name == b"status":
            status = value
        elif name == b"result":
            idx, dsn, text = value.split(" ", 2)
            results[int(idx)] = (dsn, text)
        else:
            attrs[name.decode()] = value
    return status, results, attrs


def marks(path):
    return [r["done"] for r in QueueFile(path).rcpts]


@pytest.fixture
def port():
    """A port free on 127.0.0.1..4 (all our fake MX hosts use it)."""
    for _ in range(50):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        p = s.getsockname()[1]
        s.close()
        ok = True
        for h in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
            t = socket.socket()
            try:
                t.bind((h, p))
            except OSError:
                ok = False
            t.close()
        if ok:
            return p
    raise RuntimeError("no free port")


class Agent:
    def __init__(self, inst, dns, port):
        self.inst = inst
        self.dns = dns
        self.port = port
        self.sinks = []

    def sink(self, host="127.0.0.2", **knobs):
        s = Sink(host, self.port)
        for k, v in knobs.items():
            setattr(s, k, v)
        s.start()
        self.sinks.append(s)
        return s

    def start(self, **params):
        base = dict(dns_servers=self.dns.address, smtp_tcp_port=self.port,
                    smtp_helo_timeout="5s", smtp_connect_timeout="5s",
                    smtp_data_done_timeout="5s", smtp_quit_timeout="2s",
                    dns_timeout="3s", smtp_connection_cache_time_limit="0s")
        base.update(params)
        self.inst.set(**base)
        self.inst.start("smtp")
        self.inst.start("smtp", service="relay")
        wait_for(lambda: self.inst.socket_path("smtp").exists(),
                 what="socket")

    def restart(self, **params):
        self.inst.stop("smtp")
        self.inst.stop("relay")
        self.start(**params)

    def message(self, rcpts, content=None, sender="jane@example.test",
                **kw):
        content = content or ("Subject: test\r\nFrom: jane@example.test\r\n"
                              "\r\nHello.\r\n")
        return write_queue_file(self.inst, sender, rcpts, content, **kw)

    def log(self):
        return self.inst.logtext()


@pytest.fixture
def agent(dns, port):
    inst = ByHand()
    a = Agent(inst, dns, port)
    dns.add(DOMAIN, "MX", "10 mx1.remote.test")
    dns.add(DOMAIN, "MX", "20 mx2.remote.test")
    dns.add("mx1.remote.test", "A", "127.0.0.2")
    dns.add("mx2.remote.test", "A", "127.0.0.3")
    dns.add("down.remote.test", "A", "127.0.0.4")
    yield a
    for s in a.sinks:
        s.stop()
    reports = inst.sanitizer_reports()
    inst.close()
    assert not reports, "\n".join(reports)


def test_delivers_to_best_mx(agent):
    mx1 = agent.sink("127.0.0.2")
    mx2 = agent.sink("127.0.0.3")
    agent.start()
    qid, path = agent.message(["bob@remote.test", "carol@remote.test"])
    status, res, _ = deliver(agent.inst, qid, DOMAIN, [0, 1])
    assert status == "0"
    assert res[0][0] == "2.0.0" and res[1][0] == "2.0.0", res
    assert res[0][1].startswith("250 2.0.0 Ok: queued as SINK")
    assert marks(path) == ["D", "D"]
    assert len(mx1.messages) == 1 and not mx2.messages
    m = mx1.messages[0]
    assert m.mail_from.startswith("FROM:<jane@example.test>")
    assert m.rcpts == ["TO:<bob@remote.test>", "TO:<carol@remote.test>"]
    assert m.data == b"Subject: test\r\nFrom: jane@example.test\r\n\r\nHello.\r\n"
    log = wait_for(lambda: "status=sent" in agent.log() and agent.log(),
                   what="log line")
    assert (f"{qid}: to=<bob@remote.test>, relay=mx1.remote.test"
            f"[127.0.0.2]:{agent.port}, delay=") in log
    assert "dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as SINK1)" in log
    assert mx1.commands[0][:5] == [
        "EHLO mail.example.test",
        "MAIL FROM:<jane@example.test> SIZE=54 RET=HDRS"[:0] +
        mx1.commands[0][1], "RCPT TO:<bob@remote.test>",
        "RCPT TO:<carol@remote.test>", "DATA"]


def test_equal_preference_is_shuffled(agent, dns):
    dns.add("shuffle.test", "MX", "10 mx1.remote.test")
    dns.add("shuffle.test", "MX", "10 mx2.remote.test")
    mx1 = agent.sink("127.0.0.2")
    mx2 = agent.sink("127.0.0.3")
    agent.start()
    for _ in range(16):
        qid, path = agent.message(["bob@shuffle.test"])
        status, res, _ = deliver(agent.inst, qid, "shuffle.test", [0])
        assert res[0][0] == "2.0.0"
        if mx1.messages and mx2.messages:
            break
    assert mx1.messages and mx2.messages


def test_next_mx_when_first_refuses_connections(agent, dns):
    dns.add("fallback.test", "MX", "5 down.remote.test")
    dns.add("fallback.test", "MX", "10 mx2.remote.test")
    mx2 = agent.sink("127.0.0.3")
    agent.start()
    qid, path = agent.message(["bob@fallback.test"])
    status, res, _ = deliver(agent.inst, qid, "fallback.test", [0])
    assert res[0][0] == "2.0.0", res
    assert len(mx2.messages) == 1
    assert marks(path) == ["D"]
    assert f"connect to down.remote.test[127.0.0.4]:{agent.port}: " \
        "Connection refused" in agent.log()


def test_next_mx_after_421_greeting(agent):
    agent.sink("127.0.0.2", greeting="421 4.3.2 busy, try later")
    mx2 = agent.sink("127.0.0.3")
    agent.start()
    qid, path = agent.message(["bob@remote.test"])
    status, res, _ = deliver(agent.inst, qid, DOMAIN, [0])
    assert res[0][0] == "2.0.0", res
    assert len(mx2.messages) == 1


def test_all_mx_fail_defers_with_last_reason(agent):
    agent.sink("127.0.0.2", greeting="421 4.3.2 busy")
    agent.sink("127.0.0.3", greeting="554 5.7.1 go away")
    agent.start()
    qid, path = agent.message(["bob@remote.test"])
    status, res, _ = deliver(agent.inst, qid, DOMAIN, [0])
    dsn, text = res[0]
    assert dsn.startswith("4."), res
    assert text == ("host mx2.remote.test[127.0.0.3] refused to talk to "
                    "me: 554 5.7.1 go away")
    assert marks(path) == ["-"]


def test_implicit_mx(agent, dns):
    dns.add("implicit.test", "A", "127.0.0.3")
    mx = agent.sink("127.0.0.3")
    agent.start()
    qid, path = agent.message(["bob@implicit.test"])
    status, res, _ = deliver(agent.inst, qid, "implicit.test", [0])
    assert res[0][0] == "2.0.0", res
    assert len(mx.messages) == 1


def test_null_mx_bounces(agent, dns):
    dns.add("nullmx.test", "MX", "0 .")
    agent.start()
    qid, path = agent.message(["bob@nullmx.test"])
    status, res, _ = deliver(agent.inst, qid, "nullmx.test", [0])
    assert res[0] == ("5.1.10", "Domain nullmx.test does not accept mail "
                      "(nullMX)")
    assert marks(path) == ["-"]     # qmgr marks bounces, not the agent


def test_mx_to_myself_bounces(agent, dns):
    dns.add("loop.test", "MX", "10 mail.example.test")
    dns.add("mail.example.test", "A", "127.0.0.2")
    agent.start()
    qid, path = agent.message(["bob@loop.test"])
    status, res, _ = deliver(agent.inst, qid, "loop.test", [0])
    assert res[0] == ("5.4.6", "mail for loop.test loops back to myself")


def test_backup_mx_below_myself_is_used(agent, dns):
    dns.add("backup.test", "MX", "5 mx1.remote.test")
    dns.add("backup.test", "MX", "10 mail.example.test")
    dns.add("backup.test", "MX", "20 mx2.remote.test")
    mx1 = agent.sink("127.0.0.2", greeting="421 busy")
    mx2 = agent.sink("127.0.0.3")
    agent.start()
    qid, path = agent.message(["bob@backup.test"])
    status, res, _ = deliver(agent.inst, qid, "backup.test", [0])
    # mx2 ranks after this host: never tried (RFC 5321 5.1).
    assert res[0][0].startswith("4."), res
    assert mx2.sessions == 0 and mx1.sessions == 1


@pytest.mark.parametrize("setup,dsn,text", [
    (lambda d: None, "5.4.4", "Name service error for name=nowhere.test "
     "type=MX: Host not found"),
    (lambda d: d.servfail("nowhere.test"), "4.4.3",
     "Name service error for name=nowhere.test type=MX"),
    (lambda d: d.timeout("nowhere.test"), "4.4.3", "DNS query timed out"),
])
def test_dns_failures(agent, dns, setup, dsn, text):
    setup(dns)
    agent.start()
    qid, path = agent.message(["bob@nowhere.test"])
    status, res, _ = deliver(agent.inst, qid, "nowhere.test", [0])
    assert res[0][0] == dsn, res
    assert text in res[0][1]


def test_mx_host_without_address(agent, dns):
    dns.add("noaddr.test", "MX", "10 ghost.noaddr.test")
    dns.add("tmp.test", "MX", "10 ghost.tmp.test")
    dns.servfail("ghost.tmp.test")
    agent.start()
    qid, path = agent.message(["bob@noaddr.test", "c@tmp.test"])
    status, res, _ = deliver(agent.inst, qid, "noaddr.test", [0])
    assert res[0][0] == "5.4.4", res
    status, res, _ = deliver(agent.inst, qid, "tmp.test", [1])
    assert res[1][0] == "4.4.3", res


def test_bracketed_nexthop_and_relay_service(agent):
    mx = agent.sink("127.0.0.3")
    agent.start()
    qid, path = agent.message(["bob@anything.test"])
    status, res, _ = deliver(agent.inst, qid, f"[127.0.0.3]:{agent.port}",
                             [0], service="relay")
    assert res[0][0] == "2.0.0", res
    assert len(mx.messages) == 1
    qid, path = agent.message(["bob@anything.test"])
    status, res, _ = deliver(agent.inst, qid, "[mx2.remote.test]", [0])
    assert res[0][0] == "2.0.0", res


def test_per_recipient_replies(agent):
    def rcpt(line):
        if "soft@" in line:
            return "450 4.2.0 <soft@remote.test>: mailbox busy"
        if "hard@" in line:
            return "550 5.1.1 <hard@remote.test>: no such user"
        return None
    mx = agent.sink("127.0.0.2", rcpt_reply=rcpt)
    agent.start()
    qid, path = agent.message(["soft@remote.test", "ok@remote.test",
                               "hard@remote.test"])
    status, res, _ = deliver(agent.inst, qid, DOMAIN, [0, 1, 2])
    assert res[0] == ("4.2.0", "host mx1.remote.test[127.0.0.2] said: 450 "
                      "4.2.0 <soft@remote.test>: mailbox busy (in reply to "
                      "RCPT TO command)")
    assert res[1][0] == "2.0.0"
    assert res[2] == ("5.1.1", "host mx1.remote.test[127.0.0.2] said: 550 "
                      "5.1.1 <hard@remote.test>: no such user (in reply to "
                      "RCPT TO command)")
    assert marks(path) == ["-", "D", "-"]
    assert mx.messages[0].rcpts == ["TO:<ok@remote.test>"]
    log = agent.log()
    assert "to=<soft@remote.test>" in log and "status=deferred" in log
    assert "to=<hard@remote.test>" in log and "status=bounced" in log


def test_mail_and_data_replies(agent):
    agent.sink("127.0.0.2", mail_reply=lambda l: "553 5.7.1 sender refused")
    agent.start()
    qid, path = agent.message(["bob@remote.test"])
    status, res, _ = deliver(agent.inst, qid, DOMAIN, [0])
    assert res[0][0] == "5.7.1"
    assert "(in reply to MAIL FROM command)" in res[0][1]
    agent.sinks[0].mail_reply = lambda l: None
    agent.sinks[0].dot_reply = "554 5.7.1 spam"
    status, res, _ = deliver(agent.inst, qid, DOMAIN, [0])
    assert res[0] == ("5.7.1", "host mx1.remote.test[127.0.0.2] said: 554 "
                      "5.7.1 spam (in reply to end of DATA command)")
    agent.sinks[0].dot_reply = "451 4.3.0 try later"
    status, res, _ = deliver(agent.inst, qid, DOMAIN, [0])
    assert res[0][0] == "4.3.0"
    assert marks(path) == ["-"]


def test_helo_fallback_and_no_pipelining(agent):
    mx = agent.sink("127.0.0.2", ehlo_reply="502 5.5.2 EHLO not "
                    "implemented")
    agent.start()
    qid, path = agent.message(["a@remote.test", "b@remote.test"],
                              envid="E1", ret="hdrs")
    status, res, _ = deliver(agent.inst, qid, DOMAIN, [0, 1])
    assert res[0][0] == "2.0.0" and res[1][0] == "2.0.0", res
    cmds = mx.commands[0]
    assert cmds[:2] == ["EHLO mail.example.test", "HELO mail.example.test"]
    # No extensions after HELO: plain MAIL FROM, no DSN parameters.
    assert cmds[2] == "MAIL FROM:<jane@example.test>"


def test_size_limit_refused_early(agent):
    mx = agent.sink("127.0.0.2", ehlo=["SIZE 100", "PIPELINING"])
    agent.start()
    qid, path = agent.message(["bob@remote.test"],
                              content="Subject: x\r\n\r\n" + "y" * 200 +
                              "\r\n")
    status, res, _ = deliver(agent.inst, qid, DOMAIN, [0])
    assert res[0][0] == "5.3.4"
    assert "exceeds size limit 100 of server mx1.remote.test" in res[0][1]
    assert not any(c.startswith("MAIL") for c in mx.commands[0])


def test_smtputf8(agent):
    plain = agent.sink("127.0.0.2", ehlo=["PIPELINING", "8BITMIME"])
    agent.start()
    qid, path = agent.message(["j\u00f6rg@remote.test"], flags="smtputf8")
    status, res, _ = deliver(agent.inst, qid, DOMAIN, [0])
    assert res[0] == ("5.6.7", "SMTPUTF8 is required, but was not offered "
                      "by host mx1.remote.test[127.0.0.2]")
    plain.ehlo = ["PIPELINING", "SMTPUTF8", "8BITMIME"]
    status, res, _ = deliver(agent.inst, qid, DOMAIN, [0])
    assert res[0][0] == "2.0.0"
    assert plain.messages[0].mail_from.endswith(" SMTPUTF8")


def test_dsn_and_8bitmime_parameters(agent):
    mx = agent.sink("127.0.0.2")
    agent.start()
    qid, path = agent.message(
        [("bob@remote.test", "rfc822;Bob+1@remote.test", "success,delay"),
         ("n@remote.test", "", "never")],
        envid="QQ 31", ret="full", flags="8bitmime",
        content="Subject: caf\u00e9\r\n\r\nna\u00efve\r\n")
    status, res, _ = deliver(agent.inst, qid, DOMAIN, [0, 1])
    assert res[0][0] == "2.0.0"
    m = mx.messages[0]
    assert m.mail_from == ("FROM:<jane@example.test> SIZE=%d BODY=8BITMIME "
                           "RET=FULL ENVID=QQ+2031" %
                           len("Subject: caf\u00e9\r\n\r\nna\u00efve\r\n"
                               .encode()))
    assert m.rcpts == ["TO:<bob@remote.test> NOTIFY=SUCCESS,DELAY "
                       "ORCPT=rfc822;Bob+2B1@remote.test",
                       "TO:<n@remote.test> NOTIFY=NEVER"]
    log = agent.log()
    assert "to=<bob@remote.test>, orig_to=<Bob+1@remote.test>" in log


def test_dot_stuffing_and_bare_newlines(agent):
    mx = agent.sink("127.0.0.2")
    agent.start()
    content = (b"Subject: dots\r\n\r\n.leading dot\r\n..two\r\n.\r\n"
               b"bare\nlf\r\nlast line without end")
    qid, path = agent.message(["bob@remote.test"], content=content)
    status, res, _ = deliver(agent.inst, qid, DOMAIN, [0])
    assert res[0][0] == "2.0.0"
    assert mx.messages[0].data == (
        b"Subject: dots\r\n\r\n.leading dot\r\n..two\r\n.\r\n"
        b"bare\r\nlf\r\nlast line without end\r\n")


def test_big_message(agent):
    mx = agent.sink("127.0.0.2")
    agent.start()
    body = b"".join(b"line %06d ....................................\r\n" % i
                    for i in range(60000))
    qid, path = agent.message(["bob@remote.test"],
                              content=b"Subject: big\r\n\r\n" + body)
    status, res, _ = deliver(agent.inst, qid, DOMAIN, [0])
    assert res[0][0] == "2.0.0", res
    assert mx.messages[0].data == b"Subject: big\r\n\r\n" + body


def test_server_never_greets(agent):
    agent.sink("127.0.0.2", greeting=None)
    agent.sink("127.0.0.3", greeting=None)
    agent.start(smtp_helo_timeout="1s")
    qid, path = agent.message(["bob@remote.test"])
    t0 = time.monotonic()
    status, res, _ = deliver(agent.inst, qid, DOMAIN, [0])
    assert time.monotonic() - t0 < 10
    assert res[0] == ("4.4.2", "conversation with mx2.remote.test"
                      "[127.0.0.3] timed out while receiving the initial "
                      "server greeting")


def test_no_answer_after_final_dot(agent):
    mx = agent.sink("127.0.0.2", silent_after="DOT")
    agent.sink("127.0.0.3", silent_after="DOT")
    agent.start(smtp_data_done_timeout="1s")
    qid, path = agent.message(["bob@remote.test"])
    status, res, _ = deliver(agent.inst, qid, DOMAIN, [0])
    assert res[0][0] == "4.4.2"
    assert "message may be sent more than once" in res[0][1]
    assert marks(path) == ["-"]


def test_connection_dropped_mid_data(agent):
    agent.sink("127.0.0.2", drop_in_data=10)
    agent.sink("127.0.0.3", drop_in_data=10)
    agent.start()
    qid, path = agent.message(["bob@remote.test"],
                              content="Subject: x\r\n\r\n" + "z" * 100000)
    status, res, _ = deliver(agent.inst, qid, DOMAIN, [0])
    assert res[0][0] == "4.4.2", res
    assert "lost connection with mx2.remote.test[127.0.0.3] while" in \
        res[0][1]
    assert marks(path) == ["-"]


def test_endless_multiline_reply(agent):
    agent.sink("127.0.0.2", endless_reply="EHLO")
    agent.sink("127.0.0.3", endless_reply="MAIL")
    agent.start()
    qid, path = agent.message(["bob@remote.test"])
    status, res, _ = deliver(agent.inst, qid, DOMAIN, [0])
    assert res[0][0].startswith("4."), res
    assert "malformed reply" in res[0][1] or "too long" in res[0][1]
    assert marks(path) == ["-"]


def test_garbage_reply(agent):
    agent.sink("127.0.0.2", greeting="hello there")
    agent.sink("127.0.0.3", greeting="220-first\r\n250 other code")
    agent.start()
    qid, path = agent.message(["bob@remote.test"])
    status, res, _ = deliver(agent.inst, qid, DOMAIN, [0])
    assert res[0][0].startswith("4."), res
    assert "malformed reply from mx2.remote.test[127.0.0.3]" in res[0][1]


def test_bad_requests(agent):
    agent.start()
    qid, path = agent.message(["bob@remote.test"])
    status, res, attrs = deliver(agent.inst, qid, DOMAIN, [5])
    assert status == "4" and "out of range" in attrs["reason"]
    status, res, attrs = deliver(agent.inst, "0000000000000A", DOMAIN, [0])
    assert status == "4"
    status, res, attrs = deliver(agent.inst, qid, "[broken", [0])
    assert status == "4" and "missing ']'" in attrs["reason"]
    # The agent is still there.
    status, res, attrs = deliver(agent.inst, qid, DOMAIN, [0])
    assert status == "0"


# TLS ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """A test CA, a server certificate for mx1.remote.test signed by it, one
    for the wrong name, and a self-signed one."""
    d = tmp_path_factory.mktemp("certs")

    def ossl(*args):
        r = subprocess.run(["openssl", *args], cwd=d, capture_output=True,
                           text=True)
        assert r.returncode == 0, r.stderr

    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
         "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Test CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    for name, cn in (("good", "mx1.remote.test"), ("wrong", "other.test")):
        ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout",
             f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}")
        (d / f"{name}.ext").write_text(f"subjectAltName=DNS:{cn}\n")
        ossl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem",
             "-CAkey", "ca.key", "-CAcreateserial", "-out", f"{name}.pem",
             "-days", "2", "-extfile", f"{name}.ext")
    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
         "self.key", "-out", "self.pem", "-days", "2", "-subj",
         "/CN=mx1.remote.test", "-addext",
         "subjectAltName=DNS:mx1.remote.test")
    for f in d.iterdir():
        f.chmod(0o644)
    os.chmod(d, 0o755)
    return d


def tls_ctx(certs, name):
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs / f"{name}.pem", certs / f"{name}.key")
    return ctx


def test_tls_may_uses_starttls_without_checks(agent, certs):
    mx = agent.sink("127.0.0.2", tls_context=tls_ctx(certs, "self"))
    agent.start()
    qid, path = agent.message(["bob@remote.test"])
    status, res, _ = deliver(agent.inst, qid, DOMAIN, [0])
    assert res[0][0] == "2.0.0", res
    assert mx.messages[0].tls in ("TLSv1.2", "TLSv1.3")
    assert mx.commands[0].count("EHLO mail.example.test") == 2
    assert (f"Untrusted TLS connection established to mx1.remote.test"
            f"[127.0.0.2]:{agent.port}: TLSv1.") in agent.log()


def test_data_paced_over_starttls_for_a_slow_server(agent, certs,
                                                     monkeypatch):
    """A server that takes the content slowly, over STARTTLS: the agent
    reads the queue file as the server takes it (its output, the TLS
    filter's included, is bounded) instead of holding the message in
    memory.  (Under ASan the agent gets a small allocator quarantine,
    which would otherwise keep every freed buffer resident.)"""
    import threading
    asan = os.environ.get("ASAN_OPTIONS", "")
    monkeypatch.setenv("ASAN_OPTIONS", (asan + ":" if asan else "") +
                       "quarantine_size_mb=1")
    hold = threading.Event()
    mx = agent.sink("127.0.0.2", tls_context=tls_ctx(certs, "self"),
                    hold_data=hold,
                    ehlo=["PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"])
    agent.start()
    line = b"x" * 78 + b"\r\n"
    body = line * (40 * 1024 * 1024 // len(line))         # 40 MB
    qid, path = agent.message(["bob@remote.test"], content=(
        "Subject: big\r\nFrom: jane@example.test\r\n\r\n").encode() + body)
    pid = agent.inst.procs["smtp"].pid
    before = rss_kib(pid)
    out = {}
    t = threading.Thread(target=lambda: out.update(r=deliver(
        agent.inst, qid, DOMAIN, [0], timeout=120)))
    t.start()
    try:
        wait_for(lambda: mx.commands and "DATA" in mx.commands[-1],
                 what="DATA", timeout=30)
        peak = peak_growth([pid], before, seconds=4)
    finally:
        hold.set()
        t.join(120)
    assert out["r"][1][0][0] == "2.0.0", out
    assert len(mx.messages[0].data) > len(body)
    assert mx.messages[0].tls in ("TLSv1.2", "TLSv1.3")
    # Unpaced, the agent holds what the kernel's buffers do not: ~30 MB.
    assert peak < 12 * 1024, f"the agent grew by {peak} KiB"


def test_tls_may_without_starttls_is_plaintext(agent):
    mx = agent.sink("127.0.0.2")
    agent.start()
    qid, path = agent.message(["bob@remote.test"])
    status, res, _ = deliver(agent.inst, qid, DOMAIN, [0])
    assert res[0][0] == "2.0.0"
    assert mx.messages[0].tls is None


def test_tls_none_never_starts_tls(agent, certs):
    mx = agent.sink("127.0.0.2", tls_context=tls_ctx(certs, "good"))
    agent.start(smtp_tls_security_level="none")
    qid, path = agent.message(["bob@remote.test"])
    status, res, _ = deliver(agent.inst, qid, DOMAIN, [0])
    assert res[0][0] == "2.0.0"
    assert mx.messages[0].tls is None
    assert "STARTTLS" not in mx.commands[0]


def test_tls_encrypt_requires_starttls(agent, certs):
    agent.sink("127.0.0.2")
    agent.sink("127.0.0.3")
    agent.start(smtp_tls_security_level="encrypt")
    qid, path = agent.message(["bob@remote.test"])
    status, res, _ = deliver(agent.inst, qid, DOMAIN, [0])
    assert res[0] == ("4.7.4", "TLS is required, but was not offered by "
                      "host mx2.remote.test[127.0.0.3]")
    mx = agent.sink("127.0.0.4", tls_context=tls_ctx(certs, "self"))
    status, res, _ = deliver(agent.inst, qid, f"[127.0.0.4]:{agent.port}",
                             [0])
    assert res[0][0] == "2.0.0"
    assert mx.messages[0].tls


@pytest.mark.parametrize("cert,ok,text", [
    ("good", True, "Verified TLS connection established"),
    ("wrong", False, "Server certificate not verified (name mismatch)"),
    ("self", False, "Server certificate not trusted"),
])
def test_tls_verify(agent, certs, cert, ok, text):
    mx = agent.sink("127.0.0.2", tls_context=tls_ctx(certs, cert))
    agent.start(smtp_tls_security_level="verify",
                smtp_tls_CAfile=str(certs / "ca.pem"))
    qid, path = agent.message(["bob@remote.test"])
    status, res, _ = deliver(agent.inst, qid, f"[mx1.remote.test]", [0])
    if ok:
        assert res[0][0] == "2.0.0", res
        assert text in agent.log()
        assert mx.messages[0].tls
    else:
        assert res[0][0] == "4.7.5", res
        assert text in res[0][1]
        assert not mx.messages
        assert marks(path) == ["-"]


def test_tls_policy_maps(agent, certs):
    agent.sink("127.0.0.2")
    agent.sink("127.0.0.3")
    agent.start(smtp_tls_policy_maps="inline:{ remote.test=encrypt }")
    qid, path = agent.message(["bob@remote.test", "x@implicit.test"])
    status, res, _ = deliver(agent.inst, qid, "[mx1.remote.test]", [0])
    # The policy names the next hop's host: [mx1.remote.test] is not it.
    assert res[0][0] == "2.0.0", res
    status, res, _ = deliver(agent.inst, qid, DOMAIN, [1])
    assert res[1][0] == "4.7.4", res


def test_drain_closes_idle_connections(agent):
    mx = agent.sink("127.0.0.2")
    agent.start()
    idle = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    idle.settimeout(10)
    idle.connect(str(agent.inst.socket_path("smtp")))
    qid, path = agent.message(["bob@remote.test"])
    status, res, _ = deliver(agent.inst, qid, DOMAIN, [0])
    assert res[0][0] == "2.0.0"
    p = agent.inst.procs["smtp"]
    p.send_signal(10)   # SIGUSR1: drain (master's reload)
    assert idle.recv(10) == b""     # closed for us, not left hanging
    assert p.wait(10) == 0
    assert "exiting: drained" in agent.log()


def test_connection_reuse(agent):
    mx = agent.sink("127.0.0.2")
    agent.start(smtp_connection_cache_time_limit="30s")
    for i in range(3):
        qid, path = agent.message([f"u{i}@remote.test"])
        status, res, _ = deliver(agent.inst, qid, DOMAIN, [0])
        assert res[0][0] == "2.0.0", res
        assert marks(path) == ["D"]
    assert mx.sessions == 1 and len(mx.messages) == 3
    assert mx.commands[0].count("RSET") == 2
    # The server closes the idle connection: the next delivery connects
    # afresh instead of failing.
    with mx.lock:
        for c in mx._conns:
            c.shutdown(socket.SHUT_RDWR)
    wait_for(lambda: "QUIT" not in mx.commands[0] and
             agent.inst.procs["smtp"].poll() is None, what="close")
    time.sleep(0.2)
    qid, path = agent.message(["late@remote.test"])
    status, res, _ = deliver(agent.inst, qid, DOMAIN, [0])
    assert res[0][0] == "2.0.0", res
    assert mx.sessions == 2


def test_reused_connection_that_fails_rset_reroutes(agent):
    mx = agent.sink("127.0.0.2")
    agent.start(smtp_connection_cache_time_limit="30s")
    qid, path = agent.message(["a@remote.test"])
    assert deliver(agent.inst, qid, DOMAIN, [0])[1][0][0] == "2.0.0"
    mx.silent_after = "RSET"     # the cached connection hangs now
    qid, path = agent.message(["b@remote.test"])
    status, res, _ = deliver(agent.inst, qid, DOMAIN, [0])
    # RSET timed out (smtp_helo_timeout), then a new connection worked.
    assert res[0][0] == "2.0.0", res
    assert mx.sessions == 2


def test_idle_connection_quits_after_the_time_limit(agent):
    mx = agent.sink("127.0.0.2")
    agent.start(smtp_connection_cache_time_limit="1s")
    qid, path = agent.message(["a@remote.test"])
    assert deliver(agent.inst, qid, DOMAIN, [0])[1][0][0] == "2.0.0"
    wait_for(lambda: mx.commands[0][-1:] == ["QUIT"], what="QUIT")
