"""Route 53 placement checks: is there a zone we can write to, can it be read, and does the world look at it?"""

from __future__ import annotations

from collections.abc import Iterable

from core.kernel.models import MISSING_CODES, Code, Finding, Identity, Record, ZoneView
from core.kernel.names import normalise
from core.rules.zones import not_delegated


def check_zone(identity: Identity, view: ZoneView, findings: Iterable[Finding]) -> list[Finding]:
    """`findings` are the protocol checks' findings: without a zone, their missing records are the to-do list."""
    if view.unread:
        return [_unread(identity, view)]
    if view.zone is None:
        records = tuple(r for f in findings if f.code in MISSING_CODES for r in f.required())
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
    return _delegation(identity, view)


def _delegation(identity: Identity, view: ZoneView) -> list[Finding]:
    zone, answer = view.zone, view.live_ns
    if zone is None:
        return []
    if answer is None or answer.failed:
        # It stands for the records the other checks left undecided (core.checks.findings.undecided): run memory
        # keeps the identity's earlier findings while it is open, so they do not flip with a passing fault.
        why = (
            f"Could not read the live NS of {zone.name}: {answer.error}"
            if answer
            else f"The live NS of {zone.name} were not looked up"
        )
        return [
            Finding.about(
                identity.key,
                Code.CHECK_FAILED,
                f"{why}. Nothing is written into its Route 53 zone until they are seen to be Route 53's.",
                subject=zone.name,
                records=(Record(zone.name, "NS", (), "found"),),
            )
        ]
    why = not_delegated(view)
    if not why:
        return []
    expected = tuple(sorted({normalise(ns) for ns in view.name_servers}))
    # One message for every identity in the zone: the findings merge into one, whose message must not grow with them.
    return [
        Finding.about(
            identity.key,
            Code.ZONE_NOT_DELEGATED,
            f"The world does not see the Route 53 zone {zone.name} ({zone.id}): {why}. Records written to Route 53 "
            "are not what receivers see, so ses-guard writes nothing into it: the records other findings ask for "
            "there must be created where receivers look. Point the registrar or parent zone at the Route 53 name "
            "servers, or delete the unused zone.",
            subject=zone.name,
            records=(Record(zone.name, "NS", tuple(sorted(answer.values)), "found"), Record(zone.name, "NS", expected)),
        )
    ]


def _unread(identity: Identity, view: ZoneView) -> Finding:
    """Route 53 could not be read: say so, with its error, never that the zone is missing (the records the checks
    found missing may well be there)."""
    zone = view.zone
    if zone is None:
        return Finding.about(
            identity.key,
            Code.CHECK_FAILED,
            f"Route 53 could not be read ({view.unread}); nothing can be fixed this run.",
        )
    return Finding.about(
        identity.key,
        Code.CHECK_FAILED,
        f"The Route 53 zone {zone.name} ({zone.id}) could not be read ({view.unread}); what it holds is unknown and "
        "nothing is written into it this run.",
        subject=zone.name,
    )
