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
    anchor = dns.sign_zone("dane.test")            # DNSSEC, opt-in per zone
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
data; an unknown name answers NXDOMAIN.

Signed zones (sign_zone, needs python3-dnspython and python3-cryptography;
other zones are served exactly as before): an ECDSA P-256 key (algorithm
13) made for the zone, its DNSKEY and an SOA at the apex, an RRSIG over
every answer RRset of the zone made on the fly, and denial of existence
by compact answers (RFC 9824, "black lies"; the NSEC "white lies" family
of RFC 4470): a name or type that does not exist is answered NOERROR
without data, with the zone's SOA and an NSEC at the query name whose
next name is "\000.<name>" and whose bitmap lacks the type, all signed;
a validator reads that as a secure "no data".  sign_zone returns the
DNSKEY line for a trust anchor file (libunbound's ub_ctx_add_ta_file):
no chain from the root is needed.  dns.bogus(name) makes the signatures
of that name's answers invalid (a DNSSEC-bogus answer).  CNAMEs are followed (at most 8
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
from dnslib.dns import DNSError, EDNS0, RD
from dnslib.label import DNSBuffer
from dnslib.server import BaseResolver, DNSServer


def _fqdn(name):
    return name if name.endswith(".") else name + "."


class _SignedZone:
    """The key of one signed zone and the signing of RRsets on the fly
    (dnspython does the cryptography)."""

    def __init__(self, apex):
        import dns.dnssec
        import dns.name
        from cryptography.hazmat.primitives.asymmetric import ec
        self.apex = apex                       # "dane.test."
        self.origin = dns.name.from_text(apex)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.dnskey = dns.dnssec.make_dnskey(
            self.key.public_key(), dns.dnssec.Algorithm.ECDSAP256SHA256,
            flags=257)

    def anchor(self):
        return f"{self.apex} 3600 IN DNSKEY {self.dnskey.to_text()}"

    def contains(self, name):
        return name == self.apex or name.endswith("." + self.apex)

    def to_dnslib(self, owner, rtype, ttl, rdata):
        """A dnspython rdata as a dnslib RR (raw data)."""
        return RR(owner, rtype, ttl=ttl, rdata=RD(rdata.to_wire()))

    def sign(self, rrs, bad=False):
        """The RRSIG (a dnslib RR) over the RRset RRS (dnslib RRs of one
        owner and type)."""
        import time
        import dns.dnssec
        import dns.name
        import dns.rdata
        import dns.rdataclass
        import dns.rrset
        owner = str(rrs[0].rname)
        rtype = rrs[0].rtype
        ttl = rrs[0].ttl
        rrset = dns.rrset.RRset(dns.name.from_text(owner),
                                dns.rdataclass.IN, rtype)
        for rr in rrs:
            if type(rr.rdata) is RD:       # raw data (DNSKEY, ...)
                wire = bytes(rr.rdata.data)
            else:
                buf = DNSBuffer()
                rr.rdata.pack(buf)
                wire = bytes(buf.data)
            rrset.add(dns.rdata.from_wire(dns.rdataclass.IN, rtype, wire, 0,
                                          len(wire)), ttl)
        now = int(time.time())
        sig = dns.dnssec.sign(rrset, self.key, self.origin, self.dnskey,
                              inception=now - 3600,
                              expiration=now + 86400)
        wire = bytearray(sig.to_wire())
        if bad:
            wire[-1] ^= 0x55               # a signature that fails
        return RR(owner, QTYPE.RRSIG, ttl=ttl, rdata=RD(bytes(wire)))

    def nsec(self, name, types, ttl):
        """The NSEC of a compact denial at NAME (RFC 9824): next name
        \\000.NAME, bitmap TYPES + NSEC + RRSIG."""
        import dns.name
        import dns.rdata
        import dns.rdataclass
        import dns.rdatatype
        words = sorted(set(types) | {"NSEC", "RRSIG"},
                       key=lambda t: dns.rdatatype.from_text(t))
        rd = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.NSEC,
                                 "\\000." + name + " " + " ".join(words))
        return RR(name, QTYPE.NSEC, ttl=ttl, rdata=RD(rd.to_wire()))


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
            signed = o._zone_of(qname)
            if signed is not None:
                return o._sign_reply(signed, request, reply, qname, qtype)
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
        self.signed = {}          # apex -> _SignedZone
        self.bogus_names = set()
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

    def sign_zone(self, apex):
        """Serve zone APEX signed (see the module's text); returns the
        zone's DNSKEY as a trust anchor line."""
        apex = _fqdn(apex).lower()
        z = _SignedZone(apex)
        with self.lock:
            self.signed[apex] = z
            recs = self.records.setdefault(apex, [])
            recs.append(RR(apex, QTYPE.SOA, ttl=60, rdata=SOA(
                "ns." + apex, "hostmaster." + apex,
                (1, 3600, 600, 86400, 60))))
            recs.append(z.to_dnslib(apex, QTYPE.DNSKEY, 3600, z.dnskey))
        return z.anchor()

    def bogus(self, name):
        """Answers for NAME in a signed zone carry broken signatures."""
        with self.lock:
            self.bogus_names.add(_fqdn(name).lower())

    def _zone_of(self, qname):
        best = None
        for apex, z in self.signed.items():
            if z.contains(qname) and (best is None or
                                      len(apex) > len(best.apex)):
                best = z
        return best

    def _sign_reply(self, z, request, reply, qname, qtype):
        """Sign REPLY for zone Z; a missing name or type becomes a
        compact denial (called with the lock held)."""
        bad = qname in self.bogus_names
        if any(r.rtype == QTYPE.OPT for r in request.ar):
            reply.add_ar(EDNS0(flags="do", udp_len=4096))
        groups = {}
        for rr in reply.rr:
            key = (str(rr.rname).lower(), rr.rtype)
            groups.setdefault(key, []).append(rr)
        for (owner, _), rrs in groups.items():
            if z.contains(owner):
                reply.add_answer(z.sign(rrs, bad))
        if reply.rr:
            return reply
        reply.header.rcode = RCODE.NOERROR
        soa = [rr for rr in self.records.get(z.apex, [])
               if rr.rtype == QTYPE.SOA]
        for rr in soa:
            reply.add_auth(rr)
        reply.add_auth(z.sign(soa, bad))
        types = {QTYPE[rr.rtype] for rr in self.records.get(qname, [])}
        types.discard(qtype)
        nsec = z.nsec(qname, types, 60)
        reply.add_auth(nsec)
        reply.add_auth(z.sign([nsec], bad))
        return reply

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
            self.signed.clear()
            self.bogus_names.clear()

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
