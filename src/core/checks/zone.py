"""Route 53 placement checks: is there a zone we can write to, and does the world look at it?"""

from __future__ import annotations

from collections.abc import Iterable

from core.kernel.models import MISSING_CODES, Code, DomainObservation, Finding, Identity, Record, ZoneView
from core.kernel.names import normalise


def check_zone(
    identity: Identity, obs: DomainObservation, view: ZoneView, findings: Iterable[Finding]
) -> list[Finding]:
    """`findings` are the protocol checks' findings: without a zone, their missing records are the to-do list."""
    if view.zone is None:
        records = tuple(r for f in findings if f.code in MISSING_CODES for r in f.records)
        if not records:
            return []
        return [
            Finding.about(
                identity.key,
                Code.ZONE_NOT_FOUND,
                f"No public Route 53 hosted zone of this account contains {identity.domain}; "
                f"create these {len(records)} record(s) at the domain's DNS provider by hand.",
                records=records,
            )
        ]
    zone = view.zone
    answer = obs.zone_ns
    expected = sorted({normalise(ns) for ns in view.name_servers})
    if answer is None or not expected:
        return []
    if answer.failed:
        return [
            Finding.about(
                identity.key,
                Code.CHECK_FAILED,
                f"Could not read the live NS of {zone.name}: {answer.error}.",
                subject=zone.name,
                records=(Record(zone.name, "NS", (), "found"),),
            )
        ]
    live = sorted(answer.values)
    if live == expected:
        return []
    seen = ", ".join(live) if live else "no NS records"
    return [
        Finding.about(
            identity.key,
            Code.ZONE_NOT_DELEGATED,
            f"The world sees {seen} for {zone.name}, but its Route 53 zone {zone.id} is served by "
            f"{', '.join(expected)}: records written to Route 53 are not what receivers see. "
            "Point the registrar or parent zone at the Route 53 name servers, or delete the unused zone.",
            subject=zone.name,
            records=(Record(zone.name, "NS", tuple(live), "found"), Record(zone.name, "NS", tuple(expected))),
        )
    ]
