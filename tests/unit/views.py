"""Route 53 views for unit tests of the pure rules: a zone receivers see (live DNS delegates it to Route 53), and the
ways a zone can fail to be one."""

from __future__ import annotations

from collections.abc import Mapping

from core.kernel.models import Answer, RecordSet, Zone, ZoneView

ROUTE53_NS = ("ns-1.awsdns-01.org", "ns-2.awsdns-02.net")


def delegated(zone: Zone, records: Mapping[tuple[str, str], RecordSet] | None = None) -> ZoneView:
    """The zone as the audit leaves it when live DNS answers the zone's NS with exactly Route 53's name servers."""
    return ZoneView(zone, ROUTE53_NS, dict(records or {}), Answer(zone.name, "NS", "OK", ROUTE53_NS))


def elsewhere(zone: Zone, records: Mapping[tuple[str, str], RecordSet] | None = None) -> ZoneView:
    """The zone in Route 53 while the registrar still points at another provider."""
    live = ("ns1.old-provider.example.org", "ns2.old-provider.example.org")
    return ZoneView(zone, ROUTE53_NS, dict(records or {}), Answer(zone.name, "NS", "OK", live))


def ns_unread(zone: Zone, records: Mapping[tuple[str, str], RecordSet] | None = None) -> ZoneView:
    """The zone whose live NS lookup timed out: whether receivers see it is unknown."""
    return ZoneView(zone, ROUTE53_NS, dict(records or {}), Answer(zone.name, "NS", "FAILED", error="timeout"))


def unread(zone: Zone, error: str = "route53 ListResourceRecordSets failed: AccessDenied: not authorized") -> ZoneView:
    """The zone Route 53 would not let the audit read."""
    return ZoneView(zone, unread=error)
