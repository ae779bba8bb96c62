"""local, started by hand on its Unix socket with cleanup beside it; a
Python fake qmgr sends request=deliver (docs/protocols.md, "Delivery
agents") and the tests check the reply, the done-mark in the queue file
and the mailbox bytes (Python's mailbox module)."""
import mailbox
import os
import pathlib
import pwd
import socket
import stat
import time

import pytest

from conftest import BUILD_DIR, run_ulak
from ulak_queue import ByHand, CleanupClient, QueueFile, escape, \
    queue_files, unescape, wait_for

DOMAIN = "example.test"
HOST = "mail.example.test"


class Local:
    """A running cleanup + local pair on a fresh `ulak init` instance."""

    def __init__(self, inst):
        self.inst = inst
        self.dir = inst.dir
        self.queue = inst.queue
        self.home = inst.dir / "home" / "demo"
        self.maildir = self.home / "Maildir"
        users = (inst.dir / "users").read_text().split(":")
        self.uid, self.gid = int(users[2]), int(users[3])
        self.started = False
        # A folder every uid may write (commands and files of aliases
        # run as default_privs when we are root).
        self.scratch = inst.top / "scratch"
        self.scratch.mkdir()
        os.chmod(self.scratch, 0o1777)

    def start(self):
        self.inst.start("cleanup")
        self.inst.start("local")
        wait_for(lambda: self.inst.socket_path("cleanup").exists() and
                 self.inst.socket_path("local").exists(), what="sockets")
        self.started = True

    def set(self, **params):
        assert not self.started, "set parameters before start()"
        self.inst.set(**params)

    def aliases(self, text):
        (self.dir / "aliases").write_text(text)
        r = run_ulak(BUILD_DIR / "ulak", "-c", self.dir, "aliases")
        assert r.returncode == 0, r.stderr

    def submit(self, rcpts, content=None, sender="jane@remote.example",
               **kw):
        """Queue a message through cleanup; returns its QueueFile."""
        if content is None:
            content = ("From: jane@remote.example\r\nSubject: test\r\n"
                       "\r\nHello there.\r\n")
        c = CleanupClient(self.inst.socket_path("cleanup"))
        r = c.send_message(sender, rcpts, content, **kw)
        c.close()
        assert r["status"] == "0", r
        return QueueFile(self.queue / "incoming" / r["queue_id"])

    def deliver(self, qf, indexes=None, sock=None):
        """request=deliver for INDEXES; returns {index: (dsn, text)}."""
        if indexes is None:
            indexes = range(len(qf.rcpts))
        own = sock is None
        if own:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(60)
            sock.connect(str(self.inst.socket_path("local")))
        req = [("request", "deliver"), ("queue_id", qf.id),
               ("queue_file", f"incoming/{qf.id}"), ("transport", "local"),
               ("nexthop", HOST)]
        req += [("rcpt", str(i)) for i in indexes]
        sock.sendall(b"".join(n.encode() + b"=" + escape(v) + b"\n"
                              for n, v in req) + b"\n")
        reply = b""
        while not reply.endswith(b"\n\n"):
            got = sock.recv(65536)
            if not got:
                raise EOFError("local closed the connection")
            reply += got
        if own:
            sock.close()
        out = {}
        lines = reply[:-2].split(b"\n")
        assert lines[0] == b"status=0", reply
        for line in lines[1:]:
            n, _, v = line.partition(b"=")
            assert n == b"result", line
            idx, dsn, text = unescape(v).decode().split(" ", 2)
            out[int(idx)] = (dsn, text)
        return out

    def marks(self, qf):
        return [r["done"] for r in QueueFile(qf.path).rcpts]

    def messages(self, folder=None):
        md = mailbox.Maildir(str(folder or self.maildir), create=False)
        return [md.get_message(k) for k in sorted(md.keys())]


def children(pid):
    try:
        return pathlib.Path(f"/proc/{pid}/task/{pid}/children").read_text(
        ).split()
    except OSError:
        return []


@pytest.fixture
def lo():
    inst = ByHand()
    lo = Local(inst)
    yield lo
    # Let local's connection processes finish (and write any sanitizer
    # report) before the reports are read.
    p = inst.procs.get("local")
    if p is not None:
        wait_for(lambda: not children(p.pid), timeout=30,
                 what="local's children to exit")
    inst.close()


def test_maildir_delivery(lo):
    lo.start()
    body = ("From: jane@remote.example\r\nSubject: hi\r\n\r\n"
            "line one\r\nFrom the start\r\n")
    qf = lo.submit([f"demo@{DOMAIN}"], body)
    assert lo.deliver(qf) == {0: ("2.0.0", "delivered to maildir")}
    assert lo.marks(qf) == ["D"]
    new = list((lo.maildir / "new").iterdir())
    assert len(new) == 1
    name = new[0].name
    # time.M<usec>P<pid>Q<n>.host,S=<size>
    assert name.endswith(f",S={new[0].stat().st_size}")
    first = name.split(".")[1]
    assert first.startswith("M") and "P" in first and "Q" in first
    assert HOST in name
    assert list((lo.maildir / "tmp").iterdir()) == []
    raw = new[0].read_bytes()
    assert b"\r" not in raw
    assert raw.startswith(b"Return-Path: <jane@remote.example>\n")
    assert f"Delivered-To: demo@{DOMAIN}\n".encode() in raw
    # Maildir is not mbox: no From quoting.
    assert raw.endswith(b"\nline one\nFrom the start\n")
    (msg,) = lo.messages()
    assert msg["Subject"] == "hi"
    assert msg["Delivered-To"] == f"demo@{DOMAIN}"
    if os.geteuid() == 0:
        assert new[0].stat().st_uid == lo.uid
    log = wait_for(lambda: "status=sent" in lo.inst.logtext() and
                   lo.inst.logtext(), what="log line")
    assert (f"{qf.id}: to=<demo@{DOMAIN}>, relay=local, delay=" in log)
    assert "dsn=2.0.0, status=sent (delivered to maildir)" in log


def test_creates_missing_maildir_folders(lo):
    for sub in ("new", "cur", "tmp"):
        (lo.maildir / sub).rmdir()
    lo.maildir.rmdir()
    lo.start()
    qf = lo.submit([f"demo@{DOMAIN}"])
    assert lo.deliver(qf)[0][0] == "2.0.0"
    assert len(lo.messages()) == 1
    assert (lo.maildir / "cur").is_dir()


def test_several_recipients_one_request_and_connection_reuse(lo):
    lo.set(recipient_delimiter="+")
    lo.start()
    qf = lo.submit([f"demo@{DOMAIN}", f"demo+news@{DOMAIN}",
                    f"nosuch@{DOMAIN}"])
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(str(lo.inst.socket_path("local")))
    res = lo.deliver(qf, [0, 1], sock=s)
    assert res[0][0] == "2.0.0" and res[1][0] == "2.0.0"
    res = lo.deliver(qf, [2], sock=s)
    s.close()
    assert res == {2: ("5.1.1", 'unknown user: "nosuch"')}
    assert lo.marks(qf) == ["D", "D", "-"]
    tos = sorted(m["Delivered-To"] for m in lo.messages())
    assert tos == [f"demo+news@{DOMAIN}", f"demo@{DOMAIN}"]


def test_mbox_in_spool_readable_by_mailbox(lo):
    spool = lo.inst.top / "spool"
    spool.mkdir()
    if os.geteuid() != 0:
        pass
    else:
        os.chmod(spool, 0o755)
    lo.set(home_mailbox="", mail_spool_directory=str(spool))
    lo.start()
    bodies = ["From: a@remote.example\r\nSubject: one\r\n\r\n"
              "From here on\r\n>From quoted\r\nno newline at end",
              "Subject: two\r\n\r\nsecond\r\n"]
    for b in bodies:
        qf = lo.submit([f"demo@{DOMAIN}"], b)
        assert lo.deliver(qf) == {0: ("2.0.0", "delivered to mailbox")}
        assert lo.marks(qf) == ["D"]
    path = spool / "demo"
    raw = path.read_bytes()
    assert raw.startswith(b"From jane@remote.example ")
    assert b"\r" not in raw
    assert b"\n>From here on\n>From quoted\nno newline at end\n\nFrom " \
        in raw
    assert raw.endswith(b"\nsecond\n\n")
    assert not (spool / "demo.lock").exists()
    box = mailbox.mbox(str(path), create=False)
    msgs = list(box)
    assert [m["Subject"] for m in msgs] == ["one", "two"]
    assert msgs[0].get_from().startswith("jane@remote.example ")
    if os.geteuid() == 0:
        assert path.stat().st_uid == lo.uid
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_mbox_in_home(lo):
    lo.set(home_mailbox="Mailbox")
    lo.start()
    qf = lo.submit([f"demo@{DOMAIN}"])
    assert lo.deliver(qf)[0][0] == "2.0.0"
    box = mailbox.mbox(str(lo.home / "Mailbox"), create=False)
    (m,) = list(box)
    assert m["Return-Path"] == "<jane@remote.example>"
    assert m.get_payload() == "Hello there.\n\n" or \
        m.get_payload() == "Hello there.\n"


def test_stale_dotlock_is_taken_over_and_live_one_defers(lo):
    lo.set(home_mailbox="Mailbox")
    lo.start()
    lock = lo.home / "Mailbox.lock"
    lock.write_text("")
    old = time.time() - 3600
    os.utime(lock, (old, old))
    qf = lo.submit([f"demo@{DOMAIN}"])
    assert lo.deliver(qf)[0][0] == "2.0.0"
    assert not lock.exists()


def test_unknown_user_bounces(lo):
    lo.start()
    qf = lo.submit([f"nobody-here@{DOMAIN}"])
    assert lo.deliver(qf) == {0: ("5.1.1", 'unknown user: "nobody-here"')}
    assert lo.marks(qf) == ["-"]
    wait_for(lambda: "status=bounced (unknown user" in lo.inst.logtext(),
             what="bounce log line")


def test_delivered_to_loop_bounces(lo):
    lo.start()
    body = (f"Delivered-To: DEMO@{DOMAIN}\r\nSubject: loop\r\n\r\nx\r\n")
    qf = lo.submit([f"demo@{DOMAIN}"], body)
    assert lo.deliver(qf) == {
        0: ("5.4.6", f"mail forwarding loop for demo@{DOMAIN}")}
    assert lo.marks(qf) == ["-"]
    assert lo.messages() == []


def test_unwritable_maildir_defers(lo):
    if os.geteuid() == 0:
        os.chmod(lo.maildir / "tmp", 0o500)
    else:
        os.chmod(lo.maildir / "tmp", 0o500)
    lo.start()
    qf = lo.submit([f"demo@{DOMAIN}"])
    dsn, text = lo.deliver(qf)[0]
    os.chmod(lo.maildir / "tmp", 0o700)
    assert dsn == "4.2.0", text
    assert "maildir delivery failed" in text and "Permission denied" in text
    assert lo.marks(qf) == ["-"]
    # Nothing lost: the next attempt delivers.
    assert lo.deliver(qf)[0][0] == "2.0.0"
    assert len(lo.messages()) == 1


def test_missing_home_defers(lo):
    users = (lo.dir / "users").read_text()
    (lo.dir / "users").write_text(users.replace("/home/demo:",
                                                "/home/gone:"))
    lo.start()
    qf = lo.submit([f"demo@{DOMAIN}"])
    dsn, text = lo.deliver(qf)[0]
    assert dsn == "4.2.0" and "home folder" in text, text
    assert "does not exist" in text or "No such file" in text
    assert lo.marks(qf) == ["-"]


def test_recipient_delimiter_extension(lo):
    lo.set(recipient_delimiter="+")
    lo.start()
    qf = lo.submit([f"Demo+Lists@{DOMAIN}"])
    assert lo.deliver(qf)[0][0] == "2.0.0"
    (m,) = lo.messages()
    assert m["Delivered-To"] == f"demo+lists@{DOMAIN}"


def test_alias_kinds(lo):
    out = lo.scratch / "cmd-out"
    filebox = lo.scratch / "filebox"
    inc = lo.scratch / "staff.inc"
    inc.write_text("demo\n")
    lo.aliases(f"""postmaster: demo
team: demo, postmaster, "|cat > {out}; echo $RECIPIENT $LOCAL $SENDER >> {out}.env", {filebox}
staff: :include:{inc}
far: someone@remote.example, other@elsewhere.example, demo
root: root2
root2: demo
""")
    lo.start()
    qf = lo.submit([f"team@{DOMAIN}"])
    dsn, text = lo.deliver(qf)[0]
    assert dsn == "2.0.0", text
    assert lo.marks(qf) == ["D"]
    # demo once (duplicate suppression: demo and postmaster -> demo).
    (m,) = lo.messages()
    assert m["Delivered-To"] == f"demo@{DOMAIN}"
    assert m["X-Original-To"] == f"team@{DOMAIN}"
    got = out.read_bytes()
    assert got.startswith(b"Return-Path: <jane@remote.example>\n")
    assert got.endswith(b"\r\n\r\nHello there.\n".replace(b"\r\n", b"\n"))
    env = (lo.scratch / "cmd-out.env").read_text().split()
    assert env == [f"team@{DOMAIN}", "team", "jane@remote.example"]
    box = mailbox.mbox(str(filebox), create=False)
    assert [x["Subject"] for x in box] == ["test"]
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody").pw_uid
        assert out.stat().st_uid == nobody
        assert filebox.stat().st_uid == nobody
    # :include:
    qf = lo.submit([f"staff@{DOMAIN}"])
    assert lo.deliver(qf)[0][0] == "2.0.0"
    assert len(lo.messages()) == 2
    # root -> root2 -> demo (recursive)
    qf = lo.submit([f"root@{DOMAIN}"])
    assert lo.deliver(qf)[0][0] == "2.0.0"
    assert len(lo.messages()) == 3
    log = lo.inst.logtext()
    assert f"to=<demo@{DOMAIN}>, orig_to=<root@{DOMAIN}>" in log


def test_alias_remote_forward_via_cleanup(lo):
    lo.aliases("far: someone@remote.example, other@elsewhere.example, demo\n"
               "owner-far: demo\n")
    lo.start()
    before = set(p.name for p in queue_files(lo.queue))
    qf = lo.submit([(f"far@{DOMAIN}", f"rfc822;far@{DOMAIN}",
                     "success,failure")])
    res = lo.deliver(qf)
    dsn, text = res[0]
    assert dsn == "2.0.0", text
    assert "delivered to maildir" in text and "forwarded as " in text
    newid = text.split("forwarded as ")[1].split(";")[0].split()[0]
    assert newid not in before
    fwd = QueueFile(lo.queue / "incoming" / newid)
    assert [r["rcpt"] for r in fwd.rcpts] == ["someone@remote.example",
                                              "other@elsewhere.example"]
    assert all(r["notify"] == "success,failure" for r in fwd.rcpts)
    assert fwd.rcpts[0]["orcpt"] == f"rfc822;far@{DOMAIN}"
    # owner-far exists: it becomes the envelope sender.
    assert fwd.fields["sender"] == f"owner-far@{DOMAIN}"
    assert fwd.header("Delivered-To") == [f"far@{DOMAIN}"]
    assert fwd.content.endswith(b"\r\nSubject: test\r\n\r\nHello there.\r\n")
    assert len(lo.messages()) == 1
    log = lo.inst.logtext()
    assert (f"to=<someone@remote.example>, orig_to=<far@{DOMAIN}>, "
            f"relay=local" in log)
    assert f"status=sent (forwarded as {newid})" in log


def test_alias_self_reference_and_loop(lo):
    lo.aliases("demo: demo, \\demo\n"
               "a: b\nb: a\n")
    lo.start()
    qf = lo.submit([f"demo@{DOMAIN}"])
    assert lo.deliver(qf)[0][0] == "2.0.0"
    assert len(lo.messages()) == 1
    qf = lo.submit([f"a@{DOMAIN}"])
    dsn, text = lo.deliver(qf)[0]
    # a -> b -> a: a is not expanded again and is no user.
    assert dsn == "5.1.1", text


def test_commands_restricted_from_include(lo):
    inc = lo.scratch / "cmds.inc"
    inc.write_text(f'"|cat > {lo.scratch}/x"\n')
    lo.aliases(f"inc: :include:{inc}\n")
    lo.start()
    qf = lo.submit([f"inc@{DOMAIN}"])
    dsn, text = lo.deliver(qf)[0]
    assert dsn == "5.7.1" and "restricted" in text, text
    assert not (lo.scratch / "x").exists()


@pytest.mark.parametrize("code,dsn", [(1, "5.3.0"), (67, "5.1.1"),
                                      (69, "5.3.0"), (75, "4.3.0")])
def test_command_exit_codes(lo, code, dsn):
    lo.aliases(f'prog: "|echo oops; exit {code}"\n')
    lo.start()
    qf = lo.submit([f"prog@{DOMAIN}"])
    got, text = lo.deliver(qf)[0]
    assert got == dsn, text
    assert text.startswith(f'Command died with status {code}: "echo oops; '
                           f'exit {code}". Command output: oops'), text
    assert lo.marks(qf) == ["-"]


def test_command_time_limit_defers(lo):
    lo.set(command_time_limit="1s")
    lo.aliases('slow: "|sleep 30"\n')
    lo.start()
    qf = lo.submit([f"slow@{DOMAIN}"])
    t0 = time.monotonic()
    dsn, text = lo.deliver(qf)[0]
    assert time.monotonic() - t0 < 20
    assert dsn == "4.3.0" and "time limit" in text, text


def test_command_gets_clean_environment(lo):
    out = lo.scratch / "env"
    lo.aliases(f'envdump: "|env > {out}"\n')
    lo.start()
    os.environ["ULAK_SECRET_TEST"] = "1"
    qf = lo.submit([f"envdump@{DOMAIN}"])
    assert lo.deliver(qf)[0][0] == "2.0.0"
    env = dict(line.split("=", 1) for line in
               out.read_text().splitlines() if "=" in line)
    assert "ULAK_SECRET_TEST" not in env
    assert env["SENDER"] == "jane@remote.example"
    assert env["RECIPIENT"] == f"envdump@{DOMAIN}"
    assert env["DOMAIN"] == DOMAIN
    assert env["PATH"] == "/usr/bin:/bin"
    if os.geteuid() == 0:
        assert env["USER"] == "nobody"


def test_dot_forward(lo):
    fwd = lo.home / ".forward"
    fwd.write_text("# keep a copy, and forward\n\\demo\n"
                   "demo@remote.example\n")
    lo.start()
    qf = lo.submit([f"demo@{DOMAIN}"])
    dsn, text = lo.deliver(qf)[0]
    assert dsn == "2.0.0", text
    assert "forwarded as" in text
    assert len(lo.messages()) == 1
    newid = text.split("forwarded as ")[1].split()[0].rstrip(";")
    f = QueueFile(lo.queue / "incoming" / newid)
    assert [r["rcpt"] for r in f.rcpts] == ["demo@remote.example"]
    assert f.fields["sender"] == "jane@remote.example"


def test_dot_forward_command_runs_as_user(lo):
    out = lo.scratch / "fwd-cmd"
    (lo.home / ".forward").write_text(f'"|id -u > {out}"\n')
    lo.start()
    qf = lo.submit([f"demo@{DOMAIN}"])
    dsn, text = lo.deliver(qf)[0]
    assert dsn == "2.0.0", text
    assert int(out.read_text()) == (lo.uid if os.geteuid() == 0
                                    else os.geteuid())
    assert lo.messages() == []


def test_forward_extension_file(lo):
    lo.set(recipient_delimiter="+")
    (lo.home / ".forward+lists").write_text(f"{lo.scratch}/lists\n")
    lo.start()
    qf = lo.submit([f"demo+lists@{DOMAIN}", f"demo@{DOMAIN}"])
    res = lo.deliver(qf)
    assert res[0][0] == "2.0.0" and res[1][0] == "2.0.0", res
    assert [m["Subject"] for m in mailbox.mbox(str(lo.scratch / "lists"))] \
        == ["test"]
    assert len(lo.messages()) == 1


def test_bad_request_drops_connection(lo):
    lo.start()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(str(lo.inst.socket_path("local")))
    s.sendall(b"request=deliver\nqueue_id=../../etc\nqueue_file=../x\n"
              b"transport=local\nnexthop=\nrcpt=0\n\n")
    assert s.recv(100) == b""
    s.close()
    qf = lo.submit([f"demo@{DOMAIN}"])
    assert lo.deliver(qf)[0][0] == "2.0.0"


def test_parallel_connections_not_blocked(lo):
    lo.aliases('slow: "|sleep 5"\n')
    lo.start()
    slow = lo.submit([f"slow@{DOMAIN}"])
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(str(lo.inst.socket_path("local")))
    s.sendall(f"request=deliver\nqueue_id={slow.id}\nqueue_file=incoming/"
              f"{slow.id}\ntransport=local\nnexthop=\nrcpt=0\n\n".encode())
    t0 = time.monotonic()
    qf = lo.submit([f"demo@{DOMAIN}"])
    assert lo.deliver(qf)[0][0] == "2.0.0"
    assert time.monotonic() - t0 < 4
    assert s.recv(1000).startswith(b"status=0\nresult=0 2.0.0")
    s.close()


def test_mailbox_command_and_maildir_file_alias(lo):
    out = lo.scratch / "mbcmd"
    md = lo.scratch / "archive"
    lo.set(mailbox_command=f"cat > {out}")
    lo.aliases(f"archive: {md}/, demo\n")
    lo.start()
    qf = lo.submit([f"archive@{DOMAIN}"])
    dsn, text = lo.deliver(qf)[0]
    assert dsn == "2.0.0", text
    assert f"delivered to maildir {md}/" in text
    assert "delivered to command: cat > " in text
    (m,) = lo.messages(md)
    assert m["Delivered-To"] == f"archive@{DOMAIN}"
    got = out.read_bytes()
    assert got.startswith(b"From jane@remote.example ")
    assert f"Delivered-To: demo@{DOMAIN}\n".encode() in got
    if os.geteuid() == 0:
        assert out.stat().st_uid == lo.uid


def test_mbox_over_size_limit_is_cut_back(lo):
    lo.set(home_mailbox="Mailbox", mailbox_size_limit="1000")
    box = lo.home / "Mailbox"
    old = (b"From a@b Mon Jan  1 00:00:00 2024\nSubject: old\n\n" +
           b"x" * 800 + b"\n\n")
    box.write_bytes(old)
    if os.geteuid() == 0:
        os.chown(box, lo.uid, lo.gid)
    lo.start()
    qf = lo.submit([f"demo@{DOMAIN}"])
    dsn, text = lo.deliver(qf)[0]
    assert dsn == "5.2.2" and "mailbox_size_limit" in text, text
    assert box.read_bytes() == old
    assert not (lo.home / "Mailbox.lock").exists()
    assert lo.marks(qf) == ["-"]
