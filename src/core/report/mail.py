"""The email body of one notification part: the run summary first, then the part's findings worst first under their
topic, with every record labelled by role, then the changes, then what did not fit.

The changes kind (core.report.digest) leads instead with what is new and what was resolved since the last run, and
ends with one line counting what is still open and where the full report is.
"""

from __future__ import annotations

from itertools import groupby

from core.kernel.models import CATALOGUE, Change, Code, Finding, Resolved, RunError
from core.report.digest import Digest, Part, headline, plural, status_note, still_open_text, tally_text, when
from core.report.text import affected, record_line, value_text

FINDING_MAX_BYTES = 16_384  # one finding's text; beyond this it is cut, visibly
READINESS_LISTED = 10  # domains whose DMARC readiness a message spells out; the rest are counted
READINESS_LINE_MAX_CHARS = 1_000
RECHECK = "Re-check one identity: ses-guard audit --identity <name> [--region <region>]"


def email(digest: Digest, part: Part) -> str:
    changes_kind = digest.kind == "changes"
    lines = _changes_lines(digest, part) if changes_kind else summary_lines(digest, part)
    lines += readiness_lines(digest)
    if part.errors:
        lines += ["", "ERRORS (the audit could not finish these):", *(error_line(e) for e in part.errors)]
    if changes_kind and part.findings:
        lines += ["", "NEW since the last run:"]
    for i, (topic, group) in enumerate(groupby(part.findings, lambda f: f.topic)):
        lines += ["", topic_header(topic, continued=i == 0 and part.k > 1)]
        lines += [line for finding in group for line in finding_lines(finding, status_note(finding, digest.kind))]
    if part.resolved:
        lines += ["", "RESOLVED since the last run:", *(resolved_line(r) for r in part.resolved)]
    if part.changes:
        heading = "CHANGES PLANNED (dry run, nothing changed):" if digest.summary.dry_run else "CHANGES MADE:"
        lines += ["", heading, *(change_line(c) for c in part.changes)]
    if part.empty() and part.k == 1 and not digest.left_out:
        nothing = (
            "Nothing new or resolved since the last run."
            if changes_kind
            else "Nothing to report: every audited identity passed the checks at this threshold."
        )
        lines += ["", nothing]
    if changes_kind:
        lines += ["", still_open_line(digest)]
    if part.last and digest.left_out:
        lines += ["", left_out_line(digest)]
    lines += ["", RECHECK]
    return "\n".join(lines) + "\n"


def summary_lines(digest: Digest, part: Part) -> list[str]:
    s = digest.summary
    lines = [headline(digest, part) + ".", f"Run {s.run_id} in {', '.join(s.regions) or 'no region'}."]
    if s.report:
        lines.append(f"Full report: {s.report}")
    if digest.by_code:
        lines += ["", "By code:", *(_code_line(code, count) for code, count in digest.by_code)]
    if digest.worst:
        lines += ["Worst identities:", *(f"  {key.name} ({key.region}): {tally_text(t)}" for key, t in digest.worst)]
    if digest.hidden:
        lines.append(f"{plural(digest.hidden, 'finding')} below {digest.min_severity.value} counted but not listed.")
    if digest.suppressed:
        lines.append(_suppressed_line(digest))
    return lines


def _changes_lines(digest: Digest, part: Part) -> list[str]:
    """The head of a changes message: one line on what changed, where the run looked, and what is not listed."""
    s = digest.summary
    lines = [headline(digest, part) + ".", f"Run {s.run_id} in {', '.join(s.regions) or 'no region'}."]
    if digest.hidden:
        below = f"{plural(digest.hidden, 'new finding')} below {digest.min_severity.value}"
        lines.append(f"{below} counted but not listed.")
    if digest.suppressed:
        lines.append(_suppressed_line(digest))
    return lines


def readiness_lines(digest: Digest) -> list[str]:
    """The domains that became ready for the next DMARC policy step (with the record to publish), those no longer
    ready, and, but in a changes message, those still ready; at most READINESS_LISTED of them."""
    traffic = digest.counts["traffic"]
    if not digest.readiness and (digest.kind == "changes" or not traffic["domains"]):
        return []
    lines = ["", f"DMARC READINESS ({traffic_text(traffic)}){':' if digest.readiness else '.'}"]
    for note in digest.readiness[:READINESS_LISTED]:
        new = " (new)" if digest.kind == "digest" and note.state == "new" else ""
        lines.append(_cut(f"  {note.text}{new}"))
        if note.finding is not None:
            lines += [_cut(f"    {record_line(note.finding, r)}") for r in note.records]
    more = len(digest.readiness) - READINESS_LISTED
    if more > 0:
        lines.append(f"  and {plural(more, 'more domain')}; {_where_listed(digest, 'run `ses-guard audit`')}")
    return lines


def traffic_text(traffic: dict[str, int]) -> str:
    """`12 domains with aggregate reports, 3 ready for the next policy step`."""
    ready = traffic["ready"] or "none"
    return f"{plural(traffic['domains'], 'domain')} with aggregate reports, {ready} ready for the next policy step"


def _cut(line: str) -> str:
    return line if len(line) <= READINESS_LINE_MAX_CHARS else line[: READINESS_LINE_MAX_CHARS - 3] + "..."


def _suppressed_line(digest: Digest) -> str:
    return f"{plural(digest.suppressed, 'finding')} suppressed (accepted for now): neither counted above nor listed."


def still_open_line(digest: Digest) -> str:
    """What the changes kind does not list again, and where it is listed."""
    return f"STILL OPEN: {still_open_text(digest)}; {_where_listed(digest, 'run `ses-guard audit`')}"


def resolved_line(resolved: Resolved) -> str:
    return (
        f"  [{resolved.severity.value}] {resolved.code.value} at {resolved.subject}"
        f" (first seen {when(resolved.first_seen)}, last seen {when(resolved.last_seen)})"
    )


def _code_line(code: Code, count: int) -> str:
    return f"  {CATALOGUE[code].severity.value:<6} {code.value:<26} {count}"


def left_out_line(digest: Digest) -> str:
    where = _where_listed(digest, "run `ses-guard audit` (add --json for JSON)")
    return f"NOT LISTED: {digest.left_out.text()} did not fit in these messages; {where}"


def _where_listed(digest: Digest, command: str) -> str:
    if digest.summary.report:
        return f"every one is in the full report: {digest.summary.report}"
    return f"{command} to list every one"


def topic_header(topic: str, continued: bool) -> str:
    return f"== {topic}{' (continued)' if continued else ''} =="


def finding_lines(finding: Finding, note: str = "") -> list[str]:
    """The finding, its message and its records; `note` (new, open since...) follows its code."""
    fixed = " - fixed in this run" if finding.fixed else ""
    status = f" - {note}" if note else ""
    head = f"  [{finding.severity.value}] {finding.code.value} ({where(finding)}){status}{fixed}"
    lines = [head, f"    {finding.message}"]
    lines += [f"    {record_line(finding, r)}" for r in finding.records]
    text = "\n".join(lines)
    size = len(text.encode())
    if size > FINDING_MAX_BYTES:
        cut = text.encode()[:FINDING_MAX_BYTES].decode("utf-8", "ignore")
        lines = [cut, f"    [cut: this finding's text is {size} bytes; see the JSON body or the CLI]"]
    return lines


def where(finding: Finding) -> str:
    """The region of a finding about one identity; the identities a shared finding affects."""
    return f"affects {affected(finding)}" if finding.subject else finding.region


def change_line(change: Change) -> str:
    state = "applied" if change.applied else "not applied"
    if not change.zone_id:  # an SES-side change
        return f"  {change.action} {change.name}: {' '.join(change.values)} (for {change.reason.value}, {state})"
    values = " | ".join(value_text("", v) for v in change.values)  # Route 53 form: TXT values come quoted
    return (
        f"  {change.action} {change.name} {change.type} {values}"
        f" (TTL {change.ttl}, zone {change.zone_name}, for {change.reason.value}, {state})"
    )


def error_line(error: RunError) -> str:
    return f"  {error}"
