"""Remediation's bookkeeping when Route 53 fails part-way, against an in-memory zone behind the Zones port."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import pytest

from core.kernel.errors import AwsError
from core.kernel.models import Change, Code, Finding, IdentityKey, Placement, Record, RecordSet, Zone
from core.run.remediate import remediate
from tests.unit.views import delegated, elsewhere, ns_unread, unread

ZONE = Zone("Z1", "example.com", private=False)
A = IdentityKey("eu-west-1", "a.example.com")


@dataclass
class FlakyZone:
    """Holds record sets like Route 53 and refuses the change call numbered `fail_on` (1-based)."""

    fail_on: int
    held: dict[tuple[str, str], RecordSet] = field(default_factory=dict)
    calls: int = 0

    def list_zones(self) -> list[Zone]:
        return [ZONE]

    def record_sets(self, zone: Zone, names: Collection[str] | None = None) -> dict[tuple[str, str], RecordSet]:
        return {k: v for k, v in self.held.items() if names is None or k[0] in names}

    def apply(self, zone: Zone, changes: Sequence[Change]) -> str:
        self.calls += 1
        if self.calls == self.fail_on:
            raise AwsError("route53", "ChangeResourceRecordSets", "InvalidInput", "refused")
        for c in changes:
            self.held[(c.name, c.type)] = RecordSet(c.name, c.type, c.ttl, c.values)
        return f"C{self.calls}"


def missing(identity: str, name: str, value: str) -> Finding:
    record = Record(name, "CNAME", (value,))
    return Finding.about(
        IdentityKey("eu-west-1", identity), Code.DKIM_RECORD_MISSING, "missing", fixable=True, records=(record,)
    )


def test_given_iam_denial_then_a_later_failure_when_applied_then_what_was_written_counts_as_written():
    findings = [missing("a.example.com", "t1._domainkey.a.example.com", "t1.dkim.amazonses.com"),
                missing("b.example.com", "t2._domainkey.b.example.com", "t2.dkim.amazonses.com")]  # fmt: skip
    placement = Placement({f.key: ZONE for f in findings}, {ZONE: delegated(ZONE)})

    class DeniedThenFlaky(FlakyZone):
        def apply(self, zone: Zone, changes: Sequence[Change]) -> str:
            if len(changes) > 1:  # the whole batch: denied, so each change is tried alone
                raise AwsError("route53", "ChangeResourceRecordSets", "AccessDenied", "not authorized")
            return super().apply(zone, changes)

    writer = DeniedThenFlaky(fail_on=2)

    result = remediate(findings, placement, writer, ttl=300, dry_run=False)

    assert [(c.name, c.applied) for c in result.changes] == [("t1._domainkey.a.example.com", True)]
    assert [f.identity for f in result.failures] == ["b.example.com"]
    assert "refused" in result.failures[0].message
    fixed = {f.identity for f in result.mark_fixed(findings) if f.fixed}
    assert fixed == {"a.example.com"}


def test_given_no_time_left_when_applying_then_nothing_is_written_and_each_identity_hears_why():
    findings = [missing("a.example.com", "t1._domainkey.a.example.com", "t1.dkim.amazonses.com")]
    writer = FlakyZone(fail_on=0)

    result = remediate(
        findings, Placement({findings[0].key: ZONE}, {ZONE: delegated(ZONE)}), writer, ttl=300, dry_run=False,
        out_of_time=lambda: True,
    )  # fmt: skip

    assert writer.calls == 0
    assert result.changes == []
    assert ["time budget" in f.message for f in result.failures] == [True]


def test_given_an_unverified_identity_when_its_dkim_records_are_written_then_both_findings_read_fixed():
    record = Record("t1._domainkey.a.example.com", "CNAME", ("t1.dkim.amazonses.com",))
    dkim = Finding.about(A, Code.DKIM_RECORD_MISSING, "missing", fixable=True, records=(record,))
    unverified = Finding.about(
        A,
        Code.IDENTITY_NOT_VERIFIED,
        "pending",
        fixable=True,
        records=(record,),
    )
    writer = FlakyZone(fail_on=0)

    result = remediate(
        [unverified, dkim], Placement({dkim.key: ZONE}, {ZONE: delegated(ZONE)}), writer, ttl=300, dry_run=False
    )

    assert [(c.name, c.reason) for c in result.changes] == [(record.name, Code.DKIM_RECORD_MISSING)]
    assert [f.fixed for f in result.mark_fixed([unverified, dkim])] == [True, True]


def test_given_a_finding_with_a_record_nothing_planned_when_marked_then_it_is_not_fixed():
    written = Record("t1._domainkey.a.example.com", "CNAME", ("t1.dkim.amazonses.com",))
    elsewhere = Record("t2._domainkey.a.example.com", "CNAME", ("t2.dkim.amazonses.com",))
    dkim = Finding.about(A, Code.DKIM_RECORD_MISSING, "missing", fixable=True, records=(written,))
    unverified = Finding.about(
        A,
        Code.IDENTITY_NOT_VERIFIED,
        "pending",
        fixable=True,
        records=(written, elsewhere),
    )

    result = remediate(
        [dkim, unverified], Placement({dkim.key: ZONE}, {ZONE: delegated(ZONE)}), FlakyZone(0), ttl=300, dry_run=False
    )

    assert [f.fixed for f in result.mark_fixed([dkim, unverified])] == [True, False]


def test_given_a_dry_run_when_marked_then_nothing_is_fixed():
    finding = missing("a.example.com", "t1._domainkey.a.example.com", "t1.dkim.amazonses.com")

    result = remediate(
        [finding], Placement({finding.key: ZONE}, {ZONE: delegated(ZONE)}), FlakyZone(0), ttl=300, dry_run=True
    )

    assert [c.applied for c in result.changes] == [False]
    assert result.mark_fixed([finding]) == [finding]


@pytest.mark.parametrize("view", [elsewhere(ZONE), ns_unread(ZONE), unread(ZONE)], ids=["elsewhere", "ns", "unread"])
@pytest.mark.parametrize("dry_run", [True, False], ids=["dry", "live"])
def test_given_records_wanted_in_a_zone_receivers_may_not_see_when_remediated_then_nothing_is_read_or_written(
    view, dry_run
):
    finding = missing("a.example.com", "t1._domainkey.a.example.com", "t1.dkim.amazonses.com")
    writer = FlakyZone(0)

    result = remediate([finding], Placement({finding.key: ZONE}, {ZONE: view}), writer, ttl=300, dry_run=dry_run)

    assert result.changes == []
    assert writer.calls == 0
    assert writer.held == {}
    [failure] = result.failures
    assert failure.message.startswith("Not written to example.com: ")
    assert not result.mark_fixed([finding])[0].fixed


def test_given_a_delegated_zone_when_applied_then_the_fresh_read_keeps_the_delegation_the_audit_saw():
    finding = missing("a.example.com", "t1._domainkey.a.example.com", "t1.dkim.amazonses.com")
    writer = FlakyZone(0)

    result = remediate(
        [finding], Placement({finding.key: ZONE}, {ZONE: delegated(ZONE)}), writer, ttl=300, dry_run=False
    )

    assert [(c.name, c.applied) for c in result.changes] == [("t1._domainkey.a.example.com", True)]
    assert result.failures == []
