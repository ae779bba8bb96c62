"""`ulak dmarc report`: aggregate reports (RFC 7489 7.2) of the data smtpd
records.  Mail from outside (loopback taken out of mynetworks) for two
From: domains whose DMARC records have rua=mailto:, then the report job;
the relayhost is an SMTP sink that receives the reports, whose gzipped
XML is checked with xml.etree.  External destination verification (RFC
7489 7.1) refused and allowed, --dry-run, a damaged log line."""
import email
import gzip
import smtplib
import socket
import time
import xml.etree.ElementTree as ET

import pytest

from smtpsink import Sink
from ulak_queue import wait_for

RCPT = "demo@example.test"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


@pytest.fixture
def sink():
    s = Sink("127.0.0.1", free_port()).start()
    yield s
    s.stop()


@pytest.fixture
def reporting(instance, dns, sink):
    """Outside clients, the test DNS, reports relayed to the sink; two
    domains: a.test (SPF passes, p=none, rua in its own domain) and
    b.test (SPF fails, p=reject, rua at reports.c.test: external)."""
    dns.add("a.test", "TXT", "v=spf1 ip4:127.0.0.0/8 -all")
    dns.add("_dmarc.a.test", "TXT",
            "v=DMARC1; p=none; rua=mailto:agg@a.test")
    dns.add("b.test", "TXT", "v=spf1 -all")
    dns.add("_dmarc.b.test", "TXT",
            "v=DMARC1; p=reject; fo=1; rua=mailto:dmarc@reports.c.test!1m")
    instance.set(mynetworks="192.0.2.0/24", dns_servers=dns.address,
                 dns_timeout="5s", dmarc_enforce="no", spf_reject_on="never",
                 relayhost=f"[127.0.0.1]:{sink.port}")
    instance.start()
    yield instance
    instance.stop()


def send(inst, sender, n):
    for i in range(n):
        with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30) as s:
            s.sendmail(sender, [RCPT],
                       f"From: <{sender}>\r\nTo: <{RCPT}>\r\n"
                       f"Subject: m{i}\r\nMessage-ID: <{i}.{time.time()}"
                       f"@x.test>\r\n\r\nHello.\r\n")


def log_path(inst):
    return inst.dir / "data" / "dmarc-reports.log"


def wait_lines(inst, n):
    def count():
        try:
            lines = log_path(inst).read_text().splitlines()
        except FileNotFoundError:
            return False
        return len(lines) >= n
    wait_for(count, what=f"{n} recorded lines", timeout=30)


def report_of(msg):
    """(recipient, parsed message, XML root, attachment name)."""
    m = email.message_from_bytes(msg.data)
    parts = [p for p in m.walk()
             if p.get_content_type() == "application/gzip"]
    assert len(parts) == 1, msg.data[:2000]
    xml = gzip.decompress(parts[0].get_payload(decode=True))
    return msg.rcpts[0], m, ET.fromstring(xml), parts[0].get_filename()


def rows(root):
    out = []
    for rec in root.findall("record"):
        out.append({
            "ip": rec.findtext("row/source_ip"),
            "count": int(rec.findtext("row/count")),
            "disposition": rec.findtext("row/policy_evaluated/disposition"),
            "dkim": rec.findtext("row/policy_evaluated/dkim"),
            "spf": rec.findtext("row/policy_evaluated/spf"),
            "header_from": rec.findtext("identifiers/header_from"),
            "spf_result": rec.findtext("auth_results/spf/result"),
            "spf_domain": rec.findtext("auth_results/spf/domain"),
        })
    return out


def test_reports_sent_and_external_allowed(reporting, dns, sink):
    dns.add("b.test._report._dmarc.reports.c.test", "TXT", "v=DMARC1")
    send(reporting, "a@a.test", 3)
    send(reporting, "x@b.test", 2)
    wait_lines(reporting, 5)
    r = reporting.run("dmarc", "report")
    assert r.returncode == 0, r.stderr
    assert "a.test: sent to <agg@a.test>: 1 records, 3 messages" in r.stdout
    assert "b.test: sent to <dmarc@reports.c.test>: 1 records, 2 messages" \
        in r.stdout
    wait_for(lambda: len(sink.messages) >= 2, what="two reports",
             timeout=60)
    got = {}
    for msg in sink.messages:
        rcpt, m, root, name = report_of(msg)
        got[root.findtext("policy_published/domain")] = (rcpt, m, root, name)
    assert set(got) == {"a.test", "b.test"}

    rcpt, m, root, name = got["a.test"]
    assert rcpt == "TO:<agg@a.test>"
    assert m["From"] == "<postmaster@example.test>"
    subject = " ".join(m["Subject"].split())
    assert subject.startswith("Report Domain: a.test Submitter: "
                              "mail.example.test Report-ID: <"), subject
    assert name.startswith("mail.example.test!a.test!")
    assert name.endswith(".xml.gz")
    meta = root.find("report_metadata")
    assert meta.findtext("org_name") == "mail.example.test"
    assert meta.findtext("email") == "postmaster@example.test"
    assert meta.findtext("report_id") in subject
    begin = int(meta.findtext("date_range/begin"))
    end = int(meta.findtext("date_range/end"))
    assert begin <= end <= time.time() + 1
    assert name == f"mail.example.test!a.test!{begin}!{end}.xml.gz"
    pp = root.find("policy_published")
    assert (pp.findtext("p"), pp.findtext("pct"), pp.findtext("fo")) == \
        ("none", "100", "0")
    assert rows(root) == [{
        "ip": "127.0.0.1", "count": 3, "disposition": "none",
        "dkim": "fail", "spf": "pass", "header_from": "a.test",
        "spf_result": "pass", "spf_domain": "a.test"}]

    rcpt, m, root, name = got["b.test"]
    assert rcpt == "TO:<dmarc@reports.c.test>"
    assert root.findtext("policy_published/p") == "reject"
    assert root.findtext("policy_published/fo") == "1"
    assert rows(root) == [{
        "ip": "127.0.0.1", "count": 2, "disposition": "reject",
        "dkim": "fail", "spf": "fail", "header_from": "b.test",
        "spf_result": "fail", "spf_domain": "b.test"}]

    # The work file is gone; a second run has nothing to send.
    data = reporting.dir / "data"
    assert not (data / "dmarc-reports.log.work").exists()
    r = reporting.run("dmarc", "report")
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert len(sink.messages) == 2


def test_external_refused_and_damaged_line(reporting, sink):
    send(reporting, "a@a.test", 1)
    send(reporting, "x@b.test", 1)
    wait_lines(reporting, 2)
    with open(log_path(reporting), "a") as f:
        f.write("time=oops\tthis line is damaged\n")
    r = reporting.run("dmarc", "report")
    assert r.returncode == 0, r.stderr
    assert "line 3: field without '=' (skipped)" in r.stderr, r.stderr
    assert "b.test: rua <dmarc@reports.c.test> skipped: external " \
        "destination not authorized: " \
        "b.test._report._dmarc.reports.c.test" in r.stderr, r.stderr
    assert "a.test: sent to <agg@a.test>" in r.stdout
    wait_for(lambda: sink.messages, what="the a.test report", timeout=60)
    # Only a.test's report is queued: wait for the queue to empty, then
    # nothing else may have arrived.
    wait_for(lambda: reporting.run("queue").stdout.strip() in
             ("", "Mail queue is empty"), what="empty queue", timeout=60)
    assert len(sink.messages) == 1
    assert report_of(sink.messages[0])[0] == "TO:<agg@a.test>"


def queue_empty(inst):
    out = inst.run("queue").stdout
    return "Mail queue is empty" in out or out.strip() == ""


def test_dry_run_sends_nothing(reporting, sink):
    send(reporting, "a@a.test", 2)
    wait_lines(reporting, 2)
    # The two messages themselves are delivered first: then the queue
    # shows what the report run adds, if anything.
    wait_for(lambda: queue_empty(reporting), timeout=30,
             what="the test messages to be delivered")
    before = log_path(reporting).read_text()
    r = reporting.run("dmarc", "report", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "a.test: would send to <agg@a.test>: 1 records, 2 messages" \
        in r.stdout, r.stdout
    assert "2 lines, 0 skipped, 1 reports" in r.stdout
    assert log_path(reporting).read_text() == before
    assert not (reporting.dir / "data" / "dmarc-reports.log.work").exists()
    assert queue_empty(reporting)
    assert sink.messages == []


def test_keep_and_size_limit(reporting, dns, sink):
    """--keep leaves the work file; a report over a URI's !size is not
    sent to it."""
    dns.add("d.test", "TXT", "v=spf1 ip4:127.0.0.0/8 -all")
    dns.add("_dmarc.d.test", "TXT",
            "v=DMARC1; p=none; rua=mailto:agg@d.test!1k")
    send(reporting, "a@d.test", 1)
    wait_lines(reporting, 1)
    r = reporting.run("dmarc", "report", "--keep")
    assert r.returncode == 0, r.stderr
    assert "d.test: rua <agg@d.test> skipped: the report" in r.stderr
    assert "over its limit of 1024 bytes" in r.stderr
    work = reporting.dir / "data" / "dmarc-reports.log.work"
    assert work.exists()
    assert not log_path(reporting).exists()


def test_usage(reporting):
    r = reporting.run("dmarc", "report", "extra")
    assert r.returncode == 2
    r = reporting.run("dmarc", "report", "--bogus")
    assert r.returncode == 2
