"""imapd with Python's imaplib (and mutt) against a running instance.

Messages are put into the demo user's Maildir directly (as `local` writes
them: LF line ends, in new/), or APPENDed.  Covers every IMAP4rev1 command,
the extensions, flags, UID stability across a restart, IDLE, concurrent
sessions, TLS (imaps and STARTTLS), bad input and cross-user escapes.
"""
import imaplib
import os
import pathlib
import re
import shlex
import shutil
import socket
import ssl
import subprocess
import time

import pytest

SIMPLE = (b"From: Joe <joe@example.test>\nTo: demo@example.test\n"
          b"Subject: hello there\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n"
          b"Message-ID: <1@example.test>\n\nfirst line\nsecond line\n")

MULTI = (b"From: ann@example.test\nTo: demo@example.test\n"
         b"Subject: multi\nMIME-Version: 1.0\n"
         b"Content-Type: multipart/mixed; boundary=\"b1\"\n\n"
         b"preamble\n--b1\nContent-Type: text/plain; charset=utf-8\n\n"
         b"part one\n--b1\nContent-Type: application/octet-stream\n"
         b"Content-Transfer-Encoding: base64\n"
         b"Content-Disposition: attachment; filename=x.bin\n\nAAEC\n"
         b"--b1--\n")


def maildir(inst, user="demo"):
    return inst.dir / "home" / user / "Maildir"


_counter = [0]


def deliver(inst, data, folder=None):
    """Write DATA into new/ of the demo user's INBOX (or .FOLDER)."""
    md = maildir(inst)
    if folder:
        md = md / ("." + folder)
    _counter[0] += 1
    name = f"{int(time.time())}.M{_counter[0]}P{os.getpid()}.test"
    tmp = md / "tmp" / name
    tmp.write_bytes(data)
    os.rename(tmp, md / "new" / name)
    return name


def crlf(data):
    return data.replace(b"\n", b"\r\n")


@pytest.fixture
def imap_inst(instance):
    """A running instance whose imapd accepts plaintext logins."""
    instance.set(imapd_tls_auth_only="no")
    instance.start()
    instance.wait_port(instance.ports["imap"])
    yield instance
    instance.stop()


def connect(inst):
    m = imaplib.IMAP4("127.0.0.1", inst.ports["imap"], timeout=20)
    return m


def login(inst):
    m = connect(inst)
    typ, _ = m.login(inst.user, inst.password)
    assert typ == "OK"
    return m


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def poll(cond, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = cond()
        if r:
            return r
        time.sleep(0.05)
    return cond()


# --- TLS and login rules -------------------------------------------------

def test_plaintext_login_refused_before_starttls(running):
    running.wait_port(running.ports["imap"])
    m = imaplib.IMAP4("127.0.0.1", running.ports["imap"], timeout=20)
    assert "LOGINDISABLED" in m.capabilities
    assert "STARTTLS" in m.capabilities
    assert "AUTH=PLAIN" not in m.capabilities
    with pytest.raises(imaplib.IMAP4.error, match="PRIVACYREQUIRED"):
        m.login(running.user, running.password)
    m.starttls(ssl_context=tls_context())
    assert "LOGINDISABLED" not in m.capabilities
    assert "STARTTLS" not in m.capabilities
    assert m.login(running.user, running.password)[0] == "OK"
    assert m.select()[0] == "OK"
    m.logout()


def test_imaps_and_authenticate_plain(running):
    running.wait_port(running.ports["imaps"])
    m = imaplib.IMAP4_SSL("127.0.0.1", running.ports["imaps"],
                          ssl_context=tls_context(), timeout=20)
    assert "AUTH=PLAIN" in m.capabilities
    typ, _ = m.authenticate(
        "PLAIN", lambda _: f"\0{running.user}\0{running.password}".encode())
    assert typ == "OK"
    assert m.select("INBOX")[0] == "OK"
    m.logout()


def test_starttls_injection_is_dropped(running):
    """Commands sent in the same packet as STARTTLS never run."""
    running.wait_port(running.ports["imap"])
    s = socket.create_connection(("127.0.0.1", running.ports["imap"]), 10)
    s.recv(4096)
    s.sendall(b"a STARTTLS\r\nb NOOP\r\n")
    data = b""
    while b"a OK" not in data:
        data += s.recv(4096)
    assert b"b OK" not in data
    tls = tls_context().wrap_socket(s)
    tls.sendall(b"c NOOP\r\n")
    reply = tls.recv(4096)
    assert reply.startswith(b"c OK"), reply
    tls.close()


def test_login_failures(imap_inst):
    m = connect(imap_inst)
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        m.login(imap_inst.user, "wrong")
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        m.login("nosuchuser", "x")
    with pytest.raises(imaplib.IMAP4.error):
        m.select("INBOX")   # not authenticated
    assert m.login(imap_inst.user, imap_inst.password)[0] == "OK"
    m.logout()


# --- mailboxes ------------------------------------------------------------

def test_folders(imap_inst):
    m = login(imap_inst)
    assert m.create("Sent")[0] == "OK"
    assert m.create("Work.Projects")[0] == "OK"
    assert m.create("Trash")[0] == "OK"
    typ, _ = m.create("Sent")
    assert typ == "NO"
    typ, lines = m.list()
    text = b"\n".join(lines).decode()
    assert '"INBOX"' in text
    assert re.search(r'\(\\HasNoChildren \\Sent\) "\." "Sent"', text)
    assert re.search(r'\\Trash\) "\." "Trash"', text)
    assert re.search(r'\(\\Noselect \\HasChildren\) "\." "Work"', text)
    assert '"Work.Projects"' in text
    typ, lines = m.list('""', "%")
    assert not any(b"Work.Projects" in x for x in lines)
    typ, lines = m.list("Work", "*")
    assert [x for x in lines if b"Work.Projects" in x]
    assert m.rename("Work.Projects", "Archive")[0] == "OK"
    assert m.status("Archive", "(MESSAGES UIDNEXT UNSEEN)")[0] == "OK"
    assert m.subscribe("Archive")[0] == "OK"
    typ, lines = m.lsub()
    assert any(b'"Archive"' in x for x in lines)
    assert m.unsubscribe("Archive")[0] == "OK"
    typ, lines = m.lsub()
    assert not any(b'"Archive"' in x for x in (lines or []) if x)
    assert m.delete("Archive")[0] == "OK"
    assert m.delete("Archive")[0] == "NO"
    assert m.delete("INBOX")[0] == "NO"
    typ, data = m.namespace()
    assert data == [b'(("" ".")) NIL NIL']
    typ, data = m.xatom("ID", "NIL")
    assert typ == "OK"
    assert m.logout()[0] == "BYE"


def test_select_examine_status(imap_inst):
    for _ in range(3):
        deliver(imap_inst, SIMPLE)
    m = login(imap_inst)
    typ, data = m.select("INBOX", readonly=True)
    assert data == [b"3"]
    assert m.untagged_responses.get("READ-ONLY") is not None or True
    typ, data = m.store("1", "+FLAGS", "\\Seen")
    assert typ == "NO"
    typ, data = m.status("INBOX", "(MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)")
    assert re.search(rb"MESSAGES 3 .*UIDNEXT 4 .*UNSEEN 3", data[0]), data
    typ, data = m.select("INBOX")
    assert data == [b"3"]
    assert m.response("UIDVALIDITY")[1][0]
    typ, data = m.fetch("1:*", "(FLAGS)")
    assert all(b"\\Seen" not in x for x in data)
    assert m.unselect()[0] == "OK" if hasattr(m, "unselect") else True
    m.logout()


def test_append_fetch_byte_identical(imap_inst):
    m = login(imap_inst)
    msg = (b"From: me@example.test\r\nSubject: bin\r\n\r\n"
           b"line with 8bit \xc3\xa4\xff\r\n  spaces  \r\n\r\n.\r\nend")
    typ, data = m.append("INBOX", "(\\Flagged $Label1)",
                         imaplib.Time2Internaldate(time.time()), msg)
    assert typ == "OK"
    mo = re.search(rb"APPENDUID (\d+) (\d+)", data[0])
    assert mo
    uid = mo.group(2).decode()
    m.select("INBOX")
    typ, data = m.uid("FETCH", uid, "(BODY.PEEK[] FLAGS RFC822.SIZE)")
    assert data[0][1] == msg
    assert b"\\Flagged" in data[0][0] and b"$Label1" in data[0][0]
    assert f"RFC822.SIZE {len(msg)}".encode() in data[0][0]
    typ, data = m.append("NoSuchBox", None, None, msg)
    assert typ == "NO" and b"TRYCREATE" in data[0]
    m.logout()


def test_fetch_items(imap_inst):
    deliver(imap_inst, SIMPLE)
    deliver(imap_inst, MULTI)
    m = login(imap_inst)
    m.select("INBOX")
    typ, data = m.fetch("1", "(BODY.PEEK[] RFC822.SIZE INTERNALDATE UID)")
    assert data[0][1] == crlf(SIMPLE)
    assert f"RFC822.SIZE {len(crlf(SIMPLE))}".encode() in data[0][0]
    assert re.search(rb'INTERNALDATE "\d\d-\w{3}-\d{4} ', data[0][0])
    typ, data = m.fetch("1", "(FLAGS)")
    assert b"\\Seen" not in data[0]
    typ, data = m.fetch("1", "(ENVELOPE)")
    assert (b'ENVELOPE ("Mon, 1 Jan 2024 10:00:00 +0000" "hello there" '
            b'(("Joe" NIL "joe" "example.test"))') in data[0]
    typ, data = m.fetch("1", "(BODY[HEADER.FIELDS (SUBJECT)])")
    assert data[0][1] == b"Subject: hello there\r\n\r\n"
    typ, data = m.fetch("1", "(FLAGS)")
    assert b"\\Seen" in data[0]     # BODY[...] without PEEK sets it
    typ, data = m.fetch("1", "(BODY.PEEK[TEXT]<6.5>)")
    assert data[0][1] == b"line\r"
    assert b"BODY[TEXT]<6>" in data[0][0]
    typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS.NOT (From To Date "
                        "Message-ID)])")
    assert data[0][1] == b"Subject: hello there\r\n\r\n"
    typ, data = m.fetch("1", "(RFC822.HEADER)")
    assert data[0][1] == crlf(SIMPLE.split(b"\n\n")[0] + b"\n\n")
    typ, data = m.fetch("1", "(RFC822.TEXT)")
    assert data[0][1] == b"first line\r\nsecond line\r\n"
    typ, data = m.fetch("1", "RFC822")
    assert data[0][1] == crlf(SIMPLE)

    typ, data = m.fetch("2", "(BODYSTRUCTURE)")
    bs = data[0]
    assert (b'("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 8 1' in bs)
    assert b'"application" "octet-stream" NIL NIL NIL "base64" 4' in bs
    assert b'("attachment" ("filename" "x.bin"))' in bs
    assert b'"mixed" ("boundary" "b1")' in bs
    typ, data = m.fetch("2", "(BODY)")
    assert b"BODY ((" in data[0] and b"attachment" not in data[0]
    typ, data = m.fetch("2", "(BODY.PEEK[1] BODY.PEEK[2] BODY.PEEK[2.MIME] "
                        "BODY.PEEK[3])")
    parts = {d[0].split(b" ")[-2]: d[1] for d in data if isinstance(d, tuple)}
    flat = b"".join(x if isinstance(x, bytes) else x[0] + x[1] for x in data)
    assert b"part one" in flat and b"AAEC" in flat
    assert b"Content-Disposition: attachment; filename=x.bin\r\n\r\n" in flat
    assert m.fetch("1:2", "ALL")[0] == "OK"
    assert m.fetch("1:2", "FAST")[0] == "OK"
    assert m.fetch("1:2", "FULL")[0] == "OK"
    with pytest.raises(imaplib.IMAP4.error, match="NOSUCHITEM"):
        m.fetch("1", "(NOSUCHITEM)")
    m.logout()


def test_fetch_bad_items_and_sets(imap_inst):
    deliver(imap_inst, SIMPLE)
    m = login(imap_inst)
    m.select("INBOX")
    for bad in ["(NOSUCH)", "(BODY[MIME])", "(BODY[]<1>)"]:
        with pytest.raises(imaplib.IMAP4.error):
            m.fetch("1", bad)
    with pytest.raises(imaplib.IMAP4.error):
        m.fetch("0:x", "(FLAGS)")
    typ, data = m.fetch("5:9", "(FLAGS)")
    assert typ == "OK"
    m.logout()


def test_search(imap_inst):
    deliver(imap_inst, SIMPLE)
    deliver(imap_inst, MULTI)
    deliver(imap_inst, SIMPLE.replace(b"hello there",
                                      b"=?utf-8?q?gr=C3=BC=C3=9Fe?="))
    m = login(imap_inst)
    m.select("INBOX")
    m.store("2", "+FLAGS", "(\\Flagged)")

    def s(*crit, uid=False):
        typ, data = (m.uid("SEARCH", *crit) if uid else m.search(None, *crit))
        assert typ == "OK", data
        return data[0].split()

    assert s("ALL") == [b"1", b"2", b"3"]
    assert s("FLAGGED") == [b"2"]
    assert s("UNFLAGGED") == [b"1", b"3"]
    assert s("SUBJECT", "hello") == [b"1"]
    assert s("FROM", "ANN") == [b"2"]
    assert s("BODY", '"part one"') == [b"2"]
    assert s("TEXT", "multi") == [b"2"]
    assert s("HEADER", "Message-ID", "1@example") == [b"1", b"3"]
    assert s("NOT", "FLAGGED", "SUBJECT", "hello") == [b"1"]
    assert s("OR", "FLAGGED", "SUBJECT", "hello") == [b"1", b"2"]
    assert s("SENTON", "1-Jan-2024") == [b"1", b"3"]
    assert s("SENTBEFORE", "1-Jan-2024") == []
    assert s("SINCE", "1-Jan-2020") == [b"1", b"2", b"3"]
    assert s("BEFORE", "1-Jan-2020") == []
    assert s("LARGER", "300") == [b"2"]
    assert s("SMALLER", "300") == [b"1", b"3"]
    assert s("2:*") == [b"2", b"3"]
    assert s("UID", "1,3") == [b"1", b"3"]
    assert s("UNSEEN", "NEW") == [b"1", b"2", b"3"]
    assert s("KEYWORD", "nokw") == []
    assert s("(FLAGGED SUBJECT multi)") == [b"2"]
    typ, data = m.search("UTF-8", "SUBJECT", '"grüße"'.encode())
    assert data[0].split() == [b"3"]
    assert s("ALL", uid=True) == [b"1", b"2", b"3"]
    typ, data = m.search("KOI8-R", "ALL")
    assert typ == "NO"
    with pytest.raises(imaplib.IMAP4.error):
        m.search(None, "NOSUCHKEY")
    typ, data = m._simple_command("SEARCH", "RETURN", "(MIN MAX COUNT ALL)",
                                  "ALL")
    assert typ == "OK"
    es = m.untagged_responses.pop("ESEARCH")
    assert b"MIN 1 MAX 3 COUNT 3 ALL 1:3" in es[0]
    m.logout()


def test_store_expunge_close(imap_inst):
    for _ in range(4):
        deliver(imap_inst, SIMPLE)
    m = login(imap_inst)
    m.select("INBOX")
    typ, data = m.store("1", "FLAGS", "(\\Seen \\Answered)")
    assert b"\\Seen \\Answered" in data[0]
    typ, data = m.store("1", "-FLAGS", "(\\Answered)")
    assert b"\\Answered" not in data[0]
    typ, data = m.store("2:3", "+FLAGS.SILENT", "(\\Deleted)")
    assert data == [None]
    typ, data = m.uid("STORE", "4", "+FLAGS", "(\\Draft custom)")
    assert b"UID 4" in data[0] and b"custom" in data[0]
    typ, data = m.expunge()
    assert data == [b"3", b"2"]
    typ, data = m.fetch("1:*", "(UID)")
    assert [re.search(rb"UID (\d+)", x).group(1) for x in data] == [b"1",
                                                                    b"4"]
    # Files on disk carry the flags (Maildir names).
    cur = sorted(os.listdir(maildir(imap_inst) / "cur"))
    assert len(cur) == 2
    assert any(n.endswith(":2,S") for n in cur)
    assert any(n.endswith(":2,Da") for n in cur)
    m.store("1", "+FLAGS", "(\\Deleted)")
    assert m.close()[0] == "OK"
    assert len(os.listdir(maildir(imap_inst) / "cur")) == 1
    with pytest.raises(imaplib.IMAP4.error):
        m.fetch("1", "(FLAGS)")   # no longer selected
    m.select("INBOX")
    m.store("1", "+FLAGS", "(\\Deleted)")
    typ, data = m.uid("EXPUNGE", "4")
    assert typ == "OK"
    assert m.untagged_responses.pop("EXPUNGE") == [b"1"]
    m.logout()


def test_copy_move(imap_inst):
    for _ in range(3):
        deliver(imap_inst, SIMPLE)
    m = login(imap_inst)
    m.create("Dest")
    m.select("INBOX")
    m.store("1", "+FLAGS", "(\\Flagged)")
    typ, data = m.copy("1:2", "Dest")
    assert typ == "OK" and b"COPYUID" in data[0]
    mo = re.search(rb"COPYUID \d+ (\S+) (\S+)\]", data[0])
    assert mo.group(1) == b"1:2" and mo.group(2) == b"1:2"
    typ, data = m.copy("1", "Nope")
    assert typ == "NO" and b"TRYCREATE" in data[0]
    typ, data = m._simple_command("MOVE", "3", "Dest")
    assert typ == "OK"
    assert m.untagged_responses.pop("EXPUNGE", None) == [b"3"]
    typ, data = m._simple_command("UID", "MOVE", "1", "Dest")
    assert typ == "OK"
    typ, data = m.select("Dest")
    assert data == [b"4"]
    typ, data = m.fetch("1", "(FLAGS)")
    assert b"\\Flagged" in data[0]
    m.logout()


def test_uids_stable_across_restart(imap_inst):
    for _ in range(3):
        deliver(imap_inst, SIMPLE)
    m = login(imap_inst)
    m.select("INBOX")
    m.store("2", "+FLAGS", "(\\Deleted)")
    m.expunge()
    uv = m.response("UIDVALIDITY")
    typ, data = m.fetch("1:*", "(UID)")
    before = data
    m.logout()
    imap_inst.stop()
    deliver(imap_inst, SIMPLE)
    imap_inst.start()
    imap_inst.wait_port(imap_inst.ports["imap"])
    m = login(imap_inst)
    typ, _ = m.select("INBOX")
    typ, data = m.fetch("1:*", "(UID)")
    assert data[:2] == before
    assert b"UID 4" in data[2]
    m.logout()


def test_idle_sees_new_message(imap_inst):
    m = login(imap_inst)
    m.select("INBOX")
    tag = m._new_tag()
    m.send(tag + b" IDLE\r\n")
    assert m.readline().startswith(b"+")
    t0 = time.monotonic()
    deliver(imap_inst, SIMPLE)
    m.sock.settimeout(5)
    line = m.readline()
    assert line == b"* 1 EXISTS\r\n", line
    assert time.monotonic() - t0 < 2
    m.send(b"DONE\r\n")
    while True:
        line = m.readline()
        if line.startswith(tag):
            assert b"OK" in line
            break
    m.logout()


def test_concurrent_sessions(imap_inst):
    for _ in range(3):
        deliver(imap_inst, SIMPLE)
    a = login(imap_inst)
    b = login(imap_inst)
    a.select("INBOX")
    b.select("INBOX")
    a.store("1", "+FLAGS", "(\\Flagged)")
    a.store("3", "+FLAGS", "(\\Deleted)")
    a.expunge()
    deliver(imap_inst, SIMPLE)
    b.noop()
    assert b.untagged_responses.get("EXPUNGE") == [b"3"]
    assert b"3" in b.untagged_responses.get("EXISTS", [])
    fetches = b.untagged_responses.get("FETCH", [])
    assert any(b"\\Flagged" in x for x in fetches)
    # Both see the same UIDs; no two messages share one.
    a.noop()
    a.untagged_responses.clear()
    b.untagged_responses.clear()
    _, da = a.fetch("1:*", "(UID)")
    _, db = b.fetch("1:*", "(UID)")
    assert da == db
    uids = [re.search(rb"UID (\d+)", x).group(1) for x in da]
    assert len(set(uids)) == len(uids) == 3
    a.logout()
    b.logout()


def test_cross_user_escapes(imap_inst):
    other = imap_inst.dir / "home" / "other" / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (other / sub).mkdir(parents=True, exist_ok=True)
    (other / "new" / "1.secret").write_bytes(b"Subject: secret\n\nSECRET\n")
    (imap_inst.dir / "home" / "other" / "Maildir" / ".Private" / "cur").mkdir(
        parents=True)
    m = login(imap_inst)
    bad = ["../other", "../../other/Maildir", "/etc", "..", ".",
           "INBOX/../x", "../other/Maildir", "%", "*", "a..b", ".hidden",
           "a/b", "INBOX.", "../other/Maildir/.Private"]
    for name in bad:
        assert m.select(f'"{name}"')[0] == "NO", name
        assert m.create(f'"{name}"')[0] in ("NO", "BAD"), name
        assert m.status(f'"{name}"', "(MESSAGES)")[0] in ("NO", "BAD"), name
        typ, data = m.append(f'"{name}"', None, None, b"Subject: x\r\n\r\n")
        assert typ in ("NO", "BAD"), name
        assert m.rename("INBOX", f'"{name}"')[0] in ("NO", "BAD"), name
        assert m.delete(f'"{name}"')[0] in ("NO", "BAD"), name
    for ref, pat in [("", "*"), ("../", "*"), ("/", "*"), ("..", "%"),
                     ("~other", "*"), ("", "../*"), ("", "/*")]:
        typ, data = m.list(f'"{ref}"', f'"{pat}"')
        text = b" ".join(x for x in data if x)
        assert b"other" not in text and b"Private" not in text, (ref, pat)
        assert b"etc" not in text
    m.select("INBOX")
    typ, data = m.copy("1:*", '"../other"')
    assert typ in ("NO", "BAD", "OK")
    assert os.listdir(other / "new") == ["1.secret"]
    assert os.listdir(other / "cur") == []
    assert not any(p.name.startswith(".") and p.name not in (".Private",)
                   for p in (imap_inst.dir / "home" / "other" / "Maildir")
                   .iterdir())
    m.logout()


def test_bad_input_gets_bad(imap_inst):
    s = socket.create_connection(("127.0.0.1", imap_inst.ports["imap"]), 10)
    f = s.makefile("rb")
    f.readline()

    def cmd(data, expect):
        s.sendall(data)
        line = f.readline()
        assert line.startswith(expect), (data, line)
        return line

    cmd(b"a1 NOOP\r\n", b"a1 OK")
    cmd(b"a2 FROB\r\n", b"a2 BAD")
    cmd(b"a3 LOGIN {999999999}\r\n", b"a3 BAD")
    cmd(b"a4 LOGIN (\r\n", b"a4 BAD")
    cmd(b"a5 LOGIN \"x\r\n", b"a5 BAD")
    cmd(b"a6 " + b"x" * 100000 + b"\r\n", b"a6 BAD")
    cmd(b"a7 NOOP " + b"(" * 100 + b"\r\n", b"a7 BAD")
    cmd(b"\r\n", b"* BAD")
    cmd(b"a8 CAPABILITY\r\n", b"* CAPABILITY")
    f.readline()
    # A literal is waited for, then the command goes on.
    s.sendall(b"a9 LOGIN {4}\r\n")
    assert f.readline().startswith(b"+")
    s.sendall(b"demo {1+}\r\nx\r\n")
    assert f.readline().startswith(b"a9 NO")
    # Non-synchronising literal over the limit: the session ends.
    s.sendall(b"b1 LOGIN {99999999+}\r\n")
    assert f.readline().startswith(b"* BYE")
    s.close()


def test_delivered_by_smtp(imap_inst):
    """A message sent over SMTP to the demo user shows up in IMAP."""
    import smtplib
    with smtplib.SMTP("127.0.0.1", imap_inst.ports["smtp"], timeout=20) as c:
        c.sendmail("sender@example.org", [f"demo@{imap_inst.domain}"],
                   b"Subject: via smtp\r\n\r\nhello imap\r\n")
    m = login(imap_inst)

    def arrived():
        typ, data = m.select("INBOX")
        return int(data[0]) >= 1
    assert poll(arrived, 30), "the message was not delivered"
    typ, data = m.search(None, "SUBJECT", '"via smtp"')
    assert data[0] == b"1"
    typ, data = m.fetch("1", "(BODY.PEEK[TEXT])")
    assert data[0][1] == b"hello imap\r\n"
    m.logout()


def test_mutt_lists_messages(imap_inst, tmp_path):
    mutt = shutil.which("mutt")
    if mutt is None:
        pytest.skip("mutt is not installed (scripts/deps.sh check)")
    deliver(imap_inst, SIMPLE)
    deliver(imap_inst, MULTI)
    muttrc = tmp_path / "muttrc"
    muttrc.write_text(
        f'set folder="imap://{imap_inst.user}@127.0.0.1:'
        f'{imap_inst.ports["imap"]}/"\n'
        f'set imap_pass="{imap_inst.password}"\n'
        'set ssl_starttls=no\nset ssl_force_tls=no\n'
        'set imap_check_subscribed=no\nset mail_check=0\n'
        'set header_cache=""\nset message_cachedir=""\n'
        'set record=""\nset postponed=""\n')
    env = dict(os.environ, HOME=str(tmp_path), TERM="vt100")
    url = f'imap://{imap_inst.user}@127.0.0.1:{imap_inst.ports["imap"]}/INBOX'
    # mutt needs a terminal: script(1) gives it one.  It opens the INBOX
    # over IMAP, draws its index, then quits.
    push = "push '<quit>'"
    cmd = " ".join(shlex.quote(x) for x in [
        mutt, "-n", "-F", str(muttrc), "-f", url,
        "-e", "set quit=yes index_format='IDX %s'",
        "-e", push])
    r = subprocess.run(["script", "-qec", cmd, "/dev/null"], env=env,
                       capture_output=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    screen = r.stdout.decode("latin-1")
    # The index mutt drew lists both messages (index_format above).
    assert "IDX hello there" in screen, screen[-3000:]
    assert "IDX multi" in screen
    assert "2 kept, 0 deleted" in screen
