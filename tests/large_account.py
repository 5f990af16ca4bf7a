"""An account at scale, for the bounded-output tests and `make bench`: thousands of domain identities under one
Route 53 zone, all with working DKIM, none with a custom MAIL FROM, all covered by one shared `_dmarc` record
(`p=none`, no `rua`). Each identity has its own MAIL_FROM_NOT_CONFIGURED finding; the two DMARC findings are shared.
"""

from __future__ import annotations

from tests import scenario
from tests.dnsserver import LocalDns
from tests.fidelity import seed_identity
from tests.fixtures_aws import LocalAws

ZONE = "example.com"
SHARED_DMARC = "v=DMARC1; p=none"
CODES = frozenset({"MAIL_FROM_NOT_CONFIGURED", "DMARC_POLICY_NONE", "DMARC_NO_REPORTING"})


def seed(aws: LocalAws, dns: LocalDns, count: int, region: str = scenario.EU) -> list[str]:
    """Seed `count` domain identities `d<i>.example.com` in `region`; returns their names."""
    world = scenario.World(aws, dns)
    world.zone(ZONE)
    world.r53(ZONE, f"_dmarc.{ZONE}", "TXT", scenario.quoted(SHARED_DMARC))
    world.sync(ZONE)
    names = []
    for i in range(count):
        name = f"d{i}.{ZONE}"
        # Seeded straight into moto's backend: thousands of API round trips would dominate the run being measured.
        tokens = seed_identity(aws, region, name, through_api=False).tokens
        world.keys(tokens)
        for token in tokens:
            dns.set(f"{token}._domainkey.{name}", "CNAME", [f"{token}.dkim.amazonses.com."])
        names.append(name)
    return names


def expected(names: list[str]) -> set[tuple[str, str]]:
    """(identity, code) for every finding the account must produce: what scenario.affected returns."""
    return {(name, code) for name in names for code in CODES}
