"""The MX SES receiving needs at the reports address's domain, through the real handler against loopback AWS and
DNS: planned and created like every other record, never beside someone else's MX."""

from __future__ import annotations

from typing import Any

from tests import scenario
from tests.scenario import EU

INBOUND = f"10 inbound-smtp.{EU}.amazonaws.com"
DRY = {"dry_run": True}


def reports_mx(summary: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [f for f in summary["findings"] if f["code"] == code and f["subject"] in ("", "good.example.com")]


def test_given_a_reports_address_without_mx_when_run_live_then_the_inbound_mx_is_created_once(
    aws, dns_server, run, monkeypatch
):
    monkeypatch.setenv("REPORTS_ADDRESS", "dmarc-reports@good.example.com")
    world = scenario.build(aws, dns_server)

    planned = run(DRY)
    applied = run()
    world.sync("example.com")
    again = run(DRY)

    [finding] = reports_mx(planned, "REPORTS_MX_MISSING")
    assert [i["identity"] for i in finding["identities"]] == ["good.example.com"]
    assert (finding["fixable"], finding["records"][0]["values"]) == (True, [INBOUND])
    [change] = [c for c in applied["changes"] if c["reason"] == "REPORTS_MX_MISSING"]
    assert (change["action"], change["name"], change["type"], change["applied"]) == (
        "CREATE",
        "good.example.com",
        "MX",
        True,
    )
    assert world.records(world.zones["example.com"])[("good.example.com.", "MX")][1] == (INBOUND,)
    assert not [c for c in again["changes"] if c["reason"] == "REPORTS_MX_MISSING"]
    assert not reports_mx(again, "REPORTS_MX_MISSING")


def test_given_a_reports_domain_receiving_elsewhere_when_run_live_then_its_mx_stays_and_a_person_is_told(
    aws, dns_server, run, monkeypatch
):
    monkeypatch.setenv("REPORTS_ADDRESS", "dmarc-reports@good.example.com")
    world = scenario.build(aws, dns_server)
    world.r53("example.com", "good.example.com", "MX", "1 aspmx.l.google.com")
    world.sync("example.com")

    summary = run()

    [conflict] = reports_mx(summary, "REPORTS_MX_CONFLICT")
    assert (conflict["fixable"], conflict["severity"]) == (False, "MEDIUM")
    assert not [c for c in summary["changes"] if c["name"] == "good.example.com"]
    assert world.records(world.zones["example.com"])[("good.example.com.", "MX")][1] == ("1 aspmx.l.google.com",)


def test_given_no_reports_address_when_run_then_no_receiving_mx_is_asked(aws, dns_server, run):
    scenario.build(aws, dns_server)

    summary = run(DRY)

    assert not [f for f in summary["findings"] if f["code"].startswith("REPORTS_MX")]
