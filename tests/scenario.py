"""A small account with every problem ses-guard knows, seeded into loopback AWS and DNS.

Route 53 holds what the account wrote; the DNS server is what the world sees. They agree for delegated zones
once synced, and differ where the scenario says so (a zone that is not delegated, a record not yet propagated).
The demo and the end-to-end tests share it, so the demo shows what the tests prove.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from tests.dnsserver import LocalDns
from tests.fidelity import seed_identity
from tests.fixtures_aws import LocalAws
from tests.keys import RSA_1024_SPKI, RSA_2048_SPKI

EU = "eu-west-1"
US = "us-east-1"
SPF_SES = "v=spf1 include:amazonses.com ~all"
KEY_2048 = f"v=DKIM1; k=rsa; p={RSA_2048_SPKI}"
KEY_1024 = f"v=DKIM1; k=rsa; p={RSA_1024_SPKI}"

# What the audit must find: (identity, region) -> finding codes. Everything else is a false positive.
EXPECTED: dict[tuple[str, str], set[str]] = {
    ("good.example.com", EU): set(),
    ("example.com", EU): {"DKIM_RECORD_MISSING", "DNS_NOT_PROPAGATED", "MAIL_FROM_NOT_CONFIGURED",
                          "DMARC_POLICY_NONE", "DMARC_NO_REPORTING"},
    ("shop.example.com", EU): {"MAIL_FROM_MX_MISSING", "MAIL_FROM_SPF_MISSING", "DMARC_POLICY_NONE",
                               "DMARC_NO_REPORTING"},
    ("pending.example.com", EU): {"IDENTITY_NOT_VERIFIED", "DKIM_RECORD_MISSING", "MAIL_FROM_NOT_CONFIGURED",
                                  "DMARC_POLICY_NONE", "DMARC_NO_REPORTING"},
    ("mx.example.com", EU): {"MAIL_FROM_NOT_VERIFIED", "MAIL_FROM_MX_INVALID", "MAIL_FROM_SPF_INVALID",
                             "DMARC_STRICT_SPF_ALIGNMENT", "DMARC_REPORT_AUTH_MISSING"},
    # Receivers discard both records at its own name and walk on to example.com's p=none.
    ("nodkim.example.com", EU): {"DKIM_SIGNING_DISABLED", "MAIL_FROM_NOT_CONFIGURED", "DMARC_INVALID",
                                 "DMARC_POLICY_NONE", "DMARC_NO_REPORTING"},
    ("broken.example.com", EU): {"CHECK_FAILED", "MAIL_FROM_NOT_CONFIGURED"},
    ("conflict.example.net", EU): {"ZONE_NOT_DELEGATED", "DKIM_RECORD_CONFLICT", "DKIM_KEY_WEAK",
                                   "MAIL_FROM_NOT_CONFIGURED", "DMARC_MISSING"},
    ("legacy.example.org", EU): {"ZONE_NOT_FOUND", "DKIM_RECORD_MISSING", "MAIL_FROM_NOT_CONFIGURED",
                                 "DMARC_MISSING"},
    ("alerts@example.com", EU): set(),
    ("noreply@partner.example", EU): {"ADDRESS_IDENTITY_UNALIGNED"},
    ("example.com", US): {"MAIL_FROM_NOT_CONFIGURED", "DMARC_POLICY_NONE", "DMARC_NO_REPORTING"},
}  # fmt: skip


@dataclass
class World:
    aws: LocalAws
    dns: LocalDns
    zones: dict[str, str] = field(default_factory=dict)  # public zone name -> hosted zone id
    private: dict[str, str] = field(default_factory=dict)  # private zone name -> hosted zone id
    tokens: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)  # (identity, region) -> DKIM tokens

    def zone(self, name: str, *, private: bool = False) -> str:
        client = self.aws.client("route53")
        args: dict[str, Any] = {"Name": name, "CallerReference": str(uuid.uuid4())}
        if private:
            args["VPC"] = {"VPCRegion": EU, "VPCId": "vpc-12345678"}
            args["HostedZoneConfig"] = {"PrivateZone": True, "Comment": "internal view"}
        zone_id = str(client.create_hosted_zone(**args)["HostedZone"]["Id"]).rsplit("/", 1)[-1]
        (self.private if private else self.zones)[name] = zone_id
        return zone_id

    def r53(self, zone: str, name: str, rtype: str, *values: str, ttl: int = 300) -> None:
        """Write a record set into the account's zone, values in Route 53 form (TXT quoted by the caller)."""
        rrset = {"Name": name, "Type": rtype, "TTL": ttl, "ResourceRecords": [{"Value": v} for v in values]}
        self.aws.client("route53").change_resource_record_sets(
            HostedZoneId=self.zones[zone],
            ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": rrset}]},
        )

    def sync(self, zone: str) -> None:
        """Propagation: the world now sees exactly what Route 53 holds for the zone."""
        pages = self.aws.client("route53").get_paginator("list_resource_record_sets")
        rrsets = [
            r
            for page in pages.paginate(HostedZoneId=self.zones[zone])
            for r in page["ResourceRecordSets"]
            if r["Type"] != "SOA"  # moto 5.2.5 returns the SOA value as a Python dict's repr; no check reads it
        ]
        self.dns.load_rrsets(rrsets, zone=zone)

    def dkim(self, zone: str, domain: str, tokens: tuple[str, ...], signing_zone: str = "dkim.amazonses.com") -> None:
        for token in tokens:
            self.r53(zone, f"{token}._domainkey.{domain}", "CNAME", f"{token}.{signing_zone}")

    def records(self, zone_id: str) -> dict[tuple[str, str], tuple[int, tuple[str, ...]]]:
        """A zone as Route 53 holds it: (name, type) -> (TTL, values exactly as returned)."""
        pages = self.aws.client("route53").get_paginator("list_resource_record_sets")
        return {
            (r["Name"], r["Type"]): (r.get("TTL", 0), tuple(v["Value"] for v in r.get("ResourceRecords", [])))
            for page in pages.paginate(HostedZoneId=zone_id)
            for r in page["ResourceRecordSets"]
        }

    def keys(self, tokens: tuple[str, ...], key: str = KEY_2048, signing_zone: str = "dkim.amazonses.com") -> None:
        """SES publishes each token's public key at the CNAME's target."""
        for token in tokens:
            self.dns.set(f"{token}.{signing_zone}", "TXT", [key])


def quoted(value: str) -> str:
    return " ".join(f'"{value[i : i + 255]}"' for i in range(0, len(value), 255))


def build(aws: LocalAws, dns: LocalDns) -> World:
    """Seed the account and the world; EXPECTED says what the audit must report."""
    world = World(aws, dns)
    world.zone("example.com")
    world.zone("example.com", private=True)  # never a candidate, even though it matches
    world.zone("example.net")

    def identity(region: str, name: str, **state: Any) -> tuple[str, ...]:
        seeded = seed_identity(aws, region, name, **state)
        world.tokens[(name, region)] = seeded.tokens
        world.keys(seeded.tokens)
        return seeded.tokens

    good = identity(EU, "good.example.com", mail_from="bounce.good.example.com")
    world.dkim("example.com", "good.example.com", good)
    world.r53("example.com", "bounce.good.example.com", "MX", f"10 feedback-smtp.{EU}.amazonses.com")
    world.r53("example.com", "bounce.good.example.com", "TXT", quoted(SPF_SES))
    world.r53("example.com", "_dmarc.good.example.com", "TXT", quoted("v=DMARC1; p=reject; rua=mailto:d@example.com"))

    apex = identity(EU, "example.com")
    world.dkim("example.com", "example.com", apex[1:2])  # the first token never written, the last comes late
    world.r53("example.com", "_dmarc.example.com", "TXT", quoted("v=DMARC1; p=none"))
    world.r53("example.com", "google-site-verification.example.com", "TXT", quoted("google-site-verification=abc"))

    shop = identity(EU, "shop.example.com", mail_from="bounce.shop.example.com")
    world.dkim("example.com", "shop.example.com", shop)

    identity(EU, "pending.example.com", verification="PENDING", dkim_status="PENDING")

    mx = identity(EU, "mx.example.com", mail_from="bounce.mx.example.com", mail_from_status="FAILED")
    world.dkim("example.com", "mx.example.com", mx)
    world.r53("example.com", "bounce.mx.example.com", "MX", "10 feedback-smtp.us-east-1.amazonses.com")
    world.r53("example.com", "bounce.mx.example.com", "TXT", quoted("v=spf1 include:_spf.google.com ~all"))
    world.r53(
        "example.com",
        "_dmarc.mx.example.com",
        "TXT",
        quoted("v=DMARC1; p=quarantine; aspf=s; rua=mailto:reports@dmarc-vendor.example"),
    )

    nodkim = identity(EU, "nodkim.example.com", dkim_enabled=False, dkim_status="NOT_STARTED")
    world.dkim("example.com", "nodkim.example.com", nodkim)
    world.r53(
        "example.com", "_dmarc.nodkim.example.com", "TXT", quoted("v=DMARC1; p=reject"), quoted("v=DMARC1; p=none")
    )

    broken = identity(EU, "broken.example.com")
    world.dkim("example.com", "broken.example.com", broken)
    world.r53("example.com", "_dmarc.broken.example.com", "TXT", quoted("v=DMARC1; p=reject; rua=mailto:d@example.com"))

    identity(EU, "alerts@example.com")
    identity(EU, "noreply@partner.example")

    us = identity(US, "example.com")  # the same domain in a second region, with its own tokens
    world.dkim("example.com", "example.com", us)

    conflict = identity(EU, "conflict.example.net")
    world.r53("example.net", f"{conflict[0]}._domainkey.conflict.example.net", "TXT", quoted("v=DKIM1; p=old"))
    world.r53("example.net", f"{conflict[1]}._domainkey.conflict.example.net", "CNAME", "old-provider.example.org")
    world.dkim("example.net", "conflict.example.net", conflict[2:])
    world.keys(conflict[2:], KEY_1024)

    identity(EU, "legacy.example.org")  # its zone lives at another DNS provider

    world.sync("example.com")
    # Written a minute ago: Route 53 has it, resolvers do not yet.
    world.r53("example.com", f"{apex[2]}._domainkey.example.com", "CNAME", f"{apex[2]}.dkim.amazonses.com")
    dns.fail("_dmarc.broken.example.com", "SERVFAIL")

    # example.net's zone exists in Route 53, but the registrar still points at the old provider.
    world.sync("example.net")
    dns.set("example.net", "NS", ["ns1.old-provider.example.org.", "ns2.old-provider.example.org."])
    return world


def codes_by_identity(summary: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    for finding in summary["findings"]:
        for affected in finding["identities"]:
            found[(affected["identity"], affected["region"])].add(finding["code"])
    return dict(found)


def affected(findings: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(identity, code) for every identity each finding affects."""
    return {(i["identity"], f["code"]) for f in findings for i in f["identities"]}
