"""Chooses the Route 53 hosted zone that serves a name, without any AWS call."""

from __future__ import annotations

from collections.abc import Iterable

from core.models import Zone
from core.names import is_subdomain, normalise


def pick_zone(name: str, zones: Iterable[Zone]) -> Zone | None:
    """The most specific public zone containing `name`: a delegated subdomain's zone wins over its parent.

    Private zones never answer the public internet, so they are never candidates, even under the same name.
    """
    wanted = normalise(name)
    candidates = [zone for zone in zones if not zone.private and is_subdomain(wanted, normalise(zone.name))]
    return max(candidates, key=lambda zone: normalise(zone.name).count(".") + 1, default=None)
