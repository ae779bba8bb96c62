"""master: start, status, a second start refused, restart of a killed
daemon, reload without dropping connections, stop."""
import os
import signal
import socket
import time


def daemon_pids(inst, program, service=None):
    """Pids of PROGRAM processes started for INST (from /proc cmdlines)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if not argv or os.path.basename(argv[0]).decode() != program:
            continue
        if str(inst.dir).encode() not in argv:
            continue
        if service is not None and service.encode() not in argv:
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                if f.read().split(")")[-1].split()[0] == "Z":
                    continue
        except OSError:
            continue
        pids.append(int(entry))
    return pids


def poll(cond, timeout=20, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def smtp_service(inst):
    """master.cf names the SMTP listener by its address (ulak init)."""
    return f"127.0.0.1:{inst.ports['smtp']}"


def banner(port):
    with socket.create_connection(("127.0.0.1", port), 5) as s:
        return s.recv(512)


def test_start_status_stop(instance):
    r = instance.run("status")
    assert r.returncode == 1
    assert "not running" in (r.stdout + r.stderr)
    instance.start()
    try:
        r = instance.run("status")
        assert r.returncode == 0, r.stderr
        pid_text = (instance.dir / "queue" / "pid" / "master.pid").read_text()
        assert str(int(pid_text)) in r.stdout
        r = instance.run("start")
        assert r.returncode == 1
        assert "already running" in (r.stdout + r.stderr)
        assert banner(instance.ports["smtp"]).startswith(b"220 ")
    finally:
        r = instance.stop()
    assert r.returncode == 0, r.stderr
    r = instance.run("status")
    assert r.returncode == 1
    assert not (instance.dir / "queue" / "pid" / "master.pid").exists()
    assert daemon_pids(instance, "smtpd") == []
    assert "daemon started" in instance.log()
    assert "stopped" in instance.log()


def test_killed_daemon_is_restarted(running):
    port = running.ports["smtp"]
    old = poll(lambda: daemon_pids(running, "smtpd", smtp_service(running)), what="smtpd")
    for pid in old:
        os.kill(pid, signal.SIGKILL)
    new = poll(lambda: [p for p in daemon_pids(running, "smtpd", smtp_service(running))
                        if p not in old], what="a new smtpd")
    assert new
    assert banner(port).startswith(b"220 ")
    assert "killed by signal 9" in running.log()


def test_crash_loop_backs_off(running):
    """A daemon that keeps dying right after its start is restarted after
    a growing pause, not in a tight loop."""
    seen = set()
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline:
        for pid in daemon_pids(running, "cleanup"):
            if pid not in seen:
                seen.add(pid)
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)
    # 1 + 2 + 4 s pauses: at most about four starts in six seconds.
    assert 2 <= len(seen) <= 5, seen
    assert "restarting in" in running.log()


def test_reload_keeps_established_connections(running):
    port = running.ports["smtp"]
    s = socket.create_connection(("127.0.0.1", port), 5)
    f = s.makefile("rwb")
    assert f.readline().startswith(b"220")
    old = daemon_pids(running, "smtpd", smtp_service(running))
    r = running.run("reload")
    assert r.returncode == 0, r.stderr
    poll(lambda: "reload" in running.log(), what="reload log line")
    poll(lambda: [p for p in daemon_pids(running, "smtpd", smtp_service(running))
                  if p not in old], what="a new smtpd after reload")
    # The old session still works...
    f.write(b"EHLO client.example\r\n")
    f.flush()
    line = f.readline()
    assert line.startswith(b"250"), line
    f.write(b"QUIT\r\n")
    f.flush()
    while True:
        line = f.readline()
        if not line or line.startswith(b"221"):
            break
    s.close()
    # ...and new sessions are served by the new process.
    assert banner(port).startswith(b"220 ")
    # The draining process exits once its session ended.
    poll(lambda: not [p for p in old if p in daemon_pids(running, "smtpd")],
         what="old smtpd to exit")


def test_bad_config_on_reload_keeps_running(running):
    # smtpd has read main.cf once it greets.
    assert banner(running.ports["smtp"]).startswith(b"220 ")
    pids = daemon_pids(running, "smtpd", smtp_service(running))
    with open(running.config, "a") as f:
        f.write("message_size_limit = lots\n")
    r = running.run("reload")
    # The master's answer reaches the administrator.
    assert r.returncode == 1
    assert "ulak reload: the master kept its running configuration: " \
        in r.stderr
    assert "message_size_limit" in r.stderr
    poll(lambda: "reload failed" in running.log(), what="reload failure")
    assert banner(running.ports["smtp"]).startswith(b"220 ")
    assert daemon_pids(running, "smtpd", smtp_service(running)) == pids
