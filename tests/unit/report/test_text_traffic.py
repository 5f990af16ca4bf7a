"""DMARC traffic in the terminal table, Markdown and the function's return value: a line per domain, bounded."""

from __future__ import annotations

import dataclasses
import json

from core.report.brief import MAX_BYTES, brief
from core.report.formats import render
from core.report.traffic import TRAFFIC_LINES
from tests.unit.report.sample import NOISY, READY, READY_FINDING, summary

READY_LINE = (
    "example.com: 12,340 messages, 99.5% passed DMARC (SES 99.9% of 12,000, other 88.2% of 340), "
    "1 failing source, p=none, ready for p=quarantine"
)
NOISY_LINE = (
    "shop.example.com: 2,800 messages, 91.5% passed DMARC (SES 100% of 2,000, other 70.5% of 800), "
    "2 failing sources, p=none, not ready"
)
HEADING = (
    "DMARC traffic from aggregate reports, 2026-11-01 to 2026-11-30 (30 days): 2 domains, "
    "1 ready for the next policy step"
)


def test_given_traffic_when_the_table_is_rendered_then_each_domain_has_one_line_ready_first_before_the_summary():
    lines = render(summary(traffic=[NOISY, READY]), "table").splitlines()

    start = lines.index(HEADING)
    assert lines[start + 1 : start + 4] == [f"  {READY_LINE}", f"  {NOISY_LINE}", ""]
    assert lines[start + 4].startswith("3 identities in eu-west-1")


def test_given_traffic_when_markdown_is_rendered_then_it_has_a_section_with_a_line_per_domain():
    text = render(summary(traffic=[NOISY, READY]), "markdown")

    assert f"## DMARC traffic\n\n{HEADING}:\n\n- {READY_LINE}\n- {NOISY_LINE}\n" in text


def test_given_no_traffic_when_rendered_then_no_view_has_a_traffic_section():
    for fmt in ("table", "markdown"):
        assert "DMARC traffic" not in render(summary(), fmt)


def test_given_more_domains_than_lines_when_rendered_then_the_first_ones_are_listed_and_the_rest_counted():
    many = [dataclasses.replace(NOISY, domain=f"d{i:03}.example") for i in range(TRAFFIC_LINES + 7)]

    lines = render(summary(traffic=many), "table").splitlines()

    listed = [line for line in lines if line.startswith("  d") and "messages" in line]
    assert len(listed) == TRAFFIC_LINES
    assert "  and 7 more domains: --format json lists every one" in lines


def test_given_traffic_when_briefed_then_only_counts_are_returned():
    result = brief(summary(traffic=[NOISY, READY], findings=[READY_FINDING]))

    assert result["counts"]["traffic"] == {"domains": 2, "ready": 1}
    assert "traffic" not in result  # each domain's days and sources are in the full report, not the return value


def test_given_10000_domains_with_traffic_when_briefed_then_the_result_stays_within_its_bound():
    many = [dataclasses.replace(READY, domain=f"d{i:05}.example") for i in range(10_000)]

    result = brief(summary(traffic=many))

    assert result["counts"]["traffic"] == {"domains": 10_000, "ready": 10_000}
    assert len(json.dumps(result).encode()) <= MAX_BYTES
