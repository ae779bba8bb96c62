"""local end to end under master (`ulak start`): smtplib -> smtpd ->
cleanup -> qmgr -> local, read back with Python's mailbox module.  The
tutorial case of issue 4, aliases, mbox in the spool folder, a bounce for
a failing command."""
import mailbox
import os
import secrets
import smtplib
import time

import pytest

from conftest import Instance, free_port_base, run_ulak


def wait_for(cond, timeout=30.0, what="condition", inst=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = cond()
        if r:
            return r
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}" +
                         (f"\nlog:\n{inst.log()}" if inst else ""))


@pytest.fixture
def tut(ulak_bin, daemon_tmp):
    """An instance with two users (request, demo), set up as in the
    tutorial: mydestination without $mydomain, a local_recipients table
    that only holds request@$myhostname."""
    folder = daemon_tmp / "inst"
    pw = secrets.token_urlsafe(12)
    r = run_ulak(ulak_bin, "init", folder, "--ports", free_port_base(),
                 "--user", f"demo:{pw}", "--user", f"request:{pw}")
    assert r.returncode == 0, r.stderr
    base = int(((folder / "master.cf").read_text().split("127.0.0.1:")[1]
                ).split()[0]) - 25
    inst = Instance(ulak_bin, folder.resolve(), base, "example.test",
                    "demo", pw)
    (folder / "local_recipients").write_text(
        f"request@{inst.hostname} ok\n")
    r = inst.run("map", f"hash:{folder}/local_recipients")
    assert r.returncode == 0, r.stderr
    inst.set(mydestination="$myhostname, localhost.$mydomain, localhost",
             home_mailbox="Maildir/",
             local_recipient_maps="hash:$config_directory/local_recipients,"
                                  " $alias_maps",
             minimal_backoff_time="1s", maximal_backoff_time="2s",
             queue_run_delay="1s")
    yield inst
    inst.stop()


def maildir_msgs(inst, user):
    path = inst.dir / "home" / user / "Maildir"
    try:
        md = mailbox.Maildir(str(path), create=False)
        return [md.get_message(k) for k in md.keys()]
    except (FileNotFoundError, mailbox.Error):
        return []


def send(inst, rcpts, subject, sender="jane@example.org"):
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"]) as s:
        return s.sendmail(sender, rcpts, f"Subject: {subject}\r\n"
                          f"From: {sender}\r\n\r\nbody of {subject}\r\n")


def test_tutorial_case(tut):
    tut.start()
    host = tut.hostname
    send(tut, [f"request@{host}"], "for request")
    wait_for(lambda: maildir_msgs(tut, "request"), what="request's mail",
             inst=tut)
    (m,) = maildir_msgs(tut, "request")
    assert m["Subject"] == "for request"
    assert m["Delivered-To"] == f"request@{host}"
    assert m["Return-Path"] == "<jane@example.org>"
    new = list((tut.dir / "home" / "request" / "Maildir" / "new").iterdir())
    assert len(new) == 1 and ",S=" in new[0].name
    # info is no local recipient: refused at RCPT.
    with smtplib.SMTP("127.0.0.1", tut.ports["smtp"]) as s:
        s.ehlo("client.example.org")
        s.mail("jane@example.org")
        code, text = s.rcpt(f"info@{host}")
        assert code == 550, (code, text)
    # root follows the aliases (root: demo, written by ulak init).
    send(tut, [f"root@{host}"], "for root")
    wait_for(lambda: maildir_msgs(tut, "demo"), what="root's mail",
             inst=tut)
    (m,) = maildir_msgs(tut, "demo")
    assert m["Subject"] == "for root"
    assert m["Delivered-To"] == f"demo@{host}"
    assert m["X-Original-To"] == f"root@{host}"
    log = tut.log()
    assert f"to=<demo@{host}>, orig_to=<root@{host}>, relay=local" in log


def test_tutorial_case_mbox(tut):
    spool = tut.dir / "spool"
    spool.mkdir()
    tut.set(home_mailbox="", mail_spool_directory=str(spool))
    tut.start()
    host = tut.hostname
    send(tut, [f"request@{host}"], "first")
    send(tut, [f"request@{host}", f"root@{host}"], "second")
    box = spool / "request"
    wait_for(lambda: box.exists() and len(mailbox.mbox(str(box))) == 2,
             what="two messages in the mbox", inst=tut)
    msgs = list(mailbox.mbox(str(box)))
    # qmgr may deliver them in either order (two local processes).
    assert sorted(m["Subject"] for m in msgs) == ["first", "second"]
    second = [m for m in msgs if m["Subject"] == "second"][0]
    assert second.get_payload() in ("body of second\n",
                                     "body of second\n\n")
    wait_for(lambda: (spool / "demo").exists() and
             len(mailbox.mbox(str(spool / "demo"))) == 1,
             what="root's mail in demo's mbox", inst=tut)
    assert maildir_msgs(tut, "request") == []


def test_aliases_command_bounce_and_plus(tut):
    out = tut.dir / "data" / "cmd-out"
    with open(tut.dir / "aliases", "a") as f:
        f.write(f'prog: "|cat > {out}"\n'
                'broken: "|exit 67"\n'
                'list: request, demo\n')
    assert tut.run("aliases").returncode == 0
    if os.geteuid() == 0:
        os.chmod(tut.dir / "data", 0o777)
    tut.set(recipient_delimiter="+")
    tut.start()
    host = tut.hostname
    send(tut, [f"prog@{host}", f"list@{host}", f"request+tag@{host}"],
         "multi")
    wait_for(lambda: out.exists() and b"body of multi" in out.read_bytes(),
             what="command delivery", inst=tut)
    wait_for(lambda: len(maildir_msgs(tut, "request")) == 2 and
             len(maildir_msgs(tut, "demo")) == 1, what="mailboxes",
             inst=tut)
    tos = sorted(m["Delivered-To"] for m in maildir_msgs(tut, "request"))
    assert tos == [f"request+tag@{host}", f"request@{host}"]
    # A command that exits 67 (EX_NOUSER) bounces back to the sender.
    send(tut, [f"broken@{host}"], "to broken", sender=f"demo@{host}")

    def bounce():
        return [m for m in maildir_msgs(tut, "demo")
                if m.get_content_type() == "multipart/report"]
    wait_for(bounce, what="bounce notice", inst=tut)
    assert "Command died with status 67" in bounce()[0].as_string()
    assert "dsn=5.1.1, status=bounced (Command died with status 67" in \
        tut.log()
