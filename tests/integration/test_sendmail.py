"""`ulak sendmail` writes maildrop files; pickup hands them to cleanup,
which writes the queue file.  cleanup and pickup are started by hand."""
import os
import pathlib
import subprocess

import pytest

from conftest import BUILD_DIR
from ulak_queue import ByHand, QueueFile, all_files, queue_files, wait_for

ORIGIN = "example.test"
HOST = "mail.example.test"


@pytest.fixture
def inst():
    i = ByHand()
    yield i
    i.close()


def sendmail(inst, *args, input=b"", env=None):
    e = dict(os.environ)
    e.pop("ULAK_CONFIG_DIR", None)
    if env:
        e.update(env)
    return subprocess.run([str(BUILD_DIR / "ulak"), "-c", str(inst.dir),
                           "sendmail", *args], input=input,
                          capture_output=True, env=e, timeout=60)


def maildrop(inst):
    return all_files(inst.queue, "maildrop")


def parse_maildrop(path):
    data = pathlib.Path(path).read_bytes()
    head, _, content = data.partition(b"\n\n")
    lines = head.split(b"\n")
    assert lines[0] == b"ulak-maildrop 1"
    env = [tuple(x.decode().split("=", 1)) for x in lines[1:]]
    return env, content


def test_sendmail_writes_maildrop_file(inst):
    r = sendmail(inst, "-f", "joe", "-F", "Joe User", "a@x.test", "b",
                 input=b"Subject: hi\n\nline 1\n.\nnot read\n")
    assert r.returncode == 0, r.stderr
    names = maildrop(inst)
    assert len(names) == 1 and not names[0].startswith(".")
    env, content = parse_maildrop(inst.queue / "maildrop" / names[0])
    assert ("sender", "joe") in env
    assert ("full_name", "Joe User") in env
    assert [v for k, v in env if k == "rcpt"] == ["a@x.test", "b"]
    # LF became CRLF; a lone dot ended the message.
    assert content == b"Subject: hi\r\n\r\nline 1\r\n"


def test_sendmail_i_and_t(inst):
    msg = (b"From someone Mon Jan  1 00:00:00 2024\n"
           b"To: Ann <ann@x.test>, bob\nCc: carol@y.test\n"
           b"Bcc: dave@z.test,\n  eve@z.test\nSubject: t\n\nbody\n.\nmore\n")
    r = sendmail(inst, "-t", "-i", "extra@x.test", input=msg)
    assert r.returncode == 0, r.stderr
    env, content = parse_maildrop(inst.queue / "maildrop" / maildrop(inst)[0])
    assert [v for k, v in env if k == "rcpt"] == [
        "extra@x.test", "ann@x.test", "bob", "carol@y.test", "dave@z.test",
        "eve@z.test"]
    assert b"Bcc" not in content and b"dave" not in content
    assert not content.startswith(b"From ")
    assert content.endswith(b"body\r\n.\r\nmore\r\n")


def test_sendmail_oi_and_ignored_options(inst):
    r = sendmail(inst, "-oi", "-oem", "-odb", "-bm", "-N", "success,delay",
                 "-R", "hdrs", "-V", "ENV9", "u@x.test",
                 input=b"Subject: x\n\n.\n")
    assert r.returncode == 0, r.stderr
    env, content = parse_maildrop(inst.queue / "maildrop" / maildrop(inst)[0])
    assert ("notify", "success,delay") in env
    assert ("ret", "hdrs") in env and ("envid", "ENV9") in env
    assert content.endswith(b"\r\n.\r\n")


def test_sendmail_errors(inst):
    r = sendmail(inst, input=b"Subject: x\n\nbody\n")
    assert r.returncode == 67 and b"no recipients" in r.stderr
    r = sendmail(inst, "-t", input=b"Subject: x\n\nbody\n")
    assert r.returncode == 67
    r = sendmail(inst, "-Q", "u@x.test", input=b"")
    assert r.returncode == 64
    r = sendmail(inst, "-N", "sometimes", "u@x.test", input=b"")
    assert r.returncode == 64
    r = sendmail(inst, "-f", input=b"")
    assert r.returncode == 64
    assert maildrop(inst) == []
    # maildrop/ that cannot be written: EX_TEMPFAIL, nothing left.
    os.rename(inst.queue / "maildrop", inst.queue / "maildrop.off")
    try:
        r = sendmail(inst, "u@x.test", input=b"Subject: x\n\n")
    finally:
        os.rename(inst.queue / "maildrop.off", inst.queue / "maildrop")
    assert r.returncode == 75, r.stderr
    assert maildrop(inst) == []


def test_sendmail_bs(inst):
    dialogue = (b"EHLO me\r\nMAIL FROM:<joe@x.test>\r\n"
                b"RCPT TO:<u1@x.test>\r\nRCPT TO:<u2>\r\nDATA\r\n"
                b"Subject: one\r\n\r\n..dotted\r\n.\r\n"
                b"MAIL FROM:<>\r\nRCPT TO:<u3@x.test>\r\nDATA\r\n"
                b"Subject: two\r\n\r\nx\r\n.\r\nRSET\r\nNOOP\r\n"
                b"RCPT TO:<nope@x.test>\r\nBOGUS\r\nQUIT\r\n")
    r = sendmail(inst, "-bs", input=dialogue)
    assert r.returncode == 0, r.stderr
    codes = [line[:3] for line in r.stdout.split(b"\r\n") if line]
    assert codes == [b"220"] + [b"250"] * 4 + [b"250"] * 3 + [b"354", b"250"] \
        + [b"250"] * 2 + [b"354", b"250"] + [b"250"] * 2 + [b"503", b"502",
                                                          b"221"], r.stdout
    names = maildrop(inst)
    assert len(names) == 2
    env, content = parse_maildrop(inst.queue / "maildrop" / names[0])
    assert ("sender", "joe@x.test") in env
    assert [v for k, v in env if k == "rcpt"] == ["u1@x.test", "u2"]
    assert content == b"Subject: one\r\n\r\n.dotted\r\n"
    env, _ = parse_maildrop(inst.queue / "maildrop" / names[1])
    assert ("sender", "") in env


def start_both(inst):
    inst.start("cleanup")
    inst.start("pickup")


def test_pickup_moves_maildrop_into_queue(inst):
    start_both(inst)
    r = sendmail(inst, "-t", "-f", "joe", "-F", "Joe User",
                 input=b"To: root\nSubject: via pickup\n\nhello\n")
    assert r.returncode == 0, r.stderr
    files = wait_for(lambda: queue_files(inst.queue), what="queue file")
    wait_for(lambda: maildrop(inst) == [], what="maildrop emptied")
    q = QueueFile(files[0])
    assert q.fields["sender"] == "joe@" + ORIGIN
    assert q.fields["protocol"] == "local"
    assert [x["rcpt"] for x in q.rcpts] == ["root@" + ORIGIN]
    assert q.content.startswith(b"Received: by " + HOST.encode() +
                                b" (ulak, from userid ")
    assert q.header("To") == ["root@" + ORIGIN]
    assert q.header("From") == ["Joe User <joe@example.test>"]
    assert q.header("Message-ID") == [f"<{q.id}@{HOST}>"]
    assert len(q.header("Date")) == 1
    assert q.body == b"hello\r\n"
    text = wait_for(lambda: f"{q.id}: uid=" in inst.logtext() and
                    inst.logtext(), what="pickup log line")
    assert f"{q.id}: uid=" in text and "from=<joe>" in text


def test_pickup_takes_files_present_at_start(inst):
    for i in range(3):
        r = sendmail(inst, f"u{i}@x.test", input=b"Subject: %d\n\nb\n" % i)
        assert r.returncode == 0
    start_both(inst)
    wait_for(lambda: len(queue_files(inst.queue)) == 3, what="3 files")
    wait_for(lambda: maildrop(inst) == [], what="maildrop emptied")
    subjects = sorted(QueueFile(f).header("Subject")[0]
                      for f in queue_files(inst.queue))
    assert subjects == ["0", "1", "2"]


def test_pickup_keeps_file_while_cleanup_is_down(inst):
    inst.start("pickup")
    r = sendmail(inst, "u@x.test", input=b"Subject: wait\n\nb\n")
    assert r.returncode == 0
    wait_for(lambda: "cannot hand it to cleanup" in inst.logtext(),
             what="retry logged")
    assert len(maildrop(inst)) == 1
    assert queue_files(inst.queue) == []
    inst.start("cleanup")
    # A wakeup (as sendmail sends) makes pickup look again at once.
    r = sendmail(inst, "u2@x.test", input=b"Subject: second\n\nb\n")
    assert r.returncode == 0
    wait_for(lambda: len(queue_files(inst.queue)) == 2, what="2 files")
    wait_for(lambda: maildrop(inst) == [], what="maildrop emptied")


def test_pickup_moves_bad_files_aside(inst):
    start_both(inst)
    md = inst.queue / "maildrop"
    # Names as sendmail makes them, but bad contents.
    bad = {"1K1A2DFAKQ5AET7A": b"garbage\n\nSubject: x\r\n",
           "1K1A2DFAKQ5AET7B": b"ulak-maildrop 1\nsender=a\n\nno rcpt\r\n",
           "1K1A2DFAKQ5AET7C": b"ulak-maildrop 1\nsender=a\nrcpt=b\nx=1\n\n"}
    for name, data in bad.items():
        (md / name).write_bytes(data)
    # Refused for good by cleanup (NUL in a header): moved aside too.
    r = sendmail(inst, "u@x.test", input=b"Subject: a\x00b\n\nbody\n")
    assert r.returncode == 0
    wait_for(lambda: maildrop(inst) == [], what="maildrop emptied")
    corrupt = all_files(inst.queue, "corrupt")
    assert len(corrupt) == 4, corrupt
    assert all(n.startswith("maildrop.") for n in corrupt)
    assert queue_files(inst.queue) == []
    text = inst.logtext()
    assert "not a maildrop file" in text and "no recipient" in text
    assert "unknown attribute x" in text and "5.6.0" in text


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another "
                    "local user")
def test_any_local_user_can_submit(inst):
    """A user who is neither root nor mail_owner submits with sendmail
    (maildrop/ is 1733); pickup records that user's uid, and the user can
    neither list maildrop/ nor see other submissions."""
    import pwd
    other = pwd.getpwnam("daemon")
    start_both(inst)
    mode = os.stat(inst.queue / "maildrop").st_mode & 0o7777
    assert mode == 0o1733, oct(mode)

    def become():
        os.setgid(other.pw_gid)
        os.setuid(other.pw_uid)
    e = dict(os.environ)
    e.pop("ULAK_CONFIG_DIR", None)
    r = subprocess.run([str(BUILD_DIR / "ulak"), "-c", str(inst.dir),
                        "sendmail", "-t"], preexec_fn=become,
                       input=b"To: root\nSubject: from daemon\n\nhi\n",
                       capture_output=True, env=e, timeout=60)
    assert r.returncode == 0, r.stderr
    files = wait_for(lambda: queue_files(inst.queue), what="queue file")
    q = QueueFile(files[0])
    assert q.header("Subject") == ["from daemon"]
    assert f"uid={other.pw_uid}" in wait_for(
        lambda: f"{q.id}: uid=" in inst.logtext() and inst.logtext(),
        what="pickup log line")
    r = subprocess.run(["ls", str(inst.queue / "maildrop")],
                       preexec_fn=become, capture_output=True)
    assert r.returncode != 0
