"""The HTML report's DMARC traffic: a row per domain, a panel with the figures, the readiness verdict and the next
record, pass rate by day as SVG bars, the failing sources with their PTR names; every value escaped."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from core.kernel.traffic import DayTraffic, Source
from core.report.chart import HEIGHT, chart
from core.report.html import TRAFFIC_PANELS, render_html
from tests.htmldom import Element, parse
from tests.unit.report.sample import (
    END,
    MX_MISSING,
    NEXT,
    NOISY,
    POLICY_NONE,
    READY,
    READY_FINDING,
    START,
    summary,
)

HOSTILE = "<script>alert(1)</script>"


def page(**overrides: object) -> Element:
    fields: dict[str, object] = {"traffic": [NOISY, READY], "findings": [MX_MISSING, POLICY_NONE, READY_FINDING]}
    return parse(render_html(summary(**{**fields, **overrides})))


def cells(row: Element) -> list[str]:
    return [c.text for c in row.find_all() if c.tag in ("th", "td")]


def panels(dom: Element) -> dict[str, Element]:
    return {e.attrs["data-domain"]: e for e in dom.find_all("article", cls="traffic-panel")}


def figures(panel: Element) -> dict[str, str]:
    return {dd.attrs["class"]: dd.text for dd in panel.find_all("dd")}


def test_given_traffic_for_two_domains_when_rendered_then_the_table_has_a_row_each_ready_first():
    dom = page()

    rows = [cells(r) for r in dom.by_id("traffic-rows").find_all("tr")]
    assert rows == [
        ["example.com", "12,340", "99.5%", "99.9% of 12,000", "88.2% of 340", "p=none", "ready for p=quarantine"],
        ["shop.example.com", "2,800", "91.5%", "100% of 2,000", "70.5% of 800", "p=none", "not ready"],
    ]


def test_given_a_ready_domain_when_rendered_then_its_panel_gives_the_figures_the_reason_and_the_next_record():
    ready = panels(page())["example.com"]

    assert figures(ready) == {
        "window": "2026-11-01 to 2026-11-30 (30 days)",
        "messages": "12,340",
        "passed": "99.5% of 12,340",
        "ses": "99.9% of 12,000",
        "other": "88.2% of 340",
        "policy": "p=none",
    }
    assert ready.find_all("span", cls="verdict")[0].text == "ready for p=quarantine"
    assert ready.find_all("p", cls="reason")[0].text == READY.reason
    [next_record] = ready.find_all("table", cls="next")
    assert cells(next_record.find_all("tr")[0])[:4] == ["next", "_dmarc.example.com", "TXT", f'"{NEXT}"']
    [link] = next_record.find_all("a")
    assert link.attrs["href"] == f"#f-{READY_FINDING.id}"  # the finding, further down the same page


def test_given_a_domain_that_is_not_ready_when_rendered_then_it_has_the_reason_and_no_next_record():
    noisy = panels(page())["shop.example.com"]

    assert noisy.find_all("span", cls="verdict")[0].text == "not ready"
    assert noisy.find_all("p", cls="reason")[0].text == NOISY.reason
    assert noisy.find_all("table", cls="next") == []


def test_given_failing_sources_when_rendered_then_each_has_its_address_ptr_messages_and_share():
    noisy = panels(page())["shop.example.com"]

    [sources] = noisy.find_all("table", cls="sources")
    assert [cells(r) for r in sources.find_all("tr")[1:]] == [
        ["198.51.100.20", "smtp.crm.example", "other", "500", "200", "7.1%"],
        ["2001:db8::25", "(none)", "other", "300", "36", "1.2%"],
    ]


def test_given_a_window_when_charted_then_there_is_a_bar_per_day_and_a_stub_where_no_report_covers_it():
    [svg] = panels(page())["shop.example.com"].find_all("svg")

    bars = svg.find_all("g")
    assert len(bars) == 30
    titles = [g.find_all("title")[0].text for g in bars]
    assert titles[9] == "2026-11-10: no reports"
    assert titles[0] == "2026-11-01: 92 of 100 messages passed DMARC (92%)"
    assert titles[-1] == "2026-11-30: 80 of 100 messages passed DMARC (80%)"
    assert [r.attrs["class"] for r in bars[9].find_all("rect")] == ["none"]
    assert [r.attrs["class"] for r in bars[0].find_all("rect")] == ["fail", "pass"]


def test_given_days_at_92_and_80_percent_when_charted_then_the_scale_starts_below_the_worst_day():
    drawn = chart(NOISY)

    assert (drawn.floor, drawn.scale) == (0.7, "70% to 100%")
    worst, usual = drawn.bars[-1], drawn.bars[0]
    assert worst.passed == round(HEIGHT * (0.8 - 0.7) / 0.3, 2)  # some green, not an empty bar
    assert usual.passed == round(HEIGHT * (0.92 - 0.7) / 0.3, 2)
    assert usual.passed + usual.failed == HEIGHT


def test_given_every_day_above_90_percent_when_charted_then_the_scale_is_90_to_100():
    drawn = chart(READY)

    assert drawn.scale == "90% to 100%"
    assert all(b.reported for b in drawn.bars)
    assert [b.x for b in drawn.bars[:3]] == [1, 11, 21]


def test_given_a_day_where_nothing_passed_when_charted_then_its_bar_is_all_red_on_a_scale_from_zero():
    lost = dataclasses.replace(NOISY, days=(DayTraffic(START, 50, 0), DayTraffic(END, 50, 50)))

    drawn = chart(lost)

    assert drawn.floor == 0.0
    assert (drawn.bars[0].passed, drawn.bars[0].failed, drawn.bars[-1].passed) == (0.0, HEIGHT, HEIGHT)


def test_given_hostile_domain_and_ptr_names_when_rendered_then_they_are_text_and_never_a_tag():
    source = Source("192.0.2.1", f"x{HOSTILE}.example", ses=False, messages=5, passed=0, share=0.5)
    hostile = dataclasses.replace(NOISY, domain=f"d{HOSTILE}.example", failing=(source,), reason=f"r{HOSTILE}")

    html = render_html(summary(traffic=[hostile]))

    assert "<script>alert" not in html
    dom = parse(html)
    panel = panels(dom)[f"d{HOSTILE}.example"]
    assert f"x{HOSTILE}.example" in panel.find_all("td", cls="ptr")[0].text
    assert f"r{HOSTILE}" in panel.text
    assert len(dom.find_all("script")) == 1


def test_given_more_domains_than_panels_when_rendered_then_every_domain_has_a_row_and_the_first_ones_a_panel():
    many = [
        dataclasses.replace(NOISY, domain=f"d{i:03}.example", messages=1_000 + i) for i in range(TRAFFIC_PANELS + 5)
    ]

    dom = page(traffic=many, findings=[])

    assert len(dom.by_id("traffic-rows").find_all("tr")) == TRAFFIC_PANELS + 5
    shown = list(panels(dom))
    assert len(shown) == TRAFFIC_PANELS
    assert shown[0] == f"d{TRAFFIC_PANELS + 4:03}.example"  # the busiest first
    assert f"first {TRAFFIC_PANELS} of {TRAFFIC_PANELS + 5} domains" in dom.by_id("traffic").text


def test_given_a_run_without_traffic_when_rendered_then_there_is_no_traffic_section():
    dom = page(traffic=[])

    assert dom.find_all(id="traffic") == []


def test_given_a_longer_window_when_charted_then_each_of_its_days_has_a_slot():
    longer = dataclasses.replace(READY, start=START - timedelta(days=60))

    assert len(chart(longer).bars) == 90
