"""imapd: logins on worker threads, the per-address connection limit,
SEARCH in transfer-encoded text, and the header-only read path (ENVELOPE,
header sections and header SEARCH keys read only the message header).
"""
import ctypes
import imaplib
import os
import socket
import time

import pytest

from procwatch import daemons, imap_fetch_unread

HIGH_COST = 10      # yescrypt cost: a hash of about half a second


def maildir(inst, user="demo"):
    return inst.dir / "home" / user / "Maildir"


_counter = [0]


def deliver(inst, data):
    md = maildir(inst)
    _counter[0] += 1
    name = f"{int(time.time())}.M{_counter[0]}P{os.getpid()}.more"
    tmp = md / "tmp" / name
    tmp.write_bytes(data)
    os.rename(tmp, md / "new" / name)
    return name


def poll(cond, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = cond()
        if r:
            return r
        time.sleep(0.05)
    return cond()


@pytest.fixture
def imap_inst(instance):
    instance.set(imapd_tls_auth_only="no")
    instance.start()
    instance.wait_port(instance.ports["imap"])
    yield instance
    instance.stop()


def login(inst):
    m = imaplib.IMAP4("127.0.0.1", inst.ports["imap"], timeout=30)
    assert m.login(inst.user, inst.password)[0] == "OK"
    return m


def slow_hash(password, cost=HIGH_COST):
    """A yescrypt hash of PASSWORD with a high cost (libcrypt itself)."""
    lc = ctypes.CDLL("libcrypt.so.1")
    lc.crypt_gensalt.restype = ctypes.c_char_p
    lc.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong,
                                 ctypes.c_char_p, ctypes.c_int]
    lc.crypt.restype = ctypes.c_char_p
    lc.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    salt = lc.crypt_gensalt(b"$y$", cost, None, 0)
    assert salt
    h = lc.crypt(password.encode(), salt)
    assert h and h.startswith(b"$y$")
    return h.decode()


class Raw:
    """A plaintext IMAP connection driven by hand."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), 30)
        self.buf = b""
        self.greeting = self.line()

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(4096)
            if not d:
                raise EOFError
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def send(self, text):
        self.s.sendall(text.encode() + b"\r\n")

    def tagged(self, tag):
        while True:
            line = self.line()
            if line.startswith(tag.encode() + b" "):
                return line

    def close(self):
        self.s.close()


# --- logins do not block the event loop --------------------------------

def test_slow_login_does_not_stall_other_sessions(instance):
    """While one session's password (a costly yescrypt hash) is being
    checked, another session's NOOPs are answered at once."""
    users = instance.dir / "users"
    lines = users.read_text().splitlines()
    for i, line in enumerate(lines):
        f = line.split(":")
        if f[0] == instance.user:
            f[1] = slow_hash(instance.password)
            lines[i] = ":".join(f)
    users.write_text("\n".join(lines) + "\n")
    instance.set(imapd_tls_auth_only="no")
    instance.start()
    port = instance.ports["imap"]
    instance.wait_port(port)
    try:
        b = Raw(port)
        t0 = time.monotonic()
        b.send(f'b1 LOGIN {instance.user} "{instance.password}"')
        assert b.tagged("b1").startswith(b"b1 OK")
        hash_time = time.monotonic() - t0

        a = Raw(port)
        a.send(f'a1 LOGIN {instance.user} "{instance.password}"')
        t_a = time.monotonic()
        latencies = []
        a.s.setblocking(False)
        a_reply = b""
        n = 0
        while b"a1 " not in a_reply:
            n += 1
            t = time.monotonic()
            b.send(f"n{n} NOOP")
            assert b.tagged(f"n{n}").startswith(f"n{n} OK".encode())
            latencies.append(time.monotonic() - t)
            try:
                a_reply += a.s.recv(4096)
            except BlockingIOError:
                pass
            assert time.monotonic() - t_a < 60
        login_time = time.monotonic() - t_a
        assert b"a1 OK" in a_reply
        # The hash must really be slow for the test to mean anything.
        assert hash_time > 0.2 and login_time > 0.2, (hash_time, login_time)
        assert n >= 3, latencies
        assert max(latencies) < login_time / 2, (latencies, login_time)
        a.close()
        b.close()
    finally:
        instance.stop()


def test_wrong_password_and_logout_during_check(imap_inst):
    """A failed login answers NO; a client gone while its password is
    checked leaves the server serving the others."""
    r = Raw(imap_inst.ports["imap"])
    r.send(f'x1 LOGIN {imap_inst.user} "wrong"')
    assert b"AUTHENTICATIONFAILED" in r.tagged("x1")
    # Pipelined: the command after LOGIN runs only once LOGIN is done.
    r.send(f'x2 LOGIN {imap_inst.user} "{imap_inst.password}"\r\n'
           f'x3 SELECT INBOX')
    assert r.tagged("x2").startswith(b"x2 OK")
    assert r.tagged("x3").startswith(b"x3 OK")
    r.close()
    gone = Raw(imap_inst.ports["imap"])
    gone.send(f'g1 LOGIN {imap_inst.user} "{imap_inst.password}"')
    gone.close()
    m = login(imap_inst)
    assert m.noop()[0] == "OK"
    m.logout()


# --- imapd_client_connection_count_limit -------------------------------

def test_connection_limit_per_address(instance):
    instance.set(imapd_tls_auth_only="no",
                 imapd_client_connection_count_limit="3")
    instance.start()
    port = instance.ports["imap"]
    instance.wait_port(port)
    try:
        conns = [Raw(port) for _ in range(3)]
        for c in conns:
            assert c.greeting.startswith(b"* OK"), c.greeting
        over = Raw(port)
        assert over.greeting.startswith(b"* BYE"), over.greeting
        assert b"Too many connections" in over.greeting
        with pytest.raises((EOFError, ConnectionError)):
            over.line()
        over.close()
        assert "too many connections" in instance.log()
        # A slot frees up when a session ends.
        conns.pop().close()

        def fits():
            r = Raw(port)
            ok = r.greeting.startswith(b"* OK")
            r.close()
            return ok
        assert poll(fits)
        for c in conns:
            c.close()
    finally:
        instance.stop()


# --- SEARCH BODY/TEXT in base64 and quoted-printable text ---------------

ENCODED = (b"From: ann@example.test\nTo: demo@example.test\n"
           b"Subject: encoded\nMIME-Version: 1.0\n"
           b"Content-Type: multipart/mixed; boundary=\"b1\"\n\n"
           b"--b1\nContent-Type: text/plain; charset=utf-8\n"
           b"Content-Transfer-Encoding: base64\n\n"
           # "The zebra crossing is closed.\n"
           b"VGhlIHplYnJhIGNyb3NzaW5nIGlzIGNsb3NlZC4K\n"
           b"--b1\nContent-Type: text/html; charset=utf-8\n"
           b"Content-Transfer-Encoding: quoted-printable\n\n"
           b"<p>A soft=\nbreak and caf=C3=A9 noir</p>\n"
           b"--b1\nContent-Type: application/octet-stream\n"
           b"Content-Transfer-Encoding: base64\n\n"
           # "giraffe" in a part that is not text
           b"Z2lyYWZmZQ==\n--b1--\n")

PLAIN = (b"From: bob@example.test\nTo: demo@example.test\n"
         b"Subject: plain\n\nnothing encoded here: zebra-free\n")


def test_search_body_decodes_text_parts(imap_inst):
    deliver(imap_inst, PLAIN)
    deliver(imap_inst, ENCODED)
    m = login(imap_inst)
    m.select("INBOX")

    def search(*crit):
        typ, data = m.search(None, *crit)
        assert typ == "OK"
        return data[0].split()
    assert search("BODY", "crossing") == [b"2"]
    assert search("BODY", "\"ZEBRA CROSSING\"") == [b"2"]
    assert search("TEXT", "crossing") == [b"2"]
    assert search("BODY", "softbreak") == [b"2"]
    assert search("BODY", "zebra") == [b"1", b"2"]
    # The raw base64 text still matches; a binary part is not decoded.
    assert search("BODY", "VGhlIHplYnJh") == [b"2"]
    assert search("BODY", "giraffe") == []
    assert search("NOT", "BODY", "crossing") == [b"1"]
    m.literal = "café".encode()
    typ, data = m.search("UTF-8", "BODY")
    assert typ == "OK" and data[0].split() == [b"2"]
    m.logout()


# --- header-only reads ----------------------------------------------------

def test_header_only_reads_match_whole_message(imap_inst):
    """ENVELOPE, RFC822.HEADER, BODY[HEADER...] and header SEARCH keys give
    the same results whether or not the rest of the message is read."""
    long_hdr = b"".join(b"X-Pad-%d: %s\n" % (i, b"p" * 70)
                        for i in range(200))      # > 8 KiB: several reads
    msgs = [
        b"From: a@example.test\nSubject: normal one\n\nbody\n",
        b"From: b@example.test\nSubject: no body at all\n",
        b"From: c@example.test\nSubject: ends early\nnot a header line\n"
        b"more\n\nafter blank\n",
        b"From: d@example.test\n" + long_hdr + b"Subject: long header\n\nb\n",
        b"\nno header at all\n",
        # Short lines: CRLF makes the header much longer than its file.
        b"".join(b"A: %d\n" % i for i in range(300)) + b"Subject: short"
        b"\n\nb\n",
    ]
    for data in msgs:
        deliver(imap_inst, data)
    m = login(imap_inst)
    m.select("INBOX")
    n = len(msgs)
    typ, hdr = m.fetch(f"1:{n}", "(RFC822.HEADER)")
    typ2, peek = m.fetch(f"1:{n}", "(BODY.PEEK[HEADER])")
    typ3, whole = m.fetch(f"1:{n}", "(BODY.PEEK[HEADER] BODY.PEEK[TEXT])")
    assert typ == typ2 == typ3 == "OK"
    heads = [x[1] for x in hdr if isinstance(x, tuple)]
    peeks = [x[1] for x in peek if isinstance(x, tuple)]
    wholes = [x[1] for x in whole if isinstance(x, tuple)][0::2]
    assert heads == peeks == wholes
    assert heads[0] == b"From: a@example.test\r\nSubject: normal one\r\n\r\n"
    # mime ends a header at its empty line (the fields after the line
    # that is not one are not parsed, but they are the header's bytes).
    assert heads[2] == (b"From: c@example.test\r\nSubject: ends early\r\n"
                        b"not a header line\r\nmore\r\n\r\n")
    assert heads[4] == b"\r\n"
    assert heads[5].count(b"\r\n") == 302 and heads[5].endswith(
        b"Subject: short\r\n\r\n")
    typ, env = m.fetch(f"1:{n}", "(ENVELOPE)")
    text = b" ".join(x if isinstance(x, bytes) else b"".join(x) for x in env)
    for subj in (b"normal one", b"no body at all", b"ends early",
                 b"long header", b"short"):
        assert b'"' + subj + b'"' in text
    typ, data = m.search(None, "SUBJECT", "header")
    assert data[0].split() == [b"4"]
    typ, data = m.search(None, "HEADER", "X-Pad-199", "ppp")
    assert data[0].split() == [b"4"]
    typ, data = m.search(None, "HEADER", "Subject", "after")
    assert data[0].split() == []
    m.logout()


# --- views of closed folders kept for the next SELECT ---------------------

def test_reselect_after_changes_on_disk(imap_inst):
    """A folder's view kept from an earlier session is brought up to date:
    new, removed and re-flagged messages, \\Recent only for the new."""
    for i in range(3):
        deliver(imap_inst, b"Subject: m%d\n\nbody\n" % i)
    a = login(imap_inst)
    typ, data = a.select("INBOX")
    assert data == [b"3"]
    assert a.untagged_responses.get("RECENT") == [b"3"]
    a.store("1", "+FLAGS", "\\Seen")
    typ, uids = a.fetch("1:3", "(UID)")
    a.logout()

    cur = maildir(imap_inst) / "cur"
    names = sorted(os.listdir(cur))
    assert len(names) == 3
    # Another program flags one message and removes another.
    flagged = [n for n in names if n.endswith(":2,")][0]
    os.rename(cur / flagged, cur / (flagged + "F"))
    gone = [n for n in names if n != flagged and not n.endswith("S")][0]
    os.unlink(cur / gone)
    deliver(imap_inst, b"Subject: m3\n\nbody\n")

    b = login(imap_inst)
    typ, data = b.select("INBOX")
    assert data == [b"3"]
    assert b.untagged_responses.get("RECENT") == [b"1"]
    typ, data = b.fetch("1:3", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    text = b" ".join(x[0] + x[1] if isinstance(x, tuple) else x
                     for x in data)
    assert text.count(b"\\Seen") == 1
    assert text.count(b"\\Flagged") == 1
    assert text.count(b"\\Recent") == 1
    assert b"Subject: m3" in text
    # EXAMINE and SELECT views are not mixed up.
    typ, data = b.select("INBOX", readonly=True)     # EXAMINE
    assert typ == "OK"
    assert b.store("1", "+FLAGS", "\\Deleted")[0] == "NO"
    b.close()
    typ, data = b.select("INBOX")
    assert typ == "OK"
    assert b.store("1", "+FLAGS", "\\Flagged")[0] == "OK"
    b.logout()


def test_reselect_after_delete_and_create(imap_inst):
    m = login(imap_inst)
    assert m.create("Tmp")[0] == "OK"
    m.append("Tmp", None, None, b"Subject: old\r\n\r\nx\r\n")
    typ, data = m.select("Tmp")
    assert data == [b"1"]
    # ENVELOPE of UID 1 goes into imapd's cache.
    typ, data = m.fetch("1", "(ENVELOPE)")
    assert b'"old"' in data[0]
    m.unselect()
    assert m.delete("Tmp")[0] == "OK"
    assert m.create("Tmp")[0] == "OK"
    for i in range(2):
        m.append("Tmp", None, None, b"Subject: new %d\r\n\r\nx\r\n" % i)
    typ, data = m.select("Tmp")
    assert data == [b"2"]
    typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    subjects = [x[1] for x in data if isinstance(x, tuple)]
    assert all(b"new" in s for s in subjects), subjects
    # The new folder's UID 1 is another message, whatever its UIDVALIDITY.
    typ, data = m.fetch("1:*", "(ENVELOPE)")
    assert b'"old"' not in b" ".join(data) and b'"new 0"' in data[0]
    # (UIDVALIDITY may repeat within one second; the view above is the
    # new folder's all the same.)
    assert m.response("UIDVALIDITY")[1] != [None]
    m.logout()


def test_fetch_paced_over_starttls_for_a_client_that_does_not_read(
        instance):
    """STARTTLS, then many FETCHes of a 3 MiB message without reading:
    imapd waits for the client (its output, the TLS filter's included, is
    bounded) instead of growing by what was asked for; everything arrives
    once the client reads.  (Under ASan the allocator's quarantine would
    keep every freed read buffer resident: the daemons get a small one.)"""
    import ssl
    inst = instance
    inst.set(imapd_tls_auth_only="no")
    asan = os.environ.get("ASAN_OPTIONS", "")
    r = inst.run("start", env={"ASAN_OPTIONS": (asan + ":" if asan else "")
                               + "quarantine_size_mb=1"})
    assert r.returncode == 0, r.stderr
    inst.wait_port(inst.ports["imap"])
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    m = imaplib.IMAP4("127.0.0.1", inst.ports["imap"], timeout=60)
    m.starttls(ctx)
    assert m.login(inst.user, inst.password)[0] == "OK"
    pids = [pid for pid, _ in daemons(inst, "imapd")]
    peak = imap_fetch_unread(m, pids)
    # Unpaced, it grows by what was asked: 16 x 3.4 MB.
    assert peak < 24 * 1024, f"imapd grew by {peak} KiB"
    m.logout()
    inst.stop()

