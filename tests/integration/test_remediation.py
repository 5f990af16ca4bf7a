"""Remediation through the real handler: what it creates, what it leaves alone, and how it behaves under races."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests import scenario
from tests.delegation import delegate
from tests.fidelity import seed_identity
from tests.scenario import EU, SPF_SES, quoted


def expected_changes(world: scenario.World, *, net_delegated: bool = False) -> set[tuple[str, str, str, str]]:
    """(zone, action, name, type) the scenario's fixable findings call for; nothing at legacy.example.org, and
    nothing in example.net while the world is not sent to its Route 53 zone."""
    apex = world.tokens[("example.com", EU)]
    pending = world.tokens[("pending.example.com", EU)]
    net = {("example.net", "CREATE", "_dmarc.conflict.example.net", "TXT")} if net_delegated else set()
    return {
        ("example.com", "CREATE", f"{apex[0]}._domainkey.example.com", "CNAME"),
        *(("example.com", "CREATE", f"{t}._domainkey.pending.example.com", "CNAME") for t in pending),
        ("example.com", "CREATE", "bounce.shop.example.com", "MX"),
        ("example.com", "CREATE", "bounce.shop.example.com", "TXT"),
        *net,
    }


def changed(summary: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    return {(c["zone_name"], c["action"], c["name"], c["type"]) for c in summary["changes"]}


def test_given_missing_records_when_run_live_then_exactly_those_are_created_and_nothing_else_changes(
    aws, dns_server, run
):
    world = scenario.build(aws, dns_server)
    before = {
        zone: world.records(zone_id)
        for zone, zone_id in {**world.zones, "private": world.private["example.com"]}.items()
    }

    summary = run()

    assert changed(summary) == expected_changes(world)
    assert all(c["applied"] for c in summary["changes"])
    after = {
        zone: world.records(zone_id)
        for zone, zone_id in {**world.zones, "private": world.private["example.com"]}.items()
    }
    for zone, records in before.items():
        assert {key: after[zone][key] for key in records} == records, f"an existing record in {zone} changed"
    assert after["private"] == before["private"]
    shop_mx = after["example.com"][("bounce.shop.example.com.", "MX")]
    assert shop_mx == (1800, (f"10 feedback-smtp.{EU}.amazonses.com",))
    assert after["example.com"][("bounce.shop.example.com.", "TXT")] == (1800, (f'"{SPF_SES}"',))
    assert after["example.net"] == before["example.net"]  # the world asks another provider for example.net
    fixed = scenario.affected([f for f in summary["findings"] if f["fixed"]])
    assert fixed == {
        ("example.com", "DKIM_RECORD_MISSING"),
        ("pending.example.com", "DKIM_RECORD_MISSING"),
        ("pending.example.com", "IDENTITY_NOT_VERIFIED"),
        ("shop.example.com", "MAIL_FROM_MX_MISSING"),
        ("shop.example.com", "MAIL_FROM_SPF_MISSING"),
    }


def test_given_an_applied_run_when_dns_catches_up_then_a_second_run_finds_nothing_to_fix_and_plans_nothing(
    aws, dns_server, run
):
    world = scenario.build(aws, dns_server)
    run()
    world.sync("example.com")  # propagation; example.net stays undelegated, as the world sees it

    second = run()

    assert second["changes"] == []
    assert [f for f in second["findings"] if f["fixable"]] == []
    missing = scenario.affected([f for f in second["findings"] if f["code"].endswith("_MISSING")])
    assert missing == {
        ("legacy.example.org", "DKIM_RECORD_MISSING"),  # no zone of ours: the owner must add these by hand
        ("legacy.example.org", "DMARC_MISSING"),
        ("conflict.example.net", "DMARC_MISSING"),  # our zone, but the world still asks the old provider
        ("mx.example.com", "DMARC_REPORT_AUTH_MISSING"),  # the report destination's zone, not ours
    }


def test_given_a_dry_run_when_it_plans_then_the_plan_is_the_same_and_nothing_is_written(aws, dns_server, run):
    world = scenario.build(aws, dns_server)
    before = world.records(world.zones["example.com"])
    aws.calls.clear()

    summary = run({"dry_run": True})

    assert summary["dry_run"] is True
    assert changed(summary) == expected_changes(world)
    assert not any(c["applied"] for c in summary["changes"])
    assert not any(f["fixed"] for f in summary["findings"])
    assert aws.calls.count(operation="ChangeResourceRecordSets") == 0
    assert world.records(world.zones["example.com"]) == before


def test_given_other_txt_values_at_the_mail_from_name_when_spf_is_added_then_they_stay_byte_for_byte(
    aws, dns_server, run
):
    world = scenario.World(aws, dns_server)
    world.zone("example.com")
    seed_identity(aws, EU, "news.example.com", mail_from="bounce.news.example.com")
    long_value = "site-verification=" + "k" * 300  # two strings, split where its writer split it
    held = ('"google-site-verification=Ab\\"c"', '"' + long_value[:200] + '" "' + long_value[200:] + '"')
    world.r53("example.com", "bounce.news.example.com", "TXT", *held, ttl=600)
    world.r53("example.com", "bounce.news.example.com", "MX", f"10 feedback-smtp.{EU}.amazonses.com")
    world.sync("example.com")

    summary = run({"regions": [EU]})

    [spf] = [c for c in summary["changes"] if c["type"] == "TXT" and c["name"] == "bounce.news.example.com"]
    assert spf["action"] == "UPSERT"
    assert spf["ttl"] == 600
    assert world.records(world.zones["example.com"])[("bounce.news.example.com.", "TXT")] == (
        600,
        (*held, quoted(SPF_SES)),
    )


@pytest.mark.parametrize(
    ("existing", "code"),
    [
        (("TXT", quoted("v=spf1 include:_spf.example.net ~all")), "MAIL_FROM_SPF_INVALID"),
        (("MX", "10 mx.other-provider.example"), "MAIL_FROM_MX_INVALID"),
        (("CNAME", "elsewhere.example.org"), None),
    ],
)
def test_given_foreign_data_at_the_mail_from_name_when_run_then_it_is_left_untouched(
    aws, dns_server, run, existing, code
):
    world = scenario.World(aws, dns_server)
    world.zone("example.com")
    seed_identity(aws, EU, "news.example.com", mail_from="bounce.news.example.com")
    world.r53("example.com", "bounce.news.example.com", *existing)
    world.sync("example.com")
    before = world.records(world.zones["example.com"])

    summary = run({"regions": [EU]})

    rtype = existing[0]
    assert not [c for c in summary["changes"] if (c["name"], c["type"]) == ("bounce.news.example.com", rtype)]
    after = world.records(world.zones["example.com"])
    assert {key: after[key] for key in before} == before
    if rtype == "CNAME":  # nothing may stand beside a CNAME
        assert not [key for key in after if key[0] == "bounce.news.example.com." and key not in before]
    if code:
        assert code in scenario.codes_by_identity(summary)[("news.example.com", EU)]


def test_given_two_runs_started_together_when_both_apply_then_each_record_exists_once_and_none_is_lost(
    aws, dns_server, run
):
    world = scenario.build(aws, dns_server)
    before = world.records(world.zones["example.com"])
    start = threading.Barrier(2)
    summaries: list[dict[str, Any]] = []

    def one_run() -> None:
        start.wait()
        summaries.append(run())

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert len(summaries) == 2
    after = world.records(world.zones["example.com"])
    assert {key: after[key] for key in before} == before
    created = {(zone, name, rtype) for zone, _, name, rtype in expected_changes(world) if zone == "example.com"}
    for _, name, rtype in created:
        _, values = after[(name + ".", rtype)]
        assert len(values) == 1, f"{name} {rtype} holds {values}"
    applied = [c for s in summaries for c in s["changes"] if c["applied"] and c["zone_name"] == "example.com"]
    assert {(c["name"], c["type"]) for c in applied} == {(name, rtype) for _, name, rtype in created}
    assert not [f for s in summaries for f in s["findings"] if "Route 53 did not take" in f["message"]]


def test_given_a_zone_that_rejects_changes_when_run_then_other_zones_are_still_fixed(aws, dns_server, run):
    world = scenario.build(aws, dns_server)
    delegate(world, "example.net")
    aws.fail("ChangeResourceRecordSets", "InvalidInput", "the zone is locked", status=400, times=1)

    summary = run()

    failed = [f for f in summary["findings"] if "Route 53 did not take" in f["message"]]
    assert failed
    assert all(f["code"] == "CHECK_FAILED" and "InvalidInput" in f["message"] for f in failed)
    failed_zone = {c["zone_name"] for c in summary["changes"]} ^ {"example.com", "example.net"}
    assert len(failed_zone) == 1
    assert all(c["applied"] for c in summary["changes"])
    assert world.records(world.zones[failed_zone.pop()])  # still readable, untouched by the failed batch


def test_given_a_zone_that_keeps_changing_when_run_then_it_re_reads_once_and_reports_the_race(aws, dns_server, run):
    delegate(scenario.build(aws, dns_server), "example.net")
    aws.calls.clear()
    aws.fail(
        "ChangeResourceRecordSets",
        "InvalidChangeBatch",
        "Tried to create resource record set but it already exists",
        times=4,
    )

    summary = run()

    assert aws.calls.count(operation="ChangeResourceRecordSets") == 4  # two zones, two attempts each
    failed = [f for f in summary["findings"] if "Route 53 did not take" in f["message"]]
    assert {identity for identity, _ in scenario.affected(failed)} == {
        "example.com",
        "pending.example.com",
        "shop.example.com",
        "conflict.example.net",
    }
    assert all("InvalidChangeBatch" in f["message"] for f in failed)
    assert summary["changes"] == []


def test_given_route53_busy_with_a_prior_change_when_run_then_the_write_is_retried_and_lands(aws, dns_server, run):
    world = scenario.build(aws, dns_server)
    delegate(world, "example.net")
    aws.calls.clear()
    aws.fail("ChangeResourceRecordSets", "PriorRequestNotComplete", "The request was rejected", status=400, times=2)

    summary = run()

    assert changed(summary) == expected_changes(world, net_delegated=True)
    assert all(c["applied"] for c in summary["changes"])
    assert aws.calls.count(operation="ChangeResourceRecordSets") == 2 + 2  # two refused, then one per zone


def test_given_two_zones_to_fix_when_run_then_each_gets_exactly_one_change_batch(aws, dns_server, run):
    delegate(scenario.build(aws, dns_server), "example.net")
    aws.calls.clear()

    run()

    assert aws.calls.count(operation="ChangeResourceRecordSets") == 2


def test_given_iam_denying_one_record_of_a_batch_when_run_then_the_others_are_still_written(aws, dns_server, run):
    world = scenario.build(aws, dns_server)
    delegate(world, "example.net")
    aws.calls.clear()
    # The first batch is denied as a whole, then its first change alone; the rest of it goes through.
    aws.fail("ChangeResourceRecordSets", "AccessDenied", "not authorized by the policy", status=403, times=2)

    summary = run()

    refused = [f for f in summary["findings"] if "Route 53 refused it" in f["message"]]
    assert len(refused) == 1
    assert refused[0]["code"] == "CHECK_FAILED"
    assert len(refused[0]["records"]) == 1
    denied = (refused[0]["records"][0]["name"], refused[0]["records"][0]["type"])
    expected = {(name, rtype) for _, _, name, rtype in expected_changes(world, net_delegated=True)}
    assert {(c["name"], c["type"]) for c in summary["changes"]} == expected - {denied}
    assert all(c["applied"] for c in summary["changes"])
