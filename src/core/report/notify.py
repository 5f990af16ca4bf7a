"""A run summary rendered as SNS notifications: Slack through AWS Chatbot, plain text by email, JSON for machines.

One publish carries per-protocol bodies (`MessageStructure=json`):
- `https`: the AWS Chatbot custom-notification schema (Chatbot subscribes to the topic over https; anything that
  does not follow the schema is dropped without a trace);
- `email`: readable plain text with every finding and record;
- `sms`: one line;
- `default` (SQS, Lambda, HTTP, email-json...): this part's findings in the run-summary JSON shape.

Pure: no boto3, no clock. Sizes are counted in UTF-8 bytes, as SNS counts them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from core.kernel.models import Change, Finding, Record, RunError, RunSummary, Severity

SNS_MAX_BYTES = 262_144  # Publish: message plus attributes, in bytes
SUBJECT_MAX_CHARS = 99  # Publish: Subject "must be less than 100 characters", ASCII, no line breaks
# Chatbot hands `description` to Slack as one text object; Slack's Block Kit text objects stop at 3,000 characters.
SLACK_DESCRIPTION_MAX_CHARS = 3_000
SLACK_TITLE_MAX_CHARS = 150  # Slack header text limit
FINDING_MAX_BYTES = 16_384  # one finding's text; beyond this it is cut, visibly
EVENT_TYPE = "ses-guard-findings"

_ICONS = {Severity.HIGH: ":red_circle:", Severity.MEDIUM: ":large_orange_circle:", Severity.LOW: ":large_blue_circle:"}


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


@dataclass(frozen=True)
class _Part:
    findings: tuple[Finding, ...] = ()
    changes: tuple[Change, ...] = ()
    errors: tuple[RunError, ...] = ()


@dataclass(frozen=True)
class _Run:
    """What every part repeats about the whole run."""

    summary: RunSummary
    min_severity: Severity
    shown: int  # findings at or above the threshold
    hidden: int  # findings below it
    highest: str
    counts: Counter[str]

    @property
    def applied(self) -> int:
        return sum(c.applied for c in self.summary.changes)


def should_notify(summary: RunSummary, *, min_severity: Severity, always: bool) -> bool:
    """A run is worth a message when it found something at the threshold, changed DNS, or failed somewhere."""
    return (
        always
        or any(f.severity.rank >= min_severity.rank for f in summary.findings)
        or any(c.applied for c in summary.changes)
        or bool(summary.errors)
    )


def render(
    summary: RunSummary, *, min_severity: Severity, always: bool, max_bytes: int = SNS_MAX_BYTES
) -> list[Notification]:
    """The notifications for one run: none, one, or several parts ("part k/n") when one publish cannot hold it.

    Findings below `min_severity` are counted, not listed. Every listed finding is in exactly one part, whole.
    """
    if not should_notify(summary, min_severity=min_severity, always=always):
        return []
    findings = _ordered([f for f in summary.findings if f.severity.rank >= min_severity.rank])
    worst = max((f.severity for f in summary.findings), key=lambda s: s.rank, default=None)
    run = _Run(
        summary=summary,
        min_severity=min_severity,
        shown=len(findings),
        hidden=len(summary.findings) - len(findings),
        highest=worst.value if worst else "NONE",
        counts=Counter(f.severity.value for f in summary.findings),
    )
    budget = max_bytes
    for _ in range(8):
        parts = _pack(run, findings, budget)
        notes = [_notification(run, part, k, len(parts)) for k, part in enumerate(parts, 1)]
        overflow = max(n.size for n in notes) - max_bytes
        if overflow <= 0:
            return notes
        # The packing estimate missed the fixed parts (headers, Slack digest); shrink by what it missed.
        budget -= overflow + 1_024
    raise ValueError(f"cannot fit the run summary into publishes of {max_bytes} bytes")


def _ordered(findings: list[Finding]) -> list[Finding]:
    """Grouped by identity; identities with the worst severity first, then by name; findings worst first."""
    worst: dict[str, int] = {}
    for f in findings:
        worst[f.identity] = max(worst.get(f.identity, 0), f.severity.rank)
    return sorted(findings, key=lambda f: (-worst[f.identity], f.identity, -f.severity.rank, f.code.value, f.region))


def _pack(run: _Run, findings: list[Finding], budget: int) -> list[_Part]:
    """Greedy packing by estimated bytes: the email text plus the JSON copy, each escaped as it will be sent."""
    empty = _notification(run, _Part(), 1, 1).size
    room = budget - empty - _slack_reserve()
    if room <= 0:
        raise ValueError(f"{budget} bytes cannot hold even an empty notification")
    items: list[Finding | Change | RunError] = [*run.summary.errors, *findings, *run.summary.changes]
    parts: list[list[Finding | Change | RunError]] = [[]]
    used = 0
    previous_identity = ""
    for item in items:
        cost = _cost(item)
        starts_group = isinstance(item, Finding) and (item.identity != previous_identity or not parts[-1])
        if starts_group and isinstance(item, Finding):
            cost += _escaped(_email_identity_header(item.identity, False)) + 2
        if parts[-1] and used + cost > room:
            parts.append([])
            used = 0
            if isinstance(item, Finding):
                cost += _escaped(_email_identity_header(item.identity, True)) + 2
        parts[-1].append(item)
        used += cost
        previous_identity = item.identity if isinstance(item, Finding) else ""
    return [
        _Part(
            findings=tuple(i for i in part if isinstance(i, Finding)),
            changes=tuple(i for i in part if isinstance(i, Change)),
            errors=tuple(i for i in part if isinstance(i, RunError)),
        )
        for part in parts
    ]


def _slack_reserve() -> int:
    # The digest is capped in characters; a character is at most 4 UTF-8 bytes, escaped once more as a string
    # inside the outer JSON. The verification loop in render() corrects any remaining miss.
    return SLACK_DESCRIPTION_MAX_CHARS * 2 + 2_048


def _cost(item: Finding | Change | RunError) -> int:
    data: object
    if isinstance(item, Finding):
        text, data = "\n".join(_email_finding(item)), item.to_dict()
    elif isinstance(item, Change):
        text, data = _change_line(item), item.to_dict()
    else:
        text, data = f"  {item}", item.to_dict()
    inner = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return _escaped(text) + 1 + _escaped(inner) + 1


def _notification(run: _Run, part: _Part, k: int, n: int) -> Notification:
    bodies = {
        "default": json.dumps(_machine(run, part, k, n), ensure_ascii=False, separators=(",", ":")),
        "https": json.dumps(_chatbot(run, part, k, n), ensure_ascii=False, separators=(",", ":")),
        "email": _email(run, part, k, n),
        "sms": _headline(run, k, n),
    }
    return Notification(
        subject=_subject(run, k, n),
        message=json.dumps(bodies, ensure_ascii=False),
        message_structure="json",
        attributes=_attributes(run, k, n),
    )


def _attributes(run: _Run, k: int, n: int) -> dict[str, dict[str, str]]:
    # For subscription filter policies (e.g. {"highest_severity": ["HIGH"]}); the same facts are in every body.
    return {
        "highest_severity": {"DataType": "String", "StringValue": run.highest},
        "finding_count": {"DataType": "Number", "StringValue": str(len(run.summary.findings))},
        "changes_applied": {"DataType": "Number", "StringValue": str(run.applied)},
        "dry_run": {"DataType": "String", "StringValue": "true" if run.summary.dry_run else "false"},
        "run_id": {"DataType": "String", "StringValue": run.summary.run_id or "-"},
        "part": {"DataType": "String", "StringValue": f"{k}/{n}"},
    }


def _subject(run: _Run, k: int, n: int) -> str:
    high = run.counts[Severity.HIGH.value]
    text = f"ses-guard: {_n(len(run.summary.findings), 'finding')} ({high} HIGH), {_n(run.applied, 'change')}"
    if run.summary.errors:
        text += f", {_n(len(run.summary.errors), 'error')}"
    if run.summary.dry_run:
        text += " (dry run)"
    return _ascii_line(text + (f" [{k}/{n}]" if n > 1 else ""), SUBJECT_MAX_CHARS)


def _headline(run: _Run, k: int, n: int) -> str:
    c, s = run.counts, run.summary
    text = (
        f"ses-guard {'dry run' if s.dry_run else 'run'}: {_n(len(s.findings), 'finding')} "
        f"(HIGH {c['HIGH']}, MEDIUM {c['MEDIUM']}, LOW {c['LOW']}) in {_n(s.identities_audited, 'identity')}, "
        f"{_n(run.applied, 'change')} applied, {_n(len(s.errors), 'error')}"
    )
    return text + (f" - part {k}/{n}" if n > 1 else "")


# --- machine-readable body ---------------------------------------------------------------------------------------


def _machine(run: _Run, part: _Part, k: int, n: int) -> dict[str, Any]:
    s = run.summary
    return {
        "run_id": s.run_id,
        "dry_run": s.dry_run,
        "regions": list(s.regions),
        "identities_audited": s.identities_audited,
        "part": k,
        "parts": n,
        "min_severity": run.min_severity.value,
        "findings_below_threshold": run.hidden,
        "findings": [f.to_dict() for f in part.findings],
        "changes": [c.to_dict() for c in part.changes],
        "errors": [e.to_dict() for e in part.errors],
    }


# --- email ---------------------------------------------------------------------------------------------------------


def _email(run: _Run, part: _Part, k: int, n: int) -> str:
    s = run.summary
    lines = [
        _headline(run, k, n) + ".",
        f"Run {s.run_id} in {', '.join(s.regions) or 'no region'}.",
    ]
    if run.hidden:
        lines.append(f"{_n(run.hidden, 'finding')} below {run.min_severity.value} counted but not listed.")
    if part.errors:
        lines += ["", "ERRORS (the audit could not finish these):", *(f"  {e}" for e in part.errors)]
    identity = ""
    for i, finding in enumerate(part.findings):
        if finding.identity != identity:
            identity = finding.identity
            lines += ["", _email_identity_header(identity, continued=i == 0 and k > 1)]
        lines += _email_finding(finding)
    if part.changes:
        heading = "CHANGES PLANNED (dry run, nothing changed):" if s.dry_run else "CHANGES MADE:"
        lines += ["", heading, *(_change_line(c) for c in part.changes)]
    if not (part.findings or part.changes or part.errors) and k == 1:
        lines += ["", "Nothing to report: every audited identity passed the checks at this threshold."]
    lines += ["", "Re-check one identity: ses-guard audit --identity <name> [--region <region>]"]
    return "\n".join(lines) + "\n"


def _email_identity_header(identity: str, continued: bool) -> str:
    return f"== {identity}{' (continued)' if continued else ''} =="


def _email_finding(finding: Finding) -> list[str]:
    fixed = " - fixed in this run" if finding.fixed else ""
    lines = [f"  [{finding.severity.value}] {finding.code.value} ({finding.region}){fixed}", f"    {finding.message}"]
    records = [r for r in finding.records if r.values]
    if records:
        lines.append(_records_heading(finding))
        lines += [f"      {_record(r)}" for r in records]
    text = "\n".join(lines)
    if _bytes(text) > FINDING_MAX_BYTES:
        cut = text.encode()[:FINDING_MAX_BYTES].decode("utf-8", "ignore")
        lines = [cut, f"    [cut: this finding's text is {_bytes(text)} bytes; see the JSON body or the CLI]"]
    return lines


def _records_heading(finding: Finding) -> str:
    if finding.fixed:
        return "    Records ses-guard created:"
    return "    Records ses-guard can create:" if finding.fixable else "    Records to set by hand:"


def _change_line(change: Change) -> str:
    state = "applied" if change.applied else "not applied"
    if not change.zone_id:  # an SES-side change
        return f"  {change.action} {change.name}: {' '.join(change.values)} (for {change.reason.value}, {state})"
    return (
        f"  {change.action} {change.name} {change.type} {' | '.join(_value(change.type, v) for v in change.values)}"
        f" (TTL {change.ttl}, zone {change.zone_name}, for {change.reason.value}, {state})"
    )


def _record(record: Record) -> str:
    return f"{record.name} {record.type} {' | '.join(_value(record.type, v) for v in record.values)}"


def _value(rtype: str, value: str) -> str:
    return json.dumps(value, ensure_ascii=False) if rtype == "TXT" else value


# --- Slack through AWS Chatbot --------------------------------------------------------------------------------------


def _chatbot(run: _Run, part: _Part, k: int, n: int) -> dict[str, Any]:
    s = run.summary
    identities = list(dict.fromkeys(f.identity for f in part.findings))
    icon = _ICONS[Severity(run.highest)] if run.highest != "NONE" else ":white_check_mark:"
    title = f"{icon} ses-guard: {_n(run.shown, 'finding')}, {_n(run.applied, 'change')} applied"
    title += " (dry run)" if s.dry_run else ""
    next_steps = ["Re-check one identity: `ses-guard audit --identity <name>`"]
    if any(f.fixable for f in part.findings) and s.dry_run:
        next_steps.insert(0, 'Let ses-guard create the fixable records: invoke with `{"dry_run": false}`')
    if any(f.records and not f.fixable for f in part.findings):
        next_steps.insert(0, "Add the listed records by hand in the DNS that serves each domain")
    return {
        "version": "1.0",
        "source": "custom",
        "id": f"{s.run_id}-{k}",
        "content": {
            "textType": "client-markdown",
            "title": _cap(title + (f" - part {k}/{n}" if n > 1 else ""), SLACK_TITLE_MAX_CHARS),
            "description": _slack_description(run, part),
            "nextSteps": next_steps,
            "keywords": ["ses-guard", run.highest, *s.regions][:10],
        },
        "metadata": {
            "threadId": f"ses-guard-{s.run_id}",
            "summary": _cap(_headline(run, k, n), 200),
            "eventType": EVENT_TYPE,
            "relatedResources": identities[:20],
            "additionalContext": {
                "run_id": s.run_id,
                "highest_severity": run.highest,
                "finding_count": str(len(s.findings)),
                "changes_applied": str(run.applied),
                "part": f"{k}/{n}",
            },
        },
    }


@dataclass(frozen=True)
class _Block:
    lines: tuple[str, ...]
    findings: int = 0
    changes: int = 0


def _slack_description(run: _Run, part: _Part) -> str:
    """A digest that fits Slack: as many identities as fit, worst first, then an explicit count of the rest."""
    c = run.counts
    lines = [
        f"*{run.summary.identities_audited}* identities in {', '.join(run.summary.regions) or 'no region'}: "
        f"HIGH {c['HIGH']}, MEDIUM {c['MEDIUM']}, LOW {c['LOW']}"
        + (f" ({run.hidden} below {run.min_severity.value} not listed)" if run.hidden else "")
    ]
    if part.errors:
        lines.append(f"*Errors:* {len(part.errors)}; first: {_slack_escape(str(part.errors[0]))}")
    blocks = [_slack_identity(identity, list(group)) for identity, group in groupby(part.findings, _identity)]
    if part.changes:
        verb = "planned (dry run)" if run.summary.dry_run else "made"
        blocks.append(_Block((f"*Changes {verb}:* {len(part.changes)}",), changes=len(part.changes)))
    for i, block in enumerate(blocks):
        tail = _slack_tail(blocks[i:])
        if _length([*lines, *block.lines]) + len(tail) + 1 > SLACK_DESCRIPTION_MAX_CHARS:
            lines.append(tail)
            break
        lines += block.lines
    return _cap("\n".join(lines), SLACK_DESCRIPTION_MAX_CHARS)


def _identity(finding: Finding) -> str:
    return finding.identity


def _slack_identity(identity: str, findings: list[Finding]) -> _Block:
    lines = [f"*{_slack_escape(identity)}*"]
    for f in findings:
        fixed = " :white_check_mark: fixed" if f.fixed else ""
        lines.append(f"{_ICONS[f.severity]} `{f.code.value}` ({f.region}){fixed} {_slack_escape(f.message)}")
        if not f.fixable:
            lines += [f"    add by hand: `{_slack_escape(_record(r))}`" for r in f.records if r.values]
    return _Block(tuple(lines), findings=len(findings))


def _slack_tail(rest: Sequence[_Block]) -> str:
    findings = sum(b.findings for b in rest)
    identities = sum(1 for b in rest if b.findings)
    changes = sum(b.changes for b in rest)
    what = f"{findings} more findings on {identities} identities" + (f" and {changes} changes" if changes else "")
    return f"_...{what} are not shown here: the email and the JSON copy list every one._"


def _slack_escape(text: str) -> str:
    # Slack reads &, < and > as control characters in mrkdwn.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- small helpers -----------------------------------------------------------------------------------------------


def _n(count: int, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{count} {noun if count == 1 else plural}"


def _bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def _escaped(text: str) -> int:
    """Bytes of `text` once written as a JSON string value (quotes excluded)."""
    return _bytes(json.dumps(text, ensure_ascii=False)) - 2


def _length(lines: Iterable[str]) -> int:
    return sum(len(line) + 1 for line in lines)


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ascii_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    ascii_only = flat.encode("ascii", "replace").decode("ascii")
    return ascii_only if len(ascii_only) <= limit else ascii_only[: limit - 3] + "..."
