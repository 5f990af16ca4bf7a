"""Regions skipped because the account has not enabled them are counted in every view of a run, and are not errors."""

from __future__ import annotations

from core.kernel.models import SkippedRegion
from core.report.brief import brief
from core.report.formats import render_markdown
from core.report.html import render_html
from core.report.table import render_table
from tests.htmldom import parse
from tests.unit.report.sample import summary

SKIPPED = [SkippedRegion("ap-east-2", "DISABLED"), SkippedRegion("me-central-1", "ENABLING")]
LINE = "2 regions skipped, not enabled in this account: ap-east-2 (disabled), me-central-1 (enabling)"


def test_given_skipped_regions_when_briefed_then_they_are_listed_whole_and_counted_apart_from_errors():
    result = brief(summary(regions_skipped=SKIPPED))

    assert result["regions_skipped"] == [
        {"region": "ap-east-2", "status": "DISABLED"},
        {"region": "me-central-1", "status": "ENABLING"},
    ]
    assert result["counts"]["regions_skipped"] == 2
    assert result["counts"]["errors"] == len(summary().errors)


def test_given_no_skipped_region_when_briefed_then_the_list_is_empty_and_the_count_zero():
    result = brief(summary())

    assert (result["regions_skipped"], result["counts"]["regions_skipped"]) == ([], 0)


def test_given_skipped_regions_when_rendered_as_a_table_then_a_line_after_the_summary_names_them():
    lines = render_table(summary(regions_skipped=SKIPPED)).splitlines()

    assert lines[lines.index(LINE) - 1].startswith("3 identities in eu-west-1")
    assert not any("skipped, not enabled" in line for line in render_table(summary()).splitlines())


def test_given_one_skipped_region_when_rendered_as_markdown_then_it_is_named_in_the_singular():
    text = render_markdown(summary(regions_skipped=SKIPPED[:1]))

    assert "1 region skipped, not enabled in this account: ap-east-2 (disabled)" in text.splitlines()


def test_given_skipped_regions_when_rendered_as_html_then_the_header_names_them():
    dom = parse(render_html(summary(regions_skipped=SKIPPED)))

    assert dom.by_id("regions-skipped").text == (
        "ap-east-2 (disabled), me-central-1 (enabling): not enabled in this account"
    )
    assert "regions-skipped" not in render_html(summary())
