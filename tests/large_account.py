"""Accounts at scale, for the bounded-output and pipeline tests and `make bench`.

`seed`: thousands of domain identities under one Route 53 zone, all with working DKIM, none with a custom MAIL FROM,
all covered by one shared `_dmarc` record (`p=none`, no `rua`). Each identity has its own MAIL_FROM_NOT_CONFIGURED
finding; the two DMARC findings are shared. `seed_correct`: identities with nothing to find.
"""

from __future__ import annotations

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.route53.models import route53_backends

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


CORRECT_ZONE = "correct.example"
CORRECT_DMARC = f"v=DMARC1; p=reject; rua=mailto:dmarc@{CORRECT_ZONE}"


def seed_correct(aws: LocalAws, dns: LocalDns, count: int, region: str = scenario.EU) -> list[str]:
    """Seed `count` domain identities `d<i>.correct.example` in `region` with nothing to find: three DKIM CNAMEs
    and their keys, a custom MAIL FROM `mail.d<i>` with its MX and SPF, and a `_dmarc` record with p=reject and a
    rua, all in one Route 53 zone (six record sets an identity) that live DNS mirrors. Returns their names."""
    world = scenario.World(aws, dns)
    world.zone(CORRECT_ZONE)
    # Straight into moto's backend: its ChangeResourceRecordSets scans the zone's journal for every change.
    zone = route53_backends[DEFAULT_ACCOUNT_ID]["aws"].get_hosted_zone(world.zones[CORRECT_ZONE])
    names = []
    for i in range(count):
        name = f"d{i}.{CORRECT_ZONE}"
        mail_from = f"mail.{name}"
        tokens = seed_identity(aws, region, name, mail_from=mail_from, through_api=False).tokens
        world.keys(tokens)
        records = [(f"{token}._domainkey.{name}", "CNAME", f"{token}.dkim.amazonses.com") for token in tokens]
        records += [
            (mail_from, "MX", f"10 feedback-smtp.{region}.amazonses.com"),
            (mail_from, "TXT", scenario.quoted(scenario.SPF_SES)),
            (f"_dmarc.{name}", "TXT", scenario.quoted(CORRECT_DMARC)),
        ]
        for record, rtype, value in records:
            zone.add_rrset({"Name": f"{record}.", "Type": rtype, "TTL": 300, "ResourceRecords": [value]})
        names.append(name)
    world.sync(CORRECT_ZONE)
    return names
