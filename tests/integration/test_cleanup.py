"""cleanup, started by hand on its Unix socket: headers it adds, limits,
durability rules (nothing left behind on failure), the protocol."""
import os
import resource
import signal
import socket
import time

import pytest

from ulak_queue import ByHand, CleanupClient, QueueFile, all_files, \
    queue_files, wait_for

HOST = "mail.example.test"
ORIGIN = "example.test"

SMTP_ENV = (("client_name", "client.example.net"),
            ("client_address", "192.0.2.7"), ("client_port", "40000"),
            ("helo_name", "helo.example.net"), ("protocol", "ESMTPS"))


@pytest.fixture
def inst():
    i = ByHand()
    yield i
    i.close()


@pytest.fixture
def cleanup(inst):
    inst.start("cleanup")
    wait_for(lambda: inst.socket_path("cleanup").exists(), what="socket")
    return inst


def client(inst):
    return CleanupClient(inst.socket_path("cleanup"))


def only_file(inst):
    files = queue_files(inst.queue)
    assert len(files) == 1, files
    return QueueFile(files[0])


def test_smtp_message_queued_with_received(cleanup):
    c = client(cleanup)
    msg = ("Subject: hi\r\nFrom: a@remote.example\r\n"
           "Message-ID: <x1@remote.example>\r\n\r\nbody line\r\n")
    r = c.send_message("a@remote.example",
                       [("bob@example.test", "rfc822;Bob@example.test",
                         "success,delay")],
                       msg, env=SMTP_ENV + (("envid", "ENV1"), ("ret", "hdrs"),
                                            ("flags", "8bitmime")))
    assert r["status"] == "0", r
    qid = r["queue_id"]
    q = only_file(cleanup)
    assert q.id == qid
    assert q.fields["sender"] == "a@remote.example"
    assert q.fields["envid"] == "ENV1"
    assert q.fields["ret"] == "hdrs"
    assert q.fields["flags"] == "8bitmime"
    assert q.fields["protocol"] == "ESMTPS"
    assert q.rcpts == [{"rcpt": "bob@example.test",
                        "orcpt": "rfc822;Bob@example.test",
                        "notify": "success,delay", "done": "-"}]
    first = q.content.split(b"\r\n")[:3]
    assert first[0] == (b"Received: from helo.example.net "
                        b"(client.example.net [192.0.2.7])")
    assert first[1] == b"\tby " + HOST.encode() + \
        b" (ulak) with ESMTPS id " + qid.encode()
    assert first[2].startswith(b"\tfor <bob@example.test>; ")
    # Remote mail: nothing added (always_add_missing_headers = no), and
    # the original headers and body are kept byte for byte.
    assert q.content.endswith(msg.encode())
    assert q.header("Date") == []
    # One log line per message, Postfix style.
    text = wait_for(lambda: f"{qid}: from=<a@remote.example>" in
                    cleanup.logtext() and cleanup.logtext(), what="log")
    assert f"{qid}: message-id=<x1@remote.example>" in text
    assert "nrcpt=1" in text


def test_local_submission_gets_missing_headers(cleanup):
    c = client(cleanup)
    r = c.send_message("joe", ["root", "ann@other.example"],
                       "To: root, Ann <ann@other.example>\r\nCc: bob\r\n"
                       "Subject: s\r\n\r\nhello\r\n",
                       env=(("uid", "1000"), ("full_name", "Joe User"),
                            ("protocol", "local")), origin="pickup")
    assert r["status"] == "0", r
    q = only_file(cleanup)
    qid = q.id
    assert q.fields["sender"] == "joe@" + ORIGIN
    assert [x["rcpt"] for x in q.rcpts] == ["root@" + ORIGIN,
                                            "ann@other.example"]
    assert q.content.startswith(
        b"Received: by " + HOST.encode() + b" (ulak, from userid 1000)\r\n"
        b"\tid " + qid.encode() + b"; ")
    assert q.header("Message-ID") == [f"<{qid}@{HOST}>"]
    assert len(q.header("Date")) == 1
    assert q.header("From") == ["Joe User <joe@example.test>"]
    assert q.header("To") == ["root@example.test, Ann <ann@other.example>"]
    assert q.header("Cc") == ["bob@example.test"]
    assert q.body == b"hello\r\n"
    # The added headers come after the message's own.
    names = [n for n, _ in q.headers]
    assert names.index("Subject") < names.index("Message-ID")


def test_several_messages_on_one_connection(cleanup):
    c = client(cleanup)
    ids = []
    for i in range(3):
        r = c.send_message("a@b.example", [f"u{i}@example.test"],
                           f"Subject: {i}\r\n\r\nx\r\n")
        assert r["status"] == "0"
        ids.append(r["queue_id"])
    assert len(set(ids)) == 3
    assert sorted(ids) == [p.name for p in queue_files(cleanup.queue)]


def test_big_message_streamed_in_chunks(cleanup):
    body = b"".join(b"line %06d " % i + b"x" * 60 + b"\r\n"
                    for i in range(20000))
    msg = b"Subject: big\r\n\r\n" + body
    r = client(cleanup).send_message("a@b.example", ["u@example.test"], msg,
                                     chunk=100000)
    assert r["status"] == "0"
    assert only_file(cleanup).body == body


def test_size_limit_refused_nothing_left(cleanup):
    cleanup.stop("cleanup")
    cleanup.start("cleanup", extra=["-o", "message_size_limit=2000"])
    c = CleanupClient(cleanup.socket_path("cleanup"))
    r = c.send_message("a@b.example", ["u@example.test"],
                       "Subject: x\r\n\r\n" + "y" * 5000)
    assert r["status"] == "5"
    assert r["dsn"] == "5.3.4"
    assert all_files(cleanup.queue) == []
    # The connection is still usable for the next message.
    r = c.send_message("a@b.example", ["u@example.test"], "Subject: x\r\n\r\n")
    assert r["status"] == "0"


def test_nul_in_headers_refused(cleanup):
    c = client(cleanup)
    r = c.send_message("a@b.example", ["u@example.test"],
                       b"Subject: a\x00b\r\n\r\nbody\r\n")
    assert r["status"] == "5"
    assert "NUL" in r["reason"] and r["dsn"] == "5.6.0"
    assert all_files(cleanup.queue) == []
    # A NUL in the body is content (queue files hold any byte).
    r = c.send_message("a@b.example", ["u@example.test"],
                       b"Subject: a\r\n\r\nbo\x00dy\r\n")
    assert r["status"] == "0"


def test_hop_count_limit(cleanup):
    msg = "".join(f"Received: from h{i}\r\n" for i in range(60)) + "\r\nx\r\n"
    r = client(cleanup).send_message("a@b.example", ["u@example.test"], msg)
    assert r["status"] == "5" and r["dsn"] == "5.4.6", r


def test_long_header_truncated_and_non_header_line(cleanup):
    cleanup.stop("cleanup")
    cleanup.start("cleanup", extra=["-o", "header_size_limit=2000"])
    c = CleanupClient(cleanup.socket_path("cleanup"))
    msg = ("Subject: " + "s" * 5000 + "\r\nX-After: 1\r\n"
           "this is not a header\r\nbody\r\n")
    r = c.send_message("a@b.example", ["u@example.test"], msg)
    assert r["status"] == "0"
    q = only_file(cleanup)
    subj = q.header("Subject")[0]
    assert 1000 < len(subj) < 2000
    assert q.header("X-After") == ["1"]
    # An empty line was put in front of the first non-header line.
    assert q.body == b"this is not a header\r\nbody\r\n"


def test_disconnect_mid_stream_leaves_nothing(cleanup):
    c = client(cleanup)
    c.send_message("a@b.example", ["u@example.test"],
                   "Subject: x\r\n\r\n" + "z" * 200000, end=False)
    # Half a chunk, then the connection goes.
    c.sock.sendall(b"request=data\nlength=1000\n\nonly a part")
    c.close()
    wait_for(lambda: "lost connection" in cleanup.logtext() or
             "closed inside" in cleanup.logtext(), what="abort logged")
    wait_for(lambda: all_files(cleanup.queue) == [], what="no files")
    # The daemon still serves.
    r = client(cleanup).send_message("a@b.example", ["u@example.test"],
                                     "Subject: x\r\n\r\n")
    assert r["status"] == "0"


def test_protocol_errors(cleanup):
    c = client(cleanup)
    # A bad open gets status 4; the connection stays usable.
    for env in ((("bogus", "1"),), (("ret", "most"),), (("flags", "x"),),
                (("sender", "again"),)):
        r = c.open("a@b", env)
        assert (r["status"], r["dsn"]) == ("4", "4.3.0"), env
    r = c.open("a@b", origin="martian")
    assert r["status"] == "4"
    # Content length that does not match: status 4, nothing queued.
    c.send_message("a@b.example", ["u@example.test"], "Subject: x\r\n\r\n",
                   end=False)
    r = c.end(length=3)
    assert (r["status"], r["dsn"]) == ("4", "4.3.0")
    # No recipient, a bad notify: status 4.
    r = c.send_message("a@b.example", [], "Subject: x\r\n\r\n")
    assert r["status"] == "4"
    r = c.send_message("a@b.example", [("u@example.test", "", "never,delay")],
                       "Subject: x\r\n\r\n")
    assert r["status"] == "4"
    assert all_files(cleanup.queue) == []
    # A request that is not in the protocol ends the connection.
    c.request(("request", "ping"))
    with pytest.raises((EOFError, ConnectionResetError)):
        c.reply()
    c = client(cleanup)
    c.open("a@b")
    c.sock.sendall(b"request=data\nlength=0\n\n")
    with pytest.raises((EOFError, ConnectionResetError)):
        c.reply()
    c = client(cleanup)
    c.sock.sendall(b"not an attribute line\n\n")
    with pytest.raises((EOFError, ConnectionResetError)):
        c.reply()
    assert "client connection:" in cleanup.logtext()


def test_file_size_limit_gives_status_4_and_no_file(inst):
    """EFBIG (write beyond RLIMIT_FSIZE) stands in for a full disk."""
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (100000, 100000))
    inst.start("cleanup", preexec=limit)
    wait_for(lambda: inst.socket_path("cleanup").exists(), what="socket")
    c = client(inst)
    r = c.send_message("a@b.example", ["u@example.test"],
                       "Subject: x\r\n\r\n" + "y" * 300000, chunk=65536)
    assert r["status"] == "4", r
    assert (r["dsn"], r["reason"]) == ("4.3.1", "Insufficient system storage")
    assert all_files(inst.queue) == []
    assert inst.procs["cleanup"].poll() is None
    # Small messages still work on the same connection.
    r = c.send_message("a@b.example", ["u@example.test"], "Subject: x\r\n\r\n")
    assert r["status"] == "0"


def test_read_only_incoming_gives_status_4(cleanup):
    # When the tests run as root, cleanup runs as nobody (ByHand), so the
    # folder mode applies to it.
    os.chmod(cleanup.queue / "incoming", 0o500)
    try:
        r = client(cleanup).send_message("a@b.example", ["u@example.test"],
                                         "Subject: x\r\n\r\nbody\r\n")
    finally:
        os.chmod(cleanup.queue / "incoming", 0o700)
    # The queue file cannot even be created: request=open says so.
    assert r["status"] == "4", r
    assert (r["dsn"], r["reason"]) == ("4.3.1", "Insufficient system storage")
    assert all_files(cleanup.queue) == []


def test_many_concurrent_clients(cleanup):
    """A slow client does not hold up the others."""
    slow = client(cleanup)
    slow.send_message("a@b.example", ["u@example.test"], "Subject: s\r\n",
                      end=False)
    clients = [client(cleanup) for _ in range(10)]
    for i, c in enumerate(clients):
        r = c.send_message("a@b.example", [f"u{i}@example.test"],
                           f"Subject: {i}\r\n\r\n")
        assert r["status"] == "0"
    assert slow.end()["status"] == "0"
    assert len(queue_files(cleanup.queue)) == 11


def test_sigterm_mid_message_leaves_nothing(cleanup):
    c = client(cleanup)
    c.send_message("a@b.example", ["u@example.test"], "Subject: x\r\n\r\n" +
                   "b" * 100000, end=False)
    wait_for(lambda: any(n.startswith(".tmp-") for n in
                         all_files(cleanup.queue)), what="temp file")
    p = cleanup.stop("cleanup", signal.SIGTERM)
    assert p.returncode == 0
    assert all_files(cleanup.queue) == []


def test_sigusr1_drains(cleanup):
    c = client(cleanup)
    # request=open is a round trip: the daemon has its signal handlers.
    c.send_message("a@b.example", ["u@example.test"], "Subject: x\r\n",
                   end=False)
    p = cleanup.procs["cleanup"]
    p.send_signal(signal.SIGUSR1)
    wait_for(lambda: "draining" in cleanup.logtext(), what="draining")
    assert p.poll() is None
    assert c.end()["status"] == "0"
    c.close()
    assert p.wait(10) == 0


def test_qmgr_gets_a_wakeup(cleanup):
    path = cleanup.socket_path("qmgr")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    if cleanup.as_root:
        os.chown(path, cleanup.uid, cleanup.gid)
    s.listen(5)
    s.settimeout(10)
    r = client(cleanup).send_message("a@b.example", ["u@example.test"],
                                     "Subject: x\r\n\r\n")
    assert r["status"] == "0"
    conn, _ = s.accept()
    conn.settimeout(10)
    data = b""
    while not data.endswith(b"\n\n"):
        got = conn.recv(100)
        if not got:
            break
        data += got
    assert data == b"request=wakeup\n\n"
    s.close()


@pytest.mark.parametrize("content,body", [
    (b"", b""),
    (b"Subject: no line end", b""),
    (b"\r\nbody only\r\n", b"body only\r\n"),
    (b"Subject: x\nX-LF: bare\n\nlf body\n", b"lf body\n"),
])
def test_odd_message_shapes(cleanup, content, body):
    r = client(cleanup).send_message("joe", ["u"], content, origin="pickup")
    assert r["status"] == "0", r
    q = only_file(cleanup)
    # Missing headers were added in the header block, whatever its shape.
    assert len(q.header("Message-ID")) == 1
    assert len(q.header("Date")) == 1
    assert q.header("From") == ["joe@example.test"]
    assert q.body == body
    if content.startswith(b"Subject"):
        assert q.header("Subject")[0] in ("no line end", "x")
