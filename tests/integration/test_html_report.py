"""The HTML report of the demo account, as the real handler stores it beside the JSON, opened in headless Chromium."""

from __future__ import annotations

import dataclasses
import json
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.kernel.traffic import Source
from core.report.html import render_html
from handlers import ingest
from tests import chromium, scenario
from tests.fixtures_aws import REGION
from tests.htmldom import Element, parse
from tests.integration import test_traffic as traffic
from tests.rua_mail import Row
from tests.unit.report.sample import NEXT, NOISY, READY, READY_FINDING, summary

BUCKET = "ses-guard-reports"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def stored_report(aws: Any, dns_server: Any, run: Any, monkeypatch: Any, folder: Path) -> tuple[Path, dict[str, Any]]:
    """Run the handler over the demo account with a report bucket; the HTML page it stored, and the JSON report."""
    scenario.build(aws, dns_server)
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    monkeypatch.setenv("REPORT_BUCKET", BUCKET)

    summary = run({"dry_run": True})

    bucket, _, key = summary["report"].removeprefix("s3://").partition("/")
    assert (bucket, key.rsplit("/", 1)[-1]) == (BUCKET, "report.json")
    html = s3.get_object(Bucket=bucket, Key=key.removesuffix(".json") + ".html")
    assert html["ContentType"] == "text/html; charset=utf-8"
    page = folder / "report.html"
    page.write_bytes(html["Body"].read())
    return page, json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def matrix(dom: Element) -> dict[tuple[str, str], list[str]]:
    """(identity, region) -> the cells' words, as the browser shows them."""
    rows = {}
    for row in dom.by_id("matrix-rows").find_all("tr"):
        name, region, *cells = (c.text for c in row.find_all() if c.tag in ("th", "td"))
        rows[(name, region)] = cells
    return rows


def visible(dom: Element) -> dict[str, str]:
    """Finding id -> code, for the findings the page's script left shown."""
    return {
        e.attrs["id"].removeprefix("f-"): e.attrs["data-code"]
        for e in dom.find_all("article", cls="finding")
        if not e.hidden
    }


def test_given_the_demo_account_when_its_report_opens_in_chromium_then_the_matrix_and_the_filters_hold(
    aws, dns_server, run, monkeypatch, tmp_path
):
    page, report = stored_report(aws, dns_server, run, monkeypatch, tmp_path)
    high = {f["id"]: f["code"] for f in report["findings"] if f["severity"] == "HIGH"}
    dkim_missing = {i: c for i, c in high.items() if c == "DKIM_RECORD_MISSING"}

    by_severity = parse(chromium.dump_dom(page, "severity=HIGH"))
    by_both = parse(chromium.dump_dom(page, "severity=HIGH&code=DKIM_RECORD_MISSING"))

    cells = matrix(by_severity)
    assert len(cells) == report["identities_audited"] == len(scenario.EXPECTED)
    assert set(cells) == set(scenario.EXPECTED)
    assert cells[("legacy.example.org", scenario.EU)][0] == "fail"  # DKIM: its CNAMEs are nowhere
    assert cells[("good.example.com", scenario.EU)] == ["pass", "pass", "pass"]
    assert cells[("alerts@example.com", scenario.EU)] == ["pass", "n/a", "n/a"]
    assert len(by_severity.find_all("article", cls="finding")) == len(report["findings"])
    assert visible(by_severity) == high
    assert by_severity.by_id("shown").text == f"{len(high)} of {len(report['findings'])} findings shown"
    assert len(dkim_missing) >= 2
    assert visible(by_both) == dkim_missing


def test_given_the_demo_account_when_its_report_is_shot_in_chromium_then_the_screenshot_is_a_full_png(
    aws, dns_server, run, monkeypatch, tmp_path
):
    page, _ = stored_report(aws, dns_server, run, monkeypatch, tmp_path)

    png = chromium.screenshot(page, tmp_path / "report.png", width=1280, height=1600).read_bytes()

    assert png.startswith(PNG_SIGNATURE)
    assert struct.unpack(">II", png[16:24]) == (1280, 1600)  # IHDR: the window, not an empty frame
    assert len(png) > 50_000  # a blank page compresses to a few kilobytes


def test_given_dmarc_traffic_with_hostile_names_when_the_report_opens_in_chromium_then_the_panels_show_it_all_as_text(
    tmp_path,
):
    hostile = '<img src=x onerror="document.title=1">'
    source = Source("192.0.2.1", f"mta{hostile}.example", ses=False, messages=40, passed=0, share=40 / 2_800)
    spoofed = dataclasses.replace(NOISY, domain=f"x{hostile}.example", failing=(source, *NOISY.failing))
    page = tmp_path / "report.html"
    page.write_text(render_html(summary(traffic=[spoofed, READY], findings=[READY_FINDING])), encoding="utf-8")

    loaded = chromium.load(page)

    assert loaded.console == []  # no Content-Security-Policy violation, nothing else logged
    dom = parse(loaded.dom)
    assert dom.find_all("img") == []  # the names stayed text
    panels = {e.attrs["data-domain"]: e for e in dom.find_all("article", cls="traffic-panel")}
    assert list(panels) == ["example.com", f"x{hostile}.example"]
    ready, noisy = panels["example.com"], panels[f"x{hostile}.example"]
    assert ready.find_all("span", cls="verdict")[0].text == "ready for p=quarantine"
    assert ready.find_all("dd", cls="passed")[0].text == "99.5% of 12,340"
    assert NEXT in ready.find_all("table", cls="next")[0].text
    assert len(ready.find_all("svg")[0].find_all("rect")) == 60  # a passing and a failing share for each of 30 days
    ptrs = [td.text for td in noisy.find_all("td", cls="ptr")]
    assert ptrs == [f"mta{hostile}.example", "smtp.crm.example", "(none)"]
    assert noisy.find_all("h3")[0].text.startswith(f"x{hostile}.example")


@pytest.fixture
def inbox(aws: Any, bucket: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[traffic.Reports]:
    """The reports inbox the ingest function reads, as the traffic tests set it up; aggregates go to `bucket`."""
    aws.client("s3").create_bucket(Bucket=traffic.MAIL, CreateBucketConfiguration={"LocationConstraint": scenario.EU})
    monkeypatch.setenv("REPORTS_INBOX", f"s3://{traffic.MAIL}/inbox/")
    monkeypatch.setenv("DMARC_RUA", traffic.RUA)
    monkeypatch.setenv("DMARC_WINDOW_DAYS", str(traffic.WINDOW))
    yield traffic.Reports(aws)
    ingest.load_settings.cache_clear()


def test_given_a_window_of_clean_reports_when_a_real_run_stores_its_page_then_the_panel_says_ready_with_the_next_record(
    aws, dns_server, run, tmp_path, inbox, clock
):
    clock.now = traffic.NOW
    traffic.world(aws, dns_server)
    inbox.days(traffic.DOMAIN, [Row(traffic.SES_IP, 60)])
    s3 = aws.client("s3")

    key = run()["report"].removeprefix(f"s3://{BUCKET}/").removesuffix(".json") + ".html"
    page = tmp_path / "report.html"
    page.write_bytes(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    loaded = chromium.load(page)

    assert loaded.console == []
    dom = parse(loaded.dom)
    [panel] = dom.find_all("article", cls="traffic-panel")
    assert panel.attrs["data-domain"] == traffic.DOMAIN
    assert panel.find_all("span", cls="verdict")[0].text == "ready for p=quarantine"
    assert panel.find_all("dd", cls="messages")[0].text == f"{60 * traffic.WINDOW:,}"  # 60 a day
    assert panel.find_all("dd", cls="ses")[0].text == f"100% of {60 * traffic.WINDOW:,}"
    assert traffic.STEPPED in panel.find_all("table", cls="next")[0].text
    assert len(panel.find_all("svg")[0].find_all("g")) == traffic.WINDOW
