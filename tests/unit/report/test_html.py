"""The HTML report: one self-contained page, every value escaped, every finding, the matrix a row per identity."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re

from core.kernel.models import Code, Finding, IdentityKey, Record, RunError
from core.report.html import FOLD_IDENTITIES, render_html
from tests.htmldom import Element, parse
from tests.keys import RSA_2048_SPKI
from tests.unit.report.sample import APEX, CHANGE, EU, MX_MISSING, POLICY_NONE, summary

HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def page(**overrides: object) -> Element:
    return parse(render_html(summary(**overrides)))


def findings(dom: Element) -> dict[str, Element]:
    return {e.attrs["id"].removeprefix("f-"): e for e in dom.find_all("article", cls="finding")}


def matrix_rows(dom: Element) -> list[list[str]]:
    return [
        [cell.text for cell in row.find_all() if cell.tag in ("th", "td")]
        for row in dom.by_id("matrix-rows").find_all("tr")
    ]


def test_given_markup_in_every_field_when_rendered_then_it_is_text_and_never_a_tag():
    key = IdentityKey(EU, f"x{HOSTILE}.example.com")
    hostile = Finding.about(
        key,
        Code.DMARC_INVALID,
        f"message {HOSTILE}",
        subject=f"_dmarc.{HOSTILE}",
        records=(Record(f"_dmarc.{HOSTILE}", "TXT", (f"v=DMARC1; {HOSTILE}",), role="found"),),
    )
    run = summary(
        run_id=HOSTILE,
        regions=[HOSTILE],
        identities=[key],
        findings=[hostile],
        changes=[dataclasses.replace(CHANGE, name=HOSTILE, values=(HOSTILE,))],
        errors=[RunError("zone", HOSTILE, HOSTILE)],
        report=f"s3://bucket/{HOSTILE}",
    )

    html = render_html(run)

    assert "<script>alert" not in html
    assert html.count(ESCAPED) >= 9  # run id, region, report, subject, message, record name and value, change, error
    dom = parse(html)
    [script] = dom.find_all("script")
    assert "alert" not in script.text
    assert HOSTILE in findings(dom)[hostile.id].text  # what a reader sees is the value itself


def test_given_a_page_when_its_references_are_listed_then_nothing_outside_it_is_loaded():
    html = render_html(summary())
    dom = parse(html)

    assert not re.search(r"https?:|//[a-z]|@import|url\(", html, re.IGNORECASE)
    assert not [e for e in dom.iter() if "src" in e.attrs or e.tag in ("link", "iframe", "img", "object", "embed")]
    assert {e.attrs["href"][0] for e in dom.find_all("a")} == {"#"}  # links only within the page


def test_given_a_page_when_its_policy_is_read_then_it_allows_exactly_its_own_style_and_script():
    dom = page()

    [meta] = dom.find_all("meta", http_equiv="Content-Security-Policy")
    policy = dict(d.strip().split(" ", 1) for d in meta.attrs["content"].split(";"))
    [style] = dom.find_all("style")
    [script] = dom.find_all("script")
    assert policy["default-src"] == "'none'"
    assert policy["style-src"] == sha256(style.text)
    assert policy["script-src"] == sha256(script.text)


def test_given_a_summary_when_rendered_then_every_finding_is_there_with_its_severity_and_code():
    dom = page()

    shown = findings(dom)
    assert list(shown) == [MX_MISSING.id, POLICY_NONE.id]  # worst first, as the summary lists them
    assert (shown[MX_MISSING.id].attrs["data-severity"], shown[MX_MISSING.id].attrs["data-code"]) == (
        "HIGH",
        "MAIL_FROM_MX_MISSING",
    )
    assert "_dmarc.example.com" in shown[POLICY_NONE.id].text
    assert "example.com (eu-west-1), shop.example.com (eu-west-1)" in shown[POLICY_NONE.id].text


def test_given_the_identities_when_rendered_then_the_matrix_has_a_row_each_with_a_status_per_protocol():
    dom = page()

    assert matrix_rows(dom) == [
        ["example.com", EU, "pass", "pass", "warn"],
        ["ops@example.com", EU, "pass", "n/a", "n/a"],
        ["shop.example.com", EU, "pass", "fail", "warn"],
    ]
    fail = dom.find_all("td", cls="fail")
    assert [c.text for c in fail] == ["fail"]  # colour comes with the class, the word carries it without colour


def test_given_found_and_required_records_when_rendered_then_they_read_now_and_needed_with_values_whole():
    key = f"v=DKIM1; k=rsa; p={RSA_2048_SPKI}"
    weak = Finding.about(
        APEX,
        Code.DKIM_RECORD_CONFLICT,
        "the name holds a TXT",
        records=(
            Record("t._domainkey.example.com", "TXT", (key,), role="found"),
            Record("t._domainkey.example.com", "CNAME", ("t.dkim.amazonses.com",)),
        ),
    )
    dom = page(findings=[weak, MX_MISSING, dataclasses.replace(POLICY_NONE, fixed=True)])

    shown = findings(dom)
    rows = [[c.text for c in r.find_all() if c.tag in ("th", "td")] for r in shown[weak.id].find_all("tr")]
    assert rows == [
        ["now", "t._domainkey.example.com", "TXT", f'"{key}"', ""],
        ["needed", "t._domainkey.example.com", "CNAME", "t.dkim.amazonses.com", "set by hand"],
    ]
    assert shown[MX_MISSING.id].find_all("td", cls="who")[0].text == "ses-guard creates it on a live run"
    assert shown[POLICY_NONE.id].find_all("span", cls="state")[0].text == "fixed"


def test_given_a_finding_shared_by_many_identities_when_rendered_then_all_are_listed_behind_a_fold():
    many = [IdentityKey(EU, f"d{i}.example.com") for i in range(FOLD_IDENTITIES + 1)]
    shared = dataclasses.replace(POLICY_NONE, identities=tuple(many))

    dom = page(identities=many, findings=[shared])

    [fold] = findings(dom)[shared.id].find_all("details")
    assert f"Affects {len(many)} identities" in fold.text
    assert all(f"{key.name} ({EU})" in fold.text for key in many)
    assert len(dom.by_id("matrix-rows").find_all("tr")) == len(many)


def test_given_findings_when_rendered_then_the_filters_offer_every_severity_and_code_with_counts():
    dom = page()

    severities = [o.attrs["value"] for o in dom.by_id("filter-severity").find_all("option")]
    codes = {o.attrs["value"]: o.text for o in dom.by_id("filter-code").find_all("option")}
    assert severities == ["", "HIGH", "MEDIUM", "LOW"]
    assert set(codes) == {"", *(c.value for c in Code)}  # any code can be linked to, found or not
    assert codes["MAIL_FROM_MX_MISSING"] == "MAIL_FROM_MX_MISSING (1)"
    assert codes["DKIM_KEY_WEAK"] == "DKIM_KEY_WEAK (0)"


def test_given_a_run_when_rendered_then_the_header_and_counts_come_from_the_summary():
    dom = page(dry_run=False, report="s3://bucket/reports/run-1/report.json")

    assert dom.by_id("run-id").text == "run-1"
    assert dom.by_id("mode").text.startswith("live run")
    assert dom.by_id("audited").text == "3"
    tallies = [" ".join(t.text.split()) for t in dom.find_all("li", cls="tally")]
    assert tallies[:4] == ["2 findings", "1 HIGH", "0 MEDIUM", "1 LOW"]
    assert "s3://bucket/reports/run-1/report.json" in dom.find_all("header")[0].text
    assert "bounce.shop.example.com" in dom.by_id("changes").text
    assert "AccessDenied" in dom.by_id("errors").text


def test_given_the_same_summary_when_rendered_twice_then_the_pages_are_identical():
    assert render_html(summary()) == render_html(summary())  # nothing but the summary: no clock, no randomness


def test_given_a_run_with_nothing_when_rendered_then_each_section_says_so():
    dom = page(identities=[], identities_audited=0, findings=[], changes=[], errors=[])

    assert findings(dom) == {}
    assert "No findings" in dom.by_id("findings").text
    assert "No identity was audited" in dom.by_id("matrix").text
    assert "No changes" in dom.by_id("changes").text
    assert "No errors" in dom.by_id("errors").text


def sha256(text: str) -> str:
    return f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"
