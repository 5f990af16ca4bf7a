"""NOTIFY_ON=changes through the real handler: runs remember what they reported (the state lives in the report
bucket), so a subscriber hears about a finding when it appears and when it goes, and about everything open once per
DIGEST_DAYS, not every run."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from tests import scenario
from tests.delegation import delegate
from tests.fixtures_aws import received, subscribed_queue
from tests.scenario import EU

DRY = {"dry_run": True}  # dry runs leave the account as it is, so a run sees what the last one saw


@dataclass
class Topic:
    """The findings topic and what an SQS subscriber (raw delivery: the JSON body) has received from it."""

    aws: Any
    url: str

    def publishes(self) -> int:
        return int(self.aws.calls.count(service="sns", operation="Publish"))

    def messages(self, expected: int) -> list[dict[str, Any]]:
        bodies = [json.loads(body) for body in received(self.aws, self.url, expected)]
        return sorted(bodies, key=lambda body: body["part"])


@pytest.fixture
def topic(aws: Any, bucket: str, monkeypatch: pytest.MonkeyPatch) -> Topic:
    arn = aws.client("sns").create_topic(Name="ses-guard-findings")["TopicArn"]
    url = subscribed_queue(aws, arn)
    monkeypatch.setenv("FINDINGS_TOPIC_ARN", arn)
    monkeypatch.setenv("NOTIFY_ON", "changes")
    monkeypatch.setenv("DIGEST_DAYS", "7")
    return Topic(aws, url)


def ids(findings: list[dict[str, Any]]) -> set[str]:
    return {f["id"] for f in findings}


def settled(aws: Any, dns_server: Any) -> scenario.World:
    """The scenario once its late DKIM record has reached live DNS: an account that stays the same from day to day
    (a record that still has not arrived a day later is news: DNS_PROPAGATION_STALLED)."""
    world = scenario.build(aws, dns_server)
    world.sync("example.com")
    return world


def test_given_an_unchanged_account_when_run_twice_then_only_the_first_run_notifies_with_every_finding_new(
    aws, dns_server, run, topic, clock
):
    # Given an account with findings and a first run that reported them
    settled(aws, dns_server)
    first = run(DRY)
    [message] = topic.messages(1)

    # When the same account is audited again the next day
    clock.next_day()
    second = run(DRY)

    # Then the first run listed every finding as new, and the second had nothing new to say
    assert topic.publishes() == 1
    assert message["kind"] == "changes"
    assert ids(message["findings"]) == ids(first["findings"])
    assert {f["status"] for f in message["findings"]} == {"new"}
    assert {f["first_seen"] for f in message["findings"]} == {"2026-12-01T06:00:00+00:00"}
    assert message["by_status"] == {"new": len(first["findings"]), "still_open": 0, "resolved": 0, "suppressed": 0}
    assert message["resolved"] == []
    assert ids(second["findings"]) == ids(first["findings"])  # nothing was fixed: it is all still there
    assert second["errors"] == []


def test_given_a_record_fixed_between_runs_when_run_again_then_one_notification_says_it_was_resolved(
    aws, dns_server, run, topic, clock
):
    # Given two runs that reported, then had nothing new to report
    world = settled(aws, dns_server)
    run(DRY)
    clock.next_day()
    run(DRY)
    assert topic.publishes() == 1
    topic.messages(1)  # drain the first run's message
    # ...and the missing MAIL FROM MX of shop.example.com set by hand and propagated
    world.r53("example.com", "bounce.shop.example.com", "MX", f"10 feedback-smtp.{EU}.amazonses.com")
    world.sync("example.com")

    # When the account is audited again
    clock.next_day()
    third = run(DRY)

    # Then one notification lists what went, when it was first seen, and counts what is still open
    assert topic.publishes() == 2
    [message] = topic.messages(1)
    assert message["kind"] == "changes"
    resolved = {(r["code"], r["subject"]): r for r in message["resolved"]}
    mx = resolved[("MAIL_FROM_MX_MISSING", "shop.example.com")]
    assert (mx["first_seen"], mx["last_seen"]) == ("2026-12-01T06:00:00+00:00", "2026-12-02T06:00:00+00:00")
    still = [f for f in third["findings"] if f["status"] == "open"]
    assert message["by_status"]["still_open"] == len(still) > 0
    assert ids(message["findings"]) == {f["id"] for f in third["findings"] if f["status"] == "new"}
    assert not ids(message["findings"]) & ids(still)  # what was reported before is counted, not listed again


def test_given_a_week_of_daily_runs_over_an_unchanged_account_then_one_notification_and_the_digest_on_day_8(
    aws, dns_server, run, topic, clock
):
    # Given an account that does not change
    settled(aws, dns_server)

    # When it is audited daily for a week
    first = run(DRY)
    for _ in range(6):
        clock.next_day()
        run(DRY)
    week = topic.publishes()
    [new] = topic.messages(1)
    # ...and once more on the eighth day
    clock.next_day()
    eighth = run(DRY)

    # Then the week sent one notification, and the eighth day the digest of everything open
    assert week == 1
    assert new["kind"] == "changes"
    assert ids(new["findings"]) == ids(first["findings"])
    assert topic.publishes() == 2
    [digest] = topic.messages(1)
    assert digest["kind"] == "digest"
    assert ids(digest["findings"]) == ids(eighth["findings"]) == ids(first["findings"])
    assert {f["status"] for f in digest["findings"]} == {"open"}
    assert {f["first_seen"] for f in digest["findings"]} == {"2026-12-01T06:00:00+00:00"}
    assert digest["counts"]["findings"] == len(first["findings"])


def test_given_the_p_none_record_ses_guard_created_then_its_finding_is_reported_once_when_new(
    aws, dns_server, run, topic, clock
):
    # Given a live run that created the missing _dmarc record of conflict.example.net (p=none, the safe start), in a
    # zone the world is sent to
    world = scenario.build(aws, dns_server)
    delegate(world, "example.net")
    first = run({"dry_run": False})
    created = {(f["code"], f["subject"]) for f in first["findings"] if f["fixed"]}
    assert ("DMARC_MISSING", "_dmarc.conflict.example.net") in created
    # ...and the world now sees what the run wrote
    world.sync("example.com")
    world.sync("example.net")
    topic.messages(topic.publishes())  # drain

    # When the next two daily runs audit the account
    clock.next_day()
    before = topic.publishes()
    second = run({"dry_run": False})
    after_second = topic.publishes()
    told = [f for m in topic.messages(after_second - before) for f in m["findings"]]
    clock.next_day()
    third = run({"dry_run": False})

    # Then the p=none policy it created is new once, in the second run's message, and not reported again
    policy = ("DMARC_POLICY_NONE", "_dmarc.conflict.example.net")
    assert after_second - before == 1
    [told_policy] = [f for f in told if (f["code"], f["subject"]) == policy]
    assert told_policy["status"] == "new"
    assert [f["status"] for f in third["findings"] if (f["code"], f["subject"]) == policy] == ["open"]
    assert second["changes"] == third["changes"] == []  # nothing more to create: the third run changed nothing
    assert topic.publishes() == after_second


def test_given_notify_on_all_when_an_unchanged_account_is_run_twice_then_both_runs_publish_every_finding(
    aws, dns_server, run, topic, clock, monkeypatch
):
    # Given NOTIFY_ON=all and runs that remember
    monkeypatch.setenv("NOTIFY_ON", "all")
    settled(aws, dns_server)
    run(DRY)
    clock.next_day()

    # When the unchanged account is audited again
    second = run(DRY)

    # Then the second run sends the whole run again, as every run did before runs had memory
    assert topic.publishes() == 2
    messages = topic.messages(2)
    assert [m["kind"] for m in messages] == ["all", "all"]
    assert all(ids(m["findings"]) == ids(second["findings"]) for m in messages)
    assert {f["status"] for f in second["findings"]} == {"open"}
