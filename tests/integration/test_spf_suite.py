"""The official RFC 7208 test suite (openspf.org, release 2014.04, as
Debian's python3-spf ships it: /usr/share/doc/python3-spf/
rfc7208-tests.yml.gz), run through `ulak spf --batch` against the test DNS
server.

Each scenario's zone data is served by one test DNS server, and all its
tests go to one `ulak spf --batch` process (so answers are cached within a
scenario only).  The zone is built the way the suite's own driver
(pyspf's testspf.py) reads it:
  - type SPF records are copied to TXT records when the name has no TXT
    entry at all (RFC 7208 dropped type SPF; the suite relies on this);
  - "TXT: NONE" means the name exists without TXT records;
  - a TIMEOUT entry makes every type without a record before it time
    out; records after it are never seen;
  - a TXT record given as an empty list of strings (illegal: RFC 1035
    requires at least one) is served as one empty string, since ulak's
    resolver, rightly, treats rdata without strings as a malformed answer.
A test passes when ulak's result is one of those the suite allows and,
when the suite names an explanation, ulak prints that explanation
("DEFAULT" is the default explanation, which the driver sets with
--default-explanation DEFAULT, as testspf.py does).

Each suite test is one pytest case (named SCENARIO-NUMBER/TEST); the pass
count "SPF suite: N/M passed" is printed in pytest's terminal summary.
"""
import gzip
import os
import pathlib
import socket
import subprocess

import pytest

SUITE = pathlib.Path("/usr/share/doc/python3-spf/rfc7208-tests.yml.gz")

try:
    import yaml
except ImportError:         # python3-yaml missing: the suite is skipped
    yaml = None

from dnslib import A, AAAA, CNAME, DNSLabel, MX, PTR, QTYPE, RR, TXT  # noqa

import dnsserver

TYPES = ("A", "AAAA", "MX", "TXT", "PTR", "SPF", "CNAME")


def load_suite():
    if yaml is None or not SUITE.exists():
        return []
    with gzip.open(SUITE, "rb") as f:
        return [s for s in yaml.safe_load_all(f) if s]


SCENARIOS = load_suite()


def suite_cases():
    cases = []
    for i, sc in enumerate(SCENARIOS):
        for name in sc["tests"]:
            cases.append(pytest.param(i, name, id=f"{i:02d}-{name}"))
    return cases


def entries_of(name, data):
    """Entries of one name as (type, value) or "TIMEOUT", in suite order,
    with the generated TXT copies of SPF records (testspf.getrdata)."""
    out, spf, has_txt = [], [], False
    for m in data:
        if m == "TIMEOUT" or not isinstance(m, dict):
            out.append("TIMEOUT")
            continue
        for t, v in m.items():
            if t == "TXT":
                has_txt = True
            elif t == "SPF":
                spf.append(v)
            if v != "NONE":
                out.append((t, v))
    if not has_txt:
        out += [("TXT", v) for v in spf]
    return out


def strings(v):
    if isinstance(v, str):
        v = [v]
    v = [s.encode("utf-8") for s in v]
    return v if v else [b""]


def make_rr(name, t, v):
    label = DNSLabel(name)
    if t == "A":
        rd = A(v)
    elif t == "AAAA":
        rd = AAAA(v)
    elif t == "MX":
        rd = MX(v[1].rstrip(".") + ".", v[0])
    elif t in ("PTR", "CNAME"):
        cls = PTR if t == "PTR" else CNAME
        rd = cls(v.rstrip(".") + ".")
    elif t in ("TXT", "SPF"):
        rd = TXT(strings(v))
    else:
        raise ValueError(t)
    return RR(label, getattr(QTYPE, t), ttl=60, rdata=rd)


def serve(dns, zonedata):
    for name, data in (zonedata or {}).items():
        entries = entries_of(name, data)
        seen = set()
        timeout = False
        for e in entries:
            if e == "TIMEOUT":
                timeout = True
                break
            t, v = e
            seen.add(t)
            dns.add_rr(make_rr(name, t, v))
        if timeout:
            key = str(DNSLabel(name))
            for t in TYPES:
                if t not in seen:
                    dns.timeout(key, t)


def run_scenario(ulak_bin, tmp, sc):
    dns = dnsserver.TestDNS()
    serve(dns, sc.get("zonedata"))
    dns.start()
    try:
        cfg = tmp / "cfg"
        cfg.mkdir(parents=True, exist_ok=True)
        (cfg / "main.cf").write_text(
            f"dns_servers = {dns.address}\ndns_timeout = 1s\n"
            "myhostname = receiver.example.net\n")
        names = list(sc["tests"])
        lines = []
        for n in names:
            t = sc["tests"][n]
            lines.append(f"{t['host']}\t{t['mailfrom']}\t{t['helo']}\n")
        p = subprocess.run(
            [str(ulak_bin), "-c", str(cfg), "spf", "--batch",
             "--default-explanation", "DEFAULT"],
            input="".join(lines), capture_output=True, text=True,
            timeout=120)
        out = p.stdout.split("\n")
        results = {}
        for i, n in enumerate(names):
            line = out[i] if i < len(out) else ""
            res, _, exp = line.partition("\t")
            results[n] = (res, exp, p.returncode, p.stderr)
        return results
    finally:
        dns.stop()


_RESULTS = {}
_COUNT = {"passed": 0, "total": 0}


class _Summary:
    def pytest_terminal_summary(self, terminalreporter):
        if _COUNT["total"]:
            terminalreporter.write_line(
                f"SPF suite: {_COUNT['passed']}/{_COUNT['total']} passed "
                f"(RFC 7208 test suite, {SUITE.name})")


@pytest.fixture(scope="module")
def suite_results(request, ulak_bin, tmp_path_factory):
    request.config.pluginmanager.register(_Summary(), "spf-suite-summary")
    return _RESULTS, tmp_path_factory


@pytest.mark.skipif(not SCENARIOS, reason="python3-spf or python3-yaml "
                    "missing (scripts/deps.sh check)")
@pytest.mark.parametrize("scenario,name", suite_cases())
def test_rfc7208(suite_results, ulak_bin, scenario, name):
    results, factory = suite_results
    if scenario not in results:
        results[scenario] = run_scenario(
            ulak_bin, factory.mktemp(f"spf{scenario}"), SCENARIOS[scenario])
    t = SCENARIOS[scenario]["tests"][name]
    res, exp, rc, err = results[scenario][name]
    want = t["result"]
    want = want if isinstance(want, list) else [want]
    _COUNT["total"] += 1
    assert rc == 0, err
    assert res in want, (f"{name} ({t.get('spec')}): got {res}, want "
                         f"{want}; {t.get('description', '')}")
    if "explanation" in t:
        assert exp == t["explanation"], f"{name}: explanation"
    _COUNT["passed"] += 1
