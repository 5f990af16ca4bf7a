"""What every part of a run's notification repeats about the whole run (counts by severity and by code, the worst
identities, what did not fit), and the order findings are listed in. Shared by the email and Slack renderings."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from core.kernel.models import CATALOGUE, Change, Code, Finding, IdentityKey, RunError, RunSummary, Severity
from core.report.brief import counts

SEVERITIES = ("HIGH", "MEDIUM", "LOW")
WORST_IDENTITIES = 5  # enough to say where to start; the findings below name the rest

Tally = tuple[IdentityKey, Counter[str]]  # an identity and its open findings by severity


@dataclass(frozen=True)
class LeftOut:
    """What the notification could not hold: only the full report (or the CLI) lists it."""

    findings: int = 0
    topics: int = 0
    changes: int = 0
    errors: int = 0

    def __bool__(self) -> bool:
        return bool(self.findings or self.changes or self.errors)

    @classmethod
    def of(cls, items: Sequence[Finding | Change | RunError]) -> LeftOut:
        findings = [i for i in items if isinstance(i, Finding)]
        return cls(
            findings=len(findings),
            topics=len({f.topic for f in findings}),
            changes=sum(isinstance(i, Change) for i in items),
            errors=sum(isinstance(i, RunError) for i in items),
        )

    def text(self) -> str:
        what = [f"{plural(self.findings, 'finding')} on {plural(self.topics, 'topic')}"] if self.findings else []
        what += [plural(self.changes, "change")] if self.changes else []
        what += [plural(self.errors, "error")] if self.errors else []
        return " and ".join(what)

    def to_dict(self) -> dict[str, int]:
        return {"findings": self.findings, "topics": self.topics, "changes": self.changes, "errors": self.errors}


@dataclass(frozen=True)
class Digest:
    summary: RunSummary
    min_severity: Severity
    hidden: int  # findings below min_severity: counted, not listed
    counts: dict[str, Any]  # core.report.brief.counts, the same numbers the run summary carries
    by_code: tuple[tuple[Code, int], ...]  # worst codes first
    worst: tuple[Tally, ...]  # unfixed findings by severity, worst identities first
    left_out: LeftOut = field(default_factory=LeftOut)

    @classmethod
    def of(cls, summary: RunSummary, min_severity: Severity) -> Digest:
        listed = sum(f.severity.rank >= min_severity.rank for f in summary.findings)
        codes = Counter(f.code for f in summary.findings)
        by_code = sorted(codes.items(), key=lambda item: (-CATALOGUE[item[0]].severity.rank, -item[1], item[0].value))
        return cls(
            summary=summary,
            min_severity=min_severity,
            hidden=len(summary.findings) - listed,
            counts=counts(summary),
            by_code=tuple(by_code),
            worst=worst_identities(summary.findings),
        )

    @property
    def highest(self) -> str:
        worst = max((f.severity for f in self.summary.findings), key=lambda s: s.rank, default=None)
        return worst.value if worst else "NONE"

    @property
    def applied(self) -> int:
        return int(self.counts["changes_applied"])

    @property
    def listed(self) -> int:
        return len(self.summary.findings) - self.hidden

    def severities(self) -> str:
        return ", ".join(f"{s} {self.counts['by_severity'][s]}" for s in SEVERITIES)


@dataclass(frozen=True)
class Part:
    """One publish's share of the run: part `k` of `n`."""

    k: int = 1
    n: int = 1
    findings: tuple[Finding, ...] = ()
    changes: tuple[Change, ...] = ()
    errors: tuple[RunError, ...] = ()

    @property
    def last(self) -> bool:
        return self.k == self.n

    def empty(self) -> bool:
        return not (self.findings or self.changes or self.errors)


def headline(digest: Digest, part: Part) -> str:
    s = digest.summary
    text = (
        f"ses-guard {'dry run' if s.dry_run else 'run'}: {plural(len(s.findings), 'finding')} ({digest.severities()})"
        f" in {plural(s.identities_audited, 'identity')}, {plural(digest.applied, 'change')} applied, "
        f"{plural(len(s.errors), 'error')}"
    )
    return text + (f" - part {part.k}/{part.n}" if part.n > 1 else "")


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
