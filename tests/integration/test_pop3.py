"""pop3d under master (`ulak start`), with Python's poplib and raw sockets:
STLS and POP3S logins, every command, deletion semantics (only QUIT
deletes), the IN-USE lock, AUTH PLAIN, wrong passwords (slowed, logged,
limited), plaintext logins refused without TLS, bad input, UIDs stable
across a restart, and mail delivered by ulak itself."""
import base64
import mailbox
import os
import pathlib
import poplib
import smtplib
import socket
import ssl
import time

import pytest

from procwatch import daemons, peak_growth, rss_kib


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def wait_for(cond, timeout=20, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def user_entry(inst):
    """(uid, gid, home) of the demo user from the instance's users file."""
    for line in (inst.dir / "users").read_text().splitlines():
        f = line.split(":")
        if f[0] == inst.user:
            return int(f[2]), int(f[3]), pathlib.Path(f[5])
    raise AssertionError("demo user not in users file")


def maildir(inst):
    return user_entry(inst)[2] / "Maildir"


_counter = [0]


def put(inst, text, flags=None):
    """Deliver TEXT into the demo user's Maildir as local would (tmp/ then
    new/, owned by the user); returns the file name."""
    uid, gid, _ = user_entry(inst)
    md = maildir(inst)
    for sub in ("tmp", "new", "cur"):
        (md / sub).mkdir(parents=True, exist_ok=True)
        os.chown(md / sub, uid, gid)
    os.chown(md, uid, gid)
    _counter[0] += 1
    name = f"{int(time.time())}.M{_counter[0]}P{os.getpid()}Q1.testhost"
    tmp = md / "tmp" / name
    tmp.write_bytes(text.encode() if isinstance(text, str) else text)
    os.chown(tmp, uid, gid)
    if flags is None:
        os.rename(tmp, md / "new" / name)
    else:
        os.rename(tmp, md / "cur" / f"{name}:2,{flags}")
    return name


def files(inst):
    md = maildir(inst)
    return sorted(os.listdir(md / "new")) + sorted(os.listdir(md / "cur"))


@pytest.fixture
def pop(running):
    running.wait_port(running.ports["pop3"])
    running.wait_port(running.ports["pop3s"])
    return running


def connect(inst, tls=True):
    p = poplib.POP3("127.0.0.1", inst.ports["pop3"], timeout=15)
    if tls:
        p.stls(tls_context())
    return p


def login(inst):
    p = connect(inst)
    p.user(inst.user)
    p.pass_(inst.password)
    return p


MSGS = [
    "From: a@example.org\nSubject: one\n\nfirst body\n",
    "From: b@example.org\nSubject: two\n\n.leading dot\n..two dots\n.\nend\n",
    "From: c@example.org\r\nSubject: three\r\n\r\nCRLF body\r\nline 2\r\n",
]


def crlf_size(text):
    b = text.encode()
    return len(b) + b.count(b"\n") - b.count(b"\r\n")


class Raw:
    """A raw POP3 client over a socket (for pipelining and bad input)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), 15)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def line(self):
        while b"\r\n" not in self.buf:
            got = self.sock.recv(65536)
            if not got:
                raise EOFError(f"closed; pending {self.buf!r}")
            self.buf += got
        ln, _, self.buf = self.buf.partition(b"\r\n")
        return ln.decode(errors="replace")

    def multi(self):
        lines = []
        while True:
            ln = self.line()
            if ln == ".":
                return lines
            lines.append(ln)

    def closed(self):
        try:
            self.sock.settimeout(10)
            return self.sock.recv(100) == b""
        except ConnectionResetError:
            return True

    def starttls(self):
        self.sock = tls_context().wrap_socket(self.sock)


def test_plaintext_login_refused_without_tls(pop):
    p = connect(pop, tls=False)
    assert p.getwelcome().startswith(b"+OK")
    caps = p.capa()
    assert "STLS" in caps and "USER" not in caps and "SASL" not in caps
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\] Plaintext"):
        p.user(pop.user)
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\] Plaintext"):
        p.pass_(pop.password)
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\] Plaintext"):
        p._shortcmd("AUTH PLAIN " + base64.b64encode(
            f"\0{pop.user}\0{pop.password}".encode()).decode())
    with pytest.raises(poplib.error_proto, match="Log in first"):
        p.stat()
    p.quit()


def test_every_command_after_stls(pop):
    for m in MSGS:
        put(pop, m)
    p = connect(pop)
    caps = p.capa()
    for c in ("TOP", "UIDL", "RESP-CODES", "PIPELINING", "USER", "SASL"):
        assert c in caps
    assert "STLS" not in caps
    assert caps["SASL"] == ["PLAIN"]
    assert p.user(pop.user).startswith(b"+OK")
    assert p.pass_(pop.password).startswith(b"+OK")
    sizes = [crlf_size(m) for m in MSGS]
    assert p.stat() == (3, sum(sizes))
    resp, lines, _ = p.list()
    assert [ln.decode() for ln in lines] == [
        f"{i + 1} {s}" for i, s in enumerate(sizes)]
    assert p.list(2) == f"+OK 2 {sizes[1]}".encode()
    resp, uidls, _ = p.uidl()
    ids = [ln.split()[1] for ln in uidls]
    assert len(set(ids)) == 3 and all(len(i) == 16 for i in ids)
    assert p.uidl(3).split()[2] == ids[2]
    # RETR: poplib undoes the dot-stuffing; the lines must be the message.
    for i, m in enumerate(MSGS):
        resp, lines, octets = p.retr(i + 1)
        assert resp == f"+OK {sizes[i]} octets".encode()
        assert lines == [ln.encode() for ln in
                         m.replace("\r\n", "\n").rstrip("\n").split("\n")]
    resp, lines, _ = p.top(2, 1)
    assert lines == [b"From: b@example.org", b"Subject: two", b"",
                     b".leading dot"]
    resp, lines, _ = p.top(1, 0)
    assert lines == [b"From: a@example.org", b"Subject: one", b""]
    assert p.noop() == b"+OK"
    assert p.dele(1).startswith(b"+OK")
    with pytest.raises(poplib.error_proto, match="deleted"):
        p.retr(1)
    with pytest.raises(poplib.error_proto, match="deleted"):
        p.dele(1)
    with pytest.raises(poplib.error_proto, match="no message 4"):
        p.retr(4)
    assert p.stat() == (2, sum(sizes[1:]))
    assert [ln.split()[0] for ln in p.list()[1]] == [b"2", b"3"]
    assert p.rset() == b"+OK"
    assert p.stat() == (3, sum(sizes))
    with pytest.raises(poplib.error_proto, match="Already logged in"):
        p.user("x")
    assert p.quit().startswith(b"+OK")
    # Nothing deleted; the retrieved messages are \Seen now.
    names = files(pop)
    assert len(names) == 3
    assert all(n.endswith(":2,S") for n in names)


def test_deletion_only_at_quit(pop):
    for m in MSGS:
        put(pop, m)
    p = login(pop)
    assert p.stat()[0] == 3
    p.dele(1)
    p.dele(3)
    # The connection drops without QUIT: nothing is deleted.
    p.sock.close()
    p.file.close()
    p = wait_for(lambda: try_login(pop), what="lock released")
    assert p.stat()[0] == 3
    p.dele(1)
    p.dele(3)
    assert p.quit().startswith(b"+OK")
    left = files(pop)
    assert len(left) == 1
    box = mailbox.Maildir(maildir(pop), create=False)
    assert [m["Subject"] for m in box] == ["two"]


def try_login(inst):
    try:
        return login(inst)
    except poplib.error_proto as e:
        if b"IN-USE" in e.args[0]:
            return None
        raise


def test_pop3s_implicit_tls(pop):
    put(pop, MSGS[0])
    p = poplib.POP3_SSL("127.0.0.1", pop.ports["pop3s"],
                        context=tls_context(), timeout=15)
    assert p.getwelcome().startswith(b"+OK")
    caps = p.capa()
    assert "USER" in caps and "STLS" not in caps
    with pytest.raises(poplib.error_proto, match="already active|not"):
        p._shortcmd("STLS")
    p.user(pop.user)
    p.pass_(pop.password)
    assert p.stat() == (1, crlf_size(MSGS[0]))
    p.quit()
    assert "TLS connection established: TLSv1." in pop.log()


def test_in_use_lock(pop):
    put(pop, MSGS[0])
    a = login(pop)
    b = connect(pop)
    b.user(pop.user)
    with pytest.raises(poplib.error_proto, match=r"\[IN-USE\]"):
        b.pass_(pop.password)
    # The pop3s service is another pop3d process: locked out as well.
    c = poplib.POP3_SSL("127.0.0.1", pop.ports["pop3s"],
                        context=tls_context(), timeout=15)
    c.user(pop.user)
    with pytest.raises(poplib.error_proto, match=r"\[IN-USE\]"):
        c.pass_(pop.password)
    c.quit()
    # Still in AUTHORIZATION: may try again once A is done.
    a.quit()
    assert b.pass_(pop.password).startswith(b"+OK")
    assert b.stat()[0] == 1
    b.quit()


def test_auth_plain(pop):
    put(pop, MSGS[0])
    token = base64.b64encode(
        f"\0{pop.user}\0{pop.password}".encode()).decode()
    p = connect(pop)
    assert p._shortcmd("AUTH PLAIN " + token).startswith(b"+OK")
    assert p.stat()[0] == 1
    p.quit()
    # Without an initial response: the "+ " continuation.
    r = Raw(pop.ports["pop3"])
    assert r.line().startswith("+OK")
    r.send("STLS\r\n")
    assert r.line().startswith("+OK")
    r.starttls()
    r.send("AUTH PLAIN\r\n")
    assert r.line() == "+ "
    r.send(token + "\r\n")
    assert r.line().startswith("+OK")
    r.send("QUIT\r\n")
    assert r.line().startswith("+OK")
    # Cancel, bad base64, an authzid of someone else, unknown mechanism.
    p = connect(pop)
    with pytest.raises(poplib.error_proto, match="cancelled"):
        r = p._shortcmd("AUTH PLAIN")
        p._putcmd("*")
        p._getresp()
    with pytest.raises(poplib.error_proto, match="Invalid PLAIN"):
        p._shortcmd("AUTH PLAIN !!!!")
    with pytest.raises(poplib.error_proto, match="Unsupported"):
        p._shortcmd("AUTH CRAM-MD5")
    resp, mechs, _ = p._longcmd("AUTH")
    assert mechs == [b"PLAIN"]
    p.quit()


@pytest.fixture
def configured(instance):
    """An instance started after the test's main.cf changes: call
    configured(name=value, ...)."""
    started = []

    def start(**params):
        instance.set(**params)
        instance.start()
        instance.wait_port(instance.ports["pop3"])
        started.append(instance)
        return instance
    yield start
    for inst in started:
        inst.stop()


def test_wrong_password_slowed_logged_limited(configured):
    pop = configured(pop3d_auth_failure_delay="1s",
                     pop3d_auth_failure_limit="2")
    p = connect(pop)
    p.user(pop.user)
    t0 = time.monotonic()
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\] Authentication "
                       "failed"):
        p.pass_("wrong password")
    first = time.monotonic() - t0
    assert first >= 0.9
    t0 = time.monotonic()
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        p._shortcmd("AUTH PLAIN " + base64.b64encode(
            b"\0nosuchuser\0pw").decode())
    assert time.monotonic() - t0 >= 1.8     # doubled
    # The limit: the connection is closed after the second failure.
    with pytest.raises((poplib.error_proto, OSError, EOFError)):
        p.noop()
    log = pop.log()
    assert ("warning: unknown[127.0.0.1]: SASL LOGIN authentication "
            "failed: authentication failure, sasl_username=demo") in log
    assert ("SASL PLAIN authentication failed: authentication failure, "
            "sasl_username=nosuchuser") in log
    assert "wrong password" not in log


def test_stls_discards_pipelined_plaintext(pop):
    r = Raw(pop.ports["pop3"])
    assert r.line().startswith("+OK")
    # Injection attempt: a command in the same packet as STLS.
    r.send(f"STLS\r\nUSER {pop.user}\r\n")
    assert r.line() == "+OK Begin TLS negotiation"
    r.starttls()
    r.send(f"PASS {pop.password}\r\n")
    assert r.line() == "-ERR USER first"
    r.send("QUIT\r\n")
    assert r.line().startswith("+OK")


def test_pipelining(pop):
    for m in MSGS:
        put(pop, m)
    r = Raw(pop.ports["pop3"])
    r.line()
    r.send("STLS\r\n")
    r.line()
    r.starttls()
    r.send(f"USER {pop.user}\r\nPASS {pop.password}\r\nSTAT\r\nRETR 2\r\n"
           "UIDL 1\r\nDELE 1\r\nNOOP\r\nQUIT\r\n")
    assert r.line() == "+OK"
    assert r.line() == "+OK Logged in"
    assert r.line().startswith("+OK 3 ")
    assert r.line().startswith("+OK")
    body = r.multi()
    assert body[3:6] == ["..leading dot", "...two dots", ".."]
    assert r.line().startswith("+OK 1 ")
    assert r.line().startswith("+OK")
    assert r.line() == "+OK"
    assert r.line() == "+OK Logging out"
    assert r.closed()
    assert len(files(pop)) == 2


def test_bad_input(pop):
    r = Raw(pop.ports["pop3"])
    r.line()
    for bad, want in [("HELO x", "-ERR unknown command"),
                      ("", "-ERR unknown command"),
                      ("RETR 1", "-ERR Log in first"),
                      ("STAT 1", "-ERR this command takes no argument"),
                      ("LIST  1", "-ERR bad spacing in command line"),
                      ("APOP a b", "-ERR APOP is not supported"),
                      ("NOOP", "-ERR Log in first")]:
        r.send(bad + "\r\n")
        assert r.line() == want
    r.send(b"USER a\0b\r\n")
    assert r.line().startswith("-ERR")
    r.send(b"\xff\xfe\r\n")
    assert r.line() == "-ERR unknown command"
    r.send("X" * 5000 + "\r\n")
    assert r.line() == "-ERR Line too long"
    assert r.closed()
    # A line that never ends is cut off too.
    r = Raw(pop.ports["pop3"])
    r.line()
    r.send("A" * 3000)
    assert r.line() == "-ERR Line too long"
    assert r.closed()
    # The daemon is still there.
    p = login(pop)
    p.quit()


def test_uidl_stable_across_restart(pop):
    for m in MSGS:
        put(pop, m)
    p = login(pop)
    before = p.uidl()[1]
    p.quit()
    put(pop, "Subject: four\n\nx\n")
    pop.stop()
    pop.start()
    pop.wait_port(pop.ports["pop3"])
    p = login(pop)
    after = p.uidl()[1]
    p.quit()
    assert after[:3] == before
    assert len(after) == 4 and after[3] not in before


def test_mail_delivered_by_ulak(pop):
    body = "Subject: via smtp\r\n\r\nhello over SMTP\r\n.dot line\r\n"
    with smtplib.SMTP("127.0.0.1", pop.ports["smtp"], timeout=15) as s:
        s.sendmail("jane@example.org", [f"{pop.user}@{pop.domain}"],
                   body.encode())

    def arrived():
        p = login(pop)
        n = p.stat()[0]
        if n == 0:
            p.quit()
            return None
        return p

    p = wait_for(arrived, timeout=30, what="delivery to the Maildir")
    resp, lines, _ = p.retr(1)
    assert b"Subject: via smtp" in lines
    assert b"hello over SMTP" in lines
    assert b".dot line" in lines
    p.dele(1)
    p.quit()
    assert files(pop) == []


def test_plaintext_allowed_when_configured(configured):
    pop = configured(pop3d_tls_auth_only="no")
    put(pop, MSGS[0])
    p = connect(pop, tls=False)
    caps = p.capa()
    assert "USER" in caps and "STLS" in caps and "SASL" in caps
    p.user(pop.user)
    p.pass_(pop.password)
    assert p.stat()[0] == 1
    p.quit()
    assert "method=USER, rip=127.0.0.1\n" in pop.log()


def test_security_level_encrypt(configured):
    pop = configured(pop3d_tls_security_level="encrypt")
    p = connect(pop, tls=False)
    assert "STLS" in p.capa()
    with pytest.raises(poplib.error_proto, match="Issue STLS first"):
        p.user(pop.user)
    with pytest.raises(poplib.error_proto, match="Issue STLS first"):
        p._shortcmd("AUTH PLAIN")
    p.stls(tls_context())
    p.user(pop.user)
    p.pass_(pop.password)
    p.quit()


def test_security_level_none(configured):
    pop = configured(pop3d_tls_security_level="none",
                     pop3d_tls_auth_only="no")
    p = connect(pop, tls=False)
    assert "STLS" not in p.capa()
    with pytest.raises(poplib.error_proto, match="not available"):
        p._shortcmd("STLS")
    p.quit()


def test_connection_count_limit(configured):
    pop = configured(pop3d_client_connection_count_limit="2")
    a = Raw(pop.ports["pop3"])
    assert a.line().startswith("+OK")

    def second():
        # wait_port's probe may still be counted for a moment.
        b = Raw(pop.ports["pop3"])
        if b.line().startswith("+OK"):
            return b
        b.sock.close()
        return None
    b = wait_for(second, what="a second session")
    c = Raw(pop.ports["pop3"])
    assert c.line() == ("-ERR [SYS/TEMP] Too many connections from your "
                        "address")
    assert c.closed()
    a.send("QUIT\r\n")
    assert a.line().startswith("+OK")
    assert a.closed()

    def fourth():
        d = Raw(pop.ports["pop3"])
        ok = d.line().startswith("+OK")
        d.sock.close()
        return ok
    wait_for(fourth, what="a slot after QUIT")


def test_retr_paced_over_stls_for_a_client_that_does_not_read(instance):
    """STLS, then many pipelined RETRs of a 3 MiB message without reading:
    pop3d waits for the client instead of growing by what was asked for;
    everything arrives once the client reads.  (Under ASan the daemons
    get a small allocator quarantine, which would otherwise keep every
    freed buffer resident.)"""
    inst = instance
    big = "Subject: big\n\n" + "".join(
        "%07d " % i + "x" * 70 + "\n" for i in range(40000))
    put(inst, big)
    asan = os.environ.get("ASAN_OPTIONS", "")
    r = inst.run("start", env={"ASAN_OPTIONS": (asan + ":" if asan else "")
                               + "quarantine_size_mb=1"})
    assert r.returncode == 0, r.stderr
    inst.wait_port(inst.ports["pop3"])
    p = login(inst)
    pids = [pid for pid, _ in daemons(inst, "pop3d")]
    before = sum(rss_kib(p) for p in pids)
    n = 16
    p.sock.sendall(b"RETR 1\r\n" * n)
    peak = peak_growth(pids, before)
    # Unpaced, it grows by what was asked: 16 x 3.4 MB.
    assert peak < 24 * 1024, f"pop3d grew by {peak} KiB"
    got = 0
    for _ in range(n):
        resp, lines, _octets = p._getlongresp()
        assert resp.startswith(b"+OK")
        assert lines[-1] == b"0039999 " + b"x" * 70
        got += 1
    assert got == n
    p.quit()
    inst.stop()

