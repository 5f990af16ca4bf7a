"""An organisation run rendered: the one SNS notification for every target (Slack through AWS Chatbot, email,
SMS, JSON), the org report (JSON and a self-contained HTML page) and the CLI's table.

It leads with the org's totals, then the worst targets (at most EMAIL_WORST lines by email, SLACK_WORST in Slack),
each with its own report. Bounded whatever the number of targets: an OrgSummary holds counters and the worst few.
Pure: no boto3, no clock.
"""

from __future__ import annotations

import html
import json
from typing import Any

from core.kernel.models import Severity
from core.kernel.org import SEVERITIES, OrgSummary, TargetResult
from core.report.digest import plural
from core.report.notify import SUBJECT_MAX_CHARS, Notification
from core.report.slack import EVENT_TYPE, SLACK_DESCRIPTION_MAX_CHARS, SLACK_TITLE_MAX_CHARS, cap

EMAIL_WORST = 10
SLACK_WORST = 3
JSON_WORST = 10
LINE_MAX_CHARS = 400
ERRORS_LISTED = 5
ICONS = {"HIGH": ":red_circle:", "MEDIUM": ":large_orange_circle:", "LOW": ":large_blue_circle:"}


def highest(summary: OrgSummary) -> str:
    """The highest severity with an unfixed finding in any target, or NONE."""
    unfixed = summary.totals.get("unfixed", {})
    return next((s for s in SEVERITIES if unfixed.get(s)), "NONE")


def should_notify(
    summary: OrgSummary, *, min_severity: Severity = Severity.LOW, always: bool = False, notify_on: str = "changes"
) -> bool:
    """As a single-account run (core.report.notify): a failed target, an error or a DNS change applied is always
    news; so is a finding at `min_severity` or above that is new or was resolved; with NOTIFY_ON=all, any open
    finding at that severity."""
    t = summary.totals
    wanted = [s for s in SEVERITIES if Severity(s).rank >= min_severity.rank]
    new = sum(int(t.get("new_by_severity", {}).get(s, 0)) for s in wanted)
    resolved = sum(int(t.get("resolved_by_severity", {}).get(s, 0)) for s in wanted)
    news = summary.failed or summary.errors or t.get("errors") or t.get("changes_applied") or new or resolved
    found = notify_on == "all" and any(t.get("unfixed", {}).get(s) for s in wanted)
    return bool(always or news or found)


def render(
    summary: OrgSummary, *, min_severity: Severity = Severity.LOW, always: bool = False, notify_on: str = "changes"
) -> list[Notification]:
    """One notification, or none when the run is not worth one."""
    if not should_notify(summary, min_severity=min_severity, always=always, notify_on=notify_on):
        return []
    bodies = {
        "default": json.dumps(summary.to_dict(worst=JSON_WORST), ensure_ascii=False, separators=(",", ":")),
        "https": json.dumps(chatbot(summary), ensure_ascii=False, separators=(",", ":")),
        "email": email(summary),
        "sms": headline(summary),
    }
    return [
        Notification(
            subject=subject(summary),
            message=json.dumps(bodies, ensure_ascii=False),
            message_structure="json",
            attributes={
                "highest_severity": {"DataType": "String", "StringValue": highest(summary)},
                "run_id": {"DataType": "String", "StringValue": summary.run_id or "-"},
                "kind": {"DataType": "String", "StringValue": "org"},
                "failed_targets": {"DataType": "Number", "StringValue": str(summary.failed)},
            },
        )
    ]


def headline(summary: OrgSummary) -> str:
    t = summary.totals
    unfixed = t.get("unfixed", {})
    text = (
        f"ses-guard org: {plural(summary.targets, 'target')} ({summary.failed} failed), "
        f"{plural(int(t.get('identities', 0)), 'identity')}, {unfixed.get('HIGH', 0)} HIGH open, "
        f"{t.get('new', 0)} new, {t.get('resolved', 0)} resolved"
    )
    return text + (f", {plural(len(summary.errors), 'run error')}" if summary.errors else "")


def subject(summary: OrgSummary) -> str:
    flat = " ".join(headline(summary).split()).encode("ascii", "replace").decode("ascii")
    return flat if len(flat) <= SUBJECT_MAX_CHARS else flat[: SUBJECT_MAX_CHARS - 3] + "..."


def totals_lines(summary: OrgSummary) -> list[str]:
    t = summary.totals
    by, unfixed = t.get("by_severity", {}), t.get("unfixed", {})
    return [
        f"Targets: {summary.targets} audited in {plural(summary.accounts, 'account')}, {summary.failed} failed",
        f"Identities: {t.get('identities', 0)}",
        f"Findings: {t.get('findings', 0)} ({_severities(by)}); unfixed: {_severities(unfixed)}",
        f"New: {t.get('new', 0)}, resolved: {t.get('resolved', 0)}, "
        f"changes: {t.get('changes', 0)} ({t.get('changes_applied', 0)} applied), "
        f"errors: {t.get('errors', 0)}",
    ]


def target_line(result: TargetResult) -> str:
    where = f"{result.account} {result.region}"
    if result.status == "failed":
        return cap(f"{where}: FAILED: {result.errors[0] if result.errors else 'no detail'}", LINE_MAX_CHARS)
    text = f"{where}: {_severities(result.unfixed)} unfixed, {result.new} new"
    text += f", {plural(result.error_count, 'error')}" if result.error_count else ""
    return cap(text + (f" - {result.report}" if result.report else ""), LINE_MAX_CHARS)


def email(summary: OrgSummary) -> str:
    lines = [f"ses-guard organisation run {summary.run_id}", "", *totals_lines(summary)]
    if summary.report:
        lines.append(f"Org report: {summary.report}")
    lines += ["", "Worst targets:" if summary.worst else "No targets were audited."]
    lines += [f"  {target_line(r)}" for r in summary.worst[:EMAIL_WORST]]
    more = summary.targets - min(len(summary.worst), EMAIL_WORST)
    if summary.worst and more > 0:
        lines.append(f"  ...and {plural(more, 'more target')}: see the org report")
    if summary.errors:
        lines += ["", "Run errors:", *(f"  {cap(e, LINE_MAX_CHARS)}" for e in summary.errors[:ERRORS_LISTED])]
    return "\n".join(lines) + "\n"


def chatbot(summary: OrgSummary) -> dict[str, Any]:
    """AWS Chatbot's custom-notification schema; Chatbot drops anything else without a trace."""
    level = highest(summary)
    icon = ":warning:" if summary.failed else ICONS.get(level, ":white_check_mark:")
    lines = [*(f"*{line}*" if i == 0 else line for i, line in enumerate(totals_lines(summary)))]
    lines += [f"• {target_line(r)}" for r in summary.worst[:SLACK_WORST]]
    if summary.errors:
        lines.append(f"Run error: {cap(summary.errors[0], LINE_MAX_CHARS)}")
    steps = [f"Org report: {summary.report}"] if summary.report else []
    steps.append("Each target's line links its own report; `ses-guard audit --account <id>` re-checks one")
    return {
        "version": "1.0",
        "source": "custom",
        "id": f"{summary.run_id}-org",
        "content": {
            "textType": "client-markdown",
            "title": cap(f"{icon} {headline(summary)}", SLACK_TITLE_MAX_CHARS),
            "description": cap("\n".join(lines), SLACK_DESCRIPTION_MAX_CHARS),
            "nextSteps": steps,
            "keywords": ["ses-guard", "organisation", level],
        },
        "metadata": {
            "threadId": f"ses-guard-{summary.run_id}",
            "summary": cap(headline(summary), 200),
            "eventType": EVENT_TYPE,
            "relatedResources": [cap(f"{r.account}/{r.region}", 256) for r in summary.worst[:SLACK_WORST]],
            "additionalContext": {
                "run_id": summary.run_id,
                "highest_severity": level,
                "targets": str(summary.targets),
                "failed_targets": str(summary.failed),
            },
        },
    }


def report_json(summary: OrgSummary) -> str:
    return json.dumps(summary.to_dict(), ensure_ascii=False, separators=(",", ":"))


def table(summary: OrgSummary) -> str:
    """The CLI's view: the totals, then one row per target, worst first."""
    rows: list[tuple[str, ...]] = [
        ("ACCOUNT", "REGION", "STATUS", "HIGH", "MEDIUM", "LOW", "NEW", "ERRORS", "REPORT OR ERROR")
    ]
    for r in summary.worst:
        detail = _detail(r)
        unfixed = [str(r.unfixed.get(s, 0)) for s in SEVERITIES]
        rows.append((r.account, r.region, r.status, *unfixed, str(r.new), str(r.error_count), cap(detail, 200)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    body = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1] for row in rows]
    tail = [f"Run error: {e}" for e in summary.errors]
    return "\n".join([*totals_lines(summary), "", *body, *tail])


def page(summary: OrgSummary) -> str:
    """The org report as one self-contained HTML page (no scripts, no outside resources)."""
    e = html.escape
    rows = "".join(
        f"<tr class='{e(r.status)}'><td>{e(r.account)}</td><td>{e(r.region)}</td><td>{e(r.status)}</td>"
        + "".join(f"<td>{r.unfixed.get(s, 0)}</td>" for s in SEVERITIES)
        + f"<td>{r.new}</td><td>{r.error_count}</td><td>{e(_detail(r))}</td></tr>"
        for r in summary.worst
    )
    totals = "".join(f"<li>{e(line)}</li>" for line in totals_lines(summary))
    errors = "".join(f"<li>{e(err)}</li>" for err in summary.errors)
    left_out = summary.targets - len(summary.worst)
    note = f"<p>{left_out} better targets are not listed; each has its own report.</p>" if left_out > 0 else ""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>ses-guard organisation run {e(summary.run_id)}</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}tr.failed{background:#fdd}"
        f"</style></head><body><h1>ses-guard organisation run {e(summary.run_id)}</h1><ul>{totals}</ul>"
        + (f"<h2>Run errors</h2><ul>{errors}</ul>" if errors else "")
        + "<h2>Targets, worst first</h2><table><tr><th>Account</th><th>Region</th><th>Status</th><th>HIGH</th>"
        f"<th>MEDIUM</th><th>LOW</th><th>New</th><th>Errors</th><th>Report or error</th></tr>{rows}</table>"
        f"{note}</body></html>"
    )


def _detail(result: TargetResult) -> str:
    """A failed target's error, else its report (or its first error when it has none)."""
    if result.status == "failed" or not result.report:
        return "; ".join(result.errors)
    return result.report


def _severities(counts: Any) -> str:
    return ", ".join(f"{counts.get(s, 0)} {s}" for s in SEVERITIES)
