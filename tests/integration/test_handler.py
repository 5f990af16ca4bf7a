"""The real Lambda handler against moto's server and a DNS server on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.adapters import wiring
from core.kernel.errors import ConfigError, EventError
from tests import scenario
from tests.fidelity import seed_identity
from tests.fixtures_aws import received, subscribed_queue
from tests.lambda_context import LambdaContext

EVENTS = Path(__file__).parents[2] / "events"


def test_given_an_account_with_every_problem_when_the_handler_runs_then_it_reports_exactly_those(aws, dns_server, run):
    scenario.build(aws, dns_server)

    summary = run()

    expected = {key: codes for key, codes in scenario.EXPECTED.items() if codes}
    assert scenario.codes_by_identity(summary) == expected
    assert summary["identities_audited"] == len(scenario.EXPECTED)
    assert summary["errors"] == []


def test_given_too_little_time_left_when_the_handler_runs_then_unreached_identities_are_reported(aws, dns_server, run):
    scenario.build(aws, dns_server)

    summary = run(context=LambdaContext(timeout_seconds=20))  # under the 30 s safety margin from the start

    domains = {key for key in scenario.EXPECTED if "@" not in key[0]}
    budget = {
        (i["identity"], i["region"])
        for f in summary["findings"]
        if "time budget" in f["message"]
        for i in f["identities"]
    }
    assert budget == domains
    assert all(f["code"] == "CHECK_FAILED" for f in summary["findings"] if "time budget" in f["message"])
    assert ("noreply@partner.example", scenario.EU) in scenario.codes_by_identity(summary)
    assert dns_server.queries_received == 0


def test_given_a_region_that_refuses_when_the_handler_runs_then_the_other_region_is_still_audited(aws, dns_server, run):
    scenario.build(aws, dns_server)
    aws.fail("ListEmailIdentities", "AccessDeniedException", "not authorized", status=403, region=scenario.US)

    summary = run()

    [error] = summary["errors"]
    assert (error["scope"], error["subject"]) == ("region", scenario.US)
    assert "AccessDeniedException" in error["message"]
    regions = {key[1] for key in scenario.codes_by_identity(summary)}
    assert regions == {scenario.EU}


def test_given_route53_unreadable_when_the_handler_runs_then_dns_findings_stay_and_nothing_is_fixable(
    aws, dns_server, run
):
    scenario.build(aws, dns_server)
    aws.fail("ListHostedZones", "AccessDenied", "not authorized", status=403)

    summary = run()

    found = scenario.codes_by_identity(summary)
    assert "ZONE_NOT_FOUND" not in {code for codes in found.values() for code in codes}
    assert {"DKIM_RECORD_MISSING", "CHECK_FAILED"} <= found[("example.com", scenario.EU)]
    assert not any(f["fixable"] for f in summary["findings"])
    assert [e["scope"] for e in summary["errors"]] == ["route53"]


def test_given_a_bad_event_when_the_handler_runs_then_it_fails_before_any_call(aws, dns_server, run):
    with pytest.raises(EventError, match="unknown keys in event: region"):
        run({"region": "eu-west-1"})

    assert len(aws.calls) == 0
    assert dns_server.queries_received == 0


def test_given_a_bad_setting_when_the_handler_runs_then_it_fails_naming_the_variable(aws, run, monkeypatch):
    monkeypatch.setenv("DNS_NAMESERVERS", "resolver.example")

    with pytest.raises(ConfigError, match="DNS_NAMESERVERS"):
        run()

    assert len(aws.calls) == 0


def test_given_a_manual_event_naming_one_identity_when_the_handler_runs_then_only_it_is_audited(aws, dns_server, run):
    scenario.build(aws, dns_server)

    summary = run({"regions": [scenario.EU], "identities": ["Shop.Example.com"], "dry_run": True})

    assert summary["dry_run"] is True
    assert summary["regions"] == [scenario.EU]
    assert summary["identities_audited"] == 1
    assert scenario.codes_by_identity(summary) == {
        ("shop.example.com", scenario.EU): scenario.EXPECTED[("shop.example.com", scenario.EU)]
    }


def test_given_excluded_identities_when_the_handler_runs_then_they_are_neither_audited_nor_reported(
    aws, dns_server, run, monkeypatch
):
    scenario.build(aws, dns_server)
    monkeypatch.setenv("EXCLUDE_IDENTITIES", "*.example.net,NoReply@*")

    summary = run()

    reported = {key[0] for key in scenario.codes_by_identity(summary)}
    assert "conflict.example.net" not in reported
    assert "noreply@partner.example" not in reported
    assert summary["identities_audited"] == len(scenario.EXPECTED) - 2


def test_given_a_findings_topic_when_the_handler_runs_then_subscribers_get_the_run(aws, dns_server, run, monkeypatch):
    scenario.build(aws, dns_server)
    topic = aws.client("sns").create_topic(Name="ses-guard-findings")["TopicArn"]
    url = subscribed_queue(aws, topic)
    monkeypatch.setenv("FINDINGS_TOPIC_ARN", topic)
    monkeypatch.setenv("NOTIFY_MIN_SEVERITY", "HIGH")

    summary = run({"dry_run": True})

    [body] = received(aws, url, 1)
    message = json.loads(body)  # the default (non-email, non-Slack) body: the run summary
    assert message["run_id"] == summary["run_id"]
    high = {f["id"] for f in summary["findings"] if f["severity"] == "HIGH"}
    assert {f["id"] for f in message["findings"]} == high
    assert summary["errors"] == []


def test_given_a_topic_that_refuses_when_the_handler_runs_then_the_run_still_returns_with_the_error(
    aws, dns_server, run, monkeypatch
):
    scenario.build(aws, dns_server)
    topic = aws.client("sns").create_topic(Name="ses-guard-findings")["TopicArn"]
    monkeypatch.setenv("FINDINGS_TOPIC_ARN", topic)
    aws.fail("Publish", "AuthorizationError", "not allowed to publish", status=403)

    summary = run({"dry_run": True})

    assert summary["findings"]
    [error] = summary["errors"]
    assert (error["scope"], error["subject"]) == ("notification", topic)
    assert "AuthorizationError" in error["message"]


def test_given_a_notification_that_cannot_be_rendered_when_run_live_then_the_summary_keeps_what_was_written(
    aws, dns_server, run, monkeypatch
):
    world = scenario.build(aws, dns_server)
    topic = aws.client("sns").create_topic(Name="ses-guard-findings")["TopicArn"]
    monkeypatch.setenv("FINDINGS_TOPIC_ARN", topic)

    def unrenderable(*args, **kwargs):
        raise ValueError("cannot fit the run summary")

    monkeypatch.setattr(wiring, "render", unrenderable)

    summary = run({"dry_run": False})

    written = [c for c in summary["changes"] if c["applied"]]
    assert written
    zone = world.records(world.zones["example.com"])
    assert all((f"{c['name']}.", c["type"]) in zone for c in written if c["zone_name"] == "example.com")
    assert summary["errors"] == [
        {"scope": "notification", "subject": topic, "message": "ValueError: cannot fit the run summary"}
    ]


# A target event (organisation mode) runs through tests/integration/test_org.py.
SINGLE_ACCOUNT_EVENTS = [p for p in sorted(EVENTS.glob("*.json")) if "target" not in json.loads(p.read_text())]


@pytest.mark.parametrize("path", SINGLE_ACCOUNT_EVENTS, ids=lambda p: p.name)
def test_given_each_shipped_event_when_the_handler_runs_then_it_returns_a_summary(aws, dns_server, run, path):
    scenario.build(aws, dns_server)
    event = json.loads(path.read_text())

    summary = run(event)

    assert summary["identities_audited"] >= 1
    assert summary["errors"] == []
    assert summary["dry_run"] is event.get("dry_run", False)
    if "identities" in event:
        assert {identity for identity, _ in scenario.affected(summary["findings"])} <= set(event["identities"])


def seed_domains(aws, dns_server, count: int) -> None:
    world = scenario.World(aws, dns_server)
    world.zone("example.com")
    for i in range(count):
        tokens = seed_identity(aws, scenario.EU, f"d{i}.example.com").tokens
        world.keys(tokens)
        world.dkim("example.com", f"d{i}.example.com", tokens)
    world.sync("example.com")


def test_given_dns_concurrency_8_when_eight_domains_are_checked_then_their_queries_are_in_flight_together(
    aws, dns_server, run, monkeypatch
):
    seed_domains(aws, dns_server, 8)
    monkeypatch.setenv("DNS_CONCURRENCY", "8")
    dns_server.gate(8)  # holds the first 8 queries until all 8 have arrived

    summary = run({"regions": [scenario.EU]})

    assert summary["identities_audited"] == 8
    assert dns_server.max_in_flight == 8


def test_given_dns_concurrency_2_when_many_domains_are_checked_then_never_more_than_2_queries_are_in_flight(
    aws, dns_server, run, monkeypatch
):
    seed_domains(aws, dns_server, 6)
    monkeypatch.setenv("DNS_CONCURRENCY", "2")
    dns_server.gate(3, timeout=0.2)  # a third concurrent query would pass the gate; two wait 0.2 s, then go on

    summary = run({"regions": [scenario.EU]})

    assert summary["identities_audited"] == 6
    assert dns_server.max_in_flight == 2


@pytest.mark.parametrize(
    ("event", "excluded"),
    [({"identities": ["alerts@example.com"]}, ""), ({}, "example.com")],
    ids=["only-the-address", "its-domain-excluded"],
)
def test_given_an_address_whose_domain_signs_when_the_domain_is_not_audited_then_the_address_is_still_aligned(
    aws, dns_server, run, monkeypatch, event, excluded
):
    scenario.build(aws, dns_server)
    monkeypatch.setenv("EXCLUDE_IDENTITIES", excluded)

    summary = run({**event, "regions": [scenario.EU], "dry_run": True})

    assert ("alerts@example.com", scenario.EU) not in scenario.codes_by_identity(summary)
    assert "example.com" not in {identity for identity, _ in scenario.affected(summary["findings"])}


def test_given_dns_that_times_out_when_time_runs_short_mid_identity_then_lookups_stop_and_changes_are_skipped(
    aws, dns_server, run, monkeypatch
):
    world = scenario.World(aws, dns_server)
    world.zone("example.com")
    names = ["example.com", "_dmarc.com", "_dmarc.example.com"]
    for i in range(3):
        domain = f"d{i}.example.com"
        names += [f"{t}._domainkey.{domain}" for t in seed_identity(aws, scenario.EU, domain).tokens]
        names.append(f"_dmarc.{domain}")
    for name in names:
        dns_server.fail(name, "TIMEOUT")
    monkeypatch.setenv("DNS_TIMEOUT", "1")
    monkeypatch.setenv("DNS_CONCURRENCY", "1")
    monkeypatch.setenv("TIME_MARGIN_SECONDS", "1")

    # 2.5 s of Lambda time: the first identity starts, two 1 s timeouts later the margin is reached.
    summary = run({"regions": [scenario.EU]}, context=LambdaContext(timeout_seconds=2.5))

    assert dns_server.queries_received <= 3  # unbudgeted, the first identity alone would send 10
    budget = [f for f in summary["findings"] if "time budget" in f["message"]]
    assert {identity for identity, _ in scenario.affected(budget)} == {
        "d0.example.com",
        "d1.example.com",
        "d2.example.com",
    }
    assert summary["changes"] == []
    assert {
        "scope": "run",
        "subject": "changes",
        "message": "skipped: the run's time budget ran out during the audit",
    } in (summary["errors"])
