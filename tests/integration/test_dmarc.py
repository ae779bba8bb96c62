"""`ulak dmarc DOMAIN` against the test DNS server: policy discovery at
the domain and at its organizational domain (Public Suffix List), sp=,
junk records, several records, DNS failures."""
import pathlib

import pytest

PSL = pathlib.Path("/usr/share/publicsuffix/public_suffix_list.dat")


@pytest.fixture
def dmarc(ulak, dns, tmp_path):
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    psl = tmp_path / "psl.dat"
    psl.write_text("// test list\ntest\nco.test\n*.wild.test\n"
                   "!open.wild.test\n")
    (cfg / "main.cf").write_text(
        f"dns_servers = {dns.address}\ndns_timeout = 1s\n"
        f"dmarc_public_suffix_list = {psl}\n")

    def run(domain, *extra):
        p = ulak("-c", cfg, "dmarc", *extra, domain, timeout=30)
        fields = {}
        for line in p.stdout.splitlines()[1:]:
            k, _, v = line.partition(": ")
            fields[k] = v
        first = p.stdout.split("\n")[0]
        return p.returncode, first, fields, p
    run.cfg = cfg
    return run


def test_policy_at_domain(dmarc, dns):
    dns.add("_dmarc.example.test", "TXT",
            "v=DMARC1; p=reject; rua=mailto:agg@example.test; adkim=s")
    rc, first, f, p = dmarc("example.test")
    assert rc == 0, p.stderr
    assert first == "policy: reject"
    assert f["record"] == "_dmarc.example.test"
    assert f["p"] == "reject"
    assert f["sp"] == "reject"
    assert f["pct"] == "100"
    assert f["adkim"] == "s"
    assert f["aspf"] == "r"
    assert f["rua"] == "mailto:agg@example.test"
    assert f["ruf"] == "-"


def test_policy_at_org_domain(dmarc, dns):
    dns.add("_dmarc.example.co.test", "TXT",
            "v=DMARC1; p=reject; sp=quarantine; pct=30")
    rc, first, f, _ = dmarc("a.b.example.co.test")
    assert rc == 0
    assert first == "policy: quarantine"
    assert f["organizational-domain"] == "example.co.test"
    assert f["record"] == "_dmarc.example.co.test"
    assert f["pct"] == "30"
    # wildcard and exception rules of the list
    dns.add("_dmarc.x.y.wild.test", "TXT", "v=DMARC1; p=none")
    rc, first, f, _ = dmarc("m.x.y.wild.test")
    assert f["organizational-domain"] == "x.y.wild.test"
    assert first == "policy: none"
    rc, first, f, _ = dmarc("m.open.wild.test")
    assert f["organizational-domain"] == "open.wild.test"
    assert rc == 1 and first == "none"
    # the domain's own record wins over the org domain's
    dns.add("_dmarc.own.example.co.test", "TXT", "v=DMARC1; p=none")
    rc, first, f, _ = dmarc("own.example.co.test")
    assert first == "policy: none"
    assert f["record"] == "_dmarc.own.example.co.test"


@pytest.mark.parametrize("records,first,problem", [
    ([], "none", "no DMARC policy"),
    (["v=spf1 -all"], "none", "no DMARC policy"),
    (["v=DMARC1"], "none", "without a valid p="),
    (["v=DMARC1; p=maybe"], "none", "without a valid p="),
    (["v=DMARC1; p=none", "v=DMARC1; p=reject"], "none",
     "more than one DMARC record"),
])
def test_no_policy(dmarc, dns, records, first, problem):
    dns.add("other.test", "A", "192.0.2.1")
    for r in records:
        dns.add("_dmarc.junk.test", "TXT", r)
    rc, got, f, p = dmarc("junk.test")
    assert rc == 1, p.stdout
    assert got == first
    assert problem in f["problem"]


def test_junk_tags(dmarc, dns):
    dns.add("_dmarc.junk.test", "TXT", [
        "v=DMARC1;p=quarantine;pct=500;;junk;adkim=q;fo=9;ri=-1;",
        "x=\x01\x02;rua=mailto:a@junk.test"])
    rc, first, f, _ = dmarc("junk.test")
    assert rc == 0
    assert first == "policy: quarantine"
    assert f["pct"] == "100"
    assert f["rua"] == "mailto:a@junk.test"
    assert "bad pct=500 ignored" in f["warnings"]
    # rua= alone makes a record without p= act as p=none (RFC 7489 6.6.3)
    dns.add("_dmarc.rua.test", "TXT", "v=DMARC1; rua=mailto:r@rua.test")
    rc, first, f, _ = dmarc("rua.test")
    assert rc == 0 and first == "policy: none"
    # a huge record is parsed or refused, never a crash
    dns.add("_dmarc.huge.test", "TXT",
            ["v=DMARC1; p=reject; " + "x" * 230] + ["y" * 255] * 60)
    rc, first, f, _ = dmarc("huge.test")
    assert rc == 0 and first == "policy: reject"


def test_dns_failure_and_bad_names(dmarc, dns):
    dns.servfail("_dmarc.broken.test")
    rc, first, f, _ = dmarc("broken.test")
    assert rc == 75 and first == "temperror"
    rc, first, f, _ = dmarc("nodot")
    assert rc == 1 and first == "permerror"
    rc, first, f, _ = dmarc("a..b.test")
    assert rc == 1 and first == "permerror"


@pytest.mark.skipif(not PSL.exists(), reason="package publicsuffix missing")
def test_debian_list(ulak, dns, tmp_path):
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "main.cf").write_text(f"dns_servers = {dns.address}\n"
                                 "dns_timeout = 1s\n")
    dns.add("_dmarc.example.co.uk", "TXT", "v=DMARC1; p=reject")
    p = ulak("-c", cfg, "dmarc", "mail.example.co.uk", timeout=30)
    assert p.returncode == 0, p.stderr
    assert "organizational-domain: example.co.uk\n" in p.stdout
    assert p.stdout.startswith("policy: reject\n")
