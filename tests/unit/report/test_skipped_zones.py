"""Zones the run writes nothing into are listed, with the reason, in every view of a run; long lists stay bounded."""

from __future__ import annotations

from core.kernel.models import SkippedZone
from core.report.brief import MAX_ZONES_SKIPPED, brief
from core.report.formats import render_markdown
from core.report.html import render_html
from core.report.table import render_table
from tests.htmldom import parse
from tests.unit.report.sample import summary

HIDDEN = SkippedZone("Z1", "example.net", "receivers may not see the Route 53 zone example.net: live NS differ")
UNREAD = SkippedZone("Z2", "example.org", "the Route 53 zone example.org (Z2) could not be read (AccessDenied)")
LINE = (
    "2 zones skipped, nothing written there: example.net (receivers may not see the Route 53 zone example.net: live "
    "NS differ); example.org (the Route 53 zone example.org (Z2) could not be read (AccessDenied))"
)


def test_given_skipped_zones_when_rendered_as_a_table_or_markdown_then_one_line_names_each_with_its_reason():
    assert LINE in render_table(summary(zones_skipped=[HIDDEN, UNREAD])).splitlines()
    assert LINE in render_markdown(summary(zones_skipped=[HIDDEN, UNREAD])).splitlines()
    assert not any("zones skipped" in line for line in render_table(summary()).splitlines())


def test_given_many_skipped_zones_when_rendered_then_the_line_names_five_and_points_at_the_report():
    many = [SkippedZone(f"Z{i}", f"zone{i}.example", "could not be read") for i in range(8)]

    [line] = [x for x in render_table(summary(zones_skipped=many)).splitlines() if "zones skipped" in x]

    assert line.startswith("8 zones skipped, nothing written there: zone0.example (could not be read); ")
    assert line.endswith("zone4.example (could not be read); 3 more in the report")


def test_given_many_skipped_zones_when_briefed_then_the_first_are_listed_whole_and_all_are_counted():
    many = [SkippedZone(f"Z{i}", f"zone{i}.example", "could not be read") for i in range(MAX_ZONES_SKIPPED + 5)]

    result = brief(summary(zones_skipped=many))

    assert result["zones_skipped"] == [z.to_dict() for z in many[:MAX_ZONES_SKIPPED]]
    assert result["counts"]["zones_skipped"] == MAX_ZONES_SKIPPED + 5


def test_given_a_skipped_zone_when_the_page_is_rendered_then_the_header_names_it_and_its_reason():
    page = parse(render_html(summary(zones_skipped=[HIDDEN])))

    assert page.by_id("zones-skipped").text == str(HIDDEN)
