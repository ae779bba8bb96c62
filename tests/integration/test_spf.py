"""`ulak spf` against the test DNS server: each mechanism deciding, the
HELO identity, explanations, and bad input (loops, too many lookups,
syntax errors, huge TXT records, DNS failures): each gives the RFC 7208
result, never a crash.  The RFC 7208 suite itself is test_spf_suite.py.
"""
import pytest


@pytest.fixture
def spf(ulak, dns, tmp_path):
    """spf(ip, sender, helo=..., *extra) -> (result, explanation, proc)."""
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "main.cf").write_text(
        f"dns_servers = {dns.address}\ndns_timeout = 1s\n"
        "myhostname = mx.receiver.test\n")

    def run(ip, sender, helo="client.example.test", *extra):
        p = ulak("-c", cfg, "spf", "--ip", ip, "--sender", sender,
                 "--helo", helo, *extra, timeout=30)
        assert p.returncode == 0, p.stderr
        lines = p.stdout.split("\n")
        return lines[0], (lines[1] if len(lines) > 2 else ""), p
    run.cfg = cfg
    return run


def test_mechanisms(spf, dns):
    dns.add("spacex.test", "TXT", "v=spf1 ip4:192.0.2.0/28 ip6:2001:db8::/64 "
            "a:mail.spacex.test mx ptr:trusted.test "
            "exists:%{ir}.allow.spacex.test include:partner.test ~all")
    dns.add("mail.spacex.test", "A", "198.51.100.10")
    dns.add("spacex.test", "MX", "10 mx.spacex.test")
    dns.add("mx.spacex.test", "AAAA", "2001:db8:1::25")
    dns.add("7.113.0.203.in-addr.arpa", "PTR", "host.trusted.test")
    dns.add("host.trusted.test", "A", "203.0.113.7")
    dns.add("9.113.0.203.allow.spacex.test", "A", "127.0.0.2")
    dns.add("partner.test", "TXT", "v=spf1 ip4:203.0.113.64/26 -all")
    cases = {
        "192.0.2.5": ("pass", "ip4:192.0.2.0/28"),
        "2001:db8::77": ("pass", "ip6:2001:db8::/64"),
        "198.51.100.10": ("pass", "a:mail.spacex.test"),
        "2001:db8:1::25": ("pass", "mx"),
        "203.0.113.7": ("pass", "ptr:trusted.test"),
        "203.0.113.9": ("pass", "exists:%{ir}.allow.spacex.test"),
        "203.0.113.70": ("pass", "include:partner.test"),
        "192.0.2.99": ("softfail", "~all"),
    }
    for ip, (want, mech) in cases.items():
        res, _, p = spf(ip, "elonmusk@spacex.test", "h.test", "-v")
        assert res == want, (ip, p.stdout)
        assert f"mechanism: {mech}\n" in p.stdout, (ip, p.stdout)


def test_forged_sender_fails_with_explanation(spf, dns):
    """The tutorial's forged mail: spacex's SPF does not allow the client."""
    dns.add("spacex.test", "TXT", "v=spf1 ip4:192.0.2.1 -all "
            "exp=why.spacex.test")
    dns.add("why.spacex.test", "TXT",
            "%{i} may not send mail for %{d} (see %{r})")
    res, exp, p = spf("203.0.113.66", "elonmusk@spacex.test", "x.test", "-v")
    assert res == "fail"
    assert exp == "203.0.113.66 may not send mail for spacex.test " \
        "(see mx.receiver.test)"
    assert "Received-SPF: fail (mx.receiver.test: domain of " \
        "elonmusk@spacex.test does not designate 203.0.113.66 as " \
        "permitted sender) client-ip=203.0.113.66; " in p.stdout
    assert "Authentication-Results: spf=fail " \
        "smtp.mailfrom=elonmusk@spacex.test" in p.stdout


def test_default_explanation(spf, dns):
    dns.add("plain.test", "TXT", "v=spf1 -all")
    res, exp, _ = spf("192.0.2.7", "a@plain.test")
    assert res == "fail"
    assert exp == "192.0.2.7 is not allowed to send mail for plain.test " \
        "(SPF: plain.test)"
    res, exp, _ = spf("192.0.2.7", "a@plain.test", "h.test",
                      "--default-explanation", "no: %{s}")
    assert exp == "no: a@plain.test"
    # text from the client never reaches the reply raw
    res, exp, _ = spf("192.0.2.7", "a\x01\x7fb@plain.test", "h.test",
                      "--default-explanation", "no: %{l}")
    assert exp == "no: a??b"


def test_helo_identity(spf, dns):
    dns.add("helo.test", "TXT", "v=spf1 ip4:192.0.2.8 -all")
    res, _, p = spf("192.0.2.8", "", "helo.test", "-v")
    assert res == "pass"
    assert "identity: helo" in p.stdout
    assert "Authentication-Results: spf=pass smtp.helo=helo.test" in p.stdout
    res, _, _ = spf("192.0.2.9", "<>", "helo.test")
    assert res == "fail"
    # --check-helo checks the HELO name even with a sender
    res, _, _ = spf("192.0.2.8", "x@nospf.test", "helo.test",
                    "--check-helo")
    assert res == "pass"
    # a HELO name that is not a domain: none
    res, _, _ = spf("192.0.2.8", "", "[192.0.2.8]")
    assert res == "none"


def test_no_record_and_neutral(spf, dns):
    dns.add("norecord.test", "TXT", "just some text")
    dns.add("neutral.test", "TXT", "v=spf1 ?all")
    dns.add("empty.test", "TXT", "v=spf1")
    assert spf("192.0.2.1", "a@norecord.test")[0] == "none"
    assert spf("192.0.2.1", "a@nxdomain.test")[0] == "none"
    assert spf("192.0.2.1", "a@neutral.test")[0] == "neutral"
    assert spf("192.0.2.1", "a@empty.test")[0] == "neutral"


@pytest.mark.parametrize("record,want", [
    ("v=spf1 ip4:192.0.2.300 -all", "permerror"),
    ("v=spf1 a:foo-bar -all", "permerror"),
    ("v=spf1 include -all", "permerror"),
    ("v=spf1 -all exp=a.test exp=b.test", "permerror"),
    ("v=spf1 mx:%{z}.test", "permerror"),
    ("v=spf1 bogus:x.test -all", "permerror"),
    ("v=spf1 ip4:192.0.2.1\x01 -all", "permerror"),
    ("v=spf1 unknown-modifier=%{d} ?all", "neutral"),
])
def test_syntax_errors(spf, dns, record, want):
    dns.add("bad.test", "TXT", [record])
    assert spf("192.0.2.1", "a@bad.test")[0] == want


def test_two_records(spf, dns):
    dns.add("two.test", "TXT", "v=spf1 -all")
    dns.add("two.test", "TXT", "v=spf1 +all")
    res, _, p = spf("192.0.2.1", "a@two.test", "h.test", "-v")
    assert res == "permerror"
    assert "more than one SPF record" in p.stdout


def test_loops(spf, dns):
    dns.add("redir.test", "TXT", "v=spf1 redirect=redir.test")
    dns.add("inc-a.test", "TXT", "v=spf1 include:inc-b.test -all")
    dns.add("inc-b.test", "TXT", "v=spf1 include:inc-a.test -all")
    for dom in ("redir.test", "inc-a.test"):
        res, _, p = spf("192.0.2.1", "a@" + dom, "h.test", "-v")
        assert res == "permerror", p.stdout
        assert "more than 10 DNS-querying terms" in p.stdout
    # a loop costs a bounded number of queries
    assert len(dns.queries) < 40


def test_lookup_limits(spf, dns):
    dns.add("many.test", "TXT", "v=spf1 " + " ".join(
        f"a:h{i}.many.test" for i in range(11)) + " -all")
    for i in range(11):
        dns.add(f"h{i}.many.test", "A", "198.51.100.1")
    res, _, p = spf("192.0.2.1", "a@many.test", "h.test", "-v")
    assert res == "permerror"
    assert "dns-terms: 11" in p.stdout
    dns.add("void.test", "TXT",
            "v=spf1 a:n1.test a:n2.test exists:n3.test -all")
    res, _, p = spf("192.0.2.1", "a@void.test", "h.test", "-v")
    assert res == "permerror"
    assert "void DNS lookups" in p.stdout
    dns.add("mx11.test", "TXT", "v=spf1 mx -all")
    for i in range(11):
        dns.add("mx11.test", "MX", f"{i} m{i}.mx11.test")
    res, _, p = spf("192.0.2.1", "a@mx11.test", "h.test", "-v")
    assert res == "permerror"
    assert "more than 10 MX records" in p.stdout


def test_huge_txt_records(spf, dns):
    # a record of ~12 KB in 255-byte strings: parsed, evaluated
    terms = " ".join(f"ip4:10.{i // 256}.{i % 256}.0/24" for i in range(700))
    text = f"v=spf1 {terms} ip4:192.0.2.44 -all"
    dns.add("huge.test", "TXT",
            [text[i:i + 255] for i in range(0, len(text), 255)])
    assert len(text) > 10000
    assert spf("192.0.2.44", "a@huge.test")[0] == "pass"
    assert spf("192.0.2.45", "a@huge.test")[0] == "fail"
    # a big non-SPF TXT beside the SPF record is none of our business
    dns.add("junk.test", "TXT", ["x" * 255] * 40)
    dns.add("junk.test", "TXT", "v=spf1 ip4:192.0.2.1 -all")
    assert spf("192.0.2.1", "a@junk.test")[0] == "pass"


def test_dns_failures(spf, dns):
    dns.servfail("broken.test")
    dns.timeout("slow.test")
    dns.add("dep.test", "TXT", "v=spf1 a:broken.test -all")
    dns.add("ptr.test", "TXT", "v=spf1 ptr -all")
    dns.servfail("1.2.0.192.in-addr.arpa")
    res, _, p = spf("192.0.2.1", "a@broken.test", "h.test", "-v")
    assert res == "temperror"
    assert spf("192.0.2.1", "a@slow.test")[0] == "temperror"
    assert spf("192.0.2.1", "a@dep.test")[0] == "temperror"
    # RFC 7208 5.5: a failing PTR lookup only makes ptr not match
    assert spf("192.0.2.1", "a@ptr.test")[0] == "fail"


def test_batch(ulak, spf, dns):
    dns.add("b.test", "TXT", "v=spf1 ip4:192.0.2.1 ~all")
    lines = "".join([
        "192.0.2.1\tx@b.test\th.test\n",
        "192.0.2.2\tx@b.test\th.test\n",
        "not-an-ip\tx@b.test\th.test\n",
        "192.0.2.1\t\tb.test\n",
        "garbage\n",
    ])
    p = ulak("-c", spf.cfg, "spf", "--batch", input=lines, timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split("\n")[:5] == [
        "pass\t", "softfail\t", "error\t", "pass\t", "error\t"]


def test_usage(ulak, spf):
    p = ulak("-c", spf.cfg, "spf", "--sender", "a@b.test")
    assert p.returncode == 2
    assert "--ip is required" in p.stderr
    p = ulak("-c", spf.cfg, "spf", "--ip", "999.1.1.1", "--sender", "a@b.c")
    assert p.returncode == 2
    assert "bad client address" in p.stderr
