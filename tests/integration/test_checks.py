"""The checks of arriving mail (docs/checks.md) against the test DNS
server: reverse DNS, greylisting, DNS blocklists and the weighted score,
SPF (the forged spacex.com sender), DKIM, DMARC, and the
Authentication-Results: header on delivered mail.

Loopback is taken out of mynetworks so that the test client is an
outside client; different 127.0.0.x source addresses stand for different
clients (Linux routes all of 127/8 to lo)."""
import mailbox
import os
import re
import socket
import subprocess
import time

import pytest

from ulak_queue import wait_for

RCPT = "demo@example.test"


class Client:
    """A raw SMTP client from a chosen loopback source address."""

    def __init__(self, port, source="127.0.0.1", timeout=20):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout,
                                             source_address=(source, 0))
        self.buf = b""
        self.banner = self.reply()

    def reply(self):
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                got = self.sock.recv(65536)
                if not got:
                    raise EOFError(self.buf)
                self.buf += got
            ln, _, self.buf = self.buf.partition(b"\r\n")
            ln = ln.decode(errors="replace")
            lines.append(ln)
            if len(ln) < 4 or ln[3] != "-":
                return int(ln[:3]), ln

    def cmd(self, text):
        self.sock.sendall(text.encode() + b"\r\n")
        return self.reply()

    def data(self, message):
        code, _ = self.cmd("DATA")
        assert code == 354
        body = message.replace("\r\n", "\n").replace("\n", "\r\n")
        if not body.endswith("\r\n"):
            body += "\r\n"
        body = body.replace("\r\n.", "\r\n..")
        self.sock.sendall(body.encode() + b".\r\n")
        return self.reply()

    def close(self):
        try:
            self.cmd("QUIT")
        except (OSError, EOFError):
            pass
        self.sock.close()


def transaction(inst, sender, rcpt=RCPT, source="127.0.0.1",
                helo="client.example.net", message=None):
    """EHLO, MAIL, RCPT (and DATA when MESSAGE): the replies."""
    c = Client(inst.ports["smtp"], source)
    out = {"ehlo": c.cmd(f"EHLO {helo}"), "mail": c.cmd(f"MAIL FROM:<{sender}>")}
    out["rcpt"] = c.cmd(f"RCPT TO:<{rcpt}>")
    if message is not None and out["rcpt"][0] == 250:
        out["data"] = c.data(message)
    c.close()
    return out


def msg(sender, subject="test", extra=""):
    return (f"From: <{sender}>\nTo: <{RCPT}>\nSubject: {subject}\n"
            f"Message-ID: <{subject}.{time.time()}@x.test>\n{extra}\n"
            "Hello.\n")


def delivered(inst, subject):
    md = mailbox.Maildir(str(inst.dir / "home" / "demo" / "Maildir"),
                         create=False)

    def find():
        for key in md.keys():
            m = md.get_message(key)
            if m["Subject"] == subject:
                return m
        return None
    return wait_for(find, what=f"delivery of {subject}", timeout=30)


@pytest.fixture
def checked(instance, dns):
    """An instance whose test client is outside mynetworks, asking the
    test DNS server."""
    instance.set(mynetworks="192.0.2.0/24", dns_servers=dns.address,
                 dns_timeout="5s")
    yield instance
    instance.stop()


# ---- SPF ----

def test_forged_spacex_refused(checked, dns):
    """The tutorial's forged sender: spacex.com allows only
    192.0.2.0/24, the client is 127.0.0.1."""
    dns.add("spacex.com", "TXT", "v=spf1 ip4:192.0.2.0/24 -all")
    checked.start()
    r = transaction(checked, "elonmusk@spacex.com")
    assert r["mail"][0] == 250
    code, text = r["rcpt"]
    assert code == 550, text
    assert text.startswith("550 5.7.23 <elonmusk@spacex.com>: Sender "
                           "address rejected: SPF fail - "), text
    log = checked.log()
    assert "NOQUEUE: reject: RCPT from " in log and "SPF fail" in log


@pytest.mark.parametrize("mode,record,code", [
    ("fail", "v=spf1 ip4:127.0.0.0/8 -all", 250),       # pass
    ("fail", "v=spf1 -all", 550),                        # fail
    ("fail", "v=spf1 ~all", 250),                        # softfail kept
    ("softfail", "v=spf1 ~all", 550),                    # softfail refused
    ("never", "v=spf1 -all", 250),                       # recorded only
    ("fail", None, 250),                                 # no record: none
])
def test_spf_reject_on(checked, dns, mode, record, code):
    if record:
        dns.add("spf.test", "TXT", record)
    else:
        dns.add("spf.test", "A", "192.0.2.1")
    checked.set(spf_reject_on=mode)
    checked.start()
    subject = f"spf-{mode}-{code}"
    r = transaction(checked, "a@spf.test", message=msg("a@spf.test", subject))
    assert r["rcpt"][0] == code, r
    if code == 550:
        assert r["rcpt"][1].startswith("550 5.7.23 <a@spf.test>: Sender "
                                       "address rejected: SPF ")
        return
    assert r["data"][0] == 250, r
    m = delivered(checked, subject)
    result = {"v=spf1 ip4:127.0.0.0/8 -all": "pass", "v=spf1 -all": "fail",
              "v=spf1 ~all": "softfail", None: "none"}[record]
    assert m["Received-SPF"].startswith(result), m["Received-SPF"]
    ar = " ".join(m["Authentication-Results"].split())
    assert ar.startswith("mail.example.test; spf=" + result), ar


def test_spf_temperror_defers(checked, dns):
    dns.servfail("broken.test")
    checked.start()
    r = transaction(checked, "a@broken.test")
    assert r["rcpt"][0] == 451, r
    assert r["rcpt"][1].startswith("451 4.7.24 <a@broken.test>: Sender "
                                   "address rejected: SPF temperror"), r


def test_trusted_clients_skip_spf(checked, dns):
    """Clients in mynetworks are not checked (and get no
    Authentication-Results: header)."""
    dns.add("spacex.com", "TXT", "v=spf1 ip4:192.0.2.0/24 -all")
    checked.set(mynetworks="127.0.0.0/8")
    checked.start()
    r = transaction(checked, "elonmusk@spacex.com",
                    message=msg("elonmusk@spacex.com", "trusted"))
    assert r["data"][0] == 250, r
    m = delivered(checked, "trusted")
    assert m["Authentication-Results"] is None


# ---- reverse DNS ----

def ptr(dns, ip, name):
    a, b, c, d = ip.split(".")
    dns.add(f"{d}.{c}.{b}.{a}.in-addr.arpa", "PTR", name)


@pytest.mark.parametrize("restriction,source,code,text", [
    ("reject_unknown_reverse_client_hostname", "127.0.0.2", 250, None),
    ("reject_unknown_client_hostname", "127.0.0.2", 250, None),
    ("reject_unknown_reverse_client_hostname", "127.0.0.3", 550,
     "550 5.7.25 Client host rejected: cannot find your reverse hostname, "
     "[127.0.0.3]"),
    ("reject_unknown_reverse_client_hostname", "127.0.0.4", 250, None),
    ("reject_unknown_client_hostname", "127.0.0.4", 550,
     "550 5.7.25 Client host rejected: cannot find your hostname, "
     "[127.0.0.4]"),
    ("reject_unknown_client_hostname", "127.0.0.6", 450,
     "450 4.7.25 Client host rejected: cannot find your hostname, "
     "[127.0.0.6]"),
])
def test_reverse_dns(checked, dns, restriction, source, code, text):
    ptr(dns, "127.0.0.2", "mx.good.test")
    dns.add("mx.good.test", "A", "127.0.0.2")
    # 127.0.0.3: no PTR.  127.0.0.4: a PTR that does not confirm.
    ptr(dns, "127.0.0.4", "liar.test")
    dns.add("liar.test", "A", "127.0.0.9")
    dns.servfail("6.0.0.127.in-addr.arpa")
    dns.add("ok.test", "TXT", "v=spf1 +all")
    checked.set(smtpd_client_restrictions=restriction)
    checked.start()
    r = transaction(checked, "a@ok.test", source=source)
    assert r["rcpt"][0] == code, r
    if text:
        assert r["rcpt"][1] == text
    if source == "127.0.0.2":
        assert "connect from mx.good.test[127.0.0.2]" in checked.log()
    if source == "127.0.0.4":
        assert "connect from unknown[127.0.0.4]" in checked.log()


def test_unknown_sender_and_helo(checked, dns):
    dns.add("real.test", "MX", "10 mx.real.test")
    dns.add("mx.real.test", "A", "127.0.0.1")
    dns.add("client.real.test", "A", "127.0.0.1")
    checked.set(smtpd_sender_restrictions="reject_unknown_sender_domain",
                smtpd_helo_restrictions="reject_unknown_helo_hostname",
                smtpd_recipient_restrictions="permit_mynetworks")
    checked.start()
    r = transaction(checked, "a@real.test", helo="client.real.test")
    assert r["rcpt"][0] == 250, r
    r = transaction(checked, "a@nowhere.test", helo="client.real.test")
    assert r["rcpt"] == (450, "450 4.1.8 <a@nowhere.test>: Sender address "
                              "rejected: Domain not found"), r
    r = transaction(checked, "a@real.test", helo="ghost.test")
    assert r["rcpt"] == (450, "450 4.7.1 <ghost.test>: Helo command "
                              "rejected: Host not found"), r


# ---- greylisting ----

def test_greylisting(checked, dns):
    checked.set(smtpd_recipient_restrictions="permit_mynetworks, "
                "check_greylist", greylist_delay="2s",
                greylist_auto_whitelist="1",
                greylist_exempt_maps="inline:{ exempt.test=OK }")
    checked.start()
    first = transaction(checked, "a@grey.test")["rcpt"]
    assert first[0] == 450 and first[1].startswith(
        f"450 4.7.1 <{RCPT}>: Recipient address rejected: Greylisted"), first
    t0 = time.monotonic()
    early = transaction(checked, "a@grey.test")["rcpt"]
    assert early[0] == 450, early
    # Retry until accepted: not before the delay.
    deadline = time.monotonic() + 20
    while True:
        got = transaction(checked, "a@grey.test")["rcpt"]
        if got[0] == 250:
            break
        assert got[0] == 450 and time.monotonic() < deadline, got
        time.sleep(0.2)
    assert time.monotonic() - t0 >= 1.0
    # One pass and greylist_auto_whitelist = 1: the network is through.
    assert transaction(checked, "b@other.test")["rcpt"][0] == 250
    assert (checked.dir / "data" / "greylist.lmdb").exists()


def test_greylist_exempt_and_mynetworks(checked, dns):
    checked.set(smtpd_recipient_restrictions="permit_mynetworks, "
                "check_greylist", greylist_exempt_maps="inline:{ "
                "exempt.test=OK }")
    checked.start()
    assert transaction(checked, "a@exempt.test")["rcpt"][0] == 250
    assert transaction(checked, "a@grey.test")["rcpt"][0] == 450
    checked.stop()
    checked.set(mynetworks="127.0.0.0/8")
    checked.start()
    assert transaction(checked, "z@grey.test")["rcpt"][0] == 250


# ---- DNS blocklists ----

def test_rbl(checked, dns):
    dns.add("2.0.0.127.bl.test", "A", "127.0.0.2")
    dns.add("2.0.0.127.bl.test", "TXT", "Listed, see http://bl.test/q")
    dns.add("spammer.test.dbl.test", "A", "127.0.1.2")
    dns.add("ok.test", "TXT", "v=spf1 +all")
    dns.add("spammer.test", "TXT", "v=spf1 +all")
    checked.set(smtpd_client_restrictions="reject_rbl_client bl.test",
                smtpd_sender_restrictions="reject_rhsbl_sender dbl.test")
    checked.start()
    r = transaction(checked, "a@ok.test", source="127.0.0.2")
    assert r["rcpt"] == (554, "554 5.7.1 Service unavailable; Client host "
                              "[127.0.0.2] blocked using bl.test; Listed, "
                              "see http://bl.test/q"), r
    assert transaction(checked, "a@ok.test",
                       source="127.0.0.3")["rcpt"][0] == 250
    r = transaction(checked, "a@spammer.test", source="127.0.0.3")
    assert r["rcpt"] == (554, "554 5.7.1 Service unavailable; Sender "
                              "address [spammer.test] blocked using "
                              "dbl.test"), r


def test_rbl_filter(checked, dns):
    dns.add("2.0.0.127.bl.test", "A", "127.0.0.2")
    dns.add("ok.test", "TXT", "v=spf1 +all")
    checked.set(smtpd_client_restrictions="reject_rbl_client "
                "bl.test=127.0.0.3")
    checked.start()
    assert transaction(checked, "a@ok.test",
                       source="127.0.0.2")["rcpt"][0] == 250


def test_dnsbl_score(checked, dns):
    for zone in ("a.test", "b.test"):
        dns.add(f"2.0.0.127.{zone}", "A", "127.0.0.2")
    dns.add("3.0.0.127.a.test", "A", "127.0.0.2")
    dns.add("ok.test", "TXT", "v=spf1 +all")
    checked.set(smtpd_client_restrictions="check_dnsbl_score",
                postscreen_dnsbl_sites="a.test*2, b.test, c.test*5",
                postscreen_dnsbl_threshold="3")
    checked.start()
    r = transaction(checked, "a@ok.test", source="127.0.0.2")
    assert r["rcpt"] == (554, "554 5.7.1 Service unavailable; Client host "
                              "[127.0.0.2] blocked using DNSBL score 3 "
                              "(threshold 3): a.test, b.test"), r
    assert transaction(checked, "a@ok.test",
                       source="127.0.0.3")["rcpt"][0] == 250


# ---- DKIM and DMARC ----

@pytest.fixture
def signer(checked, dns, tmp_path):
    """A key for signed.test in the test zone; sign(message) -> text."""
    r = checked.run("dkim", "keygen", "signed.test", "sel", "--dir",
                    str(tmp_path))
    assert r.returncode == 0, r.stderr
    dns.add("sel._domainkey.signed.test", "TXT",
            re.findall(r'"([^"]*)"', r.stdout))
    key = tmp_path / "signed.test.sel.key"

    def sign(message):
        s = subprocess.run([str(checked.bin), "dkim", "sign", "--domain",
                            "signed.test", "--selector", "sel", "--key",
                            str(key)], input=message, capture_output=True,
                           text=True)
        assert s.returncode == 0, s.stderr
        return s.stdout
    return sign


def test_dkim_dmarc_pass(checked, dns, signer):
    dns.add("signed.test", "TXT", "v=spf1 ip4:127.0.0.0/8 -all")
    dns.add("_dmarc.signed.test", "TXT", "v=DMARC1; p=reject")
    checked.start()
    m = signer(msg("a@signed.test", "dkim-pass"))
    r = transaction(checked, "a@signed.test", message=m)
    assert r["data"][0] == 250, r
    got = delivered(checked, "dkim-pass")
    ar = " ".join(got["Authentication-Results"].split())
    assert ar.startswith("mail.example.test; spf=pass "
                         "smtp.mailfrom=a@signed.test; dkim=pass "
                         "header.d=signed.test header.s=sel"), ar
    assert "dmarc=pass (p=reject sp=reject pct=100 dis=none) " \
        "header.from=signed.test" in ar, ar
    report = (checked.dir / "data" / "dmarc-reports.log").read_text()
    assert "header_from=signed.test" in report


def test_dkim_fail_dmarc_reject(checked, dns, signer):
    """A broken signature, a sender that SPF does not align: the From
    domain's p=reject refuses the message at the end of DATA."""
    dns.add("signed.test", "TXT", "v=spf1 -all")
    dns.add("_dmarc.signed.test", "TXT", "v=DMARC1; p=reject")
    dns.add("bulk.test", "TXT", "v=spf1 ip4:127.0.0.0/8 -all")
    checked.start()
    m = signer(msg("a@signed.test", "dkim-fail")).replace("Hello.",
                                                           "Tampered.")
    r = transaction(checked, "x@bulk.test", message=m)
    assert r["data"] == (550, "550 5.7.1 Rejected by DMARC policy for "
                              "signed.test"), r
    # With dmarc_enforce = no it is delivered, with the results.
    checked.stop()
    checked.set(dmarc_enforce="no")
    checked.start()
    r = transaction(checked, "x@bulk.test", message=m)
    assert r["data"][0] == 250, r
    ar = " ".join(delivered(checked, "dkim-fail")[
        "Authentication-Results"].split())
    assert "spf=pass smtp.mailfrom=x@bulk.test" in ar, ar
    assert "dkim=fail" in ar and "header.d=signed.test" in ar, ar
    assert "dmarc=fail (p=reject sp=reject pct=100 dis=reject) " \
        "header.from=signed.test" in ar, ar


def test_dmarc_quarantine_holds(checked, dns):
    dns.add("quar.test", "TXT", "v=spf1 -all")
    dns.add("_dmarc.quar.test", "TXT", "v=DMARC1; p=quarantine")
    dns.add("bulk.test", "TXT", "v=spf1 ip4:127.0.0.0/8 -all")
    checked.start()
    r = transaction(checked, "x@bulk.test",
                    message=msg("boss@quar.test", "quarantined"))
    assert r["data"][0] == 250, r
    qid = r["data"][1].rsplit(" ", 1)[1]
    wait_for(lambda: (checked.dir / "queue" / "hold" / qid).exists(),
             what="the message in hold/")
    assert f"{qid}: hold: DMARC quarantine policy" in checked.log()


def held_files(inst):
    """Sizes of the unlinked files smtpd processes of INST hold open in
    data_directory (messages held for the end-of-data checks)."""
    data = inst.conf("data_directory")
    sizes = []
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        try:
            argv = open(f"/proc/{e}/cmdline", "rb").read().split(b"\0")
            if os.path.basename(argv[0]) != b"smtpd" or \
                    str(inst.dir).encode() not in argv:
                continue
            for fd in os.listdir(f"/proc/{e}/fd"):
                target = os.readlink(f"/proc/{e}/fd/{fd}")
                if target.startswith(data + "/") and \
                        target.endswith("(deleted)"):
                    sizes.append(os.stat(f"/proc/{e}/fd/{fd}").st_size)
        except OSError:
            continue
    return sizes


def test_big_outside_message_held_on_disk(checked, dns, signer):
    """Mail from outside waits for DKIM/DMARC at its end; beyond 256 KiB
    smtpd holds it in an unlinked file in data_directory, not in memory,
    then hands it to cleanup whole: the body arrives byte for byte, and
    the forged Authentication-Results field in its header is still
    removed.  The DKIM key lookup hangs until dns_timeout, so the hold
    can be seen."""
    import threading
    dns.add("signed.test", "TXT", "v=spf1 ip4:127.0.0.0/8 -all")
    dns.timeout("sel._domainkey.signed.test")
    checked.start()
    line = "".join(chr(33 + (i % 90)) for i in range(76))
    body = "".join(f"{n:07d} {line}\n" for n in range(40000))  # ~3.4 MB
    text = (f"From: <a@signed.test>\nTo: <{RCPT}>\nSubject: big-held\n"
            f"Message-ID: <big.{time.time()}@x.test>\n"
            "Authentication-Results: mail.example.test; dkim=pass\n"
            f"\n{body}")
    signed = signer(text)
    result = {}
    t = threading.Thread(target=lambda: result.update(
        transaction(checked, "a@signed.test", message=signed)))
    # All but the first 256 KiB (CRLF line ends on the wire) once the
    # whole message is in, while the key lookup still hangs.
    wire = len(signed.replace("\n", "\r\n").encode())
    t.start()
    try:
        sizes = wait_for(lambda: [n for n in held_files(checked)
                                  if n >= wire - 256 * 1024 - 4096],
                         timeout=20, what="the whole message held")
    finally:
        t.join(60)
    assert len(sizes) == 1 and sizes[0] <= wire, (sizes, wire)
    assert result["data"][0] == 250, result
    assert held_files(checked) == []            # closed, so gone
    m = delivered(checked, "big-held")
    got = m.get_payload(decode=False).replace("\r\n", "\n")
    assert got == body
    ars = m.get_all("Authentication-Results")
    assert len(ars) == 1, ars                   # the forged one is gone
    assert "dkim=temperror" in ars[0], ars
    assert "removed an Authentication-Results: header" in checked.log()


def test_header_longer_than_held_memory_refused(checked, dns):
    """A header that goes on beyond the 256 KiB held in memory (cleanup
    limits each field, not the header) would reach the end-of-data
    checks cut: a forged Authentication-Results field (or the From: that
    DMARC judges) after it was kept.  Such a message is refused."""
    dns.add("ok.test", "TXT", "v=spf1 ip4:127.0.0.0/8 -all")
    checked.start()
    pad = "".join(f"X-Pad-{n}: {'p' * 990}\n" for n in range(300))
    text = (f"From: <a@ok.test>\nTo: <{RCPT}>\nSubject: long-header\n"
            f"Message-ID: <lh.{time.time()}@x.test>\n{pad}"
            "Authentication-Results: mail.example.test; dkim=pass "
            "header.d=paypal.com\n\nHello.\n")
    r = transaction(checked, "a@ok.test", message=text)
    assert r["data"][0] == 552, r
    assert "5.3.4" in r["data"][1], r
    # A header that ends within the held memory is still fine.
    r = transaction(checked, "a@ok.test",
                    message=msg("a@ok.test", "short-header",
                                "X-Pad: " + "p" * 990 + "\n") +
                    "".join(f"{n:07d} {'b' * 90}\n" for n in range(4000)))
    assert r["data"][0] == 250, r
    delivered(checked, "short-header")


def test_held_in_memory_when_no_file_can_be_made(checked, dns):
    """No file can be made in data_directory: a big message from outside
    is held in memory as before the limit (a warning says so), and
    nothing is refused for it."""
    dns.add("ok.test", "TXT", "v=spf1 ip4:127.0.0.0/8 -all")
    checked.set(data_directory=str(checked.dir / "no-such-folder"))
    checked.start()
    body = "".join(f"{n:07d} {'y' * 70}\n" for n in range(8000))  # 630 KB
    r = transaction(checked, "a@ok.test",
                    message=msg("a@ok.test", "held-in-memory", "") + body)
    assert r["data"][0] == 250, r
    m = delivered(checked, "held-in-memory")
    assert m.get_payload().replace("\r\n", "\n").endswith(body)
    assert "holding it in memory" in checked.log()


def test_forged_auth_results_removed(checked, dns):
    dns.add("ok.test", "TXT", "v=spf1 ip4:127.0.0.0/8 -all")
    checked.start()
    forged = ("Authentication-Results: mail.example.test; dkim=pass "
              "header.d=paypal.com\nAuthentication-Results: other.example; "
              "spf=pass")
    r = transaction(checked, "a@ok.test",
                    message=msg("a@ok.test", "forged-ar", forged))
    assert r["data"][0] == 250, r
    m = delivered(checked, "forged-ar")
    ars = m.get_all("Authentication-Results")
    assert len(ars) == 2, ars
    assert " ".join(ars[0].split()).startswith("mail.example.test; "
                                               "spf=pass")
    assert "paypal" not in str(m)
    assert ars[1].startswith("other.example")
    assert "removed an Authentication-Results: header" in checked.log()
