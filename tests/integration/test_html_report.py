"""The HTML report of the demo account, as the real handler stores it beside the JSON, opened in headless Chromium."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from tests import chromium, scenario
from tests.fixtures_aws import REGION
from tests.htmldom import Element, parse

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
