"""One TXT query per DKIM token: the CNAME the check reads off its answer is the one a CNAME query at the name gets,
for every shape a token's name can take in live DNS, and a CNAME query is sent only when the TXT query failed."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core.adapters.dns import DnsClient, make_resolver
from core.checks.dkim import cname_at
from core.kernel.models import DkimState, Identity
from core.kernel.settings import Nameserver
from core.run.observe import observe_domain
from tests.dnsserver import LocalDns
from tests.fixtures_dns import DNS_TEST_TIMEOUT
from tests.scenario import KEY_2048

TOKEN = "tok0aaaaaaaaaaaaaaaaaaaaaaaaaaaa"
NAME = f"{TOKEN}._domainkey.example.com"
TARGET = f"{TOKEN}.dkim.amazonses.com"


def nothing(dns: LocalDns) -> None:
    dns.add("example.com", "NS", "ns1.example.net.")  # the zone exists, the name does not


def txt_at_name(dns: LocalDns) -> None:
    dns.add(NAME, "TXT", KEY_2048)


def other_data(dns: LocalDns) -> None:
    dns.add(NAME, "A", "192.0.2.1")


def empty_non_terminal(dns: LocalDns) -> None:
    dns.add(f"sub.{NAME}", "TXT", "below")


def good(dns: LocalDns) -> None:
    dns.add(NAME, "CNAME", f"{TARGET}.")
    dns.add(TARGET, "TXT", KEY_2048)


def target_without_key(dns: LocalDns) -> None:
    dns.add(NAME, "CNAME", f"{TARGET}.")
    dns.add(TARGET, "A", "192.0.2.1")


def target_missing(dns: LocalDns) -> None:
    dns.add(NAME, "CNAME", f"{TARGET}.")


def two_hops(dns: LocalDns) -> None:
    dns.add(NAME, "CNAME", "hop.example.com.")
    dns.add("hop.example.com", "CNAME", f"{TARGET}.")
    dns.add(TARGET, "TXT", KEY_2048)


def wrong_target(dns: LocalDns) -> None:
    dns.add(NAME, "CNAME", "selector1.mailprovider.example.")
    dns.add("selector1.mailprovider.example", "TXT", KEY_2048)


def cname_beside_txt(dns: LocalDns) -> None:
    good(dns)
    dns.add(NAME, "TXT", "v=DKIM1; p=beside")


def two_cnames(dns: LocalDns) -> None:
    # No valid zone holds two; a resolver may pass both on, and the client then reads the same one either way.
    dns.add(NAME, "CNAME", "selector1.mailprovider.example.")
    dns.add(NAME, "CNAME", f"{TARGET}.")
    dns.add(TARGET, "TXT", KEY_2048)


def wildcard_cname(dns: LocalDns) -> None:
    dns.add("*._domainkey.example.com", "CNAME", f"{TARGET}.")
    dns.add(TARGET, "TXT", KEY_2048)


def wildcard_txt(dns: LocalDns) -> None:
    dns.add("*._domainkey.example.com", "TXT", KEY_2048)


def failing_key(dns: LocalDns) -> None:
    good(dns)
    dns.fail(TARGET, "SERVFAIL")


def failing_wrong_target(dns: LocalDns) -> None:
    dns.add(NAME, "CNAME", "broken.mailprovider.example.")
    dns.fail("broken.mailprovider.example", "SERVFAIL")


def failing_name(dns: LocalDns) -> None:
    good(dns)
    dns.fail(NAME, "SERVFAIL")


def cname_loop(dns: LocalDns) -> None:
    dns.add(NAME, "CNAME", "loop.example.com.")
    dns.add("loop.example.com", "CNAME", f"{NAME}.")


SHAPES: dict[str, tuple[Callable[[LocalDns], None], bool]] = {  # setup, whether the TXT query fails
    "nxdomain": (nothing, False),
    "txt-at-name": (txt_at_name, False),
    "other-data": (other_data, False),
    "empty-non-terminal": (empty_non_terminal, False),
    "good": (good, False),
    "target-nodata": (target_without_key, False),
    "target-nxdomain": (target_missing, False),
    "two-hops": (two_hops, False),
    "wrong-target": (wrong_target, False),
    "cname-beside-txt": (cname_beside_txt, False),
    "two-cnames": (two_cnames, False),
    "wildcard-cname": (wildcard_cname, False),
    "wildcard-txt": (wildcard_txt, False),
    "failing-key": (failing_key, True),
    "failing-wrong-target": (failing_wrong_target, True),
    "failing-name": (failing_name, True),
    "cname-loop": (cname_loop, True),
}


def identity() -> Identity:
    dkim = DkimState(True, "SUCCESS", (TOKEN,), "dkim.amazonses.com", "AWS_SES")
    return Identity("example.com", "eu-west-1", "DOMAIN", "SUCCESS", dkim=dkim)


@pytest.mark.parametrize("shape", SHAPES)
def test_given_a_token_name_of_each_shape_when_observed_then_its_cname_is_what_a_cname_query_answers(
    dns_server, dns_client, shape
):
    setup, fails = SHAPES[shape]
    setup(dns_server)

    [token] = observe_domain(identity(), dns_client).dkim

    assert token.txt.failed is fails
    assert dns_server.queries_for(NAME, "TXT") == 1
    assert dns_server.queries_for(NAME, "CNAME") == (1 if fails else 0)
    host, port = dns_server.address
    fresh = DnsClient(make_resolver((Nameserver(host, port),), timeout=DNS_TEST_TIMEOUT))
    asked = fresh.lookup(NAME, "CNAME")
    derived = cname_at(token)
    assert (derived.status, derived.values[:1]) == (asked.status, asked.values[:1])
