#!/usr/bin/python3
"""make bench: ulak beside Postfix (and later Dovecot) in the same run, on
loopback only, every phase bounded in count and time.

Phases (each prints messages per second for ulak and for the reference,
and the ratio ulak/reference):
  accept-1, accept-20   smtp-source with 1 and 20 sessions, N messages of
                        SIZE bytes, into ulak and into Postfix (both fsync
                        their queue files); time until smtp-source ends
  deliver-e2e           the same, timed until every message is in the
                        Maildirs (end-to-end)
  relay-20              smtp-source -> MTA -> smtp-sink (relayhost), 20
                        sessions, timed until the sink has every message
  idle-sessions         memory per idle SMTP session in one smtpd process
Usage: bench.py [--messages N] [--size BYTES] [--build DIR]
"""
import argparse
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from postfix_peer import PostfixPeer  # noqa: E402
from benchnet import free_base, free_port, wait_greeting  # noqa: E402


def wait_banner(port, timeout=30):
    wait_greeting(port, b"220", timeout)

PHASE_TIMEOUT = 300


def smtp_source(port, sessions, count, size, sender, rcpt):
    t0 = time.monotonic()
    subprocess.run(["smtp-source", "-s", str(sessions), "-m", str(count),
                    "-l", str(size), "-f", sender, "-t", rcpt,
                    f"127.0.0.1:{port}"], check=True, timeout=PHASE_TIMEOUT,
                   stdout=subprocess.DEVNULL)
    return time.monotonic() - t0


def count_maildir(path):
    n = 0
    for sub in ("new", "cur"):
        try:
            n += len(os.listdir(os.path.join(path, sub)))
        except FileNotFoundError:
            pass
    return n


def wait_count(fn, target, t0, timeout=PHASE_TIMEOUT):
    while fn() < target:
        if time.monotonic() - t0 > timeout:
            return None
        time.sleep(0.02)
    return time.monotonic() - t0


class Ulak:
    def __init__(self, build, root):
        self.bin = os.path.join(build, "ulak")
        self.dir = os.path.join(root, "ulak")
        self.base = free_base()
        self.port = self.base + 25
        r = subprocess.run([self.bin, "init", self.dir, "--ports",
                            str(self.base), "--user", "demo:benchpass"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("ulak init failed: " + r.stderr)
        self.maildir = os.path.join(self.dir, "home", "demo", "Maildir")
        # Same delivery concurrency as the Postfix peer's virtual agent
        # (20 parallel deliveries into one Maildir), like with like.
        self.ulak("conf", "-e", "local_destination_concurrency_limit=20")

    def ulak(self, *args):
        return subprocess.run([self.bin, "-c", self.dir, *args],
                              capture_output=True, text=True)

    def relay_to(self, port):
        self.ulak("conf", "-e", f"relayhost=[127.0.0.1]:{port}")

    def start(self):
        r = self.ulak("start")
        if r.returncode != 0:
            raise RuntimeError("ulak start failed: " + r.stderr)
        wait_banner(self.port)

    def stop(self):
        self.ulak("stop")

    def smtpd_pid(self):
        for e in os.listdir("/proc"):
            if not e.isdigit():
                continue
            try:
                argv = open(f"/proc/{e}/cmdline", "rb").read().split(b"\0")
            except OSError:
                continue
            if argv and argv[0].endswith(b"/smtpd") and \
                    self.dir.encode() in argv and \
                    f"127.0.0.1:{self.port}".encode() in argv:
                return int(e)
        return None


class Sink:
    """smtp-sink storing each message as a file in DIR (counted)."""

    def __init__(self, root, name):
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o777)
        self.port = free_port()
        args = ["smtp-sink", "-d", os.path.join(self.dir, "%M."),
                f"127.0.0.1:{self.port}", "256"]
        if os.geteuid() == 0:
            args[1:1] = ["-u", "nobody"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_banner(self.port)

    def count(self):
        return len(os.listdir(self.dir))

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def idle_sessions(port, pid, count):
    """Open COUNT idle sessions (each read its greeting); RSS growth."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 1000), hard))
    before = rss_kib(pid)
    socks = []
    try:
        for _ in range(count):
            s = socket.create_connection(("127.0.0.1", port), 10)
            socks.append(s)
        for s in socks:
            s.settimeout(20)
            s.recv(200)
        time.sleep(0.5)
        after = rss_kib(pid)
    finally:
        for s in socks:
            s.close()
    return (after - before) / count


def report(name, ulak_rate, ref_rate, unit="msg/s"):
    ratio = ulak_rate / ref_rate if ulak_rate and ref_rate else float("nan")
    print(f"{name:<14} ulak {ulak_rate:9.1f} {unit}   postfix {ref_rate:9.1f} "
          f"{unit}   ratio {ratio:5.2f}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--idle", type=int, default=5000)
    ap.add_argument("--build", default=str(HERE.parent / "build"))
    args = ap.parse_args()
    n, size = args.messages, args.size
    root = tempfile.mkdtemp(prefix="ulak-bench-")
    os.chmod(root, 0o755)
    pf = PostfixPeer(os.path.join(root, "postfix"), free_port())
    u = Ulak(args.build, root)
    sink_u = Sink(root, "sink-ulak")
    sink_pf = Sink(root, "sink-postfix")
    pf_relay = PostfixPeer(os.path.join(root, "postfix-relay"), free_port(),
                           relay_port=sink_pf.port)
    u.relay_to(sink_u.port)
    print(f"# make bench: {n} messages of {size} bytes, loopback, "
          f"{os.cpu_count()} cores; higher is better; ratio = ulak/postfix")
    try:
        pf.start()
        pf_relay.start()
        u.start()
        results = {}
        for sessions in (1, 20):
            t_pf = smtp_source(pf.port, sessions, n, size, "bench@bench.test",
                               "user@bench.test")
            t_u = smtp_source(u.port, sessions, n, size, "bench@example.test",
                              "demo@example.test")
            report(f"accept-{sessions}", n / t_u, n / t_pf)
            results[sessions] = (t_u, t_pf)
        # End-to-end: wait for the 2n messages of both accept phases.
        t0 = time.monotonic()
        pf_done = wait_count(pf.delivered, 2 * n, t0)
        u_done = wait_count(lambda: count_maildir(u.maildir), 2 * n, t0)
        if pf_done is None or u_done is None:
            print(f"deliver        not complete within {PHASE_TIMEOUT}s: "
                  f"ulak {count_maildir(u.maildir)}/{2*n}, postfix "
                  f"{pf.delivered()}/{2*n}")
        else:
            # Time from the start of the accept phases to the last delivery.
            tu = sum(r[0] for r in results.values()) + u_done
            tp = sum(r[1] for r in results.values()) + pf_done
            report("deliver-e2e", 2 * n / tu, 2 * n / tp)
        # Relay: smtp-source -> MTA -> smtp-sink, 20 sessions in, timed
        # until the sink has every message.
        t0 = time.monotonic()
        smtp_source(pf_relay.port, 20, n, size, "bench@bench.test",
                    "user@remote.test")
        t_pf = wait_count(sink_pf.count, n, t0)
        t0 = time.monotonic()
        smtp_source(u.port, 20, n, size, "bench@example.test",
                    "user@remote.test")
        t_u = wait_count(sink_u.count, n, t0)
        if t_pf is None or t_u is None:
            print(f"relay-20       not complete within {PHASE_TIMEOUT}s: "
                  f"ulak {sink_u.count()}/{n}, postfix {sink_pf.count()}/{n}")
        else:
            report("relay-20", n / t_u, n / t_pf)
        pid = u.smtpd_pid()
        if pid:
            per = idle_sessions(u.port, pid, args.idle)
            print(f"idle-sessions  ulak smtpd: {args.idle} idle sessions, "
                  f"{per:.1f} KiB RSS each (target < 64 KiB)", flush=True)
    finally:
        u.stop()
        pf.stop()
        pf_relay.stop()
        sink_u.stop()
        sink_pf.stop()
        shutil.rmtree(root, ignore_errors=True)
    other_phases(args)


def other_phases(args):
    """The phases of the later issues, each beside its reference."""
    if os.geteuid() != 0:
        print("# pop3/imap phases need root (Dovecot); skipped")
    else:
        from pop3_bench import run_pop3_bench
        from imap_bench import run_imap_bench
        print("# POP3, UIDL + RETR of 1,000 messages; ratio = ulak time / "
              "Dovecot time (lower is better for ulak)", flush=True)
        run_pop3_bench(args.build, messages=1000)
        print("# IMAP on a 10,000-message INBOX; ratio = ulak time / "
              "Dovecot time (lower is better for ulak)", flush=True)
        run_imap_bench(args.build, messages=10000, runs=3)
    from checks_bench import run as run_checks
    r = run_checks(args.build, count=min(args.messages, 1000))
    print(f"checks-20      ulak, all checks of issue 7 on: "
          f"{r['checks_median']:.1f} msg/s, none: {r['none_median']:.1f} "
          f"msg/s, cost {r['cost_percent']:.1f}% (target <= 30%); rounds "
          f"{[round(x) for x in r['checks_msgs_per_s']]} vs "
          f"{[round(x) for x in r['none_msgs_per_s']]}", flush=True)


if __name__ == "__main__":
    main()
