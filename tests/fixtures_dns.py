"""Fixtures for the loopback DNS server: one server per test session, emptied before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.adapters.dns import DnsClient, make_resolver
from core.kernel.settings import Nameserver
from tests.dnsserver import LocalDns

# Short enough that TIMEOUT tests stay quick, long enough for a loaded CI machine answering on loopback.
DNS_TEST_TIMEOUT = 0.5


@pytest.fixture(scope="session")
def _dns_server_session() -> Iterator[LocalDns]:
    with LocalDns() as server:
        yield server


@pytest.fixture
def dns_server(_dns_server_session: LocalDns) -> Iterator[LocalDns]:
    """A started LocalDns on 127.0.0.1 with no records, no failures and zeroed counters."""
    _dns_server_session.reset()
    yield _dns_server_session
    _dns_server_session.reset()


@pytest.fixture
def dns_client(dns_server: LocalDns) -> DnsClient:
    """A fresh DnsClient (empty memo) sending every query to `dns_server`."""
    host, port = dns_server.address
    return DnsClient(make_resolver((Nameserver(host, port),), timeout=DNS_TEST_TIMEOUT))
