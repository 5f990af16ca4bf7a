"""Zone boundaries through the real handler against loopback AWS and DNS: nothing is written into a zone receivers
do not see, a zone that cannot be read is never described as missing, and a record Route 53 holds that never
reaches live DNS turns HIGH once its TTL and the grace period have passed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests import scenario
from tests.delegation import delegate
from tests.faults import zone_path
from tests.fidelity import seed_identity
from tests.scenario import EU, SPF_SES, quoted

DRY = {"dry_run": True}


def about(summary: dict[str, Any], identity: str, code: str) -> dict[str, Any]:
    """The one finding of `code` that affects `identity`."""
    found: list[dict[str, Any]] = [
        f for f in summary["findings"] if f["code"] == code and identity in {i["identity"] for i in f["identities"]}
    ]
    assert len(found) == 1, found
    return found[0]


# --- a zone the world does not see --------------------------------------------------------------------------------


def test_given_an_undelegated_zone_when_run_live_twice_then_nothing_is_written_there_and_dmarc_stays_missing(
    aws, dns_server, run
):
    world = scenario.build(aws, dns_server)
    before = world.records(world.zones["example.net"])
    aws.calls.clear()

    first = run()
    world.sync("example.com")
    second = run()

    assert world.records(world.zones["example.net"]) == before
    path = zone_path(world.zones["example.net"])
    assert not [c for c in aws.calls if c.operation == "ChangeResourceRecordSets" and path in c.path]
    assert not [c for s in (first, second) for c in s["changes"] if c["zone_name"] == "example.net"]
    for summary in (first, second):
        dmarc = about(summary, "conflict.example.net", "DMARC_MISSING")
        assert (dmarc["severity"], dmarc["fixable"], dmarc["fixed"]) == ("HIGH", False, False)
        assert "receivers may not see the Route 53 zone example.net" in dmarc["message"]
        assert "ns1.old-provider.example.org" in dmarc["message"]
        zone = about(summary, "conflict.example.net", "ZONE_NOT_DELEGATED")
        assert "ses-guard writes nothing into it" in zone["message"]
        assert "DNS_NOT_PROPAGATED" not in scenario.codes_by_identity(summary)[("conflict.example.net", EU)]
        # The plan itself says which zone it leaves alone, and why.
        [skipped] = summary["zones_skipped"]
        assert (skipped["zone_id"], skipped["zone"]) == (world.zones["example.net"], "example.net")
        assert skipped["reason"].startswith("receivers may not see the Route 53 zone example.net")
        assert summary["counts"]["zones_skipped"] == 1
    assert [c for c in first["changes"] if c["zone_name"] == "example.com"]  # the zone the world sees is fixed


def test_given_an_undelegated_zone_already_holding_the_record_when_run_then_dmarc_missing_not_propagated(
    aws, dns_server, run
):
    # An earlier version wrote the record into the zone nobody asks: it is in Route 53, invisible to receivers
    world = scenario.build(aws, dns_server)
    world.r53("example.net", "_dmarc.conflict.example.net", "TXT", quoted("v=DMARC1; p=none"))

    summary = run(DRY)

    codes = scenario.codes_by_identity(summary)[("conflict.example.net", EU)]
    assert {"DMARC_MISSING", "ZONE_NOT_DELEGATED"} <= codes
    assert "DNS_NOT_PROPAGATED" not in codes
    assert about(summary, "conflict.example.net", "DMARC_MISSING")["severity"] == "HIGH"


def test_given_the_registrar_pointing_at_route53_when_run_live_then_the_zone_is_written(aws, dns_server, run):
    world = scenario.build(aws, dns_server)
    delegate(world, "example.net")

    summary = run()

    assert ("example.net", "CREATE", "_dmarc.conflict.example.net") in {
        (c["zone_name"], c["action"], c["name"]) for c in summary["changes"] if c["applied"]
    }
    assert "ZONE_NOT_DELEGATED" not in scenario.codes_by_identity(summary)[("conflict.example.net", EU)]
    assert summary["zones_skipped"] == []


def test_given_configure_mail_from_and_an_undelegated_zone_when_run_live_then_no_mail_from_is_set_there(
    aws, dns_server, run, monkeypatch
):
    monkeypatch.setenv("CONFIGURE_MAIL_FROM", "true")
    world = scenario.build(aws, dns_server)
    before = world.records(world.zones["example.net"])

    summary = run()

    attributes = aws.client("ses", EU).get_identity_mail_from_domain_attributes(Identities=["conflict.example.net"])
    assert attributes["MailFromDomainAttributes"].get("conflict.example.net", {}).get("MailFromDomain", "") == ""
    assert not [c for c in summary["changes"] if c["name"] in ("conflict.example.net", "bounce.conflict.example.net")]
    assert world.records(world.zones["example.net"]) == before
    finding = about(summary, "conflict.example.net", "MAIL_FROM_NOT_CONFIGURED")
    assert "ses-guard did not set bounce.conflict.example.net as its MAIL FROM domain" in finding["message"]
    assert "receivers may not see the Route 53 zone example.net" in finding["message"]
    # the zone the world sees still gets its MAIL FROM domains
    assert [c for c in summary["changes"] if c["action"] == "SES_SET_MAIL_FROM" and c["applied"]]


# --- a zone that cannot be read -----------------------------------------------------------------------------------


@pytest.fixture
def two_zones(aws: Any, dns_server: Any) -> scenario.World:
    """example.com and example.net, both delegated to Route 53; an identity in each whose MAIL FROM has no records."""
    world = scenario.World(aws, dns_server)
    for zone, name in (("example.com", "shop.example.com"), ("example.net", "mailfrom.example.net")):
        world.zone(zone)
        tokens = seed_identity(aws, EU, name, mail_from=f"bounce.{name}").tokens
        world.keys(tokens)
        world.dkim(zone, name, tokens)
        world.r53(zone, f"_dmarc.{name}", "TXT", quoted("v=DMARC1; p=reject; rua=mailto:d@example.com"))
        world.sync(zone)
    return world


@pytest.mark.parametrize(
    ("code", "status", "text"),
    [
        ("AccessDenied", 403, "not authorized to perform: route53:ListResourceRecordSets"),
        ("ServiceUnavailable", 503, "Service is unavailable"),
    ],
    ids=["denied", "failing"],
)
@pytest.mark.parametrize("event", [{}, DRY], ids=["live", "dry"])
def test_given_a_zone_that_cannot_be_read_when_run_then_its_findings_say_so_with_the_error_and_nothing_is_planned(
    aws, dns_server, run, two_zones, code, status, text, event
):
    world = two_zones
    net = zone_path(world.zones["example.net"])
    aws.calls.clear()  # the seeding's own writes
    aws.fail("ListResourceRecordSets", code, text, status=status, path=net)

    summary = run({**event, "regions": [EU]})

    assert not any("no public Route 53 hosted zone" in f["message"] for f in summary["findings"])
    assert "ZONE_NOT_FOUND" not in scenario.codes_by_identity(summary)[("mailfrom.example.net", EU)]
    for missing in ("MAIL_FROM_MX_MISSING", "MAIL_FROM_SPF_MISSING"):
        finding = about(summary, "mailfrom.example.net", missing)
        assert f"the Route 53 zone example.net ({world.zones['example.net']}) could not be read" in finding["message"]
        assert code in finding["message"]
        assert text in finding["message"]
        assert (finding["fixable"], finding["fixed"]) == (False, False)
    failed = about(summary, "mailfrom.example.net", "CHECK_FAILED")
    assert failed["subject"] == "example.net"
    assert text in failed["message"]
    assert {(e["scope"], e["subject"]) for e in summary["errors"]} == {("zone", "example.net")}
    assert not [c for c in summary["changes"] if c["zone_name"] == "example.net"]
    assert [(z["zone"], text in z["reason"]) for z in summary["zones_skipped"]] == [("example.net", True)]
    assert not [c for c in aws.calls if c.operation == "ChangeResourceRecordSets" and net in c.path]
    # the zone that could be read is planned (and, live, written) as ever
    planned = {(c["zone_name"], c["name"], c["type"]) for c in summary["changes"]}
    assert planned == {("example.com", "bounce.shop.example.com", rtype) for rtype in ("MX", "TXT")}
    assert all(c["applied"] is not event.get("dry_run", False) for c in summary["changes"])


def test_given_a_zone_readable_again_when_run_then_its_records_are_created(aws, dns_server, run, two_zones):
    world = two_zones
    aws.fail("ListResourceRecordSets", "AccessDenied", "denied", status=403, path=zone_path(world.zones["example.net"]))
    run({"regions": [EU]})
    aws.calls.clear()

    summary = run({"regions": [EU]})

    zone = world.records(world.zones["example.net"])
    assert zone[("bounce.mailfrom.example.net.", "TXT")] == (1800, (quoted(SPF_SES),))
    assert summary["errors"] == []


# --- a zone whose delegation one run cannot see ------------------------------------------------------------------


def no_flip(first: dict[str, Any], failing: dict[str, Any], third: dict[str, Any], identity: str) -> None:
    """The run in between reports only its failed check about `identity`, and none of the runs around it resolves
    or renews a finding about it."""

    def about_it(summary: dict[str, Any]) -> list[dict[str, Any]]:
        return [f for f in summary["findings"] if identity in {i["identity"] for i in f["identities"]}]

    before = {f["id"]: f["code"] for f in about_it(first)}
    assert [f["code"] for f in about_it(failing) if f["status"] == "new"] == ["CHECK_FAILED"]
    assert not [r for s in (failing, third) for r in s["resolved"] if r["id"] in before]
    after = {f["id"]: (f["code"], f["status"]) for f in third["findings"] if f["id"] in before}
    assert after == {finding_id: (code, "open") for finding_id, code in before.items()}
    assert [r["code"] for r in third["resolved"]] == ["CHECK_FAILED"]


def test_given_an_undelegated_zone_holding_dmarc_when_one_runs_ns_lookup_times_out_then_no_finding_flips(
    aws, dns_server, run, bucket, clock, monkeypatch
):
    world = scenario.build(aws, dns_server)
    world.r53("example.net", "_dmarc.conflict.example.net", "TXT", quoted("v=DMARC1; p=none"))
    first = run(DRY)
    dns_server.fail("example.net", "TIMEOUT")
    monkeypatch.setenv("DNS_TIMEOUT", "0.5")
    clock.now += timedelta(minutes=5)

    failing = run(DRY)

    dns_server.heal("example.net")
    monkeypatch.setenv("DNS_TIMEOUT", "5")
    clock.now += timedelta(minutes=5)
    third = run(DRY)

    assert {"DMARC_MISSING", "ZONE_NOT_DELEGATED"} <= scenario.codes_by_identity(first)[("conflict.example.net", EU)]
    codes = scenario.codes_by_identity(failing)[("conflict.example.net", EU)]
    assert "CHECK_FAILED" in codes
    assert codes.isdisjoint({"DNS_NOT_PROPAGATED", "DMARC_MISSING", "DKIM_RECORD_MISSING"})
    no_flip(first, failing, third, "conflict.example.net")


# --- a record that never reaches live DNS -------------------------------------------------------------------------


def test_given_a_record_that_never_propagates_when_runs_go_on_then_it_turns_high_once_and_stays_one_finding(
    aws, dns_server, run, bucket, clock
):
    # scenario: one of example.com's DKIM CNAMEs is in Route 53 (TTL 300) but not yet in live DNS
    world = scenario.build(aws, dns_server)
    started = clock.stamp()

    def pending(summary: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            f
            for f in summary["findings"]
            if f["code"] in ("DNS_NOT_PROPAGATED", "DNS_PROPAGATION_STALLED") and f["subject"] == "example.com"
        ]

    seen = []
    for step in (timedelta(0), timedelta(minutes=30), timedelta(hours=1), timedelta(hours=1), timedelta(days=1)):
        clock.now += step
        summary = run(DRY)
        seen.append((pending(summary), summary["resolved"]))

    codes = [[f["code"] for f in found] for found, _ in seen]
    assert codes == [["DNS_NOT_PROPAGATED"]] * 2 + [["DNS_PROPAGATION_STALLED"]] * 3
    stalled = [found[0] for found, _ in seen[2:]]
    assert {f["severity"] for f in stalled} == {"HIGH"}
    assert len({f["id"] for f in stalled}) == 1
    assert {f["first_seen"] for f in stalled} == {started}
    assert [f["status"] for f in stalled] == ["new", "open", "open"]
    assert not [r for _, resolved in seen for r in resolved if r["code"].startswith("DNS_")]

    world.sync("example.com")  # it finally arrives
    clock.next_day()
    arrived = run(DRY)

    assert pending(arrived) == []
    assert [(r["code"], r["first_seen"]) for r in arrived["resolved"] if r["code"].startswith("DNS_")] == [
        ("DNS_PROPAGATION_STALLED", started)
    ]
