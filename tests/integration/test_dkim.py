"""DKIM across implementations: `ulak dkim keygen|sign|verify` against
Debian's python3-dkim (dkimpy) and OpenDKIM, with the keys published in
the test DNS server (dnsserver.TestDNS) that ulak's resolver and
OpenDKIM's (libunbound, through ResolverConfiguration) ask.

  ulak signs   -> dkimpy verifies (dkim.verify with a dnsfunc), OpenDKIM
                  verifies (opendkim -t, keys from the test DNS server)
  dkimpy signs -> ulak verifies (RSA and Ed25519, both canonicalizations)
  OpenDKIM signs (opendkim -b s -t, rsa-sha256) -> ulak verifies
plus the RFC 8463 Appendix A message, DNS failures, and bad input that
must give the RFC's result, never a crash."""
import os
import pathlib
import re
import shutil
import subprocess

import pytest

import dnsserver

dkim = pytest.importorskip("dkim")

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "dkim"

MESSAGE = (b"From: Joe SixPack <joe@example.test>\r\n"
           b"To: Suzie Q <suzie@shopping.example.net>\r\n"
           b"Subject: Is dinner ready?\r\n"
           b"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
           b"Message-ID: <20030712040037.46341.5F8J@example.test>\r\n"
           b"\r\n"
           b"Hi.\r\n"
           b"\r\n"
           b"We lost the game.  Are you hungry yet?   \r\n"
           b"\r\n"
           b"Joe.\r\n")


@pytest.fixture
def zone():
    server = dnsserver.TestDNS()
    server.start()
    yield server
    server.stop()


def txt_strings(record):
    """RECORD as zone-file TXT data: strings of at most 255 octets."""
    parts = [record[i:i + 255] for i in range(0, len(record), 255)] or [""]
    return " ".join('"' + p + '"' for p in parts)


def publish(zone, name, record):
    zone.add(name, "TXT", txt_strings(record))


def record_of(keygen_stdout):
    """The key record from keygen's TXT line (its strings joined)."""
    return "".join(re.findall(r'"([^"]*)"', keygen_stdout))


@pytest.fixture
def inst(tmp_path, zone):
    d = tmp_path / "inst"
    d.mkdir()
    (d / "main.cf").write_text(f"dns_servers = {zone.address}\n"
                               "dns_timeout = 5s\n")
    return d


def run(ulak_bin, *args, data=None):
    env = dict(os.environ)
    env.pop("ULAK_CONFIG_DIR", None)
    return subprocess.run([str(ulak_bin), *map(str, args)], input=data,
                          capture_output=True, env=env, timeout=60)


def keygen(ulak_bin, tmp_path, domain, selector, ktype="rsa", bits=None):
    args = ["dkim", "keygen", domain, selector, "--type", ktype,
            "--dir", tmp_path / "keys"]
    if bits:
        args += ["--bits", bits]
    r = run(ulak_bin, *args)
    assert r.returncode == 0, r.stderr
    key = tmp_path / "keys" / f"{domain}.{selector}.key"
    return key, record_of(r.stdout.decode())


def verify_lines(ulak_bin, inst, msg):
    r = run(ulak_bin, "-c", inst, "dkim", "verify", data=msg)
    assert r.returncode in (0, 1), r.stderr
    assert r.stderr == b"", r.stderr
    return r.returncode, r.stdout.decode().splitlines()


# ---- keygen ----

def test_keygen(ulak_bin, tmp_path):
    r = run(ulak_bin, "dkim", "keygen", "example.test", "s2048",
            "--dir", tmp_path / "k")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert out.startswith('s2048._domainkey.example.test. IN TXT "v=DKIM1; '
                          'k=rsa; p=')
    strings = re.findall(r'"([^"]*)"', out)
    assert len(strings) == 2 and all(len(s) <= 255 for s in strings)
    key = tmp_path / "k" / "example.test.s2048.key"
    assert (key.stat().st_mode & 0o777) == 0o600
    assert key.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert b"dkim_signing_key_maps entry: example.test s2048:" in r.stderr
    # never overwrites
    r = run(ulak_bin, "dkim", "keygen", "example.test", "s2048",
            "--dir", tmp_path / "k")
    assert r.returncode == 1 and b"exists" in r.stderr
    r = run(ulak_bin, "dkim", "keygen", "example.test", "ed", "--type",
            "ed25519", "--dir", tmp_path / "k")
    assert r.returncode == 0
    assert re.fullmatch(r'ed\._domainkey\.example\.test\. IN TXT '
                        r'"v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}="\n',
                        r.stdout.decode())
    for bad in (["--bits", "512"], ["--bits", "100000"], ["--type", "dsa"]):
        r = run(ulak_bin, "dkim", "keygen", "example.test", "x", *bad,
                "--dir", tmp_path / "k")
        assert r.returncode == 2, bad
    r = run(ulak_bin, "dkim", "keygen", "../etc", "x", "--dir", tmp_path)
    assert r.returncode == 2
    r = run(ulak_bin, "dkim", "frob")
    assert r.returncode == 2 and b"unknown action" in r.stderr


# ---- ulak signs, dkimpy verifies ----

@pytest.mark.parametrize("ktype", ["rsa", "ed25519"])
@pytest.mark.parametrize("canon", ["relaxed/relaxed", "simple/simple",
                                   "relaxed/simple", "simple/relaxed"])
def test_ulak_signs_dkimpy_verifies(ulak_bin, tmp_path, ktype, canon):
    key, record = keygen(ulak_bin, tmp_path, "example.test", "sel", ktype)

    def dnsfunc(name, timeout=5):
        assert name == b"sel._domainkey.example.test."
        return record.encode()

    for msg in (MESSAGE, MESSAGE.replace(b"\r\n", b"\n")):
        r = run(ulak_bin, "dkim", "sign", "--domain", "example.test",
                "--selector", "sel", "--key", key, "--canon", canon,
                data=msg)
        assert r.returncode == 0, r.stderr
        signed = r.stdout
        assert signed.endswith(msg)
        assert dkim.verify(signed, dnsfunc=dnsfunc), signed.decode()
        # a changed body or an added From fails
        assert not dkim.verify(signed + b"P.S. send money\r\n",
                               dnsfunc=dnsfunc)
        assert not dkim.verify(b"From: evil@example.org\r\n" + signed,
                               dnsfunc=dnsfunc)


def test_ulak_signs_with_options(ulak_bin, tmp_path):
    key, record = keygen(ulak_bin, tmp_path, "example.test", "sel",
                         "ed25519")
    r = run(ulak_bin, "dkim", "sign", "--domain", "example.test",
            "--selector", "sel", "--key", key, "--body-length", "--ttl",
            "7d", "--identity", "joe@example.test", "--headers",
            "From:Subject:X-Custom", "--oversign", "", data=MESSAGE)
    assert r.returncode == 0, r.stderr
    sig = r.stdout[:r.stdout.index(b"From: Joe")].decode()
    assert "l=" in sig and "x=" in sig and "i=joe@example.test" in sig
    h = re.sub(r"\s", "", re.search(r"h=([^;]*);", sig).group(1))
    assert h == "from:from:subject"       # From is always over-signed
    assert dkim.verify(r.stdout, dnsfunc=lambda n, timeout=5:
                       record.encode())
    # usage errors
    r = run(ulak_bin, "dkim", "sign", "--domain", "example.test",
            data=MESSAGE)
    assert r.returncode == 2
    r = run(ulak_bin, "dkim", "sign", "--domain", "example.test",
            "--selector", "s", "--key", tmp_path / "nonexistent",
            data=MESSAGE)
    assert r.returncode == 1 and b"nonexistent" in r.stderr
    r = run(ulak_bin, "dkim", "sign", "--domain", "example.test",
            "--selector", "sel", "--key", key, data=b"Subject: x\n\nbody\n")
    assert r.returncode == 1 and b"no From: field" in r.stderr


# ---- dkimpy signs, ulak verifies through the test DNS server ----

@pytest.mark.parametrize("canon", [(b"relaxed", b"relaxed"),
                                   (b"simple", b"simple"),
                                   (b"relaxed", b"simple")])
def test_dkimpy_signs_ulak_verifies(ulak_bin, tmp_path, zone, inst, canon):
    rsa_key, rsa_rec = keygen(ulak_bin, tmp_path, "example.test", "rsa")
    publish(zone, "rsa._domainkey.example.test", rsa_rec)
    seed = (DATA / "rfc8463-ed25519.seed").read_bytes().strip()
    publish(zone, "ed._domainkey.example.test", "v=DKIM1; k=ed25519; "
            "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")

    sig_rsa = dkim.sign(MESSAGE, b"rsa", b"example.test",
                        rsa_key.read_bytes(), canonicalize=canon)
    sig_ed = dkim.sign(MESSAGE, b"ed", b"example.test", seed,
                       canonicalize=canon,
                       signature_algorithm=b"ed25519-sha256")
    sig_len = dkim.sign(MESSAGE, b"ed", b"example.test", seed,
                        canonicalize=canon, length=True,
                        signature_algorithm=b"ed25519-sha256")
    for sig, sel in ((sig_rsa, "rsa"), (sig_ed, "ed"), (sig_len, "ed")):
        rc, lines = verify_lines(ulak_bin, inst, sig + MESSAGE)
        assert rc == 0, lines
        assert len(lines) == 1
        assert lines[0].startswith(f"dkim=pass header.d=example.test "
                                   f"header.s={sel} header.b=")
    # both at once, in the order of the header
    rc, lines = verify_lines(ulak_bin, inst, sig_ed + sig_rsa + MESSAGE)
    assert rc == 0 and [x.split()[2] for x in lines] == [
        "header.s=ed", "header.s=rsa"]
    # tampering
    rc, lines = verify_lines(ulak_bin, inst,
                             sig_rsa + MESSAGE.replace(b"Hi.", b"Ho."))
    assert rc == 1
    assert lines[0].startswith('dkim=fail reason="body hash did not verify"')
    rc, lines = verify_lines(ulak_bin, inst, sig_ed + MESSAGE.replace(
        b"Subject: Is", b"Subject: IS"))
    assert lines[0].startswith('dkim=fail reason="signature did not '
                               'verify"')
    # l=: appended text passes (RFC 6376 8.2), a cut body fails
    rc, lines = verify_lines(ulak_bin, inst,
                             sig_len + MESSAGE + b"appended\r\n")
    assert rc == 0
    rc, lines = verify_lines(ulak_bin, inst, sig_len + MESSAGE[:-8])
    assert lines[0].startswith('dkim=fail reason="body shorter than l="')
    assert any(q == ("rsa._domainkey.example.test", "TXT")
               for q in zone.queries)


def test_rfc8463_vectors_through_dns(ulak_bin, zone, inst):
    for line in (DATA / "keys.txt").read_text().splitlines():
        name, rec = line.split(" ", 1)
        publish(zone, name, rec)
    rc, lines = verify_lines(ulak_bin, inst,
                             (DATA / "rfc8463-signed.msg").read_bytes())
    assert rc == 0
    assert lines == [
        "dkim=pass header.d=football.example.com header.s=brisbane "
        "header.b=9/dsDChY",
        "dkim=pass header.d=football.example.com header.s=test "
        "header.b=icKcLSEZ"]
    rc, lines = verify_lines(ulak_bin, inst,
                             (DATA / "exim-ed25519.msg").read_bytes())
    assert (rc, lines) == (0, ["dkim=pass header.d=test.ex header.s=sed "
                               "header.b=5fhyD3EI"])


def test_key_file_offline(ulak_bin, tmp_path):
    r = run(ulak_bin, "dkim", "verify", "--key-file", DATA / "keys.txt",
            data=(DATA / "rfc8463-signed.msg").read_bytes())
    assert r.returncode == 0
    assert r.stdout.decode().count("dkim=pass") == 2
    r = run(ulak_bin, "dkim", "verify", "--key-file", DATA / "keys.txt",
            data=MESSAGE)
    assert (r.returncode, r.stdout) == (1, b"dkim=none (no signatures)\n")


# ---- DNS outcomes and bad input ----

def test_dns_outcomes(ulak_bin, tmp_path, zone, inst):
    key, rec = keygen(ulak_bin, tmp_path, "example.test", "good", "ed25519")

    def signed(sel):
        r = run(ulak_bin, "dkim", "sign", "--domain", "example.test",
                "--selector", sel, "--key", key, data=MESSAGE)
        assert r.returncode == 0
        return r.stdout

    publish(zone, "good._domainkey.example.test", rec)
    publish(zone, "revoked._domainkey.example.test", "v=DKIM1; p=")
    publish(zone, "testing._domainkey.example.test",
            rec.replace("v=DKIM1;", "v=DKIM1; t=y;"))
    publish(zone, "junk._domainkey.example.test", "this is no key")
    publish(zone, "huge._domainkey.example.test",
            "v=DKIM1; k=rsa; p=" + "A" * 20000)
    publish(zone, "wrongtype._domainkey.example.test",
            "v=DKIM1; k=rsa; p=" + rec.split("p=")[1])
    zone.servfail("broken._domainkey.example.test")
    cases = {
        "good": "dkim=pass header.d=example.test header.s=good",
        "missing": 'dkim=permerror reason="no key for signature '
                   '(missing._domainkey.example.test)"',
        "revoked": 'dkim=permerror reason="key revoked (empty p=)"',
        "testing": "dkim=pass (test mode) header.d=example.test",
        "junk": 'dkim=permerror reason="bad key record: tag this without',
        "huge": 'dkim=permerror reason="bad key record: public key p= '
                'too large"',
        "wrongtype": 'dkim=permerror reason="key type k= does not match a="',
        "broken": "dkim=temperror reason=\"key lookup failed",
    }
    for sel, want in cases.items():
        rc, lines = verify_lines(ulak_bin, inst, signed(sel))
        assert len(lines) == 1 and lines[0].startswith(want), (sel, lines)
        assert rc == (0 if want.startswith("dkim=pass") else 1)


BAD_SIGNATURES = [
    (b"v=1; a=rsa-sha256; d=example.test; s=s; h=from; bh=!!!!; b=AAAA",
     'dkim=permerror reason="bad base64 character 0x21 in bh="'),
    (b"v=1; a=rsa-sha256; d=example.test; s=s; h=from; bh=AAAA; b=A",
     'dkim=permerror reason="bad base64 length or padding in b="'),
    (b"v=1; v=1; a=rsa-sha256; d=example.test; s=s; h=from; bh=AAAA; "
     b"b=AAAA", 'dkim=permerror reason="duplicate tag v="'),
    (b"v=1; a=rsa-sha256; d=example.test; s=s; h=subject; bh=AAAA; b=AAAA",
     'dkim=permerror reason="h= does not include From"'),
    (b"v=1; a=rsa-sha256; d=example.test; s=s; h=from; bh=AAAA; b=AAAA; "
     b"l=99999999999999999999999999999",
     'dkim=permerror reason="bad or out of range body length l="'),
    (b"v=1; a=rsa-sha256; d=example.test; s=s; h=from; bh=AAAA; b=AAAA; "
     b"t=20; x=10", 'dkim=permerror reason="x= is before t="'),
    (b"v=1; a=rsa-sha1; d=example.test; s=s; h=from; bh=AAAA; b=AAAA",
     'dkim=permerror reason="rsa-sha1 is not accepted (RFC 8301)" '
     'header.d=example.test'),
    (b"v=1; a=rsa-sha256; d=example.test; s=s; h=from; bh=AAAA; b=AAAA; "
     b"i=joe@evil.example", 'dkim=permerror reason="i= domain is not d='),
    (b"\xff\xfe garbage \x00 ; ;", 'dkim=permerror reason="bad tag name"'),
    (b"", 'dkim=permerror reason="missing tag v="'),
    (b"v=1; a=rsa-sha256; d=example.test; s=s; h=from; bh=" +
     b"A" * 100000 + b"; b=AAAA",
     'dkim=permerror reason="base64 text too long in bh="'),
]


@pytest.mark.parametrize("sig,want", BAD_SIGNATURES)
def test_bad_signatures(ulak_bin, inst, zone, sig, want):
    msg = b"DKIM-Signature: " + sig + b"\r\n" + MESSAGE
    rc, lines = verify_lines(ulak_bin, inst, msg)
    assert rc == 1
    assert len(lines) == 1 and lines[0].startswith(want), lines


# ---- OpenDKIM ----

OPENDKIM = shutil.which("opendkim") or (
    "/usr/sbin/opendkim" if os.path.exists("/usr/sbin/opendkim") else None)


def opendkim_conf(tmp_path, zone, extra):
    unbound = tmp_path / "unbound.conf"
    port = zone.address.rsplit(":", 1)[1]
    # libunbound answers .test itself (RFC 6761) unless told not to.
    unbound.write_text("server:\n  do-not-query-localhost: no\n"
                       "  local-zone: \"test.\" nodefault\n"
                       "forward-zone:\n  name: \".\"\n"
                       f"  forward-addr: 127.0.0.1@{port}\n")
    conf = tmp_path / "opendkim.conf"
    conf.write_text("Syslog no\nRequireSafeKeys no\n"
                    f"ResolverConfiguration {unbound}\n" + extra)
    return conf


def opendkim(conf, mode, msgfile):
    """opendkim in test mode: signing prints the DKIM-Signature field;
    verifying with -vv shows the Authentication-Results field it adds."""
    verbose = ["-vv"] if mode == "v" else []
    r = subprocess.run([OPENDKIM, "-x", str(conf), "-b", mode, *verbose,
                        "-t", str(msgfile)], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.decode() + r.stderr.decode()


@pytest.mark.skipif(OPENDKIM is None, reason="opendkim not installed")
@pytest.mark.parametrize("ktype,alg", [("rsa", "rsa-sha256"),
                                       ("ed25519", "ed25519-sha256")])
@pytest.mark.parametrize("canon", ["relaxed/relaxed", "simple/simple"])
def test_opendkim_signs_ulak_verifies(ulak_bin, tmp_path, zone, inst, canon,
                                      ktype, alg):
    key, rec = keygen(ulak_bin, tmp_path, "example.test", "od", ktype)
    publish(zone, "od._domainkey.example.test", rec)
    # PEERS.md: never OpenDKIM's old rsa-sha1 default; the algorithm is set.
    conf = opendkim_conf(tmp_path, zone,
                         "Domain example.test\nSelector od\n"
                         f"KeyFile {key}\nCanonicalization {canon}\n"
                         f"SignatureAlgorithm {alg}\n")
    msgfile = tmp_path / "msg"
    msgfile.write_bytes(MESSAGE.replace(b"\r\n", b"\n"))
    out = opendkim(conf, "s", msgfile)
    m = re.search(r"(DKIM-Signature: .*?)(?=\n\S|\Z)", out, re.S)
    assert m, out
    # test mode prints the field with CRLF folds: make it like the message
    sig = m.group(1).strip().replace("\r\n", "\n") + "\n"
    assert f"a={alg}" in sig and f"c={canon}" in sig
    rc, lines = verify_lines(ulak_bin, inst, sig.encode() +
                             msgfile.read_bytes())
    if ktype == "ed25519" and canon == "simple/simple":
        # OpenDKIM 2.11's Ed25519 signature with simple header
        # canonicalization does not verify anywhere: not in ulak, not in
        # dkimpy, not in OpenDKIM itself.  Check they all agree.
        assert lines[0].startswith('dkim=fail reason="signature did not '
                                   'verify"'), lines
        assert not dkim.verify(sig.encode() + msgfile.read_bytes(),
                               dnsfunc=lambda n, timeout=5: rec.encode())
        signed = tmp_path / "signed"
        signed.write_bytes(sig.encode() + msgfile.read_bytes())
        out = opendkim(opendkim_conf(tmp_path, zone, "Mode v\n"), "v",
                       signed)
        assert "signature verification failed" in out, out
        return
    assert rc == 0, (sig, lines)
    assert lines[0].startswith("dkim=pass header.d=example.test "
                               "header.s=od")
    # the same with CRLF line ends
    rc, lines = verify_lines(ulak_bin, inst, (sig.encode() +
                             msgfile.read_bytes()).replace(b"\n", b"\r\n"))
    assert rc == 0, lines
    # a changed body fails
    rc, lines = verify_lines(ulak_bin, inst, sig.encode() +
                             msgfile.read_bytes().replace(b"Hi.", b"Ho."))
    assert lines[0].startswith('dkim=fail reason="body hash did not verify"')
    # and OpenDKIM agrees with its own signature through the same DNS
    signed = tmp_path / "signed"
    signed.write_bytes(sig.encode() + msgfile.read_bytes())
    vconf = opendkim_conf(tmp_path, zone, "Mode v\n")
    out = opendkim(vconf, "v", signed)
    assert "verification (s=od, d=example.test" in out
    assert "succeeded" in out


@pytest.mark.skipif(OPENDKIM is None, reason="opendkim not installed")
@pytest.mark.parametrize("ktype,bits", [("rsa", "2048"), ("ed25519", None)])
@pytest.mark.parametrize("canon", ["relaxed/relaxed", "simple/simple"])
def test_ulak_signs_opendkim_verifies(ulak_bin, tmp_path, zone, ktype, bits,
                                      canon):
    key, rec = keygen(ulak_bin, tmp_path, "example.test", "u", ktype, bits)
    publish(zone, "u._domainkey.example.test", rec)
    r = run(ulak_bin, "dkim", "sign", "--domain", "example.test",
            "--selector", "u", "--key", key, "--canon", canon,
            data=MESSAGE.replace(b"\r\n", b"\n"))
    assert r.returncode == 0, r.stderr
    signed = tmp_path / "signed"
    signed.write_bytes(r.stdout)
    conf = opendkim_conf(tmp_path, zone, "Mode v\n")
    out = opendkim(conf, "v", signed)
    assert re.search(r"dkim=pass [^\n]*header\.d=example\.test [^\n]*"
                     r"header\.s=u ", out), out
    assert "verification (s=u, d=example.test" in out and "succeeded" in out
    # a changed body: OpenDKIM says it failed too
    signed.write_bytes(r.stdout.replace(b"Hi.", b"Ho."))
    out = opendkim(conf, "v", signed)
    assert "dkim=fail" in out and "succeeded" not in out, out


# ---- Perl's Mail::DKIM (libmail-dkim-perl), a third implementation ----

MAIL_DKIM_VERIFY = r"""
use strict; use warnings;
use Mail::DKIM::Verifier; use Net::DNS::Resolver; use Mail::DKIM::DNS;
Mail::DKIM::DNS::resolver(Net::DNS::Resolver->new(
    nameservers => ['127.0.0.1'], port => $ARGV[0], recurse => 1));
my $v = Mail::DKIM::Verifier->new();
local $/; my $msg = <STDIN>; $msg =~ s/\r?\n/\r\n/g;
$v->PRINT($msg); $v->CLOSE;
print $_->selector, " ", $_->result, " ", ($_->result_detail // ""), "\n"
    for $v->signatures;
"""

MAIL_DKIM_SIGN = r"""
use strict; use warnings;
use Mail::DKIM::Signer;
my ($keyfile, $sel, $canon) = @ARGV;
my $s = Mail::DKIM::Signer->new(Algorithm => "rsa-sha256", Method => $canon,
    Domain => "example.test", Selector => $sel, KeyFile => $keyfile);
local $/; my $msg = <STDIN>; $msg =~ s/\r?\n/\r\n/g;
$s->PRINT($msg); $s->CLOSE;
print $s->signature->as_string, "\r\n", $msg;
"""


def have_mail_dkim():
    return shutil.which("perl") and subprocess.run(
        ["perl", "-MMail::DKIM::Verifier", "-MNet::DNS", "-e", "1"],
        capture_output=True).returncode == 0


@pytest.mark.skipif(not have_mail_dkim(), reason="libmail-dkim-perl missing")
@pytest.mark.parametrize("canon", ["relaxed", "simple"])
def test_mail_dkim_both_ways(ulak_bin, tmp_path, zone, inst, canon):
    key, rec = keygen(ulak_bin, tmp_path, "example.test", "pl")
    publish(zone, "pl._domainkey.example.test", rec)
    (tmp_path / "v.pl").write_text(MAIL_DKIM_VERIFY)
    (tmp_path / "s.pl").write_text(MAIL_DKIM_SIGN)
    port = zone.address.rsplit(":", 1)[1]
    # ulak signs, Mail::DKIM verifies through the test DNS server
    r = run(ulak_bin, "dkim", "sign", "--domain", "example.test",
            "--selector", "pl", "--key", key, "--canon",
            f"{canon}/{canon}", data=MESSAGE)
    assert r.returncode == 0
    v = subprocess.run(["perl", tmp_path / "v.pl", port], input=r.stdout,
                       capture_output=True, timeout=60)
    assert v.stdout.decode().splitlines() == ["pl pass pass"], v
    v = subprocess.run(["perl", tmp_path / "v.pl", port],
                       input=r.stdout.replace(b"Hi.", b"Ho."),
                       capture_output=True, timeout=60)
    assert v.stdout.decode().startswith("pl fail"), v
    # Mail::DKIM signs, ulak verifies
    s = subprocess.run(["perl", tmp_path / "s.pl", key, "pl", canon],
                       input=MESSAGE, capture_output=True, timeout=60)
    assert s.returncode == 0, s.stderr
    rc, lines = verify_lines(ulak_bin, inst, s.stdout)
    assert rc == 0 and lines[0].startswith(
        "dkim=pass header.d=example.test header.s=pl"), lines
