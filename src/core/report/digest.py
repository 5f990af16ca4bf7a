"""What every part of a run's notification repeats about the whole run (counts by severity and by code, the worst
identities, what is new and what was resolved since the last run, what did not fit), and the order findings are
listed in. Shared by the email and Slack renderings.

A notification is one of three kinds (`Kind`):
- `all` (NOTIFY_ON=all): the run summary, then every finding at the threshold, every run;
- `changes` (NOTIFY_ON=changes): what is new and what was resolved since the last run, then one line counting what
  is still open; open findings already reported are not listed again;
- `digest` (NOTIFY_ON=changes, DIGEST_DAYS since the last digest): the run summary, then everything open, with what is
  new marked and what was resolved listed.
Suppressed findings are in none of them: the digest leaves them out of every count and list, and only says how many.
Every kind also says which domains became ready for the next DMARC policy step or are no longer ready (and, but for
the changes kind, which are still ready): core.report.traffic.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from core.kernel.models import CATALOGUE, Change, Code, Finding, IdentityKey, Resolved, RunError, RunSummary, Severity
from core.report.brief import counts
from core.report.traffic import ReadinessNote, readiness

SEVERITIES = ("HIGH", "MEDIUM", "LOW")
WORST_IDENTITIES = 5  # enough to say where to start; the findings below name the rest

Tally = tuple[IdentityKey, Counter[str]]  # an identity and its open findings by severity
Kind = Literal["all", "changes", "digest"]
Item = Finding | Change | RunError | Resolved


@dataclass(frozen=True)
class LeftOut:
    """What the notification could not hold: only the full report (or the CLI) lists it."""

    findings: int = 0
    topics: int = 0
    changes: int = 0
    errors: int = 0
    resolved: int = 0

    def __bool__(self) -> bool:
        return bool(self.findings or self.changes or self.errors or self.resolved)

    @classmethod
    def of(cls, items: Sequence[Item]) -> LeftOut:
        findings = [i for i in items if isinstance(i, Finding)]
        return cls(
            findings=len(findings),
            topics=len({f.topic for f in findings}),
            changes=sum(isinstance(i, Change) for i in items),
            errors=sum(isinstance(i, RunError) for i in items),
            resolved=sum(isinstance(i, Resolved) for i in items),
        )

    def text(self) -> str:
        what = [f"{plural(self.findings, 'finding')} on {plural(self.topics, 'topic')}"] if self.findings else []
        what += [f"{self.resolved} resolved"] if self.resolved else []
        what += [plural(self.changes, "change")] if self.changes else []
        what += [plural(self.errors, "error")] if self.errors else []
        return " and ".join(what)

    def to_dict(self) -> dict[str, int]:
        return {
            "findings": self.findings,
            "topics": self.topics,
            "changes": self.changes,
            "errors": self.errors,
            "resolved": self.resolved,
        }


@dataclass(frozen=True)
class Digest:
    summary: RunSummary  # without its suppressed findings: those are never notified
    min_severity: Severity
    hidden: int  # findings this kind would list, but below min_severity: counted, not listed
    counts: dict[str, Any]  # core.report.brief.counts, the same numbers the run summary carries
    by_code: tuple[tuple[Code, int], ...]  # worst codes first
    worst: tuple[Tally, ...]  # unfixed findings by severity, worst identities first
    left_out: LeftOut = field(default_factory=LeftOut)
    kind: Kind = "all"
    suppressed: int = 0  # findings left out of everything because a suppression matched them
    resolved: tuple[Resolved, ...] = ()  # resolved since the last run, at or above min_severity, worst first
    # Domains that became ready for the next DMARC policy step, or are no longer ready (and, but for the changes
    # kind, those still ready), whatever min_severity: a handful of lines said plainly, each renderer caps them.
    readiness: tuple[ReadinessNote, ...] = ()

    @classmethod
    def of(cls, summary: RunSummary, min_severity: Severity, kind: Kind = "all") -> Digest:
        visible = [f for f in summary.findings if f.suppressed is None]
        view = replace(summary, findings=visible)
        # The changes kind lists only what is new; the others list everything open.
        considered = [f for f in visible if f.status == "new"] if kind == "changes" else visible
        listed = sum(f.severity.rank >= min_severity.rank for f in considered)
        codes = Counter(f.code for f in visible)
        by_code = sorted(codes.items(), key=lambda item: (-CATALOGUE[item[0]].severity.rank, -item[1], item[0].value))
        # Resolved findings below the threshold were never announced, so their going is not news either.
        resolved = [r for r in summary.resolved if r.severity.rank >= min_severity.rank] if kind != "all" else []
        return cls(
            summary=view,
            min_severity=min_severity,
            hidden=len(considered) - listed,
            # The run's counts without the suppressed findings, which are counted apart.
            counts={**counts(view), "suppressed": len(summary.findings) - len(visible)},
            by_code=tuple(by_code),
            worst=worst_identities(visible),
            kind=kind,
            suppressed=len(summary.findings) - len(visible),
            resolved=tuple(ordered_resolved(resolved)),
            # From the whole summary: a suppressed readiness finding must be seen to be left out.
            readiness=tuple(readiness(summary, changes_only=kind == "changes")),
        )

    @property
    def highest(self) -> str:
        """The worst severity the message is about: of what is new, for a changes message (one that only says what
        was resolved is about NONE), so a subscription filtering on HIGH hears of new HIGH findings only."""
        findings = self.new if self.kind == "changes" else self.summary.findings
        worst = max((f.severity for f in findings), key=lambda s: s.rank, default=None)
        return worst.value if worst else "NONE"

    @property
    def applied(self) -> int:
        return int(self.counts["changes_applied"])

    @property
    def listed(self) -> int:
        """Findings at the threshold that this kind lists (in some part, or counted as left out)."""
        considered = self.new if self.kind == "changes" else self.summary.findings
        return len(considered) - self.hidden

    @property
    def new(self) -> list[Finding]:
        """Not reported before (or every finding, when the run has no memory)."""
        return [f for f in self.summary.findings if f.status == "new"]

    @property
    def still_open(self) -> list[Finding]:
        """Reported by an earlier run and still there: what the changes kind counts instead of listing."""
        return [f for f in self.summary.findings if f.status == "open" and not f.fixed]

    @property
    def open(self) -> list[Finding]:
        """Everything open after this run: a finding fixed in it is not."""
        return [f for f in self.summary.findings if not f.fixed]

    def severities(self) -> str:
        return ", ".join(f"{s} {self.counts['by_severity'][s]}" for s in SEVERITIES)

    def by_status(self) -> dict[str, int]:
        """The counts since the last run, for the JSON body."""
        return {
            "new": len(self.new),
            "still_open": len(self.still_open),
            "resolved": len(self.resolved),
            "suppressed": self.suppressed,
        }


@dataclass(frozen=True)
class Part:
    """One publish's share of the run: part `k` of `n`."""

    k: int = 1
    n: int = 1
    findings: tuple[Finding, ...] = ()
    changes: tuple[Change, ...] = ()
    errors: tuple[RunError, ...] = ()
    resolved: tuple[Resolved, ...] = ()

    @property
    def last(self) -> bool:
        return self.k == self.n

    def empty(self) -> bool:
        return not (self.findings or self.changes or self.errors or self.resolved)


def headline(digest: Digest, part: Part) -> str:
    s = digest.summary
    run = "dry run" if s.dry_run else "run"
    where = f" in {plural(s.identities_audited, 'identity')}"
    tail = f", {plural(digest.applied, 'change')} applied, {plural(len(s.errors), 'error')}"
    if digest.kind == "changes":
        text = f"ses-guard {run}: {since(digest)}, {len(digest.still_open)} still open{where}{tail}"
    elif digest.kind == "digest":
        counted = tally_text(tally(digest.open)) or "none"
        text = f"ses-guard digest: {plural(len(digest.open), 'open finding')} ({counted}){where}, {since(digest)}{tail}"
    else:
        text = f"ses-guard {run}: {plural(len(s.findings), 'finding')} ({digest.severities()}){where}{tail}"
    return text + (f" - part {part.k}/{part.n}" if part.n > 1 else "")


def since(digest: Digest) -> str:
    """`3 new, 1 resolved`: what changed since the last run."""
    return f"{len(digest.new)} new, {len(digest.resolved)} resolved"


def tally(findings: Sequence[Finding]) -> Counter[str]:
    return Counter(f.severity.value for f in findings)


def still_open_text(digest: Digest) -> str:
    """`28 reported before (HIGH 10, MEDIUM 15, LOW 3)`: what a changes message counts instead of listing."""
    counted = tally(digest.still_open)
    if not counted:
        return "nothing reported before"
    return f"{len(digest.still_open)} reported before ({tally_text(counted)}), not listed again"


def when(iso: str) -> str:
    """An ISO time as people read it in a message: `2026-12-01 06:00 UTC`; as given when it is not one."""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    offset = moment.utcoffset()
    return moment.strftime("%Y-%m-%d %H:%M") + (" UTC" if offset is not None and not offset else "")


def status_note(finding: Finding, kind: Kind) -> str:
    """What a digest says of each finding it lists: new since the last run, or open since when."""
    if kind != "digest":
        return ""
    if finding.status == "new":
        return "new"
    return f"open since {when(finding.first_seen)}" if finding.first_seen else ""


def ordered_resolved(resolved: Sequence[Resolved]) -> list[Resolved]:
    return sorted(resolved, key=lambda r: (-r.severity.rank, r.code.value, r.subject))


def worst_identities(findings: Sequence[Finding], limit: int = WORST_IDENTITIES) -> tuple[Tally, ...]:
    """The identities with the highest, then the most, findings still open; a finding fixed in this run no longer
    says where to look."""
    tally: dict[IdentityKey, Counter[str]] = defaultdict(Counter)
    for finding in findings:
        if not finding.fixed:
            for key in finding.identities:
                tally[key][finding.severity.value] += 1
    ranked = sorted(tally.items(), key=lambda item: (*(-item[1][s] for s in SEVERITIES), item[0].name, item[0].region))
    return tuple(ranked[:limit])


def tally_text(tally: Counter[str]) -> str:
    return ", ".join(f"{s} {tally[s]}" for s in SEVERITIES if tally[s])


def ordered(findings: Sequence[Finding]) -> list[Finding]:
    """Grouped by topic, worst topic first, ranked as the worst identities are: by findings at HIGH, then MEDIUM, then
    LOW, each counted once per identity it affects (so a root cause shared by many comes first); then by name.
    Within a topic, worst finding first."""
    weight: dict[str, Counter[str]] = defaultdict(Counter)
    for f in findings:
        weight[f.topic][f.severity.value] += len(f.identities)
    return sorted(
        findings,
        key=lambda f: (
            *(-weight[f.topic][s] for s in SEVERITIES),
            f.topic,
            -f.severity.rank,
            f.code.value,
            f.region,
        ),
    )


def plural(count: int, noun: str) -> str:
    many = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{count} {noun if count == 1 else many}"
