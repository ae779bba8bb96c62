"""`ulak queue` (and mailq) on a queue that a by-hand qmgr is working on:
list, show, flush, hold, release, delete, requeue, usage errors."""
import os
import re
import subprocess
import threading

import pytest

from conftest import BUILD_DIR
from fake_agent import agent_handler, marks, wait_for
from test_qmgr import QmgrEnv

SLOW = dict(minimal_backoff_time="1h", maximal_backoff_time="2h")


@pytest.fixture
def env():
    e = QmgrEnv(**SLOW)
    yield e
    e.close()


def q(env, *args):
    env_vars = dict(os.environ)
    env_vars.pop("ULAK_CONFIG_DIR", None)
    return subprocess.run([str(BUILD_DIR / "ulak"), "-c", str(env.inst.dir),
                           "queue", *args], capture_output=True, text=True,
                          env=env_vars, timeout=60)


def deferred_msg(env, rcpts=("a@remote.example",), sender="jane@example.org"):
    qid = env.send(list(rcpts), sender=sender)
    wait_for(lambda: env.where(qid) == "deferred", what="deferral")
    return qid


def test_empty_queue(env):
    r = q(env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Mail queue is empty\n"
    assert q(env, "list").stdout == "Mail queue is empty\n"


def test_list_deferred_with_reason(env):
    env.start_qmgr()
    qid = deferred_msg(env, ["a@remote.example", "b@remote.example"])
    bounce_id = deferred_msg(env, ["c@other.example"], sender="")
    r = q(env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")
    assert lines[0] == ("-Queue ID-  --Size-- ----Arrival Time---- "
                        "-Sender/Recipient-------")
    m = re.match(r"^(\S+) +(\d+) (\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d) +"
                 r"jane@example\.org$", lines[1])
    assert m, lines[1]
    assert m.group(1) == qid  # no '*' or '!': deferred
    col = lines[1].index("jane@")
    reason = ("(delivery temporarily suspended: connect to private/smtp: "
              "No such file or directory)")
    assert lines[2] == " " * col + reason
    assert lines[3] == " " * col + "a@remote.example"
    assert lines[4] == " " * col + "b@remote.example"
    assert lines[5] == ""
    assert lines[6].startswith(bounce_id) and \
        lines[6].endswith(" MAILER-DAEMON")
    assert r.stdout.endswith("-- 1 Kbytes in 2 Requests.\n")


def test_list_marks_active_and_hold(env):
    gate = threading.Event()

    def outcome(req, i):
        gate.wait(20)
        return ("2.0.0", "ok")
    env.service("local", agent_handler(outcome))
    env.start_qmgr()
    active = env.send(["demo@mail.example.test"])
    wait_for(lambda: env.where(active) == "active", what="active")
    held = deferred_msg(env)
    assert q(env, "hold", held).returncode == 0
    out = q(env).stdout
    assert re.search(rf"^{active}\* +\d+ ", out, re.M), out
    assert re.search(rf"^{held}! +\d+ ", out, re.M), out
    assert "-- 1 Kbytes in 2 Requests." in out
    # Delivered recipients are not listed.
    gate.set()
    env.wait_log(f"{active}: removed")
    assert active not in q(env).stdout


def test_show(env):
    env.start_qmgr()
    qid = deferred_msg(env, ["a@remote.example"])
    r = q(env, "show", qid)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert f"*** ENVELOPE RECORDS deferred/{qid} ***" in out
    assert "sender: jane@example.org\n" in out
    assert "recipient: a@remote.example\n    status: open\n" in out
    assert "    deferred: 4.3.0 delivery temporarily suspended" in out
    assert "*** MESSAGE CONTENTS" in out
    assert "Subject: test\n\nhello\n*** END OF MESSAGE ***\n" in out
    r = q(env, "show", "1GA4GC208J0ZZZZ")
    assert r.returncode == 1
    assert "no such message" in r.stderr


def test_flush(env):
    tries = []

    def outcome(req, i):
        tries.append(1)
        return ("4.2.0", "busy") if len(tries) == 1 else ("2.0.0", "ok")
    # Without qmgr: a clear error.
    r = q(env, "flush")
    assert r.returncode == 1
    assert "queue manager is not running" in r.stderr
    env.service("local", agent_handler(outcome))
    env.start_qmgr()
    qid = env.send(["demo@mail.example.test"])
    wait_for(lambda: env.where(qid) == "deferred", what="deferral")
    r = q(env, "flush")
    assert r.returncode == 0, r.stderr
    env.wait_log(f"{qid}: removed")


def test_hold_and_release(env):
    tries = []

    def outcome(req, i):
        tries.append(1)
        return ("4.2.0", "busy") if len(tries) == 1 else ("2.0.0", "ok")
    env.service("local", agent_handler(outcome))
    env.start_qmgr()
    qid = env.send(["demo@mail.example.test"])
    wait_for(lambda: env.where(qid) == "deferred", what="deferral")
    r = q(env, "hold", qid)
    assert r.returncode == 0 and r.stdout == "Placed on hold: 1 message\n"
    assert env.where(qid) == "hold"
    # A flush does not touch held mail.
    assert q(env, "flush").returncode == 0
    assert env.where(qid) == "hold"
    r = q(env, "release", "ALL")
    assert r.returncode == 0 and r.stdout == "Released from hold: 1 message\n"
    env.wait_log(f"{qid}: removed")
    assert len(tries) == 2
    r = q(env, "release", qid)
    assert r.returncode == 1 and "no such message on hold" in r.stderr


def test_delete(env):
    env.start_qmgr()
    a = deferred_msg(env)
    b = deferred_msg(env)
    c = deferred_msg(env)
    assert (env.queue / "defer" / a).exists()
    r = q(env, "delete", a)
    assert r.returncode == 0 and r.stdout == "Deleted: 1 message\n"
    assert env.where(a) is None
    assert not (env.queue / "defer" / a).exists()
    assert q(env, "hold", b).returncode == 0
    r = q(env, "delete", "ALL")
    assert r.stdout == "Deleted: 2 messages\n"
    assert env.where(b) is None and env.where(c) is None
    assert q(env).stdout == "Mail queue is empty\n"
    r = q(env, "delete", a)
    assert r.returncode == 1 and "no such message" in r.stderr
    r = q(env, "delete", "not/an/id")
    assert r.returncode == 1 and "not a queue ID" in r.stderr


def test_delete_active_while_delivering(env):
    gate = threading.Event()

    def outcome(req, i):
        gate.wait(20)
        return ("4.2.0", "busy")
    env.service("local", agent_handler(outcome))
    env.start_qmgr()
    qid = env.send(["demo@mail.example.test"])
    wait_for(lambda: env.where(qid) == "active", what="active")
    assert q(env, "delete", qid).stdout == "Deleted: 1 message\n"
    gate.set()
    env.wait_log(f"{qid}: left active/ while being delivered")
    assert env.where(qid) is None
    assert not (env.queue / "defer" / qid).exists()
    # qmgr goes on working.
    other = env.send(["demo@mail.example.test"])
    wait_for(lambda: env.where(other) == "deferred", what="deferral")


def test_requeue_routes_again(env):
    env.start_qmgr()
    qid = deferred_msg(env, ["a@remote.example"])
    # Route remote.example to local from now on, and restart qmgr.
    tmap = env.inst.dir / "transport"
    tmap.write_text("remote.example local:\n")
    env.inst.set(transport_maps=f"texthash:{tmap}")
    env.inst.stop("qmgr")
    local = env.service("local", agent_handler(
        lambda r, i: ("2.0.0", "ok")))
    env.start_qmgr()
    # Still waiting for its retry time...
    assert env.where(qid) == "deferred"
    r = q(env, "requeue", qid)
    assert r.returncode == 0 and r.stdout == "Requeued: 1 message\n"
    env.wait_log(f"{qid}: removed")
    assert local.requests[0]["transport"] == "local"


def test_usage_errors(env):
    for args in (["bogus"], ["show"], ["show", "a", "b"], ["hold"],
                 ["delete", "ALL", "X"], ["flush", "x"], ["--nope"]):
        r = q(env, *args)
        assert r.returncode == 2, (args, r.stderr)
        assert "ulak queue" in r.stderr
    r = q(env, "--help")
    assert r.returncode == 0 and "requeue ID...|ALL" in r.stdout


def test_mailq_name(env, tmp_path):
    link = tmp_path / "mailq"
    link.symlink_to(BUILD_DIR / "ulak")
    env_vars = dict(os.environ, ULAK_CONFIG_DIR=str(env.inst.dir))
    r = subprocess.run([str(link)], capture_output=True, text=True,
                       env=env_vars, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Mail queue is empty\n"
