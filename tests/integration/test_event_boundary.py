"""The invocation event is a boundary: through the real handler, a malformed event, or one asking a stack deployed
to plan only to write, is refused before a single request reaches AWS or DNS; an event may only narrow a run."""

from __future__ import annotations

from typing import Any

import pytest

from core.kernel.errors import EventError
from tests import scenario

# For each key of a manual event: null and every JSON type it is not, plus lists holding the wrong thing.
WRONG_VALUES: dict[str, list[Any]] = {
    "dry_run": [None, "false", "true", 0, 1, 0.0, [], [False], {}, {"value": False}],
    "regions": [None, "eu-west-1", 1, True, {}, {"eu-west-1": True}, [], [None], [""], [1], [scenario.EU, None]],
    "identities": [None, "example.com", 7, False, {}, [], [None], [" "], [7], [["example.com"]], ["a.example", None]],
}
CASES = [(key, value) for key, values in WRONG_VALUES.items() for value in values]
WRITES = ("ChangeResourceRecordSets", "SetIdentityMailFromDomain", "PutEmailIdentityDkimSigningAttributes")


class Untouched:
    """What the loopback AWS and DNS servers have received since the test's world was built."""

    def __init__(self, aws: Any, dns_server: Any) -> None:
        self.aws, self.dns_server = aws, dns_server
        self.calls, self.queries = len(aws.calls), dns_server.queries_received

    def aws_calls(self) -> list[Any]:
        return list(self.aws.calls)[self.calls :]

    def dns_queries(self) -> int:
        return int(self.dns_server.queries_received - self.queries)


@pytest.mark.parametrize(("key", "value"), CASES, ids=[f"{key}={value!r}" for key, value in CASES])
def test_given_a_key_of_the_wrong_type_or_null_when_the_handler_is_invoked_then_it_is_refused_before_any_call(
    aws, dns_server, run, key, value
):
    # Given an account with records to create and a stack deployed to write
    scenario.build(aws, dns_server)
    since = Untouched(aws, dns_server)

    # When an event carries the key with a value of the wrong type
    with pytest.raises(EventError, match=key):
        run({key: value})

    # Then nothing reached AWS or DNS
    assert since.aws_calls() == []
    assert since.dns_queries() == 0


@pytest.mark.parametrize(
    "event",
    [{"dry_run": False}, {"dry_run": False, "regions": [scenario.EU], "identities": ["conflict.example.net"]}],
    ids=["alone", "with-a-scope"],
)
def test_given_a_stack_deployed_to_plan_only_when_an_event_asks_to_write_then_it_is_refused_before_any_call(
    aws, dns_server, run, monkeypatch, event
):
    # Given a stack deployed with DryRun=true
    scenario.build(aws, dns_server)
    monkeypatch.setenv("DRY_RUN", "true")
    since = Untouched(aws, dns_server)

    # When an event asks for a live run
    with pytest.raises(EventError) as refused:
        run(event)

    # Then it is refused, saying which setting decides and how to change it, and nothing reached AWS or DNS
    assert "DRY_RUN=true" in str(refused.value)
    assert "DryRun=false" in str(refused.value)
    assert since.aws_calls() == []
    assert since.dns_queries() == 0


@pytest.mark.parametrize("event", [{}, {"dry_run": True}, {"regions": [scenario.EU]}], ids=["empty", "dry", "scope"])
def test_given_a_stack_deployed_to_plan_only_when_an_event_keeps_or_narrows_the_mode_then_it_plans_and_writes_nothing(
    aws, dns_server, run, monkeypatch, event
):
    world = scenario.build(aws, dns_server)
    monkeypatch.setenv("DRY_RUN", "true")
    before = world.records(world.zones["example.com"])
    since = Untouched(aws, dns_server)

    summary = run(event)

    assert summary["dry_run"] is True
    assert summary["changes"]  # the plan is there to read
    assert not [c for c in summary["changes"] if c["applied"]]
    assert [c for c in since.aws_calls() if c.operation in WRITES] == []
    assert world.records(world.zones["example.com"]) == before


def test_given_a_stack_deployed_to_write_when_an_event_asks_for_a_dry_run_then_the_run_is_narrowed_to_a_plan(
    aws, dns_server, run, monkeypatch
):
    world = scenario.build(aws, dns_server)
    monkeypatch.setenv("DRY_RUN", "false")
    before = world.records(world.zones["example.com"])
    since = Untouched(aws, dns_server)

    summary = run({"dry_run": True})

    assert summary["dry_run"] is True
    assert summary["changes"]
    assert not [c for c in summary["changes"] if c["applied"]]
    assert [c for c in since.aws_calls() if c.operation in WRITES] == []
    assert world.records(world.zones["example.com"]) == before


def test_given_a_stack_deployed_to_write_when_an_event_asks_to_write_then_the_records_are_created(
    aws, dns_server, run, monkeypatch
):
    world = scenario.build(aws, dns_server)
    monkeypatch.setenv("DRY_RUN", "false")
    since = Untouched(aws, dns_server)

    summary = run({"dry_run": False})

    written = [c for c in summary["changes"] if c["applied"] and c["zone_name"] == "example.com"]
    assert written
    zone = world.records(world.zones["example.com"])
    assert all((f"{c['name']}.", c["type"]) in zone for c in written)
    assert [c for c in since.aws_calls() if c.operation == "ChangeResourceRecordSets"]
