"""The organisation run's one notification, its report and its table: totals first, the worst few targets, bounded."""

from __future__ import annotations

import json

import pytest

from core.kernel.models import Severity
from core.kernel.org import OrgSummary, TargetResult
from core.report.notify import SNS_MAX_BYTES, SUBJECT_MAX_CHARS
from core.report.org import EMAIL_WORST, SLACK_WORST, page, render, should_notify, table
from core.report.slack import SLACK_DESCRIPTION_MAX_CHARS
from core.run.org import summarise


def results(n: int, *, failed_every: int = 0, note: str = "") -> list[TargetResult]:
    out = []
    for i in range(n):
        failed = bool(failed_every) and i % failed_every == 0
        out.append(
            TargetResult(
                f"{i:012d}",
                "eu-west-1",
                status="failed" if failed else "ok",
                identities_audited=3,
                counts={"findings": 3, "changes": 0, "by_severity": {"HIGH": 1, "MEDIUM": 1, "LOW": 1}},
                unfixed={"HIGH": i % 4, "MEDIUM": 1, "LOW": 1},
                new=1,
                report="" if failed else f"s3://bucket/reports/{i:012d}/eu-west-1/2026-12-01/run/report.json",
                errors=[f"sts AssumeRole failed: AccessDenied {note}" + "x" * 2_000] if failed else [],
                error_count=int(failed),
            )
        )
    return out


def test_given_5000_targets_when_rendered_then_one_notification_fits_sns_and_lists_the_worst_few():
    summary = summarise(results(5_000, failed_every=250), "run-1")
    summary.report = "s3://bucket/org/run-1/report.json"

    (notification,) = render(summary)

    assert notification.size < SNS_MAX_BYTES
    assert len(notification.subject) <= SUBJECT_MAX_CHARS
    assert notification.subject.startswith("ses-guard org: 5000 targets (20 failed)")
    parts = json.loads(notification.message)
    email_lines = [line for line in parts["email"].splitlines() if line.startswith("  0")]
    assert len(email_lines) == EMAIL_WORST
    assert all("FAILED" in line for line in email_lines)  # failed targets lead
    assert "...and 4990 more targets" in parts["email"]
    assert "Org report: s3://bucket/org/run-1/report.json" in parts["email"]
    card = json.loads(parts["https"])
    assert card["content"]["description"].count("•") == SLACK_WORST
    assert len(card["content"]["description"]) <= SLACK_DESCRIPTION_MAX_CHARS
    machine = json.loads(parts["default"])
    assert (machine["targets"], machine["failed"], len(machine["worst"])) == (5_000, 20, 10)


def test_given_a_clean_org_run_when_nothing_changed_then_no_notification_unless_asked():
    clean = results(3)
    for r in clean:
        r.new = 0
        r.unfixed = {"HIGH": 0, "MEDIUM": 0, "LOW": 0}
    summary = summarise(clean, "run-2")

    assert not should_notify(summary)
    assert render(summary) == []
    assert should_notify(summary, always=True)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"failed": 1}, True),
        ({"errors": ["the Map failed: States.ExceedToleratedFailureThreshold: ..."]}, True),
        ({}, False),
    ],
)
def test_given_a_failed_target_or_a_run_error_when_judged_then_it_is_worth_a_notification(change, expected):
    summary = OrgSummary("run", targets=1, totals={"new": 0, "resolved": 0, "errors": 0, "unfixed": {}})
    for key, value in change.items():
        setattr(summary, key, value)

    assert should_notify(summary) is expected


def test_given_open_findings_and_notify_on_all_when_judged_then_it_notifies():
    summary = OrgSummary("run", targets=1, totals={"new": 0, "resolved": 0, "errors": 0, "unfixed": {"LOW": 2}})

    assert not should_notify(summary)
    assert should_notify(summary, notify_on="all")


def quiet(**totals: object) -> OrgSummary:
    """An org run with nothing failed, no error, nothing new or resolved, no change applied; then `totals`."""
    base: dict[str, object] = {"new": 0, "resolved": 0, "errors": 0, "changes": 0, "changes_applied": 0}
    return OrgSummary("run", targets=2, totals={**base, "unfixed": {}, **totals})


def test_given_dns_changes_applied_when_judged_then_it_is_worth_a_notification_as_in_single_account_mode():
    assert not should_notify(quiet(changes=2))  # planned only (a dry run): not news
    assert should_notify(quiet(changes=2, changes_applied=1))
    assert "changes: 2 (1 applied)" in render(quiet(changes=2, changes_applied=1))[0].message


@pytest.mark.parametrize(
    ("totals", "minimum", "expected"),
    [
        ({"new": 2, "new_by_severity": {"LOW": 2}}, Severity.LOW, True),
        ({"new": 2, "new_by_severity": {"LOW": 2}}, Severity.MEDIUM, False),
        ({"new": 1, "new_by_severity": {"HIGH": 1}}, Severity.HIGH, True),
        ({"resolved": 1, "resolved_by_severity": {"MEDIUM": 1}}, Severity.HIGH, False),
        ({"resolved": 1, "resolved_by_severity": {"MEDIUM": 1}}, Severity.MEDIUM, True),
    ],
)
def test_given_new_or_resolved_findings_when_judged_then_only_those_at_notify_min_severity_count(
    totals, minimum, expected
):
    summary = quiet(**totals)

    assert should_notify(summary, min_severity=minimum) is expected
    assert bool(render(summary, min_severity=minimum)) is expected


def test_given_notify_on_all_when_only_low_findings_are_open_then_the_minimum_severity_applies():
    summary = quiet(unfixed={"HIGH": 0, "MEDIUM": 0, "LOW": 3})

    assert should_notify(summary, notify_on="all", min_severity=Severity.LOW)
    assert not should_notify(summary, notify_on="all", min_severity=Severity.MEDIUM)


def test_given_markup_in_an_error_when_the_page_is_rendered_then_it_is_escaped():
    summary = summarise(results(2, failed_every=1, note="<script>alert(1)</script>"), "run-<3>")

    html = page(summary)

    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "run-&lt;3&gt;" in html


def test_given_an_org_summary_when_tabled_then_one_row_per_target_worst_first():
    summary = summarise(results(6, failed_every=5), "run-3")

    rows = [line for line in table(summary).splitlines() if line[:12].isdigit()]

    assert len(rows) == 6
    # The failed targets lead, then the rest, worst first.
    assert [row[:12] for row in rows[:2]] == ["000000000005", "000000000000"]
    assert all(" failed " in row for row in rows[:2])
    assert rows[2].startswith("000000000003")
