"""Route 53 zones going wrong under a live run, through the real handler: another writer creating a record between
the run's read and its write, a zone that cannot be read and a zone that cannot be written. Whatever one zone
does, the other zones are written, and nothing anyone else wrote is overwritten or doubled."""

from __future__ import annotations

from typing import Any

import pytest

from tests import scenario
from tests.faults import zone_path
from tests.scenario import EU

DRY = {"dry_run": True}
ZONES = ("example.com", "example.net")


def delegated_world(aws: Any, dns_server: Any) -> scenario.World:
    """The scenario with example.net delegated too, so that both zones have records to write."""
    world = scenario.build(aws, dns_server)
    world.sync("example.net")
    return world


def writes(aws: Any, zone_id: str) -> int:
    return sum(c.operation == "ChangeResourceRecordSets" and zone_path(zone_id) in c.path for c in aws.calls)


def planned_in(summary: dict[str, Any], zone: str, *, applied: bool | None = None) -> set[tuple[str, ...]]:
    """(action, name, type, values...) of the changes in `zone`; only those applied (or not) when asked."""
    return {
        (c["action"], c["name"], c["type"], *c["values"])
        for c in summary["changes"]
        if c["zone_name"] == zone and applied in (None, c["applied"])
    }


def in_zone(world: scenario.World, zone: str) -> set[str]:
    """The audited domain identities whose records live in `zone`."""
    return {name for name, _ in world.tokens if "@" not in name and (name == zone or name.endswith("." + zone))}


def about(summary: dict[str, Any], identities: set[str]) -> list[dict[str, Any]]:
    return [f for f in summary["findings"] if identities & {i["identity"] for i in f["identities"]}]


# --- another writer ---------------------------------------------------------------------------------------------------


def test_given_another_writer_adding_an_mx_between_read_and_write_when_run_live_then_it_reads_again_and_keeps_theirs(
    aws, dns_server, run
):
    # Given a live run about to create bounce.shop.example.com's MX, among other records of example.com
    world = delegated_world(aws, dns_server)
    zone_id = world.zones["example.com"]
    theirs = "10 inbound.other-provider.example"

    # When someone else creates an MX there after the run's last read, just before its change reaches Route 53
    aws.calls.clear()
    aws.meanwhile(
        "ChangeResourceRecordSets",
        lambda: world.r53("example.com", "bounce.shop.example.com", "MX", theirs),
        path=zone_path(zone_id),
    )
    summary = run()

    # Then Route 53 refused the stale batch, the run read the zone again, and wrote the rest without the MX
    after = world.records(zone_id)
    assert after[("bounce.shop.example.com.", "MX")] == (300, (theirs,))
    assert writes(aws, zone_id) == 1 + 1 + 1  # theirs, the refused batch, the batch planned again
    applied = {(c["name"], c["type"]) for c in summary["changes"] if c["applied"]}
    assert ("bounce.shop.example.com", "MX") not in applied
    pending = world.tokens[("pending.example.com", EU)]
    assert {(f"{t}._domainkey.pending.example.com", "CNAME") for t in pending} <= applied
    assert not [f for f in summary["findings"] if "Route 53 did not take" in f["message"]]
    # and the MX it did not write stays open, with a finding naming the other writer's value
    shop = {f["code"]: f for f in about(summary, {"shop.example.com"})}
    assert shop["MAIL_FROM_MX_MISSING"]["fixed"] is False
    assert theirs in shop["CHECK_FAILED"]["message"]
    assert [(r["name"], r["type"]) for r in shop["CHECK_FAILED"]["records"]] == [("bounce.shop.example.com", "MX")]


def test_given_another_writer_creating_the_same_cname_between_read_and_write_when_run_live_then_it_exists_once(
    aws, dns_server, run
):
    # Given a live run about to create example.com's first DKIM CNAME
    world = delegated_world(aws, dns_server)
    zone_id = world.zones["example.com"]
    token = world.tokens[("example.com", EU)][0]
    name, target = f"{token}._domainkey.example.com", f"{token}.dkim.amazonses.com"

    # When someone else creates that very CNAME after the run's last read
    aws.calls.clear()
    aws.meanwhile(
        "ChangeResourceRecordSets", lambda: world.r53("example.com", name, "CNAME", target), path=zone_path(zone_id)
    )
    summary = run()

    # Then the record exists once, as they wrote it, and the run counts it done rather than failed
    assert world.records(zone_id)[(name + ".", "CNAME")] == (300, (target,))
    assert writes(aws, zone_id) == 3
    assert (name, "CNAME") not in {(c["name"], c["type"]) for c in summary["changes"] if c["applied"]}
    assert not [f for f in summary["findings"] if f["code"] == "CHECK_FAILED" and name in str(f["records"])]
    [dkim] = [f for f in about(summary, {"example.com"}) if f["code"] == "DKIM_RECORD_MISSING"]
    assert dkim["fixed"] is True


# --- a zone that cannot be read ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("unreadable", ZONES)
def test_given_a_zone_that_cannot_be_read_when_run_live_then_its_identities_fail_with_the_error_and_the_rest_is_written(
    aws, dns_server, run, unreadable
):
    # Given both zones' plan
    world = delegated_world(aws, dns_server)
    plan = run(DRY)
    (other,) = set(ZONES) - {unreadable}
    assert planned_in(plan, other)

    # When Route 53 denies reading one of them
    aws.calls.clear()
    message = f"not authorized to perform: route53:ListResourceRecordSets on {world.zones[unreadable]}"
    aws.fail("ListResourceRecordSets", "AccessDenied", message, status=403, path=zone_path(world.zones[unreadable]))
    live = run()

    # Then the zone is an error, and each of its identities has a failed check that says what Route 53 answered
    [error] = [e for e in live["errors"] if e["scope"] == "zone"]
    assert error["subject"] == unreadable
    assert "AccessDenied" in error["message"]
    members = in_zone(world, unreadable)
    findings = about(live, members)
    for identity in members:
        failed = [f for f in findings if f["code"] == "CHECK_FAILED" and identity in str(f["identities"])]
        assert any("AccessDenied" in f["message"] for f in failed), f"{identity}: {[f['message'] for f in failed]}"
    # never as if the zone did not exist, and nothing in it is fixable on a guess
    assert "ZONE_NOT_FOUND" not in {f["code"] for f in findings}
    assert writes(aws, world.zones[unreadable]) == 0
    assert planned_in(live, unreadable) == set()
    # and the other zone is written as planned
    assert planned_in(live, other) == planned_in(live, other, applied=True) == planned_in(plan, other)


# --- a zone that cannot be written ------------------------------------------------------------------------------------


@pytest.mark.parametrize("unwritable", ZONES)
def test_given_a_zone_denying_every_write_when_run_live_then_its_records_fail_with_the_error_and_the_rest_is_written(
    aws, dns_server, run, unwritable
):
    # Given both zones' plan
    world = delegated_world(aws, dns_server)
    plan = run(DRY)
    (other,) = set(ZONES) - {unwritable}
    assert planned_in(plan, unwritable)
    before = world.records(world.zones[unwritable])

    # When Route 53 denies every change to one of them
    aws.calls.clear()
    message = f"not authorized to perform: route53:ChangeResourceRecordSets on {world.zones[unwritable]}"
    aws.fail("ChangeResourceRecordSets", "AccessDenied", message, status=403, path=zone_path(world.zones[unwritable]))
    live = run()

    # Then each record it planned there is a failed check carrying Route 53's answer, and the zone is as it was
    failed = [f for f in live["findings"] if f["code"] == "CHECK_FAILED" and "AccessDenied" in f["message"]]
    refused = {(r["name"], r["type"]) for f in failed for r in f["records"]}
    assert refused == {(name, rtype) for _, name, rtype, *_ in planned_in(plan, unwritable)}
    assert world.records(world.zones[unwritable]) == before
    assert planned_in(live, unwritable, applied=True) == set()
    # and the other zone is written as planned
    assert planned_in(live, other, applied=True) == planned_in(plan, other)
