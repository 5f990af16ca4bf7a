"""AWS failing the way it fails in production, through the real handler: throttled and failing SES and Route 53
calls are retried by botocore and change nothing in the outcome, a region whose endpoint is down costs only that
region, and a topic that refuses every publish costs only the notification.

The errors come from the loopback server in front of moto; botocore's back-off runs on a fake clock, so ten retries
take no time and each back-off is seen.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from tests import scenario
from tests.fake_clock import FakeClock
from tests.faults import SES_READS, backoff_on, kill_region
from tests.fixtures_aws import received, subscribed_queue
from tests.fixtures_run import BUCKET, Clock
from tests.scenario import EU, US

DRY = {"dry_run": True}  # a dry run leaves the account as it was, so two runs see the same world
ROUTE53_CALLS = ("ListHostedZones", "ListResourceRecordSets", "ChangeResourceRecordSets")
STATE = f"state/123456789012/{EU}_{US}.json"  # moto's account, and the run fixture's two regions


@pytest.fixture
def backoff(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    clock = FakeClock()
    backoff_on(clock, monkeypatch)
    return clock


def by_id(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["id"]: f for f in summary["findings"]}


def planned(summary: dict[str, Any]) -> set[tuple[str, str, str, str, tuple[str, ...]]]:
    return {(c["zone_name"], c["action"], c["name"], c["type"], tuple(c["values"])) for c in summary["changes"]}


def calls_by_operation(aws: Any, operations: tuple[str, ...]) -> dict[str, int]:
    return {operation: aws.calls.count(operation=operation) for operation in operations}


def regions_of(findings: list[dict[str, Any]]) -> set[str]:
    return {i["region"] for f in findings for i in f["identities"]}


def a_minute_later(clock: Clock) -> None:
    """The next run: soon enough that nothing in the world has aged (a record's wait for propagation, say)."""
    clock.now += timedelta(minutes=1)


# --- SES --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status"),
    [("Throttling", 400), ("TooManyRequestsException", 429), ("ServiceUnavailable", 503)],
)
def test_given_ses_failing_each_read_twice_when_the_handler_runs_then_botocore_retries_and_the_findings_are_the_same(
    aws, dns_server, run, backoff, code, status
):
    # Given an account audited once without trouble
    scenario.build(aws, dns_server)
    calm = run(DRY)
    calm_calls = calls_by_operation(aws, SES_READS)
    aws.calls.clear()

    # When every SES read the run makes is refused twice before it is answered
    for operation in SES_READS:
        aws.fail(operation, code, "Rate exceeded", status=status, times=2)
    throttled = run(DRY)

    # Then botocore retried each, backing off, and the run reports exactly what the calm one did
    assert calls_by_operation(aws, SES_READS) == {op: count + 2 for op, count in calm_calls.items()}
    assert len(backoff.sleeps) == 2 * len(SES_READS)
    assert throttled["errors"] == []
    assert throttled["identities_audited"] == calm["identities_audited"]
    assert by_id(throttled) == by_id(calm)


# --- Route 53 ---------------------------------------------------------------------------------------------------------


def test_given_route53_throttling_reads_and_writes_when_run_live_then_every_planned_record_is_written_once(
    aws, dns_server, run, backoff
):
    # Given the plan a dry run makes for the account
    world = scenario.build(aws, dns_server)
    plan = run(DRY)
    aws.calls.clear()

    # When the live run's zone listing, zone reads and change batches are each throttled twice
    for operation in ROUTE53_CALLS:
        aws.fail(operation, "Throttling", "Rate exceeded", times=2)
    live = run()

    # Then every call was retried until it went through, and the run wrote exactly the plan
    assert live["errors"] == []
    assert planned(live) == planned(plan)
    assert all(c["applied"] for c in live["changes"])
    zones = {c["zone_name"] for c in plan["changes"]}
    assert aws.calls.count(operation="ChangeResourceRecordSets") == 2 + len(zones)  # two throttled, one per zone
    assert len(backoff.sleeps) == 2 * len(ROUTE53_CALLS)
    for zone, _, name, rtype, values in planned(plan):
        assert world.records(world.zones[zone])[(name + ".", rtype)][1] == values
    fixed = {f["id"] for f in live["findings"] if f["fixed"]}
    assert fixed == {f["id"] for f in plan["findings"] if f["fixable"]}


# --- a region that is down --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "operation", ["ListEmailIdentities", "GetIdentityDkimAttributes"], ids=["down", "dies-mid-read"]
)
def test_given_a_region_whose_endpoint_fails_every_call_when_the_handler_runs_then_its_findings_are_kept_not_resolved(
    aws, dns_server, run, bucket, clock, backoff, operation
):
    # Given a first run that saw findings in both regions, and remembers them in the report bucket
    scenario.build(aws, dns_server)
    first = run(DRY)
    in_us = {f["id"] for f in first["findings"] if US in regions_of([f])}
    in_eu = {f["id"] for f in first["findings"] if EU in regions_of([f])}
    assert in_us

    # When us-east-1's SES endpoint answers 503 to every attempt on the next run
    a_minute_later(clock)
    aws.calls.clear()
    aws.fail(operation, "ServiceUnavailable", "Service is unavailable", status=503, region=US)
    second = run(DRY)

    # Then that region is one error, retried before it was given up; eu-west-1 is audited as before
    [error] = second["errors"]
    assert (error["scope"], error["subject"]) == ("region", US)
    assert "ServiceUnavailable" in error["message"]
    assert aws.calls.count(operation=operation, region=US) > 1
    assert backoff.sleeps
    assert regions_of(second["findings"]) == {EU}
    assert set(by_id(second)) == in_eu
    # and what the region had open is neither resolved nor forgotten: it was not checked
    assert second["resolved"] == []
    stored = json.loads(aws.client("s3").get_object(Bucket=BUCKET, Key=STATE)["Body"].read())
    assert in_us <= {entry["id"] for entry in stored["findings"]}

    # When the region is back for the run after
    a_minute_later(clock)
    aws.calls.clear()
    third = run(DRY)

    # Then its findings are the ones open since the first run, not new ones
    assert third["errors"] == []
    assert third["resolved"] == []
    assert {(f["status"], f["first_seen"]) for f in third["findings"] if f["id"] in in_us} == {
        ("open", first["findings"][0]["first_seen"])
    }


def test_given_a_region_that_is_down_when_run_live_then_the_other_region_is_still_fixed(aws, dns_server, run, backoff):
    # Given the plan for the whole account
    world = scenario.build(aws, dns_server)
    plan = run(DRY)
    aws.calls.clear()

    # When us-east-1 is down for every SES read during a live run
    kill_region(aws, US)
    live = run()

    # Then eu-west-1's records are written as planned, and the only error is the region
    assert [(e["scope"], e["subject"]) for e in live["errors"]] == [("region", US)]
    assert regions_of(live["findings"]) == {EU}
    assert planned(live) == planned(plan)  # the scenario's fixes are all eu-west-1's
    assert all(c["applied"] for c in live["changes"])
    for zone, _, name, rtype, values in planned(plan):
        assert world.records(world.zones[zone])[(name + ".", rtype)][1] == values


# --- a topic that refuses --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status"), [("AuthorizationError", 403), ("Throttling", 400)], ids=["denied", "throttled-throughout"]
)
def test_given_a_topic_refusing_every_publish_when_the_handler_runs_then_report_and_state_are_written_and_news_waits(
    aws, dns_server, run, bucket, clock, backoff, monkeypatch, code, status
):
    # Given a findings topic with a subscriber, and a run memory in the report bucket
    scenario.build(aws, dns_server)
    topic = aws.client("sns").create_topic(Name="ses-guard-findings")["TopicArn"]
    url = subscribed_queue(aws, topic)
    monkeypatch.setenv("FINDINGS_TOPIC_ARN", topic)

    # When SNS refuses every publish attempt
    aws.fail("Publish", code, "not allowed to publish", status=status)
    first = run(DRY)

    # Then the run returns its findings with one error, the notification's
    assert first["findings"]
    [error] = first["errors"]
    assert (error["scope"], error["subject"]) == ("notification", topic)
    assert code in error["message"]
    # and both the report and the run's memory were written
    s3 = aws.client("s3")
    report = json.loads(s3.get_object(Bucket=BUCKET, Key=first["report"].split("/", 3)[3])["Body"].read())
    assert report["run_id"] == first["run_id"]
    assert {f["id"] for f in report["findings"]} == set(by_id(first))
    stored = json.loads(s3.get_object(Bucket=BUCKET, Key=STATE)["Body"].read())
    assert {entry["id"]: entry["last_notified"] for entry in stored["findings"]} == dict.fromkeys(by_id(first), "")

    # When the topic takes publishes again on the next run
    a_minute_later(clock)
    aws.calls.clear()
    second = run(DRY)

    # Then the findings nobody heard about are told as new
    assert second["errors"] == []
    [body] = received(aws, url, 1)
    message = json.loads(body)
    assert {f["id"] for f in message["findings"]} == set(by_id(first))
    assert {f["status"] for f in message["findings"]} == {"new"}
