"""The one rule for whether remediation may create a record in Route 53 without harming what is there."""

from __future__ import annotations

from core.kernel.models import Record, ZoneView
from core.kernel.names import ancestors, is_subdomain, normalise
from core.rules.dmarcrecord import looks_like_dmarc
from core.rules.records import types_at, values_at
from core.rules.spf import looks_like_spf
from core.rules.zones import unseen


def blocker(view: ZoneView, record: Record) -> str:
    """Why `record` must not be created in the view's zone, or "" when creating it is safe.

    Safe means: the zone exists and was read (the view's zone is already the most specific public zone for the
    name), receivers see it (live DNS delegates it to its Route 53 name servers), the name is not delegated away,
    and nothing at the name would clash - no CNAME beside other data, no second SPF or DMARC record, no MX next to
    someone else's MX.
    """
    name = normalise(record.name)
    return placement(view, name) or _clash(view, name, record)


def normalise_mx(value: str) -> str:
    """`<preference> <exchange>` with the preference as a number and the exchange normalised."""
    preference, _, exchange = value.strip().partition(" ")
    number = int(preference) if preference.isdigit() else preference
    return f"{number} {normalise(exchange)}"


def placement(view: ZoneView, name: str) -> str:
    """Why nothing may be written at `name` in the view's zone whatever the name holds; "" when something may."""
    zone = view.zone
    if view.unread:
        # An unread zone is not a missing one: saying so would send people to create a zone that exists.
        where = f"the Route 53 zone {zone.name} ({zone.id})" if zone else "Route 53"
        return f"{where} could not be read ({view.unread})"
    if zone is None:
        return f"no public Route 53 hosted zone of this account contains {name}"
    if not is_subdomain(name, zone.name):
        return f"{name} lies outside the hosted zone {zone.name}"
    hidden = unseen(view)
    if hidden:
        return f"receivers may not see the Route 53 zone {zone.name}: {hidden}"
    for parent in ancestors(name):
        if parent == zone.name or not is_subdomain(parent, zone.name):
            break
        if "NS" in types_at(view, parent):
            return f"{parent} is delegated to other name servers by NS records in {zone.name}"
    return ""


def _clash(view: ZoneView, name: str, record: Record) -> str:
    aliases = sorted(rtype for (held, rtype), found in view.records.items() if held == name and found.alias)
    if aliases:
        # An alias has no values to keep: writing the name would replace it.
        return f"Route 53 holds an alias record ({', '.join(aliases)}) at {name}"
    present = types_at(view, name)
    if record.type == "CNAME":
        others = [t for t in present if t != "CNAME" or not _same(view, record)]
        return f"Route 53 already holds {', '.join(others)} at {name}, where a CNAME must stand alone" if others else ""
    if "CNAME" in present:
        return f"Route 53 holds a CNAME at {name}, which cannot share its name with a {record.type} record"
    existing = values_at(view, name, record.type)
    if record.type == "TXT":
        return _txt_blocker(name, existing, record)
    if record.type == "MX":
        wanted = {normalise_mx(v) for v in record.values}
        foreign = [v for v in existing if normalise_mx(v) not in wanted]
        return f"Route 53 holds other MX values at {name}: {', '.join(foreign)}" if foreign else ""
    return ""


def _txt_blocker(name: str, existing: tuple[str, ...], record: Record) -> str:
    for kind, test in (("SPF", looks_like_spf), ("DMARC", looks_like_dmarc)):
        if any(test(v) for v in record.values) and any(test(v) for v in existing):
            return f"Route 53 already holds a {kind} record at {name}; a second one would invalidate both"
    return ""


def _same(view: ZoneView, record: Record) -> bool:
    held = values_at(view, record.name, "CNAME")
    return sorted(held) == sorted(normalise(v) for v in record.values)
