"""A test DNS server on a free loopback port (UDP and TCP), serving the
records a test gives it.  Built on python3-dnslib.

    dns = TestDNS()
    dns.add("example.test", "MX", "10 mx1.example.test")
    dns.add("mx1.example.test", "A", "127.0.0.1")
    dns.add("nomail.test", "MX", "0 .")           # null MX (RFC 7505)
    dns.servfail("broken.test")                    # SERVFAIL for any type
    dns.timeout("slow.test")                       # never answers
    dns.timeout("half.test", "TXT")                # never answers for TXT
    dns.add("multi.test", "TXT", ["v=spf1 ", "-all"])  # several strings
    dns.add("old.test", "SPF", "v=spf1 -all")      # type 99 (RFC 4408)
    dns.add_rr(RR(...))                            # a dnslib RR as it is
    dns.start()
    dns.address     # "127.0.0.1:PORT", for dns_servers
    dns.queries     # [(name, type), ...] seen so far
    dns.stop()

Record values use zone-file syntax after the type: A "127.0.0.1", AAAA
"::1", MX "10 mx.example.test", TXT '"v=spf1 -all"' (or a plain string,
quoted for you), PTR/CNAME "host.example.test", TLSA "3 1 1 HEX".  TXT
and SPF also take a list of strings (str, UTF-8 encoded, or bytes): one
record of that many character-strings (an empty list: no strings at
all, which resolvers may refuse).
A name with records but none of the asked type answers NOERROR without
data; an unknown name answers NXDOMAIN.  CNAMEs are followed (at most 8
steps, so a CNAME loop returns the chain and lets the resolver fail).

Run as a program (for C unit tests):
    python3 dnsserver.py ZONEFILE
prints the port on stdout, then serves until stdin closes.  ZONEFILE has
lines "NAME TYPE VALUE", "NAME SERVFAIL" or "NAME TIMEOUT".
"""
import random
import socket
import sys
import threading

from dnslib import DNSLabel, DNSRecord, QTYPE, RCODE, RR, SOA, TXT
from dnslib.dns import DNSError
from dnslib.server import BaseResolver, DNSServer


def _fqdn(name):
    return name if name.endswith(".") else name + "."


class _QuietLogger:
    def __getattr__(self, name):
        return lambda *a, **k: None


class _Resolver(BaseResolver):
    def __init__(self, owner):
        self.owner = owner

    def resolve(self, request, handler):
        o = self.owner
        q = request.q
        qname = str(q.qname).lower()
        qtype = QTYPE[q.qtype]
        with o.lock:
            o.queries.append((qname.rstrip("."), qtype))
            if qname in o.timeouts or (qname, qtype) in o.type_timeouts:
                raise DNSError("test: never answer " + qname)
            reply = request.reply()
            reply.header.ra = 1
            if qname in o.servfails:
                reply.header.rcode = RCODE.SERVFAIL
                return reply
            name = qname
            for _ in range(9):
                rrs = o.records.get(name)
                if rrs is None:
                    if name == qname:
                        reply.header.rcode = RCODE.NXDOMAIN
                    break
                match = [rr for rr in rrs if QTYPE[rr.rtype] == qtype]
                if match:
                    for rr in match:
                        reply.add_answer(rr)
                    break
                cname = [rr for rr in rrs if rr.rtype == QTYPE.CNAME]
                if not cname:
                    break
                reply.add_answer(cname[0])
                name = str(cname[0].rdata.label).lower()
                if name in o.servfails:
                    reply.header.rcode = RCODE.SERVFAIL
                    return reply
            if not reply.rr:
                zone = ".".join(qname.rstrip(".").split(".")[-1:]) + "."
                reply.add_auth(RR(zone, QTYPE.SOA, ttl=60, rdata=SOA(
                    "ns." + zone, "hostmaster." + zone,
                    (1, 3600, 600, 86400, 60))))
            return reply


class TestDNS:
    def __init__(self):
        self.records = {}
        self.servfails = set()
        self.timeouts = set()
        self.type_timeouts = set()
        self.queries = []
        self.lock = threading.Lock()
        self.port = None
        self._servers = []

    def add(self, name, rtype, value, ttl=60):
        rtype = rtype.upper()
        if rtype == "SPF" and isinstance(value, (str, bytes)):
            value = [value]
        if rtype in ("TXT", "SPF") and isinstance(value, (list, tuple)):
            strings = [v if isinstance(v, bytes) else v.encode("utf-8")
                       for v in value]
            rr = RR(_fqdn(name), getattr(QTYPE, rtype), ttl=ttl,
                    rdata=TXT(strings))
            with self.lock:
                self.records.setdefault(_fqdn(name).lower(), []).append(rr)
            return
        if rtype == "TXT" and not value.startswith('"'):
            value = '"' + value.replace("\\", "\\\\").replace('"', '\\"') \
                + '"'
        if rtype in ("MX", "CNAME", "PTR") and not value.endswith("."):
            value += "."
        zone = f"{_fqdn(name)} {ttl} IN {rtype} {value}"
        rrs = RR.fromZone(zone)
        with self.lock:
            self.records.setdefault(_fqdn(name).lower(), []).extend(rrs)

    def add_rr(self, rr):
        """Add a dnslib RR object as it is (any type, any owner name)."""
        with self.lock:
            self.records.setdefault(str(rr.rname).lower(), []).append(rr)

    def servfail(self, name):
        with self.lock:
            self.servfails.add(_fqdn(name).lower())

    def timeout(self, name, rtype=None):
        """Never answer NAME: for any type, or only for RTYPE ("TXT")."""
        with self.lock:
            if rtype is None:
                self.timeouts.add(_fqdn(name).lower())
            else:
                self.type_timeouts.add((_fqdn(name).lower(),
                                        rtype.upper()))

    def clear(self):
        with self.lock:
            self.records.clear()
            self.servfails.clear()
            self.timeouts.clear()
            self.type_timeouts.clear()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        resolver = _Resolver(self)
        for _ in range(100):
            # Apart from instance ports (10000-32767, conftest.py) and
            # the ephemeral range.
            port = random.randrange(2000, 10000)
            try:
                udp = DNSServer(resolver, port=port, address="127.0.0.1",
                                logger=_QuietLogger())
                try:
                    tcp = DNSServer(resolver, port=port,
                                    address="127.0.0.1", tcp=True,
                                    logger=_QuietLogger())
                except OSError:
                    udp.server.server_close()
                    continue
            except OSError:
                continue
            self._servers = [udp, tcp]
            self.port = port
            for s in self._servers:
                s.start_thread()
            return self.port
        raise RuntimeError("no free loopback port for the test DNS server")

    def stop(self):
        for s in self._servers:
            s.server.shutdown()
            s.server.server_close()
        self._servers = []


def _main(argv):
    dns = TestDNS()
    with open(argv[1]) as f:
        for line in f:
            parts = line.split(None, 2)
            if not parts or parts[0].startswith("#"):
                continue
            if parts[1].upper() == "SERVFAIL":
                dns.servfail(parts[0])
            elif parts[1].upper() == "TIMEOUT":
                dns.timeout(parts[0])
            else:
                dns.add(parts[0], parts[1], parts[2].strip())
    port = dns.start()
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    sys.stdin.read()
    dns.stop()


if __name__ == "__main__":
    _main(sys.argv)
