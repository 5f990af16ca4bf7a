"""Route 53 zones without any AWS call: which zone serves a name, and who serves the zone."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from core.kernel.models import RecordSet, Zone
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
