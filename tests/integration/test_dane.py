"""DANE for outgoing SMTP (RFC 7672, RFC 6698/7218): the smtp agent at
smtp_tls_security_level = dane against SMTP sinks with STARTTLS on
127.0.0.x and the test DNS server serving a signed zone (dane.test.,
ECDSA P-256, signed on the fly by dnsserver.TestDNS.sign_zone) whose
DNSKEY is the agent's only trust anchor (dnssec_trust_anchor_file).

Cases: a matching DANE-EE(3) record (delivered, "Verified"), one that does
not match (deferred, never sent), DANE-TA(2) of the test CA with the right
and the wrong name, a secure zone without TLSA records (opportunistic),
an unsigned zone (opportunistic, its TLSA records ignored), an insecure
MX pointing into the signed zone (no DANE), a TLSA lookup that fails
(SERVFAIL, timeout, bogus: deferred, no connection), a DANE host without
STARTTLS (deferred), records that are all unusable (mandatory TLS without
authentication, as Postfix), dane without a trust anchor (a warning, then
"may"), and the deferral reason `ulak queue` shows in a whole instance."""
import hashlib
import os
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from test_smtp_agent import Agent, deliver, marks, port  # noqa: F401
from ulak_queue import ByHand

DOMAIN = "dane.test"
MX = "mx.dane.test"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """A test CA; mx.dane.test signed by it (chain file: leaf + CA);
    other.test signed by it; a self-signed mx.dane.test."""
    d = tmp_path_factory.mktemp("danecerts")

    def ossl(*args):
        r = subprocess.run(["openssl", *args], cwd=d, capture_output=True,
                           text=True)
        assert r.returncode == 0, r.stderr

    ossl("req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out",
         "ca.pem", "-days", "2", "-subj", "/CN=DANE Test CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    for name, cn in (("good", MX), ("wrong", "other.test")):
        ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
             "-subj", f"/CN={cn}")
        (d / f"{name}.ext").write_text(f"subjectAltName=DNS:{cn}\n")
        ossl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem",
             "-CAkey", "ca.key", "-CAcreateserial", "-out", f"{name}.pem",
             "-days", "2", "-extfile", f"{name}.ext")
        (d / f"{name}-chain.pem").write_bytes(
            (d / f"{name}.pem").read_bytes() + (d / "ca.pem").read_bytes())
    ossl("req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-keyout", "self.key", "-out",
         "self.pem", "-days", "2", "-subj", f"/CN={MX}",
         "-addext", f"subjectAltName=DNS:{MX}")
    return d


def tls_ctx(certs, name, chain=True):
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    pem = f"{name}-chain.pem" if chain and name != "self" else f"{name}.pem"
    ctx.load_cert_chain(certs / pem, certs / f"{name}.key")
    return ctx


def cert(certs, name):
    return x509.load_pem_x509_certificate((certs / f"{name}.pem").read_bytes())


def tlsa_ee(certs, name):
    """3 1 1: SHA2-256 of the certificate's SubjectPublicKeyInfo."""
    spki = cert(certs, name).public_key().public_bytes(
        serialization.Encoding.DER,
        serialization.PublicFormat.SubjectPublicKeyInfo)
    return "3 1 1 " + hashlib.sha256(spki).hexdigest()


def tlsa_ta(certs):
    """2 0 1: SHA2-256 of the whole CA certificate."""
    der = cert(certs, "ca").public_bytes(serialization.Encoding.DER)
    return "2 0 1 " + hashlib.sha256(der).hexdigest()


class DaneAgent(Agent):
    def tlsa(self, rdata, host=MX):
        self.dns.add(f"_{self.port}._tcp.{host}", "TLSA", rdata)

    def start(self, anchor=True, **params):
        if anchor:
            params.setdefault("dnssec_trust_anchor_file", str(self.anchor))
        params.setdefault("smtp_tls_security_level", "dane")
        super().start(**params)

    def send(self, nexthop=DOMAIN, rcpt="bob@dane.test"):
        qid, path = self.message([rcpt])
        status, res, _ = deliver(self.inst, qid, nexthop, [0])
        assert status == "0"
        return res[0], path


@pytest.fixture
def agent(dns, port):  # noqa: F811
    inst = ByHand()
    a = DaneAgent(inst, dns, port)
    ta = dns.sign_zone(DOMAIN)
    a.anchor = inst.top / "trust-anchor"
    a.anchor.write_text(ta + "\n")
    a.anchor.chmod(0o644)
    dns.add(DOMAIN, "MX", f"10 {MX}")
    dns.add(MX, "A", "127.0.0.2")
    # An unsigned zone: no trust anchor covers it.
    dns.add("plain.test", "MX", "10 mx.plain.test")
    dns.add("mx.plain.test", "A", "127.0.0.3")
    yield a
    for s in a.sinks:
        s.stop()
    reports = inst.sanitizer_reports()
    inst.close()
    assert not reports, "\n".join(reports)


def test_dane_ee_match_is_verified(agent, certs):
    mx = agent.sink("127.0.0.2", tls_context=tls_ctx(certs, "self"))
    agent.tlsa(tlsa_ee(certs, "self"))
    agent.start()
    (dsn, text), path = agent.send()
    assert dsn == "2.0.0", (text, agent.log())
    assert mx.messages[0].tls in ("TLSv1.2", "TLSv1.3")
    log = agent.log()
    assert (f"Verified TLS connection established to {MX}[127.0.0.2]:"
            f"{agent.port}: TLSv1.") in log
    assert "DANE: TLSA 3 1 1 matched" in log
    assert "tls=dane, dsn=2.0.0, status=sent" in log
    assert marks(path) == ["D"]


def test_dane_ee_mismatch_defers(agent, certs):
    mx = agent.sink("127.0.0.2", tls_context=tls_ctx(certs, "self"))
    agent.tlsa(tlsa_ee(certs, "good"))        # another key
    agent.start()
    (dsn, text), path = agent.send()
    assert dsn == "4.7.5", text
    assert text.startswith(f"TLSA mismatch: server certificate of {MX}"
                           f"[127.0.0.2] not verified by the TLSA records "
                           f"of _{agent.port}._tcp.{MX}"), text
    assert not mx.messages
    assert not any(c.startswith("MAIL") for s in mx.commands for c in s)
    assert marks(path) == ["-"]


@pytest.mark.parametrize("name,ok", [("good", True), ("wrong", False)])
def test_dane_ta(agent, certs, name, ok):
    mx = agent.sink("127.0.0.2", tls_context=tls_ctx(certs, name))
    agent.tlsa(tlsa_ta(certs))
    agent.start()
    (dsn, text), path = agent.send()
    if ok:
        assert dsn == "2.0.0", (text, agent.log())
        assert "DANE: TLSA 2 0 1 matched its trust anchor at depth 1" in \
            agent.log()
        assert mx.messages[0].tls
    else:
        # DANE-TA checks the name (RFC 7672 3.2.2).
        assert dsn == "4.7.5", text
        assert "TLSA mismatch" in text and "hostname mismatch" in text, text
        assert not mx.messages


def test_secure_zone_without_tlsa_is_opportunistic(agent, certs):
    mx = agent.sink("127.0.0.2", tls_context=tls_ctx(certs, "self"))
    agent.start()
    (dsn, text), path = agent.send()
    assert dsn == "2.0.0", (text, agent.log())
    assert mx.messages[0].tls
    assert "Untrusted TLS connection established" in agent.log()
    assert "tls=dane" not in agent.log()


def test_secure_zone_without_tlsa_plaintext_when_no_starttls(agent):
    mx = agent.sink("127.0.0.2")
    agent.start()
    (dsn, text), path = agent.send()
    assert dsn == "2.0.0", text
    assert mx.messages[0].tls is None


def test_unsigned_zone_ignores_its_tlsa_records(agent, certs):
    mx = agent.sink("127.0.0.3", tls_context=tls_ctx(certs, "self"))
    agent.tlsa(tlsa_ee(certs, "good"), host="mx.plain.test")  # no match
    agent.start()
    (dsn, text), path = agent.send("plain.test", "bob@plain.test")
    assert dsn == "2.0.0", (text, agent.log())
    assert mx.messages[0].tls
    assert "Untrusted TLS connection established" in agent.log()


def test_insecure_mx_into_signed_zone_is_not_dane(agent, certs):
    # RFC 7672 2.2.1: MX host names from an insecure answer are not
    # trusted; the TLSA records of mx.dane.test are not used.
    agent.dns.add("hosted.test", "MX", f"10 {MX}")
    mx = agent.sink("127.0.0.2", tls_context=tls_ctx(certs, "self"))
    agent.tlsa(tlsa_ee(certs, "good"))        # would not match
    agent.start()
    (dsn, text), path = agent.send("hosted.test", "bob@hosted.test")
    assert dsn == "2.0.0", (text, agent.log())
    assert mx.messages[0].tls


def test_bracketed_nexthop_uses_dane(agent, certs):
    mx = agent.sink("127.0.0.2", tls_context=tls_ctx(certs, "self"))
    agent.tlsa(tlsa_ee(certs, "good"))        # does not match
    agent.start()
    (dsn, text), path = agent.send(f"[{MX}]")
    assert dsn == "4.7.5" and "TLSA mismatch" in text, text
    assert not mx.messages


@pytest.mark.parametrize("failure", ["servfail", "bogus", "timeout"])
def test_tlsa_lookup_failure_defers(agent, certs, failure):
    mx = agent.sink("127.0.0.2")              # no STARTTLS: plaintext bait
    qname = f"_{agent.port}._tcp.{MX}"
    agent.tlsa(tlsa_ee(certs, "self"))
    if failure == "servfail":
        agent.dns.servfail(qname)
    elif failure == "bogus":
        agent.dns.bogus(qname)
    else:
        agent.dns.timeout(qname, "TLSA")
    agent.start(dns_timeout="2s")
    (dsn, text), path = agent.send()
    assert dsn == "4.7.5", text
    assert text.startswith(f"TLSA lookup error for {MX}:{agent.port}"), text
    assert mx.sessions == 0 and not mx.messages
    assert marks(path) == ["-"]


def test_tlsa_failure_on_one_mx_uses_the_next(agent, certs):
    agent.dns.add(DOMAIN, "MX", "20 mx2.dane.test")
    agent.dns.add("mx2.dane.test", "A", "127.0.0.4")
    agent.dns.servfail(f"_{agent.port}._tcp.{MX}")
    mx1 = agent.sink("127.0.0.2")
    mx2 = agent.sink("127.0.0.4", tls_context=tls_ctx(certs, "self"))
    agent.tlsa(tlsa_ee(certs, "self"), host="mx2.dane.test")
    agent.start()
    (dsn, text), path = agent.send()
    assert dsn == "2.0.0", (text, agent.log())
    assert mx1.sessions == 0 and mx2.messages[0].tls
    assert "Verified TLS connection established to mx2.dane.test" in \
        agent.log()


def test_dane_host_without_starttls_defers(agent, certs):
    mx = agent.sink("127.0.0.2")
    agent.tlsa(tlsa_ee(certs, "self"))
    agent.start()
    (dsn, text), path = agent.send()
    assert (dsn, text) == ("4.7.4", f"TLS is required, but was not offered "
                           f"by host {MX}[127.0.0.2]")
    assert not mx.messages


def test_unusable_records_only_mean_mandatory_tls(agent, certs):
    # PKIX-EE(1) is unusable for SMTP (RFC 7672 3.1.3); records that are
    # all unusable still say the server does TLS: Postfix then uses
    # mandatory TLS without authentication ("encrypt").
    agent.tlsa("1 1 1 " + "00" * 32)
    agent.tlsa("3 1 1 00")                     # wrong digest length
    agent.tlsa("3 1 9 " + "00" * 32)           # unknown matching type
    mx = agent.sink("127.0.0.2")
    agent.start()
    (dsn, text), path = agent.send()
    assert dsn == "4.7.4", text
    assert not mx.messages
    mx.tls_context = tls_ctx(certs, "self")
    (dsn, text), path = agent.send()
    assert dsn == "2.0.0", (text, agent.log())
    assert mx.messages[0].tls
    assert "3 TLSA records, none usable" in agent.log()
    assert "Untrusted TLS connection established" in agent.log()


def test_dane_without_trust_anchor_is_may(agent, certs):
    mx = agent.sink("127.0.0.2", tls_context=tls_ctx(certs, "self"))
    agent.tlsa(tlsa_ee(certs, "good"))        # would not match
    agent.start(anchor=False)
    (dsn, text), path = agent.send()
    assert dsn == "2.0.0", (text, agent.log())
    assert mx.messages[0].tls
    warning = "smtp_tls_security_level = dane needs DNSSEC validation"
    # Once at start by each agent process (services smtp and relay).
    assert agent.log().count(warning) == 2
    (dsn, text), path = agent.send()
    assert dsn == "2.0.0"
    assert agent.log().count(warning) == 2


def test_dane_in_policy_map(agent, certs):
    mx = agent.sink("127.0.0.2", tls_context=tls_ctx(certs, "self"))
    agent.tlsa(tlsa_ee(certs, "good"))        # does not match
    agent.start(smtp_tls_security_level="may",
                smtp_tls_policy_maps=f"inline:{{ {DOMAIN}=dane }}")
    (dsn, text), path = agent.send()
    assert dsn == "4.7.5" and "TLSA mismatch" in text, text
    (dsn, text), path = agent.send("plain.test", "x@plain.test")
    assert dsn == "4.4.1", text                 # no server on 127.0.0.3


def test_whole_instance_defers_with_reason_in_queue(running, dns, certs):
    """smtpd -> cleanup -> qmgr -> smtp under master: a TLSA mismatch
    leaves the message deferred with the reason `ulak queue` shows."""
    import smtplib
    import socket
    import time

    from smtpsink import Sink
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    anchor = running.dir / "trust-anchor"
    anchor.write_text(dns.sign_zone(DOMAIN) + "\n")
    anchor.chmod(0o644)
    dns.add(DOMAIN, "MX", f"10 {MX}")
    dns.add(MX, "A", "127.0.0.1")
    dns.add(f"_{port}._tcp.{MX}", "TLSA", tlsa_ee(certs, "good"))
    sink = Sink("127.0.0.1", port)
    sink.tls_context = tls_ctx(certs, "self")
    sink.start()
    try:
        running.set(dns_servers=dns.address, smtp_tcp_port=port,
                    smtp_tls_security_level="dane",
                    dnssec_trust_anchor_file=str(anchor),
                    minimal_backoff_time="300s",
                    maximal_backoff_time="600s")
        assert "dane needs DNSSEC" not in running.run("check").stderr
        running.run("reload")
        with smtplib.SMTP("127.0.0.1", running.ports["smtp"],
                          timeout=30) as c:
            c.sendmail("demo@example.test", ["bob@dane.test"],
                       "Subject: dane\r\n\r\nbody\r\n")
        deadline = time.monotonic() + 30
        while "TLSA mismatch" not in running.run("queue").stdout:
            assert time.monotonic() < deadline, running.log()
            time.sleep(0.2)
        q = running.run("queue").stdout
        assert f"server certificate of {MX}[127.0.0.1] not verified" in q
        assert "bob@dane.test" in q
        assert not sink.messages
        running.set(dnssec_trust_anchor_file="")
        r = running.run("check")
        assert "smtp_tls_security_level: dane needs DNSSEC validation" \
            in r.stderr, r.stderr
    finally:
        sink.stop()
