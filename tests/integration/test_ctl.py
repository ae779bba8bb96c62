"""`ulak start | stop | reload | status` against a stand-in master daemon
(a shell script named master in daemon_directory), so that the control
logic is tested whatever state the real master is in."""
import os
import subprocess
import time

import pytest

FAKE_MASTER = """#!/bin/sh
# Stand-in master: records its arguments, writes the pid file, notes
# SIGHUP and answers it in master.reload as "{top}/reload-answer" says,
# ends on SIGTERM.
echo "$@" > "{top}/fake-args"
echo $$ > "{queue}/pid/master.pid"
n=0
trap 'echo hup >> "{top}/fake-hup"; n=$((n+1));
      echo "$$ $n $(cat "{top}/reload-answer" 2>/dev/null || echo ok)" \
        > "{queue}/pid/master.reload"' HUP
trap 'rm -f "{queue}/pid/master.pid"; exit 0' TERM
while :; do sleep 0.05; done
"""


def wait_for(cond, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


@pytest.fixture
def fake(instance, tmp_path):
    daemons = tmp_path / "daemons"
    daemons.mkdir()
    master = daemons / "master"
    master.write_text(FAKE_MASTER.format(top=tmp_path,
                                         queue=instance.dir / "queue"))
    master.chmod(0o755)
    instance.set(daemon_directory=daemons)
    procs = []
    yield instance, tmp_path, procs
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_status_not_running(instance):
    r = instance.run("status")
    assert (r.returncode, r.stdout) == \
        (1, "ulak: the mail system is not running\n")


def test_stale_pid_file(instance):
    p = subprocess.Popen(["true"])
    p.wait()
    (instance.dir / "queue/pid/master.pid").write_text(f"{p.pid}\n")
    assert instance.run("status").returncode == 1
    r = instance.run("stop")
    assert r.returncode == 1 and "not running" in r.stderr


def test_stop_and_reload_when_not_running(instance):
    r = instance.run("stop")
    assert r.returncode == 1
    assert "ulak stop: the mail system is not running" in r.stderr
    r = instance.run("reload")
    assert r.returncode == 1
    assert "not running" in r.stderr


def test_master_not_found(instance, tmp_path):
    empty = tmp_path / "nodaemons"
    empty.mkdir()
    instance.set(daemon_directory=empty)
    r = instance.run("start")
    assert r.returncode == 1
    assert f"ulak start: master daemon not found in {empty}" in r.stderr


def test_start_status_reload_stop(fake):
    inst, top, procs = fake
    p = subprocess.Popen([str(inst.bin), "-c", str(inst.dir), "start", "-f"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    procs.append(p)
    pidfile = inst.dir / "queue/pid/master.pid"
    assert wait_for(lambda: pidfile.exists() and pidfile.read_text().strip())
    # ulak start replaced itself with the master: same process.
    assert int(pidfile.read_text()) == p.pid
    assert (top / "fake-args").read_text().split() == \
        ["-c", str(inst.dir), "-f"]

    r = inst.run("status")
    assert (r.returncode, r.stdout) == \
        (0, f"ulak: the mail system is running: PID: {p.pid}\n")
    r = inst.run("start")
    assert r.returncode == 1
    assert f"ulak start: the mail system is already running (pid {p.pid})" \
        in r.stderr

    # reload returns once the master has answered in master.reload.
    r = inst.run("reload")
    assert r.returncode == 0, r.stderr
    assert (top / "fake-hup").exists()
    assert r.stdout == f"ulak: refreshing the mail system (pid {p.pid})\n"
    # Each reload is a new answer, even when the text is the same.
    assert inst.run("reload").returncode == 0
    (top / "reload-answer").write_text("failed: master.cf, line 3: bad\n")
    r = inst.run("reload")
    assert r.returncode == 1
    assert r.stderr == ("ulak reload: the master kept its running "
                        "configuration: master.cf, line 3: bad\n")
    assert (top / "fake-hup").read_text() == "hup\nhup\nhup\n"

    r = inst.run("stop")
    assert r.returncode == 0, r.stderr
    p.wait(timeout=10)
    assert inst.run("status").returncode == 1


def test_start_refuses_broken_main_cf(fake):
    inst, top, procs = fake
    with open(inst.config, "a") as f:
        f.write("no equals sign here\n")
    r = inst.run("start")
    assert r.returncode == 1
    assert "main.cf, line" in r.stderr
    assert not (top / "fake-args").exists()


def test_real_master_background(instance, build_dir):
    """With the real master daemon of the build: start in the background,
    status, stop."""
    assert (build_dir / "master").exists()
    try:
        r = instance.run("start", timeout=30)
        assert r.returncode == 0, r.stderr
        assert wait_for(lambda: instance.run("status").returncode == 0)
        r = instance.run("status")
        pid = int(r.stdout.split("PID: ")[1])
        assert pid != os.getpid()
        r = instance.run("start")
        assert r.returncode == 1 and "already running" in r.stderr
    finally:
        r = instance.run("stop", timeout=60)
    assert r.returncode == 0, r.stderr
    assert instance.run("status").returncode == 1


def test_start_says_why_the_master_failed(instance, build_dir):
    """A listener port already taken: `ulak start` (background) fails with
    the master's reason on stderr, not only in the log."""
    import socket
    busy = socket.socket()
    busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    busy.bind(("127.0.0.1", instance.ports["smtp"]))
    busy.listen(1)
    try:
        r = instance.run("start", timeout=30)
    finally:
        busy.close()
    assert r.returncode == 1
    assert "ulak/master: fatal: " in r.stderr, r.stderr
    assert str(instance.ports["smtp"]) in r.stderr, r.stderr
    assert instance.run("status").returncode == 1

