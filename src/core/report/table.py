"""The terminal view of a run: the identity matrix first, then the findings grouped by what they are about, then
the changes, the summary line and the errors. ANSI colour only when the caller says the terminal wants it."""

from __future__ import annotations

from collections.abc import Sequence

from core.kernel.models import Change, Finding, Resolved, RunSummary, Severity
from core.report.brief import counts
from core.report.matrix import COLUMNS, Row, Status, matrix
from core.report.text import affected, record_line, skipped_regions, skipped_zones, value_text
from core.report.traffic import traffic_heading, traffic_lines

SYMBOLS: dict[Status, str] = {
    "pass": "✓",
    "warn": "!",
    "fail": "✗",
    "n/a": "\u2013",
}  # an en dash: a hyphen would read as "minus"
MEANINGS: dict[Status, str] = {"pass": "pass", "warn": "warning", "fail": "failing", "n/a": "not applicable"}
LEGEND = "  ".join(f"{SYMBOLS[s]} {MEANINGS[s]}" for s in SYMBOLS) + " (an address has no DNS records of its own)"
_STATUS_COLOURS: dict[Status, str] = {"pass": "32", "warn": "33", "fail": "31", "n/a": "2"}
_SEVERITY_COLOURS = {Severity.HIGH: "31", Severity.MEDIUM: "33", Severity.LOW: "36"}
_HEADERS = ("IDENTITY", "REGION", *COLUMNS)


def render_table(summary: RunSummary, *, colour: bool = False) -> str:
    paint = _Paint(colour)
    lines = matrix_lines(matrix(summary.identities, summary.findings), paint)
    lines += finding_lines(summary.findings, paint)
    lines += resolved_lines(summary.resolved, paint)
    lines += change_lines(summary.changes, dry_run=summary.dry_run)
    if summary.traffic:
        lines += ["", paint("1", traffic_heading(summary.traffic)), *(f"  {t}" for t in traffic_lines(summary.traffic))]
    lines += ["", paint("1", summary_line(summary))]
    lines += [skipped] if (skipped := skipped_regions(summary.regions_skipped)) else []
    lines += [zones] if (zones := skipped_zones(summary.zones_skipped)) else []
    lines += [paint("31", f"error: {e}") for e in summary.errors]
    return "\n".join(lines)


def matrix_lines(rows: Sequence[Row], paint: _Paint) -> list[str]:
    if not rows:
        return ["No identity was audited."]
    widths = [
        max(len("IDENTITY"), *(len(r.identity.name) for r in rows)),
        max(len("REGION"), *(len(r.identity.region) for r in rows)),
        *(len(c) for c in COLUMNS[:-1]),
        0,  # the last column is not padded, so no line ends in blanks
    ]
    lines = [_join(_HEADERS, widths)]
    for row in rows:
        # Pad before painting: escape codes take no room on screen but would count in the width.
        symbols = [paint(_STATUS_COLOURS[s], SYMBOLS[s].ljust(w)) for s, w in zip(row.cells, widths[2:], strict=True)]
        lines.append(_join([row.identity.name, row.identity.region, *symbols], widths))
    return [*lines, "", LEGEND]


def finding_lines(findings: Sequence[Finding], paint: _Paint) -> list[str]:
    """Grouped by topic (the shared name, or the identity), worst topic first; a shared finding appears once."""
    lines: list[str] = []
    topic = None
    for finding in ordered(findings):
        if finding.topic != topic:
            topic = finding.topic
            lines += ["", paint("1", f"== {topic} ==")]
        tag = paint(_SEVERITY_COLOURS[finding.severity], f"[{finding.severity.value}]")
        where = f"affects {affected(finding)}" if finding.subject else finding.region
        fixed = " - fixed in this run" if finding.fixed else ""
        lines += [f"  {tag} {finding.code.value} ({where}){fixed}{_seen(finding, paint)}", f"    {finding.message}"]
        lines += [f"    {record_line(finding, r)}" for r in finding.records]
    return lines


def _seen(finding: Finding, paint: _Paint) -> str:
    """New or open since when, where the run remembers earlier runs (a finding's first_seen is empty otherwise)."""
    if not finding.first_seen:
        return ""
    if finding.status == "new" and finding.suppressed is None:
        return " - " + paint("1", "new")
    return f" - open since {when(finding.first_seen)}"


def resolved_lines(resolved: Sequence[Resolved], paint: _Paint) -> list[str]:
    """What the last run had open and this one found gone."""
    if not resolved:
        return []
    lines = ["", paint("1", "RESOLVED since the last run")]
    for r in resolved:
        tag = paint(_SEVERITY_COLOURS[r.severity], f"[{r.severity.value}]")
        lines.append(f"  {tag} {r.code.value} {r.subject} (first seen {when(r.first_seen)})")
    return lines


def when(moment: str) -> str:
    """`2026-06-01T06:00:00+00:00` (the UTC times the run's memory keeps) as `2026-06-01 06:00 UTC`."""
    return f"{moment[:16].replace('T', ' ')} UTC" if len(moment) >= 16 else moment


def ordered(findings: Sequence[Finding]) -> list[Finding]:
    """Topics with the worst severity first, then by name; within a topic, worst first."""
    worst: dict[str, int] = {}
    for f in findings:
        worst[f.topic] = max(worst.get(f.topic, 0), f.severity.rank)
    return sorted(findings, key=lambda f: (-worst[f.topic], f.topic, -f.severity.rank, f.code.value, f.region))


def change_lines(changes: Sequence[Change], *, dry_run: bool) -> list[str]:
    if not changes:
        return []
    heading = "CHANGES (planned; --apply writes them)" if dry_run else "CHANGES (applied)"
    return ["", heading, *(f"  {change_text(c)}" for c in changes)]


def change_text(change: Change) -> str:
    if not change.zone_id:  # an SES-side change
        return f"{change.action} {change.name}: {' '.join(change.values)} ({change.reason.value})"
    # A change holds values as Route 53 takes them (TXT already quoted): shortened, never quoted again.
    values = " | ".join(value_text("", v) for v in change.values)
    where = f"zone {change.zone_name}, ttl {change.ttl}"
    return f"{change.action:<6} {change.name} {change.type} {values}  ({where}, for {change.reason.value})"


def summary_line(summary: RunSummary) -> str:
    c = counts(summary)
    sev = c["by_severity"]
    mode = "dry run" if summary.dry_run else "live run"
    fixed = f"; {c['fixed']} fixed" if c["fixed"] else ""
    applied = f" ({c['changes_applied']} applied)" if c["changes_applied"] else ""
    remembered = any(f.first_seen for f in summary.findings) or summary.resolved
    memory = f"; {len(summary.new)} new, {len(summary.resolved)} resolved" if remembered else ""
    return (
        f"{_n(summary.identities_audited, 'identity', 'identities')} in {', '.join(summary.regions) or 'no region'} "
        f"({mode}): {_n(c['findings'], 'finding')} (HIGH {sev['HIGH']}, MEDIUM {sev['MEDIUM']}, LOW {sev['LOW']}"
        f"{fixed}{memory}), {_n(c['changes'], 'change')}{applied}, {_n(c['errors'], 'error')}"
    )


class _Paint:
    """Wraps text in an SGR escape (`code`: 1 bold, 2 dim, 31 red, 32 green, 33 yellow, 36 cyan) when enabled."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.enabled else text


def _join(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()


def _n(count: int, singular: str, plural: str = "") -> str:
    return f"{count} {singular if count == 1 else plural or singular + 's'}"
