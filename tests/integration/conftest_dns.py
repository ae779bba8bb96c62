"""The `dns` fixture: a test DNS server (dnsserver.TestDNS) on a free
loopback port for one test; point ulak at it with
dns_servers = dns.address.  Registered in conftest.py."""
import pytest

from dnsserver import TestDNS


@pytest.fixture
def dns():
    server = TestDNS()
    server.start()
    yield server
    server.stop()
