#!/usr/bin/python3
"""The cost of smtpd's checks of arriving mail (issue 7, `make bench`).

One ulak instance, one test DNS server (tests/integration/dnsserver.py)
serving every zone the checks ask about, and smtp-source (Postfix) sending
N messages over S sessions from 127.0.0.1.  Two configurations, measured
alternately in the same run, R rounds each:

  none    127.0.0.1 in mynetworks, no restrictions beyond the defaults:
          no DNS lookup, no DKIM/DMARC pass (the trusted-client path)
  checks  127.0.0.1 outside mynetworks: reverse DNS with forward
          confirmation, reject_unknown_reverse_client_hostname,
          reject_unknown_sender_domain, reject_rbl_client,
          reject_rhsbl_sender, check_dnsbl_score (3 lists), check_spf,
          check_greylist (the client network auto-whitelisted by a
          warm-up), DKIM verification, DMARC evaluation and report line,
          Received-SPF and Authentication-Results headers

The acceptance rate is N / (time until smtp-source ends): every message
got its 250, so it is on disk.  DNS answers come from libunbound's cache
after the first session (the checks' domains are the same each time).

    run(build_dir, count=1000, sessions=20, rounds=3) -> dict
    python3 bench/checks_bench.py --build DIR [--count N] [--sessions S]
        [--rounds R]
Target: checks cost at most 30% of the throughput.
"""
import argparse
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))
from dnsserver import TestDNS  # noqa: E402
from benchnet import free_base as _free_base  # noqa: E402
from benchnet import wait_greeting  # noqa: E402

SENDER = "bench@sender.test"
TIMEOUT = 600


def _wait_banner(port, timeout=30):
    wait_greeting(port, b"220", timeout)


def _zones(dns):
    dns.add("1.0.0.127.in-addr.arpa", "PTR", "client.bench.test")
    dns.add("client.bench.test", "A", "127.0.0.1")
    dns.add("sender.test", "MX", "10 client.bench.test")
    dns.add("sender.test", "TXT", "v=spf1 ip4:127.0.0.0/8 -all")
    dns.add("_dmarc.sender.test", "TXT", "v=DMARC1; p=reject")
    # The lists answer NXDOMAIN for the client: not listed.
    dns.add("listed.bl.test", "A", "127.0.0.2")


CHECKS = {
    "mynetworks": "192.0.2.0/24",
    "smtpd_client_restrictions":
        "reject_unknown_reverse_client_hostname, reject_rbl_client bl.test, "
        "check_dnsbl_score",
    "postscreen_dnsbl_sites": "bl.test*2, bl2.test, bl3.test=127.0.0.4*3",
    "postscreen_dnsbl_threshold": "3",
    "smtpd_sender_restrictions":
        "reject_unauth_local_sender, reject_unknown_sender_domain, "
        "reject_rhsbl_sender dbl.test",
    "smtpd_recipient_restrictions":
        "permit_mynetworks, permit_sasl_authenticated, check_spf, "
        "check_greylist",
    "greylist_delay": "1s",
    "greylist_auto_whitelist": "1",
}
NONE = {
    "mynetworks": "127.0.0.0/8",
    "smtpd_client_restrictions": "",
    "smtpd_sender_restrictions": "reject_unauth_local_sender",
    "smtpd_recipient_restrictions": "permit_mynetworks",
}


class _Instance:
    def __init__(self, build, root, dns):
        self.bin = os.path.join(build, "ulak")
        self.dir = os.path.join(root, "ulak")
        self.base = _free_base()
        self.port = self.base + 25
        r = subprocess.run([self.bin, "init", self.dir, "--ports",
                            str(self.base), "--user", "demo:benchpass"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("ulak init failed: " + r.stderr)
        self.conf(dns_servers=dns.address, dns_timeout="5s",
                  local_destination_concurrency_limit="20")

    def ulak(self, *args):
        return subprocess.run([self.bin, "-c", self.dir, *args],
                              capture_output=True, text=True)

    def conf(self, **params):
        r = self.ulak("conf", "-e", *[f"{k}={v}" for k, v in params.items()])
        if r.returncode != 0:
            raise RuntimeError(r.stderr)

    def restart(self, params):
        self.ulak("stop")
        self.conf(**params)
        r = self.ulak("start")
        if r.returncode != 0:
            raise RuntimeError("ulak start failed: " + r.stderr)
        _wait_banner(self.port)

    def stop(self):
        self.ulak("stop")


def _smtp_source(port, sessions, count):
    t0 = time.monotonic()
    subprocess.run(["smtp-source", "-s", str(sessions), "-m", str(count),
                    "-l", "2000", "-f", SENDER, "-t", "demo@example.test",
                    f"127.0.0.1:{port}"], check=True, timeout=TIMEOUT,
                   stdout=subprocess.DEVNULL)
    return time.monotonic() - t0


def _warm_up_greylist(port):
    """One triplet through greylisting: the client network is then
    auto-whitelisted (greylist_auto_whitelist = 1)."""
    import smtplib
    deadline = time.monotonic() + 30
    while True:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
            s.ehlo("client.bench.test")
            s.mail(SENDER)
            code, _ = s.rcpt("demo@example.test")
        if code == 250:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"greylisting warm-up: still {code}")
        time.sleep(0.2)


def run(build_dir, count=1000, sessions=20, rounds=3):
    """Measure both configurations ROUNDS times, alternately."""
    root = tempfile.mkdtemp(prefix="ulak-checks-bench-")
    os.chmod(root, 0o755)
    dns = TestDNS()
    _zones(dns)
    dns.start()
    inst = None
    rates = {"none": [], "checks": []}
    try:
        inst = _Instance(build_dir, root, dns)
        inst.restart(CHECKS)
        _warm_up_greylist(inst.port)
        # Warm libunbound's cache and the code paths.
        _smtp_source(inst.port, sessions, max(sessions, count // 10))
        for _ in range(rounds):
            for name, params in (("none", NONE), ("checks", CHECKS)):
                inst.restart(params)
                elapsed = _smtp_source(inst.port, sessions, count)
                rates[name].append(count / elapsed)
        log = pathlib.Path(inst.dir, "log", "ulak.log").read_text(
            errors="replace")
        rejects = log.count(" reject: ")
        # The checks really ran: a message of the last round says so.
        new = pathlib.Path(inst.dir, "home", "demo", "Maildir", "new")
        newest = max(new.iterdir(), key=lambda p: p.stat().st_mtime)
        head = newest.read_bytes()[:4000].decode(errors="replace")
        checked = "dmarc=pass" in head and "spf=pass" in head
    finally:
        if inst is not None:
            inst.stop()
        dns.stop()
        shutil.rmtree(root, ignore_errors=True)
    none = statistics.median(rates["none"])
    checks = statistics.median(rates["checks"])
    return {
        "none_msgs_per_s": rates["none"],
        "checks_msgs_per_s": rates["checks"],
        "none_median": none,
        "checks_median": checks,
        "cost_percent": 100.0 * (1 - checks / none),
        "rejects_in_log": rejects,
        "authentication_results_seen": checked,
        "target_met": checks >= 0.7 * none,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True, help="meson build folder")
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    r = run(os.path.abspath(a.build), a.count, a.sessions, a.rounds)

    def fmt(v):
        return ", ".join(f"{x:.0f}" for x in v)
    print(f"checks-none   {r['none_median']:8.0f} msg/s  "
          f"(rounds: {fmt(r['none_msgs_per_s'])})")
    print(f"checks-all    {r['checks_median']:8.0f} msg/s  "
          f"(rounds: {fmt(r['checks_msgs_per_s'])})")
    print(f"checks cost   {r['cost_percent']:8.1f} %  (target <= 30 %: "
          f"{'met' if r['target_met'] else 'NOT met'}); "
          f"rejects in log: {r['rejects_in_log']}; Authentication-Results "
          f"on delivered mail: {r['authentication_results_seen']}")
    return 0 if r["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
