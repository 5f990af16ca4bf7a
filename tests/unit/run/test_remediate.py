"""Remediation's bookkeeping when Route 53 fails part-way, against an in-memory zone behind the Zones port."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import pytest

from core.kernel.errors import AwsError
from core.kernel.models import Change, Code, Finding, Placement, Record, RecordSet, Zone, ZoneView
from core.run.remediate import remediate

pytestmark = pytest.mark.disable_socket

ZONE = Zone("Z1", "example.com", private=False)


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
    return Finding(Code.DKIM_RECORD_MISSING, identity, "eu-west-1", "missing", fixable=True, records=(record,))


def test_given_iam_denial_then_a_later_failure_when_applied_then_what_was_written_counts_as_written():
    findings = [missing("a.example.com", "t1._domainkey.a.example.com", "t1.dkim.amazonses.com"),
                missing("b.example.com", "t2._domainkey.b.example.com", "t2.dkim.amazonses.com")]  # fmt: skip
    placement = Placement({f.key: ZONE for f in findings}, {ZONE: ZoneView(ZONE)})

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
        findings, Placement({findings[0].key: ZONE}, {ZONE: ZoneView(ZONE)}), writer, ttl=300, dry_run=False,
        out_of_time=lambda: True,
    )  # fmt: skip

    assert writer.calls == 0
    assert result.changes == []
    assert ["time budget" in f.message for f in result.failures] == [True]
