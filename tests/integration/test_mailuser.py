"""Users whose mail belongs to their own uid (system accounts): imapd and
pop3d (mail_owner) hand the session, after the login, to a worker of the
user's uid that the mailuser service starts (docs/security.md).

A real system account is made with useradd for each test (and removed with
userdel -r afterwards), given a line in the instance's users table with its
own uid, gid and home; ulak delivers to it as that uid, and the worker
serves it over IMAP and POP3, TLS and STARTTLS.  Needs root."""
import imaplib
import os
import pathlib
import poplib
import pwd
import random
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import time

import pytest

from procwatch import daemons, imap_fetch_unread

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="needs root (useradd, setuid)")


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def poll(cond, timeout=20, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def free_uid():
    rng = random.Random()
    for _ in range(1000):
        uid = rng.randrange(20000, 60000)
        try:
            pwd.getpwuid(uid)
            continue
        except KeyError:
            pass
        try:
            import grp
            grp.getgrgid(uid)
            continue
        except KeyError:
            return uid
    raise RuntimeError("no free uid")


def procs_of(uid):
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and proc_uid(int(entry)) == uid:
            pids.append(int(entry))
    return pids


def proc_uid(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Uid:"):
                    return int(line.split()[2])   # effective uid
    except OSError:
        return None
    return None


class SysUser:
    def __init__(self, name, uid, home, password):
        self.name = name
        self.uid = uid
        self.gid = uid
        self.home = home
        self.password = password
        self.maildir = home / "Maildir"


def table_line(inst, name, uid, gid, home):
    """A users-table line for NAME with the demo user's password hash."""
    for line in (inst.dir / "users").read_text().splitlines():
        f = line.split(":")
        if f[0] == inst.user:
            f[0], f[2], f[3], f[5] = name, str(uid), str(gid), str(home)
            return ":".join(f) + "\n"
    raise AssertionError("demo user not in the users table")


def add_lines(inst, *lines):
    with open(inst.dir / "users", "a") as f:
        for line in lines:
            f.write(line)


def _account(instance, daemon_tmp, table):
    """A system account ulaktNNNNNN with its own uid (in the users table
    when TABLE)."""
    name = "ulakt%06d" % random.randrange(1000000)
    uid = free_uid()
    home = daemon_tmp / f"home-{name}"
    r = subprocess.run(["useradd", "-m", "-d", str(home), "-u", str(uid),
                        "-U", "-s", "/usr/sbin/nologin", name],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    try:
        home.chmod(0o700)
        u = SysUser(name, uid, home, instance.password)
        u.gid = pwd.getpwnam(name).pw_gid
        if table:
            add_lines(instance, table_line(instance, name, uid, u.gid,
                                           home))
        yield u
    finally:
        instance.stop()
        # Workers that outlive a failed test: only this user's processes.
        for pid in procs_of(uid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        poll(lambda: not procs_of(uid), 10, "the user's processes to end")
        subprocess.run(["userdel", "-r", name], capture_output=True)
        subprocess.run(["userdel", "-f", name], capture_output=True)
        assert subprocess.run(["id", name], capture_output=True).returncode


@pytest.fixture
def sysuser(instance, daemon_tmp):
    """A system account ulaktNNNNNN with its own uid, in the users table."""
    yield from _account(instance, daemon_tmp, True)


@pytest.fixture
def account(instance, daemon_tmp):
    """A system account ulaktNNNNNN, not in the users table yet."""
    yield from _account(instance, daemon_tmp, False)


def send(inst, rcpt, body, subject="hello"):
    msg = (f"From: sender@example.org\r\nTo: {rcpt}\r\n"
           f"Subject: {subject}\r\n\r\n{body}").encode()
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=20) as c:
        c.sendmail("sender@example.org", [rcpt], msg)
    return msg


def new_files(u):
    d = u.maildir / "new"
    try:
        return sorted(d.iterdir())
    except FileNotFoundError:
        return []


def deliver(inst, u, body, subject="hello"):
    """Send BODY to U over SMTP; wait until local has put it in new/."""
    before = set(new_files(u))
    send(inst, f"{u.name}@{inst.domain}", body, subject)
    return poll(lambda: [p for p in new_files(u) if p not in before],
                30, "local delivery")[0]


def crlf(data):
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def check_processes(inst, program, u):
    """A worker of PROGRAM runs as U; the fronts as mail_owner."""
    owner = pwd.getpwnam(inst.conf("mail_owner")).pw_uid
    procs = daemons(inst, program)
    workers = [pid for pid, argv in procs if argv[-1] == "worker"]
    fronts = [pid for pid, argv in procs if argv[-1] != "worker"]
    assert workers, procs
    assert fronts, procs
    assert all(proc_uid(p) == u.uid for p in workers), \
        [(p, proc_uid(p)) for p in workers]
    assert all(proc_uid(p) == owner for p in fronts), \
        [(p, proc_uid(p)) for p in fronts]
    return workers


def test_delivery_and_imaps(sysuser, instance):
    u = sysuser
    instance.start()
    instance.wait_port(instance.ports["imaps"])
    path = deliver(instance, u, "first body\r\n", "one")
    st = path.stat()
    assert (st.st_uid, st.st_gid) == (u.uid, u.gid)
    assert u.maildir.stat().st_uid == u.uid
    stored = path.read_bytes()

    m = imaplib.IMAP4_SSL("127.0.0.1", instance.ports["imaps"],
                          ssl_context=tls_context(), timeout=20)
    typ, data = m.login(u.name, u.password)
    assert typ == "OK" and b"Logged in" in data[0]
    check_processes(instance, "imapd", u)
    typ, data = m.select("INBOX")
    assert typ == "OK" and data[0] == b"1"
    typ, data = m.fetch("1", "(BODY.PEEK[])")
    assert data[0][1] == crlf(stored)
    assert data[0][1].endswith(b"Subject: one\r\n\r\nfirst body\r\n")
    typ, data = m.store("1", "+FLAGS", "(\\Flagged)")
    assert typ == "OK" and b"\\Flagged" in data[0]
    cur = poll(lambda: list((u.maildir / "cur").iterdir()), 5, "cur/")
    assert cur[0].name.endswith(",F") and cur[0].stat().st_uid == u.uid

    appended = b"From: me@example.org\r\nSubject: app\r\n\r\nappended\r\n"
    typ, data = m.append("INBOX", "(\\Seen)", None, appended)
    assert typ == "OK"
    typ, data = m.select("INBOX")
    assert data[0] == b"2"
    typ, data = m.fetch("2", "(FLAGS BODY.PEEK[])")
    assert data[0][1] == appended and b"\\Seen" in data[0][0]
    assert all(p.stat().st_uid == u.uid
               for p in (u.maildir / "cur").iterdir())

    # IDLE sees a delivery made meanwhile.
    tag = m._new_tag().decode()
    m.send(f"{tag} IDLE\r\n".encode())
    assert m.readline().startswith(b"+")
    # (The worker moves it to cur/ at once: do not wait for new/.)
    send(instance, f"{u.name}@{instance.domain}", "third\r\n", "three")
    line = poll(lambda: m.readline(), 30, "EXISTS")
    assert line.strip() == b"* 3 EXISTS", line
    m.send(b"DONE\r\n")
    while True:
        line = m.readline()
        if line.startswith(tag.encode()):
            break
    assert b"OK" in line
    m.logout()
    poll(lambda: not [p for p, a in daemons(instance, "imapd")
                      if a[-1] == "worker"], 10, "the worker to exit")
    log = instance.log()
    assert f"login user={u.name} from 127.0.0.1 (TLS): served by a " \
        "worker" in log
    assert "worker pid" in log


def test_ulak_passwd_adds_a_system_account_as_itself(account, instance):
    """The tutorial's path: `adduser alice`, then `ulak passwd alice`: the
    table line gets alice's own uid, gid and home, local delivers into
    her ~/Maildir as her, and IMAP reads it through a worker of her uid."""
    u = account
    r = instance.run("passwd", u.name, input="s3cret pass\n")
    assert r.returncode == 0, r.stderr
    lines = [ln.split(":") for ln in
             (instance.dir / "users").read_text().splitlines()
             if ln.startswith(u.name + ":")]
    assert len(lines) == 1, lines
    f = lines[0]
    assert (f[2], f[3], f[5], f[6]) == (str(u.uid), str(u.gid),
                                        str(u.home), "/usr/sbin/nologin")
    assert f[1].startswith("$y$")
    instance.start()
    instance.wait_port(instance.ports["imaps"])
    path = deliver(instance, u, "via passwd\r\n", "pw")
    assert path.stat().st_uid == u.uid
    stored = path.read_bytes()
    m = imaplib.IMAP4_SSL("127.0.0.1", instance.ports["imaps"],
                          ssl_context=tls_context(), timeout=20)
    typ, _ = m.login(u.name, "s3cret pass")
    assert typ == "OK"
    check_processes(instance, "imapd", u)
    typ, data = m.select("INBOX")
    assert typ == "OK" and data[0] == b"1"
    typ, data = m.fetch("1", "(BODY.PEEK[])")
    assert data[0][1] == crlf(stored)
    m.logout()


def test_imap_starttls_and_pipelining(sysuser, instance):
    u = sysuser
    instance.start()
    instance.wait_port(instance.ports["imap"])
    deliver(instance, u, "body\r\n")
    m = imaplib.IMAP4("127.0.0.1", instance.ports["imap"], timeout=20)
    m.starttls(tls_context())
    # LOGIN with SELECT pipelined behind it: the front passes the
    # SELECT on to the worker.
    m.send(f'a1 LOGIN {u.name} "{u.password}"\r\na2 SELECT INBOX\r\n'
           .encode())
    lines = []
    while not lines or not lines[-1].startswith(b"a2 "):
        lines.append(m.readline())
    assert lines[0].startswith(b"a1 OK [CAPABILITY"), lines
    assert b"* 1 EXISTS\r\n" in lines
    assert lines[-1].startswith(b"a2 OK [READ-WRITE]")
    m.state = "SELECTED"      # imaplib did not see the raw LOGIN
    # A message larger than what the relay buffers (1 MiB each way)
    # goes through both ways unchanged.
    big = b"Subject: big\r\n\r\n" + b"".join(
        b"%07d " % i + b"x" * 70 + b"\r\n" for i in range(40000))
    typ, data = m.append("INBOX", None, None, big)
    assert typ == "OK"
    m.select("INBOX")
    typ, data = m.fetch("2", "(BODY.PEEK[])")
    assert data[0][1] == big
    m.logout()


def test_relay_bounded_for_a_client_that_does_not_read(sysuser, instance):
    """A STARTTLS client that asks for far more than it reads: the front
    relays at most about a MiB each way (its TLS filter included), so the
    worker waits instead of the front's memory growing by what the
    client asked for; everything arrives once the client reads."""
    u = sysuser
    instance.start()
    instance.wait_port(instance.ports["imap"])
    m = imaplib.IMAP4("127.0.0.1", instance.ports["imap"], timeout=60)
    m.starttls(tls_context())
    assert m.login(u.name, u.password)[0] == "OK"
    fronts = [p for p, a in daemons(instance, "imapd") if a[-1] != "worker"]
    # Watch the fronts while the worker produces n * 3 MiB that the
    # client does not read (the kernel buffers hold a few MiB).
    peak = imap_fetch_unread(m, fronts)
    assert peak < 64 * 1024, f"the front grew by {peak} KiB"
    m.logout()


def test_pop3s_and_stls(sysuser, instance):
    u = sysuser
    instance.start()
    instance.wait_port(instance.ports["pop3s"])
    path = deliver(instance, u, "pop body\r\n", "pop")
    stored = path.read_bytes()
    deliver(instance, u, "second\r\n", "two")

    p = poplib.POP3_SSL("127.0.0.1", instance.ports["pop3s"],
                        context=tls_context(), timeout=20)
    p.user(u.name)
    assert p.pass_(u.password).startswith(b"+OK")
    check_processes(instance, "pop3d", u)
    count, size = p.stat()
    assert count == 2
    resp, lines, octets = p.retr(1)
    got = b"\r\n".join(lines) + b"\r\n"
    assert got == crlf(stored)
    assert p.dele(1).startswith(b"+OK")
    assert p.quit().startswith(b"+OK")
    poll(lambda: len(list((u.maildir / "cur").iterdir())) +
         len(new_files(u)) == 1, 10, "the deletion")

    p = poplib.POP3("127.0.0.1", instance.ports["pop3"], timeout=20)
    p.stls(tls_context())
    p.user(u.name)
    p.pass_(u.password)
    assert p.stat()[0] == 1
    # The maildrop lock holds across workers: a second login is refused.
    q = poplib.POP3_SSL("127.0.0.1", instance.ports["pop3s"],
                        context=tls_context(), timeout=20)
    q.user(u.name)
    with pytest.raises(poplib.error_proto) as e:
        q.pass_(u.password)
    assert b"[IN-USE]" in e.value.args[0]
    q.close()
    p.quit()


def test_low_and_root_uids_refused(sysuser, instance):
    add_lines(instance,
              table_line(instance, "lowuid", 500, 500, "/nonexistent"),
              table_line(instance, "rootuid", 0, 0, "/root"))
    instance.start()
    instance.wait_port(instance.ports["pop3s"])
    for name in ("lowuid", "rootuid"):
        m = imaplib.IMAP4_SSL("127.0.0.1", instance.ports["imaps"],
                              ssl_context=tls_context(), timeout=20)
        with pytest.raises(imaplib.IMAP4.error) as e:
            m.login(name, instance.password)
        assert "[UNAVAILABLE]" in str(e.value)
        # The session goes on: the demo user (mail_owner's uid) may
        # still log in on it, served in-process.
        typ, _ = m.login(instance.user, instance.password)
        assert typ == "OK"
        m.logout()

        p = poplib.POP3_SSL("127.0.0.1", instance.ports["pop3s"],
                            context=tls_context(), timeout=20)
        p.user(name)
        with pytest.raises(poplib.error_proto) as e:
            p.pass_(instance.password)
        assert b"-ERR [SYS/TEMP]" in e.value.args[0]
        p.quit()
    log = instance.log()
    assert "uid 500 gid 500: uid 0, gid 0 and uids below " \
        "first_valid_uid (1000) are not served" in log
    assert "uid 0 gid 0:" in log
    assert not [p for p, a in daemons(instance, "imapd")
                if a[-1] == "worker"]


def test_first_valid_uid_parameter(sysuser, instance):
    u = sysuser
    instance.set(first_valid_uid=str(u.uid + 1))
    instance.start()
    instance.wait_port(instance.ports["imaps"])
    m = imaplib.IMAP4_SSL("127.0.0.1", instance.ports["imaps"],
                          ssl_context=tls_context(), timeout=20)
    with pytest.raises(imaplib.IMAP4.error) as e:
        m.login(u.name, u.password)
    assert "[UNAVAILABLE]" in str(e.value)
    m.logout()


def test_without_mailuser_service(sysuser, instance):
    """No mailuser: a clean temporary error; mail_owner users still work."""
    mcf = instance.dir / "master.cf"
    text = mcf.read_text()
    assert "\nmailuser " in text
    mcf.write_text("".join(line for line in text.splitlines(True)
                           if not line.startswith("mailuser ")))
    instance.start()
    instance.wait_port(instance.ports["pop3s"])
    m = imaplib.IMAP4_SSL("127.0.0.1", instance.ports["imaps"],
                          ssl_context=tls_context(), timeout=20)
    with pytest.raises(imaplib.IMAP4.error) as e:
        m.login(sysuser.name, sysuser.password)
    assert "NO [UNAVAILABLE]" in str(e.value) or \
        "[UNAVAILABLE]" in str(e.value)
    assert m.login(instance.user, instance.password)[0] == "OK"
    assert m.select("INBOX")[0] == "OK"
    m.logout()
    p = poplib.POP3_SSL("127.0.0.1", instance.ports["pop3s"],
                        context=tls_context(), timeout=20)
    p.user(sysuser.name)
    with pytest.raises(poplib.error_proto) as e:
        p.pass_(sysuser.password)
    assert b"-ERR [SYS/TEMP]" in e.value.args[0]
    p.user(instance.user)
    assert p.pass_(instance.password).startswith(b"+OK")
    p.quit()
    assert "no worker of the user's uid" in instance.log()


def test_mailuser_killed(sysuser, instance):
    """mailuser killed: a session already handed over goes on; master
    restarts the service and new logins work again."""
    u = sysuser
    instance.start()
    instance.wait_port(instance.ports["imaps"])
    m = imaplib.IMAP4_SSL("127.0.0.1", instance.ports["imaps"],
                          ssl_context=tls_context(), timeout=20)
    assert m.login(u.name, u.password)[0] == "OK"
    [(pid, _)] = daemons(instance, "mailuser")
    os.kill(pid, signal.SIGKILL)
    assert m.select("INBOX")[0] == "OK"
    poll(lambda: [p for p, _ in daemons(instance, "mailuser") if p != pid],
         20, "mailuser to be restarted")
    m2 = imaplib.IMAP4_SSL("127.0.0.1", instance.ports["imaps"],
                           ssl_context=tls_context(), timeout=20)
    assert m2.login(u.name, u.password)[0] == "OK"
    m2.logout()
    m.logout()


PEER = r"""
import os, socket, sys
os.setgid(int(sys.argv[3])); os.setuid(int(sys.argv[2]))
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
# Refused at once, before any request (one sent meanwhile would make
# the close a reset).
out = b""
while True:
    got = s.recv(4096)
    if not got:
        break
    out += got
sys.stdout.write(out.decode())
"""


def request(path, req, fds=()):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(str(path))
    socket.send_fds(s, [req], list(fds)) if fds else s.sendall(req)
    out = b""
    while True:
        got = s.recv(4096)
        if not got:
            break
        out += got
    s.close()
    return out.decode()


def test_mailuser_refuses_other_peers_and_bad_requests(sysuser, instance,
                                                       daemon_tmp):
    u = sysuser
    add_lines(instance, table_line(instance, "rootuid", 0, 0, "/root"))
    instance.start()
    sock = pathlib.Path(instance.conf("queue_directory")) / "private" / \
        "mailuser"
    poll(lambda: sock.exists(), 10, "private/mailuser")
    st = sock.stat()
    assert st.st_mode & 0o777 == 0o600
    # A peer that is neither mail_owner nor root (the socket opened up
    # for the test: only SO_PEERCRED stands in the way).
    os.chmod(sock, 0o666)
    link = daemon_tmp / "mailuser-link"
    os.link(sock, link)       # private/ itself is mail_owner's, 0700
    r = subprocess.run([sys.executable, "-c", PEER, str(link),
                        str(u.uid), str(u.gid)],
                       capture_output=True, text=True, timeout=20)
    assert "status=5" in r.stdout, (r.stdout, r.stderr)
    assert f"uid {u.uid} is neither mail_owner nor root" in instance.log()

    a, b = socket.socketpair()
    # No descriptor.
    out = request(sock, b"request=session\nservice=imap\nuser="
                  + u.name.encode() + b"\nclient_address=1\ntls=no\n"
                  b"tag=a\n\n")
    assert out.startswith("status=5\n") and "one socket" in out
    # Unknown attribute.
    out = request(sock, b"request=session\nservice=imap\nuser=x\n"
                  b"client_address=1\ntls=no\ntag=a\nextra=1\n\n",
                  [b.fileno()])
    assert out.startswith("status=5\n") and "malformed" in out
    # A bad IMAP tag (it would be written into the worker's answer).
    out = request(sock, b"request=session\nservice=imap\nuser=x\n"
                  b"client_address=1\ntls=no\ntag=a%0D%0Ab\n\n",
                  [b.fileno()])
    assert out.startswith("status=5\n") and "malformed" in out
    # uid 0.
    out = request(sock, b"request=session\nservice=pop3\nuser=rootuid\n"
                  b"client_address=1\ntls=no\n\n", [b.fileno()])
    assert out.startswith("status=5\n") and "uid 0 gid 0" in out
    # A good one: the worker answers on the pair.
    out = request(sock, b"request=session\nservice=pop3\nuser="
                  + u.name.encode() + b"\nclient_address=1\ntls=no\n"
                  b"method=USER\n\n", [b.fileno()])
    assert out == "status=0\n\n", out
    b.close()
    a.settimeout(10)
    assert a.recv(100).startswith(b"+OK Logged in")
    a.sendall(b"QUIT\r\n")
    assert a.recv(100).startswith(b"+OK")
    a.close()
