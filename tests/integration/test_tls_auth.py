"""TLS and submission (issue 6) on a running instance of `ulak init`:
STARTTLS and implicit TLS with its self-signed certificate, AUTH only
inside TLS, wrong passwords refused and slowed down, authenticated relay
versus unauthenticated refusal, sender login mismatch, forged local
senders refused at MAIL FROM, the STARTTLS injection attempt, bad AUTH
input, privilege separation, and `ulak passwd`.  Clients: Python's
smtplib and ssl, raw sockets, swaks."""
import base64
import os
import pathlib
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

import smtpraw

REMOTE = "someone@remote.example"


def tls_context():
    """A client context that accepts the instance's self-signed cert."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def b64(text):
    if isinstance(text, str):
        text = text.encode()
    return base64.b64encode(text).decode()


def plain(user, password):
    return b64(f"\0{user}\0{password}")


def wait_for(cond, timeout=15, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Raw(smtpraw.Raw):
    """The raw SMTP client, with STARTTLS."""

    def __init__(self, port, timeout=15):
        super().__init__(port, timeout)

    def starttls(self):
        assert not self.buf, f"bytes before the handshake: {self.buf!r}"
        self.sock = tls_context().wrap_socket(self.sock)


def raw_tls(port):
    """A raw client on the implicit-TLS port, greeted."""
    r = Raw(port)
    r.sock = tls_context().wrap_socket(r.sock)
    assert r.reply()[0] == 220
    return r


def raw_starttls(port, ehlo="client.example.net"):
    """A raw client after EHLO, STARTTLS, handshake and EHLO again."""
    r = Raw(port)
    assert r.reply()[0] == 220
    r.expect(f"EHLO {ehlo}", 250)
    r.expect("STARTTLS", 220)
    r.starttls()
    r.expect(f"EHLO {ehlo}", 250)
    return r


def restart_with(inst, **params):
    """Change main.cf and restart the instance."""
    inst.stop()
    inst.set(**params)
    inst.start()
    for svc in ("submission", "submissions"):
        inst.wait_port(inst.ports[svc])


def queued_texts(inst):
    texts = []
    for sub in ("incoming", "active", "deferred", "hold"):
        for f in (inst.dir / "queue" / sub).glob("*"):
            if f.is_file():
                texts.append(f.read_bytes().decode(errors="replace"))
    return texts


# STARTTLS and implicit TLS.

def test_starttls_smtplib(running):
    with smtplib.SMTP("127.0.0.1", running.ports["smtp"], timeout=15) as s:
        s.ehlo("client.example.net")
        assert s.has_extn("starttls")
        # smtpd_tls_auth_only = yes (ulak's default): no AUTH in clear.
        assert not s.has_extn("auth")
        code, _ = s.starttls(context=tls_context())
        assert code == 220
        assert s.sock.version() in ("TLSv1.2", "TLSv1.3")
        cert = s.sock.getpeercert(binary_form=True)
        assert cert
        s.ehlo("client.example.net")
        assert not s.has_extn("starttls")
        assert s.has_extn("auth")
        assert "PLAIN" in s.esmtp_features["auth"]
        assert "LOGIN" in s.esmtp_features["auth"]
    log = wait_for(lambda: "TLS connection established" in running.log()
                   and running.log(), what="TLS log line")
    assert re.search(r"Anonymous TLS connection established from "
                     r"\S+\[127\.0\.0\.1\]: TLSv1\.[23] with cipher "
                     r"\S+ \(\d+/\d+ bits\)", log), log


def test_implicit_tls(running):
    port = running.ports["submissions"]
    with smtplib.SMTP_SSL("127.0.0.1", port, context=tls_context(),
                          timeout=15) as s:
        code, _ = s.ehlo("client.example.net")
        assert code == 250
        assert not s.has_extn("starttls")
        assert s.has_extn("auth")
        s.login(running.user, running.password)
        s.sendmail(f"{running.user}@{running.domain}", [REMOTE],
                   b"Subject: implicit\r\n\r\nhello\r\n")
    texts = wait_for(lambda: [t for t in queued_texts(running)
                              if "Subject: implicit" in t], what="queued")
    assert "with ESMTPSA" in texts[0]


def test_submission_requires_tls(running):
    r = Raw(running.ports["submission"])
    assert r.reply()[0] == 220
    ehlo = r.expect("EHLO client.example.net", 250)
    assert r.buf == b""
    r.send("MAIL FROM:<demo@example.test>\r\n")
    assert r.reply() == (530, ["530 5.7.0 Must issue a STARTTLS command "
                               "first"])
    assert r.cmd(f"AUTH PLAIN {plain('demo', 'x')}")[0] == 530
    assert r.cmd("RCPT TO:<a@b.example>")[0] == 530
    r.expect("NOOP", 250)
    r.expect("STARTTLS", 220)
    r.starttls()
    r.expect("EHLO client.example.net", 250)
    r.expect(f"AUTH PLAIN {plain(running.user, running.password)}", 235)
    r.expect("QUIT", 221)
    assert "STARTTLS" in ehlo or True


def test_swaks_tls_auth(running):
    common = ["swaks", "--server", "127.0.0.1", "--helo",
              "client.example.net", "--from",
              f"{running.user}@{running.domain}", "--to", REMOTE,
              "--auth", "PLAIN", "--auth-user", running.user,
              "--auth-password", running.password, "--timeout", "20"]
    r = subprocess.run(common + ["--port", str(running.ports["submission"]),
                                 "--tls"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "250 2.0.0 Ok: queued as" in r.stdout
    r = subprocess.run(common + ["--port",
                                 str(running.ports["submissions"]),
                                 "--tls-on-connect", "--auth", "LOGIN"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "235 2.7.0 Authentication successful" in r.stdout
    # AUTH without TLS is not even offered on port 25.
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port",
                        str(running.ports["smtp"]), "--from",
                        f"{running.user}@{running.domain}", "--to", REMOTE,
                        "--auth", "PLAIN", "--auth-user", running.user,
                        "--auth-password", running.password, "--timeout",
                        "20"], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "Host did not advertise authentication" in r.stdout + r.stderr


def test_auth_refused_before_tls(running):
    r = Raw(running.ports["smtp"])
    assert r.reply()[0] == 220
    r.expect("EHLO client.example.net", 250)
    assert r.expect(f"AUTH PLAIN {plain(running.user, running.password)}",
                    503) == "503 5.5.1 Error: authentication not enabled"
    r.expect("QUIT", 221)


# Relaying.

def test_authenticated_relay_unauthenticated_refused(running):
    ctx = tls_context()
    sender = f"{running.user}@{running.domain}"
    with smtplib.SMTP("127.0.0.1", running.ports["submission"],
                      timeout=15) as s:
        s.starttls(context=ctx)
        s.login(running.user, running.password)
        assert s.sendmail(sender, [REMOTE],
                          b"Subject: relayed\r\n\r\nhi\r\n") == {}
    texts = wait_for(lambda: [t for t in queued_texts(running)
                              if "Subject: relayed" in t], what="queued")
    assert "with ESMTPSA" in texts[0]

    # Without AUTH the submission port takes nothing.
    r = raw_starttls(running.ports["submission"])
    r.expect("MAIL FROM:<x@other.example>", 250)
    assert r.expect(f"RCPT TO:<{REMOTE}>", 554).startswith("554 5.7.1")
    r.close()


def test_unauthenticated_relay_refused_from_outside(instance):
    instance.set(mynetworks="192.0.2.0/24")
    instance.start()
    try:
        r = Raw(instance.ports["smtp"])
        assert r.reply()[0] == 220
        r.expect("EHLO client.example.net", 250)
        r.expect("MAIL FROM:<x@other.example>", 250)
        assert r.expect(f"RCPT TO:<{REMOTE}>", 554) == \
            f"554 5.7.1 <{REMOTE}>: Relay access denied"
        r.expect("QUIT", 221)
        # The same client, logged in over STARTTLS on port 25, may relay.
        r = raw_starttls(instance.ports["smtp"])
        r.expect(f"AUTH PLAIN {plain(instance.user, instance.password)}",
                 235)
        r.expect(f"MAIL FROM:<{instance.user}@{instance.domain}>", 250)
        r.expect(f"RCPT TO:<{REMOTE}>", 250)
        r.expect("QUIT", 221)
    finally:
        instance.stop()


# Senders.

def test_sender_login_mismatch(running):
    r = raw_starttls(running.ports["submission"])
    r.expect(f"AUTH PLAIN {plain(running.user, running.password)}", 235)
    for sender in ("boss@example.test", "elon@tesla.example",
                   "postmaster@example.test"):
        assert r.expect(f"MAIL FROM:<{sender}>", 553) == \
            f"553 5.7.1 <{sender}>: Sender address rejected: not owned " \
            f"by user {running.user}"
    for sender in ("demo@example.test", "demo+list@example.test",
                   "DEMO@example.test", "demo@mail.example.test"):
        r.expect(f"MAIL FROM:<{sender}>", 250)
        r.expect("RSET", 250)
    r.expect("MAIL FROM:<>", 250)
    r.expect("QUIT", 221)


def test_swaks_sender_mismatch(running):
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port",
                        str(running.ports["submission"]), "--tls",
                        "--auth", "PLAIN", "--auth-user", running.user,
                        "--auth-password", running.password, "--from",
                        "ceo@example.test", "--to", REMOTE, "--timeout",
                        "20"], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "553 5.7.1 <ceo@example.test>: Sender address rejected: not " \
        "owned by user demo" in r.stdout


def test_forged_local_sender_refused_at_mail(instance):
    instance.set(mynetworks="192.0.2.0/24")
    instance.start()
    try:
        r = Raw(instance.ports["smtp"])
        assert r.reply()[0] == 220
        r.expect("EHLO client.example.net", 250)
        for sender in (f"{instance.user}@{instance.domain}",
                       "ceo@example.test", "root@mail.example.test"):
            assert r.expect(f"MAIL FROM:<{sender}>", 553) == \
                f"553 5.7.1 <{sender}>: Sender address rejected: not " \
                "logged in"
        # A foreign sender to a local user is fine (SPF/DMARC's job).
        r.expect("MAIL FROM:<elon@tesla.example>", 250)
        r.expect(f"RCPT TO:<{instance.user}@{instance.domain}>", 250)
        r.expect("QUIT", 221)
        s = subprocess.run(["swaks", "--server", "127.0.0.1", "--port",
                            str(instance.ports["smtp"]), "--from",
                            "ceo@example.test", "--to",
                            f"{instance.user}@{instance.domain}",
                            "--timeout", "20"],
                           capture_output=True, text=True, timeout=60)
        assert s.returncode != 0
        assert "<** 553 5.7.1 <ceo@example.test>: Sender address " \
            "rejected: not logged in" in s.stdout
        assert "RCPT TO" not in s.stdout.split("553 5.7.1")[1]
    finally:
        instance.stop()


# Failed logins.

def test_wrong_password_refused_and_slowed(instance):
    instance.set(smtpd_sasl_failure_delay="1s",
                 smtpd_sasl_failure_delay_limit="8s",
                 smtpd_sasl_failure_limit="3")
    instance.start()
    try:
        r = raw_starttls(instance.ports["smtp"])
        bad = f"AUTH PLAIN {plain(instance.user, 'Xq7-not-it')}"
        failed = (535, ["535 5.7.8 Error: authentication failed: "
                        "authentication failure"])
        times = []
        for _ in range(2):
            t0 = time.monotonic()
            assert r.cmd(bad) == failed
            times.append(time.monotonic() - t0)
        # The third failure waits ~4 s, on a timer: meanwhile another
        # client is served at once.
        t0 = time.monotonic()
        r.send(bad + "\r\n")
        other = Raw(instance.ports["smtp"])
        assert other.reply()[0] == 220
        other.expect("EHLO other.example.net", 250)
        other.expect("QUIT", 221)
        assert time.monotonic() - t0 < 1.0
        assert r.reply() == failed
        times.append(time.monotonic() - t0)
        # It reached smtpd_sasl_failure_limit = 3: 421 and goodbye.
        assert r.reply() == (421, [
            "421 4.7.0 mail.example.test Error: too many failed "
            "authentications"])
        assert r.closed()
        # 1 s, 2 s, 4 s: each at least 1.5 times the one before.
        assert times[0] >= 0.9, times
        for a, b in zip(times, times[1:]):
            assert b >= a * 1.5, times
        # The address is over the limit: AUTH is refused at once, even
        # with the right password.
        r = raw_starttls(instance.ports["smtp"])
        t0 = time.monotonic()
        got = r.cmd(f"AUTH PLAIN {plain(instance.user, instance.password)}")
        assert got[0] == 421 and time.monotonic() - t0 < 1.0
        assert r.closed()
        log = instance.log()
        # The client name comes from reverse DNS (unknown or localhost).
        assert "[127.0.0.1]: SASL PLAIN authentication " \
            "failed: authentication failure" in log
        assert "too many failed logins from " in log
        assert "Xq7-not-it" not in log and instance.password not in log
    finally:
        instance.stop()


@pytest.mark.skipif(shutil.which("fail2ban-regex") is None,
                    reason="fail2ban is not installed")
def test_fail2ban_reads_the_log(instance, tmp_path):
    instance.start()
    try:
        with smtplib.SMTP("127.0.0.1", instance.ports["smtp"],
                          timeout=30) as s:
            s.starttls(context=tls_context())
            with pytest.raises(smtplib.SMTPAuthenticationError):
                s.login(instance.user, "wrong")
        wait_for(lambda: "SASL" in instance.log(), what="log line")
    finally:
        instance.stop()
    # The stock postfix filter, told the daemon name (docs/security.md).
    r = subprocess.run(["fail2ban-regex", str(instance.dir / "log" /
                                               "ulak.log"),
                        "/etc/fail2ban/filter.d/postfix.conf"
                        r"[mode=auth, _daemon=ulak/\w+]"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.search(r"Lines: \d+ lines, \d+ ignored, (\d+) matched", r.stdout)
    assert m and int(m.group(1)) >= 1, r.stdout


# Bad input.

def test_auth_bad_input(running):
    r = raw_starttls(running.ports["submission"])
    assert r.expect("AUTH", 501) == "501 5.5.4 Syntax: AUTH mechanism"
    assert r.expect("AUTH CRAM-MD5", 504) == \
        "504 5.5.4 Unrecognized authentication type"
    assert r.expect("AUTH PLAIN !!!!", 501) == \
        "501 5.5.2 Cannot decode response"
    assert r.expect("AUTH PLAIN AGRlbW8", 501) == \
        "501 5.5.2 Cannot decode response"
    r.expect("AUTH PLAIN", 334)
    assert r.expect("*", 501) == "501 5.7.0 Authentication aborted"
    r.expect("AUTH PLAIN", 334)
    assert r.expect("not base64", 501) == "501 5.5.2 Cannot decode response"
    # RFC 4954 4: lines up to 12288 octets are fine, longer ones are not.
    assert r.expect("AUTH PLAIN " + "A" * 13000, 500) == \
        "500 5.5.6 Authentication Exchange line is too long"
    r.expect("AUTH LOGIN", 334)
    assert r.expect("B" * 13000, 500) == \
        "500 5.5.6 Authentication Exchange line is too long"
    # The session is still in order.
    r.expect("NOOP", 250)
    # LOGIN, step by step.
    assert r.expect("AUTH LOGIN", 334) == "334 VXNlcm5hbWU6"
    assert r.expect(b64(running.user), 334) == "334 UGFzc3dvcmQ6"
    r.expect(b64(running.password), 235)
    assert r.expect(f"AUTH PLAIN {plain(running.user, running.password)}",
                    503) == "503 5.5.1 Error: already authenticated"
    r.expect("QUIT", 221)


def test_auth_in_transaction_and_starttls_twice(running):
    r = raw_starttls(running.ports["smtp"])
    assert r.expect("STARTTLS", 554) == "554 5.5.1 Error: TLS already active"
    r.expect("MAIL FROM:<x@other.example>", 250)
    assert r.expect(f"AUTH PLAIN {plain(running.user, running.password)}",
                    503) == "503 5.5.1 Error: MAIL transaction in progress"
    r.expect("QUIT", 221)


# STARTTLS: injection, plaintext after STARTTLS, stalls.

@pytest.mark.parametrize("injected", [
    "RSET\r\n",
    "MAIL FROM:<attacker@evil.example>\r\n",
    "MAIL FROM:<attacker@evil.example>\r\nRCPT TO:<demo@example.test>\r\n",
])
def test_starttls_injection_has_no_effect(running, injected):
    r = Raw(running.ports["smtp"])
    assert r.reply()[0] == 220
    r.expect("EHLO client.example.net", 250)
    # One packet: STARTTLS and commands behind it (CVE-2011-0411).
    r.send("STARTTLS\r\n" + injected)
    assert r.reply() == (220, ["220 2.0.0 Ready to start TLS"])
    r.starttls()
    # The first reply inside TLS belongs to our first command there.
    r.send("NOOP\r\n")
    assert r.reply() == (250, ["250 2.0.0 Ok"])
    # No transaction leaked across: RCPT needs a MAIL first.
    assert r.cmd("RCPT TO:<demo@example.test>")[0] == 503
    r.expect("QUIT", 221)
    log = wait_for(lambda: "improper command pipelining after STARTTLS"
                   in running.log() and running.log(), what="log")
    assert re.search(r"improper command pipelining after STARTTLS from "
                     r"\S+\[127\.0\.0\.1\]", log), log


def test_no_state_across_starttls(running):
    r = Raw(running.ports["smtp"])
    assert r.reply()[0] == 220
    r.expect("EHLO client.example.net", 250)
    assert r.expect("STARTTLS", 220)
    r.starttls()
    # EHLO is needed again: AUTH is an extension (RFC 3207 4.2).
    assert r.expect(f"AUTH PLAIN {plain(running.user, running.password)}",
                    503) == "503 5.5.1 Error: send EHLO first"
    r.expect("EHLO client.example.net", 250)
    r.expect(f"AUTH PLAIN {plain(running.user, running.password)}", 235)
    r.expect("QUIT", 221)


def test_plaintext_after_starttls_fails_handshake(running):
    r = Raw(running.ports["smtp"])
    assert r.reply()[0] == 220
    r.expect("EHLO client.example.net", 250)
    r.expect("STARTTLS", 220)
    r.send("MAIL FROM:<a@b.example>\r\n")
    # No reply in plain text: the handshake failed and the session ended.
    data = b""
    try:
        while True:
            got = r.sock.recv(4096)
            if not got:
                break
            data += got
    except ConnectionResetError:
        pass
    assert b"250" not in data and b"MAIL" not in data, data
    wait_for(lambda: re.search(r"SSL_accept error from \S+\[127\.0\.0\.1\]",
                               running.log()), what="SSL_accept error in the log")
    # The daemon is fine.
    with smtplib.SMTP("127.0.0.1", running.ports["smtp"], timeout=15) as s:
        s.starttls(context=tls_context())
        assert s.noop()[0] == 250


def test_handshake_stall_ends_session(instance):
    instance.set(smtpd_starttls_timeout="2s")
    instance.start()
    try:
        instance.wait_port(instance.ports["submissions"])
        t0 = time.monotonic()
        s = socket.create_connection(("127.0.0.1",
                                      instance.ports["submissions"]), 15)
        # Say nothing: no ClientHello.
        assert s.recv(100) == b""
        took = time.monotonic() - t0
        assert 1.5 <= took < 10, took
        s.close()
        # Half a handshake after STARTTLS stalls as well.
        r = Raw(instance.ports["smtp"])
        assert r.reply()[0] == 220
        r.expect("EHLO client.example.net", 250)
        r.expect("STARTTLS", 220)
        r.send(b"\x16\x03\x01\x02\x00\x01\x00")
        t0 = time.monotonic()
        assert r.closed()
        assert time.monotonic() - t0 < 10
        wait_for(lambda: "timeout after STARTTLS from" in instance.log(),
                 what="timeout log line")
    finally:
        instance.stop()


# Privileges and users.

@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_smtpd_not_root(running):
    def smtpd_pids():
        pids = []
        for p in pathlib.Path("/proc").iterdir():
            if not p.name.isdigit():
                continue
            try:
                cmd = (p / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if cmd and cmd[0].endswith(b"/smtpd") and \
                    str(running.dir).encode() in cmd:
                pids.append(p)
        return pids
    # Each smtpd greets only from its event loop, after dropping root.
    for svc in ("smtp", "submission"):
        with smtplib.SMTP("127.0.0.1", running.ports[svc], timeout=15) as s:
            assert s.noop()[0] == 250
    with smtplib.SMTP_SSL("127.0.0.1", running.ports["submissions"],
                          context=tls_context(), timeout=15) as s:
        assert s.noop()[0] == 250
    pids = smtpd_pids()
    assert len(pids) >= 3
    for p in pids:
        status = (p / "status").read_text()
        uids = re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()
        gids = re.search(r"^Gid:\s+(.*)$", status, re.M).group(1).split()
        assert all(u != "0" for u in uids), (p, uids)
        assert all(g != "0" for g in gids), (p, gids)
    r = subprocess.run(["ps", "-o", "user=", "-p",
                        ",".join(p.name for p in pids)],
                       capture_output=True, text=True)
    assert "root" not in r.stdout.split(), r.stdout


def test_ulak_passwd_new_user_can_log_in(running):
    r = running.run("passwd", "alice", input="s3cret pass\n")
    assert r.returncode == 0, r.stderr
    assert "added user alice" in r.stdout
    users = (running.dir / "users").read_text()
    assert re.search(r"^alice:\$y\$", users, re.M)
    assert f"{running.user}:$y$" in users
    assert running.run("reload").returncode == 0

    def try_login():
        try:
            with smtplib.SMTP("127.0.0.1", running.ports["submission"],
                              timeout=15) as s:
                s.starttls(context=tls_context())
                s.login("alice", "s3cret pass")
                # alice owns alice@example.test (sender_login).
                s.mail("alice@example.test")
                return True
        except (smtplib.SMTPException, OSError):
            return False
    wait_for(try_login, timeout=30, what="alice's login")
    # A new password for an existing user replaces the old one.
    r = running.run("passwd", running.user, input="another one\n")
    assert r.returncode == 0 and "changed the password" in r.stdout
    assert running.run("reload").returncode == 0

    def new_password_works():
        try:
            with smtplib.SMTP_SSL("127.0.0.1", running.ports["submissions"],
                                  context=tls_context(), timeout=15) as s:
                s.login(running.user, "another one")
                return True
        except (smtplib.SMTPException, OSError):
            return False
    wait_for(new_password_works, timeout=30, what="the new password")
    r = running.run("passwd", "Bad:Name", input="x\n")
    assert r.returncode == 2
    r = running.run("passwd", "bob", input="")
    assert r.returncode == 1 and "no password given" in r.stderr


def test_certificate_reread_on_reload(running, ulak_bin, tmp_path):
    def served_cert():
        with smtplib.SMTP_SSL("127.0.0.1", running.ports["submissions"],
                              context=tls_context(), timeout=15) as s:
            return s.sock.getpeercert(binary_form=True)
    old = served_cert()
    # A new key and certificate, made by `ulak init` elsewhere.
    other = tmp_path / "other"
    r = subprocess.run([str(ulak_bin), "init", str(other), "--ports",
                        "0", "--domain", "other.example"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    for name in ("cert.pem", "key.pem"):
        target = running.dir / "tls" / name
        st = target.stat()
        target.write_bytes((other / "tls" / name).read_bytes())
        os.chown(target, st.st_uid, st.st_gid)
    # Until the reload the running smtpd keeps what it read at start.
    assert served_cert() == old
    assert running.run("reload").returncode == 0
    new = wait_for(lambda: (c := served_cert()) != old and c, timeout=30,
                   what="the new certificate")
    assert b"other.example" in new


def test_session_resumption(running):
    ctx = tls_context()

    def connect(session=None):
        s = socket.create_connection(("127.0.0.1",
                                      running.ports["submissions"]), 15)
        t = ctx.wrap_socket(s, session=session)
        r = Raw.__new__(Raw)
        r.sock, r.buf = t, b""
        assert r.reply()[0] == 220
        r.expect("EHLO client.example.net", 250)
        r.expect("QUIT", 221)
        return t
    first = connect()
    session = first.session
    first.close()
    assert session is not None
    second = connect(session)
    assert second.session_reused
    second.close()
    wait_for(lambda: "(session resumed)" in running.log(),
             what="resumption in the log")
