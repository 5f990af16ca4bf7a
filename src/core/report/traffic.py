"""What DMARC aggregate reports say about each domain, as every renderer words it: one line per domain, the
readiness verdict, and the readiness changes a notification announces (a domain that became ready for the next
policy step, one that is no longer ready), each with the exact record to publish next when there is one.

The readiness finding itself is a normal finding (new, open, resolved); this module only says it plainly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from core.kernel.models import Code, Finding, Record, RunSummary
from core.kernel.traffic import DomainTraffic

# The findings that say a domain may move one policy step towards enforcement.
READINESS_CODES = frozenset({Code.DMARC_READY_TO_ENFORCE})

State = Literal["new", "ready", "gone"]
TRAFFIC_LINES = 20  # domains the text views list, one line each; the JSON and HTML reports hold every one


def percent(rate: float) -> str:
    """Rounded down to a tenth, so a rate just under a threshold never reads as equal to it: `99.6%`."""
    return f"{math.floor(rate * 1000 + 1e-9) / 10:g}%"


def window_days(traffic: DomainTraffic) -> int:
    return (traffic.end - traffic.start).days + 1


def share_of(passed: int, messages: int) -> str:
    """`99.6% of 12,340`, or `none` without messages."""
    return f"{percent(passed / messages)} of {messages:,}" if messages else "none"


def verdict(traffic: DomainTraffic) -> str:
    """`ready for p=quarantine`, `at p=reject`, or `not ready`."""
    if traffic.ready_for:
        return f"ready for p={traffic.ready_for}"
    if traffic.policy == "reject":
        return "at p=reject"
    return "not ready"


def policy_text(traffic: DomainTraffic) -> str:
    return f"p={traffic.policy}" if traffic.policy else "no policy seen"


def ready_sentence(traffic: DomainTraffic) -> str:
    """`example.com is ready for p=quarantine: 99.6% of 12,340 messages passed DMARC over 30 days`."""
    return (
        f"{traffic.domain} is ready for p={traffic.ready_for}: {percent(traffic.rate)} of {traffic.messages:,} "
        f"messages passed DMARC over {window_days(traffic)} days"
    )


def traffic_line(traffic: DomainTraffic) -> str:
    """One line per domain: volume, pass rate, SES against every other sender, the policy and the verdict."""
    other, other_passed = traffic.messages - traffic.ses_messages, traffic.passed - traffic.ses_passed
    return (
        f"{traffic.domain}: {traffic.messages:,} messages, {percent(traffic.rate)} passed DMARC "
        f"(SES {share_of(traffic.ses_passed, traffic.ses_messages)}, other {share_of(other_passed, other)}), "
        f"{len(traffic.failing)} failing source{'' if len(traffic.failing) == 1 else 's'}, "
        f"{policy_text(traffic)}, {verdict(traffic)}"
    )


def traffic_heading(traffic: Sequence[DomainTraffic]) -> str:
    """`DMARC traffic from aggregate reports, 2026-11-01 to 2026-11-30 (30 days): 2 domains, 1 ready for ...`."""
    first = traffic[0]
    ready = counts(traffic)["ready"] or "none"
    domains = f"{len(traffic)} domain{'' if len(traffic) == 1 else 's'}"
    return (
        f"DMARC traffic from aggregate reports, {first.start} to {first.end} ({window_days(first)} days): "
        f"{domains}, {ready} ready for the next policy step"
    )


def traffic_lines(traffic: Sequence[DomainTraffic], limit: int = TRAFFIC_LINES) -> list[str]:
    """One line per domain, ready ones first, then the busiest; at most `limit`, then how many more."""
    shown = ordered_traffic(traffic)[:limit]
    more = len(traffic) - len(shown)
    tail = [f"and {more} more domain{'' if more == 1 else 's'}: --format json lists every one"] if more > 0 else []
    return [*(traffic_line(t) for t in shown), *tail]


def ordered_traffic(traffic: Sequence[DomainTraffic]) -> list[DomainTraffic]:
    """Domains ready for a step first (something to do), then the busiest; then by name."""
    return sorted(traffic, key=lambda t: (t.ready_for is None, -t.messages, t.domain))


def counts(traffic: Sequence[DomainTraffic]) -> dict[str, int]:
    return {"domains": len(traffic), "ready": sum(t.ready_for is not None for t in traffic)}


def readiness_findings(summary: RunSummary) -> dict[str, Finding]:
    """Domain -> its readiness finding, whose required record is the next one to publish."""
    found: dict[str, Finding] = {}
    for finding in summary.findings:
        if finding.code in READINESS_CODES:
            found.setdefault(finding.topic, finding)  # its subject is the domain
    return found


@dataclass(frozen=True)
class ReadinessNote:
    """One domain's readiness as a notification says it: `new` (ready since this run), `ready` (and already
    reported), or `gone` (was ready, is not now)."""

    domain: str
    state: State
    text: str
    finding: Finding | None = None  # the readiness finding, whose required record is the next one to publish

    @property
    def records(self) -> tuple[Record, ...]:
        return self.finding.required() if self.finding else ()

    def to_dict(self) -> dict[str, object]:
        return {
            "domain": self.domain,
            "state": self.state,
            "text": self.text,
            "records": [r.to_dict() for r in self.records],
        }


def readiness(summary: RunSummary, *, changes_only: bool) -> list[ReadinessNote]:
    """What changed in readiness this run (and, unless `changes_only`, every domain still ready): newly ready
    domains first, then those no longer ready, then those ready before; by name within each."""
    by_domain = {t.domain: t for t in summary.traffic}
    findings = readiness_findings(summary)
    notes = []
    for t in summary.traffic:
        finding = findings.get(t.domain)
        if not t.ready_for or (finding is not None and finding.suppressed is not None):
            continue  # a suppressed readiness finding is accepted for now: not announced either
        state: State = "new" if finding is not None and finding.status == "new" else "ready"
        if state == "new" or not changes_only:
            notes.append(ReadinessNote(t.domain, state, ready_sentence(t), finding))
    for gone in summary.resolved:
        if gone.code not in READINESS_CODES:
            continue
        now = by_domain.get(gone.subject)
        if now is None or not now.ready_for:  # else ready for another step now: the line above says so
            notes.append(ReadinessNote(gone.subject, "gone", _gone_sentence(gone.subject, now)))
    order = {"new": 0, "gone": 1, "ready": 2}
    return sorted(notes, key=lambda n: (order[n.state], n.domain))


def _gone_sentence(domain: str, now: DomainTraffic | None) -> str:
    why = now.reason if now is not None else "no aggregate reports in this run's window"
    return f"{domain} is no longer ready for the next DMARC policy step: {why}"
