"""A run summary rendered as SNS notifications: Slack through AWS Chatbot, plain text by email, JSON for machines.

One publish carries per-protocol bodies (`MessageStructure=json`):
- `https`: the AWS Chatbot custom-notification schema (core.report.slack);
- `email`: readable plain text (core.report.mail);
- `sms`: one line;
- `default` (SQS, Lambda, HTTP, email-json...): this part's findings in the run-summary JSON shape, with the run's
  counts and whether anything was left out.

What a message lists depends on NOTIFY_ON and on the run's memory (core.report.digest, `Kind`): with `all`, the run
summary then every finding, worst first; with `changes`, what is new and what was resolved since the last run, then a
count of what is still open; when a digest is due, the run summary then everything open. Suppressed findings are never
listed and never make a run worth a message. A run sends at most MAX_PUBLISHES parts; what does not fit is counted,
and the last part points to the full report.

Pure: no boto3, no clock. Sizes are counted in UTF-8 bytes, as SNS counts them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from core.kernel.models import Change, Finding, Resolved, RunError, RunSummary, Severity
from core.report.digest import Digest, Item, Kind, LeftOut, Part, headline, ordered, plural, status_note
from core.report.mail import (
    READINESS_LISTED,
    change_line,
    email,
    error_line,
    finding_lines,
    resolved_line,
    topic_header,
)
from core.report.slack import SLACK_DESCRIPTION_MAX_CHARS, chatbot

__all__ = [
    "MAX_PUBLISHES",
    "SLACK_DESCRIPTION_MAX_CHARS",
    "SNS_MAX_BYTES",
    "Notification",
    "kind_of",
    "render",
    "should_notify",
]

SNS_MAX_BYTES = 262_144  # Publish: message plus attributes, in bytes
SUBJECT_MAX_CHARS = 99  # Publish: Subject "must be less than 100 characters", ASCII, no line breaks
# A run is one message in the channel and a few emails, not dozens: people read the summary and the worst findings,
# and the full report (or the CLI) has the rest. Three publishes hold about 750 KB, thousands of findings.
MAX_PUBLISHES = 3


@dataclass(frozen=True)
class Notification:
    """One SNS Publish: `attributes` in the MessageAttributes shape ({name: {"DataType", "StringValue"}})."""

    subject: str
    message: str
    message_structure: str = ""  # "json": `message` holds per-protocol bodies
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """Bytes SNS counts against its limit: message, attributes (name, type, value), and the subject."""
        attrs = sum(
            _bytes(name) + _bytes(attr["DataType"]) + _bytes(attr["StringValue"])
            for name, attr in self.attributes.items()
        )
        return _bytes(self.message) + _bytes(self.subject) + attrs


def kind_of(summary: RunSummary, notify_on: str) -> Kind:
    """`all` lists every finding every run; `changes` lists what changed, unless the run is due a digest."""
    if notify_on == "all":
        return "all"
    return "digest" if summary.digest else "changes"


def should_notify(summary: RunSummary, *, min_severity: Severity, always: bool, notify_on: str = "all") -> bool:
    """A run is worth a message when it changed DNS or failed somewhere, and, with NOTIFY_ON=all, when it found
    something at the threshold; with NOTIFY_ON=changes, when something at the threshold is new or was resolved since
    the last run, or a digest is due. A suppressed finding never counts."""
    at_threshold = [f for f in summary.findings if f.suppressed is None and f.severity.rank >= min_severity.rank]
    if notify_on == "all":
        found = bool(at_threshold)
    else:
        found = (
            any(f.status == "new" for f in at_threshold)
            or any(r.severity.rank >= min_severity.rank for r in summary.resolved)
            or summary.digest
        )
    return always or found or any(c.applied for c in summary.changes) or bool(summary.errors)


def render(
    summary: RunSummary,
    *,
    min_severity: Severity,
    always: bool,
    notify_on: str = "all",
    max_bytes: int = SNS_MAX_BYTES,
) -> list[Notification]:
    """The notifications for one run: none, or up to MAX_PUBLISHES parts ("part k/n"), each within `max_bytes`.

    `notify_on` is NOTIFY_ON ("changes" or "all"; "all", the rendering from before runs had memory, unless told).
    Findings below `min_severity` are counted, not listed; suppressed ones are neither. A listed finding or resolved
    one is in at most one part, whole; those that do not fit are counted in every part's JSON and named in the last
    part. Raises ValueError only when `max_bytes` cannot hold even a notification without findings, whatever the size
    of the run.
    """
    if not should_notify(summary, min_severity=min_severity, always=always, notify_on=notify_on):
        return []
    kind = kind_of(summary, notify_on)
    digest = Digest.of(summary, min_severity, kind)
    shown = digest.new if kind == "changes" else digest.summary.findings
    listed = ordered([f for f in shown if f.severity.rank >= min_severity.rank])
    items: list[Item] = [*summary.errors, *listed, *digest.resolved, *summary.changes]
    budget = max_bytes
    for _ in range(8):
        notes = _fit(digest, items, budget)
        overflow = max(n.size for n in notes) - max_bytes
        if overflow <= 0:
            return notes
        # The packing estimate missed part of the fixed text (the Slack digest); shrink by what it missed.
        budget -= overflow + 1_024
    raise ValueError(f"cannot fit the run summary into publishes of {max_bytes} bytes")


def _fit(digest: Digest, items: list[Item], budget: int) -> list[Notification]:
    parts, left = _pack(digest, items, budget)
    digest = replace(digest, left_out=LeftOut.of(left))
    n = len(parts)
    return [
        _notification(
            digest,
            Part(
                k=k,
                n=n,
                findings=tuple(i for i in part if isinstance(i, Finding)),
                changes=tuple(i for i in part if isinstance(i, Change)),
                errors=tuple(i for i in part if isinstance(i, RunError)),
                resolved=tuple(i for i in part if isinstance(i, Resolved)),
            ),
        )
        for k, part in enumerate(parts, 1)
    ]


def _pack(digest: Digest, items: list[Item], budget: int) -> tuple[list[list[Item]], list[Item]]:
    """Greedy, in order, by estimated bytes (the email text plus the JSON copy, each escaped as it will be sent),
    into at most MAX_PUBLISHES parts. An item no part could hold is left out on its own; once the last part is full,
    everything after it is left out, so what is listed is always the worst of the run."""
    room = budget - _overhead(digest, items)
    if room <= 0:
        raise ValueError(f"{budget} bytes cannot hold even an empty notification")
    parts: list[list[Item]] = [[]]
    left: list[Item] = []
    used = 0
    previous = ""
    for index, item in enumerate(items):
        cost = _cost(item, digest.kind)
        topic = item.topic if isinstance(item, Finding) else ""
        header = _escaped(topic_header(topic, continued=True)) + 2 if topic else 0
        if cost + header > room:
            left.append(item)
            continue
        total = cost + (header if topic and (topic != previous or not parts[-1]) else 0)
        if parts[-1] and used + total > room:
            if len(parts) == MAX_PUBLISHES:
                left += items[index:]
                break
            parts.append([])
            used = 0
            total = cost + header
        parts[-1].append(item)
        used += total
        previous = topic
    return parts, left


def _overhead(digest: Digest, items: list[Item]) -> int:
    """An empty part as large as any part's fixed text gets: the highest part number and the left-out note with
    every item in it, plus room for the Slack digest, which grows with the part up to its character limit."""
    worst = replace(digest, left_out=LeftOut.of(items) or LeftOut(findings=1, topics=1))
    empty = _notification(worst, Part(k=MAX_PUBLISHES, n=MAX_PUBLISHES)).size
    # A character is at most 4 UTF-8 bytes; most are 1, escaped once more inside the outer JSON. The verification
    # loop in render() corrects any remaining miss.
    return empty + SLACK_DESCRIPTION_MAX_CHARS * 2 + 2_048


def _cost(item: Item, kind: Kind) -> int:
    if isinstance(item, Finding):
        text = "\n".join(finding_lines(item, status_note(item, kind)))
    elif isinstance(item, Change):
        text = change_line(item)
    elif isinstance(item, Resolved):
        text = resolved_line(item)
    else:
        text = error_line(item)
    inner = json.dumps(item.to_dict(), ensure_ascii=False, separators=(",", ":"))
    return _escaped(text) + 1 + _escaped(inner) + 1


def _notification(digest: Digest, part: Part) -> Notification:
    bodies = {
        "default": json.dumps(_machine(digest, part), ensure_ascii=False, separators=(",", ":")),
        "https": json.dumps(chatbot(digest, part), ensure_ascii=False, separators=(",", ":")),
        "email": email(digest, part),
        "sms": headline(digest, part),
    }
    return Notification(
        subject=_subject(digest, part),
        message=json.dumps(bodies, ensure_ascii=False),
        message_structure="json",
        attributes=_attributes(digest, part),
    )


def _machine(digest: Digest, part: Part) -> dict[str, Any]:
    s = digest.summary
    return {
        "run_id": s.run_id,
        "dry_run": s.dry_run,
        "regions": list(s.regions),
        "identities_audited": s.identities_audited,
        "report": s.report,
        "part": part.k,
        "parts": part.n,
        "kind": digest.kind,
        "min_severity": digest.min_severity.value,
        "findings_below_threshold": digest.hidden,
        "counts": digest.counts,
        "by_status": digest.by_status(),
        "truncated": bool(digest.left_out),
        "left_out": digest.left_out.to_dict(),
        # The same domains the email spells out; `counts.traffic` counts every domain.
        "readiness": [note.to_dict() for note in digest.readiness[:READINESS_LISTED]],
        "findings": [f.to_dict() for f in part.findings],
        "resolved": [r.to_dict() for r in part.resolved],
        "changes": [c.to_dict() for c in part.changes],
        "errors": [e.to_dict() for e in part.errors],
    }


def _attributes(digest: Digest, part: Part) -> dict[str, dict[str, str]]:
    # For subscription filter policies (e.g. {"highest_severity": ["HIGH"]}); the same facts are in every body.
    return {
        "highest_severity": {"DataType": "String", "StringValue": digest.highest},
        "finding_count": {"DataType": "Number", "StringValue": str(len(digest.summary.findings))},
        "changes_applied": {"DataType": "Number", "StringValue": str(digest.applied)},
        "dry_run": {"DataType": "String", "StringValue": "true" if digest.summary.dry_run else "false"},
        "run_id": {"DataType": "String", "StringValue": digest.summary.run_id or "-"},
        "part": {"DataType": "String", "StringValue": f"{part.k}/{part.n}"},
        "kind": {"DataType": "String", "StringValue": digest.kind},
    }


def _subject(digest: Digest, part: Part) -> str:
    s = digest.summary
    high = digest.counts["by_severity"]["HIGH"]
    if digest.kind == "changes":
        new_high = sum(f.severity is Severity.HIGH for f in digest.new)
        text = f"ses-guard: {len(digest.new)} new ({new_high} HIGH), {len(digest.resolved)} resolved"
        text += f", {len(digest.still_open)} still open, {plural(digest.applied, 'change')}"
    elif digest.kind == "digest":
        open_high = sum(f.severity is Severity.HIGH for f in digest.open)
        text = f"ses-guard digest: {len(digest.open)} open ({open_high} HIGH), {len(digest.new)} new"
        text += f", {len(digest.resolved)} resolved, {plural(digest.applied, 'change')}"
    else:
        text = f"ses-guard: {plural(len(s.findings), 'finding')} ({high} HIGH), {plural(digest.applied, 'change')}"
    if s.errors:
        text += f", {plural(len(s.errors), 'error')}"
    if s.dry_run:
        text += " (dry run)"
    return _ascii_line(text + (f" [{part.k}/{part.n}]" if part.n > 1 else ""), SUBJECT_MAX_CHARS)


def _bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def _escaped(text: str) -> int:
    """Bytes of `text` once written as a JSON string value (quotes excluded)."""
    return _bytes(json.dumps(text, ensure_ascii=False)) - 2


def _ascii_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    ascii_only = flat.encode("ascii", "replace").decode("ascii")
    return ascii_only if len(ascii_only) <= limit else ascii_only[: limit - 3] + "..."
