"""The Slack rendering of one notification part, in AWS Chatbot's custom-notification schema.

Chatbot drops, without a trace, anything that does not follow the schema. Slack shows the run summary first, then as
many topics as its 3,000 characters hold, worst first, then how many it leaves to the email and JSON copies. A changes
message (core.report.digest) leads with what is new and what was resolved, and ends with what is still open.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from core.kernel.models import Finding, Record, Resolved, Severity
from core.report.digest import Digest, Part, headline, plural, since, status_note, still_open_text, tally_text, when
from core.report.mail import traffic_text, where
from core.report.text import by_hand, record_line, record_text

# Chatbot hands `description` to Slack as one text object; Slack's Block Kit text objects stop at 3,000 characters.
SLACK_DESCRIPTION_MAX_CHARS = 3_000
SLACK_TITLE_MAX_CHARS = 150  # Slack header text limit
SUMMARY_LINE_MAX_CHARS = 320  # each summary line, so the summary never crowds out the findings and the notes
READINESS_LISTED = 3  # domains whose DMARC readiness the card spells out; the email lists more
READINESS_MAX_CHARS = 1_000  # all of them together, so the findings keep most of the card
EVENT_TYPE = "ses-guard-findings"

ICONS = {Severity.HIGH: ":red_circle:", Severity.MEDIUM: ":large_orange_circle:", Severity.LOW: ":large_blue_circle:"}


def chatbot(digest: Digest, part: Part) -> dict[str, Any]:
    s = digest.summary
    identities = list(dict.fromkeys(key.name for f in part.findings for key in f.identities))
    title = f"{_icon(digest)} ses-guard{_what(digest)}, {plural(digest.applied, 'change')} applied"
    title += " (dry run)" if s.dry_run else ""
    title += f" - part {part.k}/{part.n}" if part.n > 1 else ""
    return {
        "version": "1.0",
        "source": "custom",
        "id": f"{s.run_id}-{part.k}",
        "content": {
            "textType": "client-markdown",
            "title": cap(title, SLACK_TITLE_MAX_CHARS),
            "description": description(digest, part),
            "nextSteps": _next_steps(digest, part),
            "keywords": ["ses-guard", digest.highest, *s.regions][:10],
        },
        "metadata": {
            "threadId": f"ses-guard-{s.run_id}",
            "summary": cap(headline(digest, part), 200),
            "eventType": EVENT_TYPE,
            "relatedResources": [cap(name, 256) for name in identities[:20]],
            "additionalContext": {
                "run_id": s.run_id,
                "highest_severity": digest.highest,
                "finding_count": str(len(s.findings)),
                "changes_applied": str(digest.applied),
                "part": f"{part.k}/{part.n}",
                "truncated": "true" if digest.left_out else "false",
            },
        },
    }


def _icon(digest: Digest) -> str:
    """The worst severity the message is about; a message about nothing open, or only about what was resolved, is
    good news."""
    return ICONS[Severity(digest.highest)] if digest.highest != "NONE" else ":white_check_mark:"


def _what(digest: Digest) -> str:
    if digest.kind == "changes":
        return f": {since(digest)}, {len(digest.still_open)} still open"
    if digest.kind == "digest":
        return f" digest: {len(digest.open)} open, {since(digest)}"
    return f": {plural(digest.listed, 'finding')}"


def _next_steps(digest: Digest, part: Part) -> list[str]:
    steps = []
    if any(by_hand(f) for f in part.findings):
        steps.append("Add the records marked `set by hand` in the DNS that serves each domain")
    if any(f.fixable and not f.fixed for f in part.findings) and digest.summary.dry_run:
        steps.append(
            "Let ses-guard create the fixable records: redeploy with `DryRun=false`, or run `ses-guard audit --apply`"
        )
    if any(note.state == "new" for note in digest.readiness):
        steps.append(
            "Move each ready domain one DMARC policy step: publish the `needed` record "
            "(`DMARC_PROGRESSION=true` lets ses-guard step the records it created)"
        )
    if digest.left_out:
        steps.append(_every_one(digest))
    steps.append("Re-check one identity: `ses-guard audit --identity <name>`")
    return steps


@dataclass(frozen=True)
class _Block:
    lines: tuple[str, ...]
    findings: int = 0
    changes: int = 0
    resolved: int = 0


def description(digest: Digest, part: Part) -> str:
    """The summary, then topics worst first for as long as they fit, then exact counts of what is not shown."""
    head = [cap(line, SUMMARY_LINE_MAX_CHARS) for line in [*_summary(digest, part), *_readiness(digest)]]
    foot = [cap(_still_open(digest), SUMMARY_LINE_MAX_CHARS)] if digest.kind == "changes" else []
    foot += [_left_out(digest)] if part.last and digest.left_out else []
    blocks = [_topic(topic, list(group), digest) for topic, group in groupby(part.findings, lambda f: f.topic)]
    if part.resolved:
        lines = ["*Resolved since the last run:*", *(_resolved(r) for r in part.resolved)]
        blocks.append(_Block(tuple(lines), resolved=len(part.resolved)))
    if part.changes:
        verb = "planned (dry run)" if digest.summary.dry_run else "made"
        blocks.append(_Block((f"*Changes {verb}:* {len(part.changes)}",), changes=len(part.changes)))
    lines = list(head)
    for i, block in enumerate(blocks):
        tail = _tail(blocks[i:])
        if _length([*lines, *block.lines, tail, *foot]) > SLACK_DESCRIPTION_MAX_CHARS:
            lines.append(tail)
            break
        lines += block.lines
    return cap("\n".join([*lines, *foot]), SLACK_DESCRIPTION_MAX_CHARS)


def _summary(digest: Digest, part: Part) -> list[str]:
    s = digest.summary
    regions = ", ".join(s.regions) if len(s.regions) <= 4 else plural(len(s.regions), "region")
    suppressed = [f"*Suppressed:* {digest.suppressed} (accepted for now, not listed)"] if digest.suppressed else []
    errors = [f"*Errors:* {len(part.errors)}; first: {escape(str(part.errors[0]))}"] if part.errors else []
    if digest.kind == "changes":
        below = f" ({digest.hidden} below {digest.min_severity.value} not listed)" if digest.hidden else ""
        lead = f"*{s.identities_audited}* identities in {regions or 'no region'}: *{len(digest.new)} new*{below}"
        return [f"{lead}, *{len(digest.resolved)} resolved* since the last run", *suppressed, *errors]
    lines = [
        f"*{s.identities_audited}* identities in {regions or 'no region'}: {digest.severities()}"
        + (f" ({digest.hidden} below {digest.min_severity.value} not listed)" if digest.hidden else "")
    ]
    if digest.by_code:
        lines.append(_listing("*By code:* ", [f"`{code.value}` {count}" for code, count in digest.by_code], ", "))
    if digest.worst:
        worst = [f"{escape(key.name)} ({key.region}) {tally_text(tally)}" for key, tally in digest.worst]
        lines.append(_listing("*Worst identities:* ", worst, "; "))
    if s.report:
        lines.append(f"*Full report:* `{escape(s.report)}`")
    return [*lines, *suppressed, *errors]


def _readiness(digest: Digest) -> list[str]:
    """The first few readiness changes, each with the record to publish, within READINESS_MAX_CHARS."""
    traffic = digest.counts["traffic"]
    if not digest.readiness and (digest.kind == "changes" or not traffic["domains"]):
        return []
    lines = [f"*DMARC readiness:* {traffic_text(traffic)}"]
    shown = 0
    for note in digest.readiness[:READINESS_LISTED]:
        icon = ":warning:" if note.state == "gone" else ":arrow_up:"
        entry = [cap(f"{icon} {escape(note.text)}", SUMMARY_LINE_MAX_CHARS)]
        entry += [f"    needed: `{escape(cap(record_text(r), SUMMARY_LINE_MAX_CHARS - 16))}`" for r in note.records]
        if _length([*lines, *entry]) > READINESS_MAX_CHARS:
            break
        lines += entry
        shown += 1
    if (more := len(digest.readiness) - shown) > 0:
        lines.append(f"_...and {plural(more, 'more domain')}: the email and the full report list them_")
    return lines


def _still_open(digest: Digest) -> str:
    report = digest.summary.report
    where = f"*Full report:* `{escape(report)}`" if report else "List them: `ses-guard audit`"
    return f"*Still open:* {still_open_text(digest)}. {where}"


def _resolved(resolved: Resolved) -> str:
    first = when(resolved.first_seen)
    return f":white_check_mark: `{resolved.code.value}` ({escape(resolved.subject)}), first seen {first}"


def _listing(label: str, entries: list[str], separator: str) -> str:
    """As many entries as fit on one summary line, then how many more there are."""
    for shown in range(len(entries), 1, -1):
        rest = len(entries) - shown
        line = label + separator.join(entries[:shown]) + (f" and {rest} more" if rest else "")
        if len(line) <= SUMMARY_LINE_MAX_CHARS:
            return line
    rest = len(entries) - 1
    return label + entries[0] + (f" and {rest} more" if rest else "")


def _topic(topic: str, findings: list[Finding], digest: Digest) -> _Block:
    lines = [f"*{escape(topic)}*"]
    for f in findings:
        fixed = " :white_check_mark: fixed" if f.fixed else ""
        note = status_note(f, digest.kind)
        status = f" _{note}_" if note else ""
        lines.append(f"{ICONS[f.severity]} `{f.code.value}` ({escape(where(f))}){status}{fixed} {escape(f.message)}")
        lines += [_record(f, r) for r in f.records]
    return _Block(tuple(lines), findings=len(findings))


def _record(finding: Finding, record: Record) -> str:
    """The email's labelled line, with the record itself as code so it can be copied."""
    text = record_text(record)
    label, _, who = record_line(finding, record).partition(text)
    return f"    {label.strip()} `{escape(text)}`{escape(who)}"


def _tail(rest: Sequence[_Block]) -> str:
    findings = sum(b.findings for b in rest)
    topics = sum(1 for b in rest if b.findings)
    changes = sum(b.changes for b in rest)
    resolved = sum(b.resolved for b in rest)
    what = [f"{findings} more findings on {topics} topics"] if findings else []
    what += [f"{resolved} resolved"] if resolved else []
    what += [f"{changes} changes"] if changes else []
    return f"_...{' and '.join(what)} are not shown here: the email and the JSON copy of this message list them._"


def _left_out(digest: Digest) -> str:
    return f"_{digest.left_out.text()} did not fit in these messages. {_every_one(digest)}._"


def _every_one(digest: Digest) -> str:
    if digest.summary.report:
        return f"Every finding is in the full report: `{escape(digest.summary.report)}`"
    return "List every finding: `ses-guard audit`"


def escape(text: str) -> str:
    # Slack reads &, < and > as control characters in mrkdwn.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _length(lines: Iterable[str]) -> int:
    return sum(len(line) + 1 for line in lines)
