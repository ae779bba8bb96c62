"""Processes of a test instance seen through /proc: their argv, resident
memory, and the peak growth of that memory while a test holds a client
back (the pacing tests of imapd, pop3d, the smtp agent and the mailuser
relay)."""
import os
import time


def proc_argv(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace")
                    for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def daemons(inst, program):
    """[(pid, argv)] of PROGRAM processes of INST."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        argv = proc_argv(int(entry))
        if argv and os.path.basename(argv[0]) == program and \
                str(inst.dir) in argv:
            out.append((int(entry), argv))
    return out


def rss_kib(pid):
    """VmRSS of PID in KiB (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def peak_growth(pids, start, seconds=5):
    """The largest growth of the summed RSS of PIDS over START (KiB),
    sampled every 50 ms for SECONDS."""
    deadline = time.monotonic() + seconds
    peak = 0
    while time.monotonic() < deadline:
        peak = max(peak, sum(rss_kib(p) for p in pids) - start)
        time.sleep(0.05)
    return peak


def imap_fetch_unread(m, pids, n=16):
    """The IMAP pacing check: append a 3.4 MB message through the
    logged-in imaplib session M, ask for it N times without reading, and
    return the peak RSS growth of PIDS meanwhile (KiB); then read all the
    answers and check each copy arrived whole."""
    big = b"Subject: big\r\n\r\n" + b"".join(
        b"%07d " % i + b"x" * 70 + b"\r\n" for i in range(40000))
    assert m.append("INBOX", None, None, big)[0] == "OK"
    assert m.select("INBOX")[0] == "OK"
    before = sum(rss_kib(p) for p in pids)
    m.send(b"".join(b"f%d FETCH 1 (BODY.PEEK[])\r\n" % i
                    for i in range(n)))
    peak = peak_growth(pids, before)
    parts = []
    tail = b""
    while (b"f%d OK" % (n - 1)) not in tail:
        chunk = m.sock.recv(1 << 20)
        assert chunk, "connection closed"
        parts.append(chunk)
        tail = (tail + chunk)[-200:]
    assert b"".join(parts).count(big) == n
    return peak

