"""Shared by the unit tests of the protocol checks: a Route 53 view and ways to pick findings apart."""

from __future__ import annotations

from core.kernel.models import Code, Finding, RecordSet, Zone, ZoneView
from tests.unit.views import delegated

ZONE = Zone("/hostedzone/Z1", "example.com", private=False)


def view(*records: RecordSet, zone: Zone | None = ZONE) -> ZoneView:
    """A zone receivers see, holding `records`; no zone at all with `zone=None`."""
    held = {(r.name, r.type): r for r in records}
    return ZoneView(zone=None, records=held) if zone is None else delegated(zone, held)


def codes(findings: list[Finding]) -> list[Code]:
    return sorted(f.code for f in findings)


def only(findings: list[Finding], code: Code) -> Finding:
    matching = [f for f in findings if f.code is code]
    assert len(matching) == 1, findings
    return matching[0]
