"""DKIM signing of outgoing mail by the smtp agent, on a running instance
of `ulak init` (which makes an Ed25519 key for example.test, selector
ulak): mail leaves through a relayhost (a Python SMTP sink) and the test
DNS server publishes the key record from DIR/dkim/example.test.txt.

Checked with two verifiers: dkimpy (python3-dkim, `dkim.verify` with a
dnsfunc answering from the same record) and `ulak dkim verify` against
the test DNS server.  Mail from an authenticated submission client, from
a client in mynetworks and from `ulak sendmail` is signed; mail whose
From domain has no key is not; From is over-signed (h=); a second (RSA)
selector gives a second signature; a key that cannot be loaded defers the
message instead of sending it unsigned; each delivery of a message to
several destinations is signed.  (The rule that mail from an outside,
unauthenticated client is never signed is tested on the decision
function in tests/unit/test_dkim_signer.c: such mail cannot leave
through smtp here, as ulak is no open relay.)"""
import os
import re
import smtplib
import ssl
import socket
import subprocess
import time

import dkim
import pytest

from smtpsink import Sink

REMOTE = "bob@remote.test"


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


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def zone_record(path):
    """(owner name, record text) of a one-line zone file TXT record."""
    line = path.read_text().strip()
    owner = line.split()[0]
    return owner, "".join(re.findall(r'"([^"]*)"', line))


class Signing:
    """A running instance relaying to a sink, keys served by DNS."""

    def __init__(self, inst, dns, sink):
        self.inst = inst
        self.dns = dns
        self.sink = sink
        self.records = {}
        self.publish(inst.dir / "dkim" / "example.test.txt")

    def publish(self, zone_file):
        owner, rec = zone_record(zone_file)
        self.records[owner.lower()] = rec
        # dnslib takes one string per TXT string: split as zone files do.
        self.dns.add(owner, "TXT", [rec[i:i + 255]
                                    for i in range(0, len(rec), 255)])

    def dnsfunc(self, name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        return self.records.get(name.lower(), "").encode()

    def messages_with(self, subject):
        return [m for m in self.sink.messages
                if f"Subject: {subject}".encode() in m.data]

    def wait_message(self, subject, n=1):
        return wait_for(lambda: len(self.messages_with(subject)) >= n and
                        self.messages_with(subject), what=subject,
                        inst=self.inst)

    def ulak_verify(self, data):
        r = subprocess.run([str(self.inst.bin), "-c", str(self.inst.dir),
                            "dkim", "verify"], input=data,
                           capture_output=True, timeout=60)
        return r.returncode, r.stdout.decode()


@pytest.fixture
def signing(running, dns):
    sink = Sink("127.0.0.1", free_port()).start()
    running.set(relayhost=f"[127.0.0.1]:{sink.port}",
                dns_servers=dns.address)
    r = running.run("reload")
    assert r.returncode == 0, r.stderr
    yield Signing(running, dns, sink)
    sink.stop()


def signatures(data):
    """The DKIM-Signature fields at the top of DATA, unfolded."""
    head = data.split(b"\r\n\r\n", 1)[0].decode()
    fields = re.split(r"\r\n(?![ \t])", head)
    return [re.sub(r"\r\n[ \t]", " ", f) for f in fields
            if f.lower().startswith("dkim-signature:")]


def tag(sig, name):
    m = re.search(r"[;:]\s*" + name + r"=([^;]*)", sig)
    return re.sub(r"\s", "", m.group(1)) if m else None


def check_signed(sg, data, selectors=("ulak",)):
    assert data.startswith(b"DKIM-Signature: "), data[:200]
    sigs = signatures(data)
    assert [tag(s, "s") for s in sigs] == list(selectors), sigs
    for i, s in enumerate(sigs):
        assert tag(s, "d") == "example.test"
        h = tag(s, "h").lower().split(":")
        assert h.count("from") == 2, h          # over-signed From
        assert h.count("subject") == 2 and h.count("to") == 2, h
        d = dkim.DKIM(data)
        assert d.verify(idx=i, dnsfunc=sg.dnsfunc), (i, data.decode())
    rc, out = sg.ulak_verify(data)
    lines = out.strip().split("\n")
    assert rc == 0, out
    assert len(lines) == len(selectors), out
    for line, sel in zip(lines, selectors):
        assert line.startswith("dkim=pass header.d=example.test "
                               f"header.s={sel} "), out
    # Tampering is noticed: an added From, a changed body.
    assert not dkim.verify(b"From: evil@example.org\r\n" + data,
                           dnsfunc=sg.dnsfunc)
    assert not dkim.verify(data + b"P.S. send money\r\n",
                           dnsfunc=sg.dnsfunc)


def test_init_writes_key_table_and_record(instance):
    d = instance.dir / "dkim"
    key = d / "example.test.ulak.key"
    assert (key.stat().st_mode & 0o777) == 0o600
    assert (d / "signing_keys").read_text().splitlines()[-1] == \
        f"example.test  ulak:{key}"
    owner, rec = zone_record(d / "example.test.txt")
    assert owner == "ulak._domainkey.example.test."
    assert re.fullmatch(r"v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=", rec)
    assert instance.conf("dkim_signing_key_maps") == \
        f"texthash:{d}/signing_keys"
    r = instance.run("check")
    assert r.returncode == 0, r.stdout + r.stderr


def test_authenticated_submission_is_signed(signing):
    inst = signing.inst
    sender = f"{inst.user}@{inst.domain}"
    with smtplib.SMTP("127.0.0.1", inst.ports["submission"],
                      timeout=30) as s:
        s.starttls(context=tls_context())
        s.login(inst.user, inst.password)
        s.sendmail(sender, [REMOTE],
                   f"From: Demo <{sender}>\r\nTo: {REMOTE}\r\n"
                   f"Subject: auth signed\r\n\r\nHello.\r\n.dot line\r\n")
    m = signing.wait_message("auth signed")[0]
    check_signed(signing, m.data)
    assert m.rcpts == [f"TO:<{REMOTE}>"]
    # SIZE counted the signature too.
    mail = [c for c in signing.sink.commands[-1] if c.startswith("MAIL")][0]
    assert f"SIZE={len(m.data)}" in mail, (mail, len(m.data))
    assert "DKIM-Signature added: d=example.test s=ulak (authenticated " \
        "sender)" in inst.log()


def test_mynetworks_client_is_signed(signing):
    inst = signing.inst
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30) as s:
        s.sendmail(f"demo@{inst.domain}", [REMOTE],
                   f"From: demo@{inst.domain}\r\nTo: {REMOTE}\r\n"
                   f"Subject: mynetworks signed\r\n\r\nHi.\r\n")
    m = signing.wait_message("mynetworks signed")[0]
    check_signed(signing, m.data)
    assert "(mynetworks sender)" in inst.log()


def test_local_sendmail_is_signed(signing):
    inst = signing.inst
    msg = (f"From: demo@{inst.domain}\nTo: {REMOTE}\n"
           f"Subject: local signed\n\nFrom the command line.\n").encode()
    r = inst.run("sendmail", "-f", f"demo@{inst.domain}", "-t",
                 input=msg.decode())
    assert r.returncode == 0, r.stderr
    m = signing.wait_message("local signed")[0]
    check_signed(signing, m.data)
    assert "(local sender)" in inst.log()


def test_forwarded_stranger_mail_is_not_signed(signing):
    """An alias that forwards outside: the copy is trusted no more than
    the original.  A stranger's message with a forged From: of our domain
    is forwarded unsigned; the same alias forwarding our own local mail
    signs it."""
    inst = signing.inst
    with open(inst.dir / "aliases", "a") as f:
        f.write(f"away: {REMOTE}\n")
    assert inst.run("aliases").returncode == 0
    # The test client (127.0.0.1) is a stranger now.
    inst.set(mynetworks="192.0.2.0/24")
    assert inst.run("reload").returncode == 0
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30) as s:
        s.sendmail("someone@remote.test", [f"away@{inst.domain}"],
                   f"From: ceo@{inst.domain}\r\nTo: away@{inst.domain}\r\n"
                   f"Subject: forged then forwarded\r\n\r\nPay now.\r\n")
    m = signing.wait_message("forged then forwarded")[0]
    assert not signatures(m.data), m.data[:300]
    assert b"Delivered-To: away@" in m.data
    msg = (f"From: demo@{inst.domain}\nTo: away@{inst.domain}\n"
           f"Subject: local then forwarded\n\nFrom the command line.\n")
    r = inst.run("sendmail", "-f", f"demo@{inst.domain}",
                 f"away@{inst.domain}", input=msg)
    assert r.returncode == 0, r.stderr
    m = signing.wait_message("local then forwarded")[0]
    check_signed(signing, m.data)


def test_domain_without_key_is_not_signed(signing):
    inst = signing.inst
    msg = (f"From: someone@nokey.test\nTo: {REMOTE}\n"
           f"Subject: not signed\n\nNo key for nokey.test.\n")
    r = inst.run("sendmail", "-f", f"demo@{inst.domain}", "-t", input=msg)
    assert r.returncode == 0, r.stderr
    m = signing.wait_message("not signed")[0]
    assert b"DKIM-Signature" not in m.data
    assert m.data.startswith(b"Received: ")


def test_second_rsa_selector_and_subdomain(signing):
    inst = signing.inst
    d = inst.dir / "dkim"
    r = inst.run("dkim", "keygen", "example.test", "rsa", "--type", "rsa",
                 "--dir", d)
    assert r.returncode == 0, r.stderr
    (d / "rsa.txt").write_text(r.stdout)
    signing.publish(d / "rsa.txt")
    table = d / "signing_keys"
    key = d / "example.test.rsa.key"
    table.write_text(table.read_text().rstrip("\n") + f", rsa:{key}\n")
    r = inst.run("reload")
    assert r.returncode == 0, r.stderr
    # From a subdomain: signed by the parent's keys (DMARC-aligned).
    msg = (f"From: robot@lists.{inst.domain}\nTo: {REMOTE}\n"
           f"Subject: two selectors\n\nSigned twice.\n")
    r = inst.run("sendmail", "-f", f"demo@{inst.domain}", "-t", input=msg)
    assert r.returncode == 0, r.stderr
    m = signing.wait_message("two selectors")[0]
    check_signed(signing, m.data, selectors=("ulak", "rsa"))
    assert "a=rsa-sha256" in signatures(m.data)[1]


def test_each_destination_gets_a_signed_copy(signing, dns):
    inst = signing.inst
    other = Sink("127.0.0.1", free_port()).start()
    try:
        (inst.dir / "transport").write_text(
            f"other.test smtp:[127.0.0.1]:{other.port}\n")
        r = inst.run("map", f"hash:{inst.dir}/transport")
        assert r.returncode == 0, r.stderr
        inst.set(transport_maps=f"hash:{inst.dir}/transport")
        inst.run("reload")
        msg = (f"From: demo@{inst.domain}\nTo: {REMOTE}, x@other.test\n"
               f"Subject: two copies\n\nOne message, two servers.\n")
        r = inst.run("sendmail", "-f", f"demo@{inst.domain}", REMOTE,
                     "x@other.test", input=msg)
        assert r.returncode == 0, r.stderr
        a = signing.wait_message("two copies")[0]
        b = wait_for(lambda: other.messages, what="second copy",
                     inst=inst)[0]
        check_signed(signing, a.data)
        check_signed(signing, b.data)
    finally:
        other.stop()


def test_unloadable_key_defers_never_unsigned(signing):
    inst = signing.inst
    table = inst.dir / "dkim" / "signing_keys"
    good = table.read_text()
    table.write_text(f"example.test  ulak:{inst.dir}/dkim/missing.key\n")
    inst.set(minimal_backoff_time="300s", maximal_backoff_time="600s")
    inst.run("reload")
    msg = (f"From: demo@{inst.domain}\nTo: {REMOTE}\n"
           f"Subject: deferred for dkim\n\nWait.\n")
    r = inst.run("sendmail", "-f", f"demo@{inst.domain}", REMOTE, input=msg)
    assert r.returncode == 0, r.stderr
    q = wait_for(lambda: "DKIM signing failed" in inst.run("queue").stdout
                 and inst.run("queue").stdout, what="deferral", inst=inst)
    assert "missing.key" in q
    assert not signing.messages_with("deferred for dkim")
    assert "DKIM signing failed: DKIM key" in inst.log()
    # Fixed and reloaded: the flush delivers it, signed.
    table.write_text(good)
    inst.run("reload")
    r = inst.run("queue", "flush")
    assert r.returncode == 0, r.stderr
    m = signing.wait_message("deferred for dkim")[0]
    check_signed(signing, m.data)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: daemons then "
                    "drop to mail_owner")
def test_root_owned_key_is_read_before_the_privilege_drop(signing):
    """A key only root can read (as `ulak dkim keygen` run as root makes
    it) still signs: the agent reads it before it drops privileges."""
    inst = signing.inst
    d = inst.dir / "dkim"
    key = d / "example.test.ulak.key"
    assert key.stat().st_uid != 0          # ulak init gave it to mail_owner
    for p in (d, key):
        os.chown(p, 0, 0)
    d.chmod(0o700)
    key.chmod(0o600)
    inst.run("reload")
    r = inst.run("sendmail", "-f", f"demo@{inst.domain}", REMOTE,
                 input=f"From: demo@{inst.domain}\nTo: {REMOTE}\n"
                       f"Subject: root key\n\nSigned anyway.\n")
    assert r.returncode == 0, r.stderr
    m = signing.wait_message("root key")[0]
    check_signed(signing, m.data)
