"""DMARC_MISSING across the domains of one organisation: a hint by default, one finding and one record on request."""

from __future__ import annotations

from core.checks.dmarcorg import by_organisation
from core.kernel.models import Code, Finding, IdentityKey, Record, RecordSet, Zone, ZoneView
from tests.unit.views import delegated

ZONE = Zone("Z1", "example.com", private=False)
EU, US = "eu-west-1", "us-east-1"


def missing(domain: str, region: str = EU) -> Finding:
    record = Record(f"_dmarc.{domain}", "TXT", ("v=DMARC1; p=none",))
    return Finding.about(
        IdentityKey(region, domain), Code.DMARC_MISSING, f"No DMARC policy applies to {domain}.",
        subject=record.name, fixable=True, records=(record,),
    )  # fmt: skip


def organise(findings: list[Finding], *, at_organisation: bool, view: ZoneView | None = None) -> list[Finding]:
    return by_organisation(
        findings, policy="none", rua="", at_organisation=at_organisation, view_of=lambda _: view or delegated(ZONE)
    )


def test_given_two_domains_of_one_organisation_without_policy_then_each_finding_names_the_one_record():
    findings = [missing("a.example.com"), missing("b.example.com"), missing("c.example.org")]

    result = organise(findings, at_organisation=False)

    assert [f.subject for f in result] == ["_dmarc.a.example.com", "_dmarc.b.example.com", "_dmarc.c.example.org"]
    assert all("One record at _dmarc.example.com would give all 2 domains" in f.message for f in result[:2])
    assert result[2] == findings[2]  # alone under example.org: nothing to gather
    assert [f.records for f in result] == [f.records for f in findings]  # today's records stay the fix


def test_given_one_domain_in_two_regions_then_it_counts_once_and_gets_no_hint():
    findings = [missing("a.example.com", EU), missing("a.example.com", US)]

    assert organise(findings, at_organisation=False) == findings


def test_given_records_at_the_organisation_requested_then_one_finding_asks_for_one_record_for_all():
    findings = [missing("a.example.com"), missing("b.example.com", US), missing("a.example.com", US)]

    [one] = organise(findings, at_organisation=True)

    assert one.subject == "_dmarc.example.com"
    assert one.records == (Record("_dmarc.example.com", "TXT", ("v=DMARC1; p=none",)),)
    assert set(one.identities) == {f.key for f in findings}
    assert one.fixable
    assert "2 domain(s) under example.com (a.example.com, b.example.com)" in one.message


def test_given_the_organisation_already_holding_a_dmarc_record_in_route53_then_the_one_record_is_not_fixable():
    held = {("_dmarc.example.com", "TXT"): RecordSet("_dmarc.example.com", "TXT", 300, ('"v=DMARC1; p=reject; p=x"',))}

    [one] = organise([missing("a.example.com")], at_organisation=True, view=delegated(ZONE, held))

    assert not one.fixable
    assert "already holds a DMARC record" in one.message
