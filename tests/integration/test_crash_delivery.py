"""kill -9 of qmgr or local in the middle of a run of 1,000 messages: after
master restarts them, exactly 1,000 distinct messages are in the Maildir.
A message may be delivered twice (the design allows one duplicate per
delivery in flight); duplicates are counted and reported, none may be
lost."""
import email.parser
import os
import signal
import smtplib
import threading
import time

import pytest

from test_master import daemon_pids, poll

COUNT = 1000


def maildir_subjects(inst):
    parser = email.parser.BytesHeaderParser()
    subjects = []
    base = inst.dir / "home" / "demo" / "Maildir"
    for sub in ("new", "cur"):
        try:
            names = os.listdir(base / sub)
        except FileNotFoundError:
            continue
        for name in names:
            try:
                with open(base / sub / name, "rb") as f:
                    subjects.append(parser.parse(f)["Subject"])
            except FileNotFoundError:
                pass
    return subjects


def send_all(inst, errors):
    try:
        with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=60) as s:
            for i in range(COUNT):
                s.sendmail("sender@example.test", ["demo@example.test"],
                           f"Subject: m{i}\r\n\r\nmessage {i}\r\n")
    except Exception as e:          # reported by the test
        errors.append(e)


@pytest.mark.parametrize("victim", ["qmgr", "local"])
def test_kill_during_1000_messages(running, victim):
    # Deliveries cut off by the kill are deferred ("lost connection with
    # private/local"): retry them soon rather than after 300 s.
    running.set(local_destination_concurrency_limit="4",
                minimal_backoff_time="1s", maximal_backoff_time="2s",
                queue_run_delay="1s")
    running.run("reload")
    poll(lambda: "reload" in running.log(), what="reload")
    errors = []
    sender = threading.Thread(target=send_all, args=(running, errors))
    sender.start()
    # Kill once deliveries are well under way, and again later.
    for threshold in (150, 500):
        poll(lambda: len(maildir_subjects(running)) >= threshold,
             timeout=120, what=f"{threshold} deliveries")
        pids = daemon_pids(running, victim)
        assert pids, f"no {victim} process"
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass        # a per-delivery child that just finished
    sender.join(300)
    assert not errors, errors
    subjects = poll(lambda: (lambda s: s if len(set(s)) >= COUNT else None)(
        maildir_subjects(running)), timeout=300, what="all deliveries")
    # Let any straggler land, then count.
    poll(lambda: running.run("queue").stdout.strip() in
         ("", "Mail queue is empty"), timeout=120, what="empty queue")
    subjects = maildir_subjects(running)
    distinct = set(subjects)
    duplicates = len(subjects) - len(distinct)
    print(f"kill -9 {victim}: {len(distinct)} distinct of {COUNT} "
          f"delivered, {duplicates} duplicates")
    assert distinct == {f"m{i}" for i in range(COUNT)}
    # At most the deliveries in flight at each kill may repeat.
    assert duplicates <= 2 * 20, duplicates
    assert "killed by signal 9" in running.log()
