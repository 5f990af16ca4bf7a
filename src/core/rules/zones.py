"""Route 53 zones without any AWS call: which zone serves a name, and who serves the zone."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from core.kernel.models import RecordSet, Zone, ZoneView
from core.kernel.names import is_subdomain, normalise


def pick_zone(name: str, zones: Iterable[Zone]) -> Zone | None:
    """The most specific public zone containing `name`: a delegated subdomain's zone wins over its parent.

    Private zones never answer the public internet, so they are never candidates, even under the same name.
    """
    wanted = normalise(name)
    candidates = [zone for zone in zones if not zone.private and is_subdomain(wanted, normalise(zone.name))]
    return max(candidates, key=lambda zone: normalise(zone.name).count(".") + 1, default=None)


def apex_name_servers(zone: Zone, records: Mapping[tuple[str, str], RecordSet]) -> tuple[str, ...]:
    """The zone's name servers from its apex NS record set, normalised; empty if it was not read."""
    record = records.get((normalise(zone.name), "NS"))
    return tuple(normalise(value) for value in record.values) if record else ()


def not_delegated(view: ZoneView) -> str:
    """Why receivers look elsewhere than the view's Route 53 zone: "" when live DNS delegates it to the zone's name
    servers, and also when that is not known (the NS were not looked up or the lookup failed: see `unseen`)."""
    zone, answer = view.zone, view.live_ns
    expected = _expected(view)
    if zone is None or answer is None or answer.failed or not expected:
        return ""
    live = sorted(answer.values)
    if live == expected:
        return ""
    seen = ", ".join(live) if live else "no name servers"
    return f"live DNS delegates {zone.name} to {seen}, not to its Route 53 name servers {', '.join(expected)}"


def unseen(view: ZoneView) -> str:
    """Why receivers may not see what the view's Route 53 zone holds: it is not delegated to Route 53, or that could
    not be confirmed. "" only when live DNS was seen to delegate the zone to exactly its Route 53 name servers: the
    one condition under which a record written there is a record receivers find."""
    if view.zone is None:
        return ""
    unknown = _ns_unknown(view)
    if unknown:
        return unknown
    if not _expected(view):
        return f"Route 53's name servers for {view.zone.name} are unknown"
    return not_delegated(view)


def seen_delegated(view: ZoneView) -> bool:
    """Whether live DNS was seen to delegate the view's zone to its Route 53 name servers (see `unseen`)."""
    return view.zone is not None and not view.unread and not unseen(view)


def undetermined(view: ZoneView) -> str:
    """Why this run cannot tell whether receivers see the view's zone, nor (when Route 53 could not be read) what it
    holds: "" when it can (the delegation was seen, either way, or there is no zone). A passing fault, unlike a zone
    seen to be delegated elsewhere: the check that met it is a CHECK_FAILED."""
    if view.unread:
        return f"Route 53 could not be read ({view.unread})"
    return _ns_unknown(view) if view.zone is not None else ""


def _ns_unknown(view: ZoneView) -> str:
    zone, answer = view.zone, view.live_ns
    if zone is None or (answer is not None and not answer.failed):
        return ""
    if answer is None:
        return f"the live NS of {zone.name} were not looked up"
    return f"the live NS of {zone.name} could not be read ({answer.error or 'the query failed'})"


def _expected(view: ZoneView) -> list[str]:
    return sorted({normalise(ns) for ns in view.name_servers})
