"""The terminal view of a run that remembers the last one: new findings marked, open ones dated, resolved ones
listed with when they were first seen; a run without memory shows none of it."""

from __future__ import annotations

from dataclasses import replace

from core.kernel.models import Code, Resolved, Severity, Suppression
from core.report.table import render_table
from tests.unit.report.sample import MX_MISSING, POLICY_NONE, summary

DAY1 = "2026-06-01T06:00:00+00:00"
DAY3 = "2026-06-03T06:00:00+00:00"
GONE = Resolved("a1b2", Code.DMARC_MISSING, "_dmarc.shop.example.com", Severity.HIGH, DAY1, "2026-06-02T06:00:00+00:00")


def remembered(**overrides: object):
    new = replace(MX_MISSING, status="new", first_seen=DAY3)
    still = replace(POLICY_NONE, status="open", first_seen=DAY1)
    return summary(findings=[new, still], resolved=[GONE], **overrides)


def test_given_a_remembered_run_when_rendered_then_new_findings_are_marked_and_open_ones_dated():
    text = render_table(remembered())

    assert "  [HIGH] MAIL_FROM_MX_MISSING (eu-west-1) - new\n" in text
    assert "  [LOW] DMARC_POLICY_NONE (affects example.com (eu-west-1), shop.example.com (eu-west-1))" in text
    assert " - open since 2026-06-01 06:00 UTC\n" in text


def test_given_resolved_findings_when_rendered_then_they_are_listed_with_their_first_sighting_before_the_changes():
    text = render_table(remembered())

    listing = (
        "RESOLVED since the last run\n  [HIGH] DMARC_MISSING _dmarc.shop.example.com (first seen 2026-06-01 06:00 UTC)"
    )
    assert listing in text
    assert text.index(listing) < text.index("CHANGES (planned")


def test_given_a_remembered_run_when_rendered_then_the_summary_line_counts_new_and_resolved():
    text = render_table(remembered())

    assert "(HIGH 1, MEDIUM 0, LOW 1; 1 new, 1 resolved)" in text


def test_given_a_new_finding_that_is_suppressed_when_rendered_then_it_is_not_called_new():
    accepted = replace(MX_MISSING, status="new", first_seen=DAY3, suppressed=Suppression("known", "2026-12-31"))

    text = render_table(summary(findings=[accepted, replace(POLICY_NONE, status="open", first_seen=DAY1)]))

    assert " - new" not in text
    assert "; 0 new, 0 resolved)" in text


def test_given_a_run_without_memory_when_rendered_then_nothing_is_marked_new_open_or_resolved():
    text = render_table(summary())

    assert " - new" not in text
    assert "open since" not in text
    assert "RESOLVED" not in text
    assert " resolved)" not in text


def test_given_colour_when_a_new_finding_is_rendered_then_the_mark_is_bold():
    text = render_table(remembered(), colour=True)

    assert " - \x1b[1mnew\x1b[0m" in text
