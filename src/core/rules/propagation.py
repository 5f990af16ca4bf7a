"""When a record Route 53 holds but live DNS does not show stops being "on its way" and becomes a problem.

A record written to a delegated zone reaches every resolver within its TTL, plus whatever negative answer a
resolver cached before it existed (Route 53's SOA caps that at 900 s by default) and Route 53's own propagation
(about a minute). Past that, DNS_NOT_PROPAGATED is no longer patience but a fault receivers suffer:
DNS_PROPAGATION_STALLED, HIGH. The age is counted from the run memory's first sighting of the finding, so it needs
the state (REPORT_BUCKET, or --state for the CLI).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from core.kernel.models import Code, Finding

# Beyond the record's TTL: the negative-cache TTL of Route 53's SOA (900 s), with room for a slow resolver.
PROPAGATION_GRACE = timedelta(hours=1)


def stalled(finding: Finding, first_seen: Callable[[str], str], now: str) -> tuple[Finding, str]:
    """The finding as this run reports it, and when it was first seen ("" when never: it is new).

    `first_seen(id)` is the run memory's first sighting of a finding id, "" when it has none. A DNS_NOT_PROPAGATED
    finding first seen longer ago than its TTL plus PROPAGATION_GRACE becomes DNS_PROPAGATION_STALLED, and once
    stalled (its stalled id is remembered) it stays so while the record is missing, whatever the clock says: the
    code never flaps between runs. The stalled finding keeps the first sighting of the wait."""
    if finding.code is not Code.DNS_NOT_PROPAGATED:
        return finding, first_seen(finding.id)
    escalated = replace(finding, code=Code.DNS_PROPAGATION_STALLED)
    already = first_seen(escalated.id)
    since = min(filter(None, (first_seen(finding.id), already)), default="")
    if not already and not (since and _age(since, now) > timedelta(seconds=finding.ttl) + PROPAGATION_GRACE):
        return finding, since
    grace = int(PROPAGATION_GRACE.total_seconds() // 60)
    message = (
        f"{finding.message} It has been missing from live DNS since {since}, longer than its TTL ({finding.ttl} s) "
        f"plus {grace} minutes, so receivers do not see it: check what the zone's name servers answer for it, and "
        "whether a delegation below the zone sends resolvers elsewhere."
    )
    return replace(escalated, message=message), since


def _age(since: str, now: str) -> timedelta:
    return datetime.fromisoformat(now) - datetime.fromisoformat(since)
