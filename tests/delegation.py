"""Where the world's resolvers are sent for a zone: to its Route 53 name servers, or elsewhere."""

from __future__ import annotations

from tests.scenario import World


def route53_ns(world: World, zone: str) -> tuple[str, ...]:
    """The name servers of the account's Route 53 zone, as its apex NS record set holds them."""
    return world.records(world.zones[zone])[(f"{zone}.", "NS")][1]


def delegate(world: World, zone: str) -> None:
    """The registrar now points at Route 53: live DNS answers the zone's NS with the Route 53 zone's own."""
    world.dns.set(zone, "NS", route53_ns(world, zone))
