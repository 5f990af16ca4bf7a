"""A bad event is rejected before any work, with the reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.kernel.errors import EventError
from core.kernel.events import RunRequest, parse_event

SCHEDULED = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-11-28T06:00:00Z",
    "region": "eu-west-1",
    "resources": ["arn:aws:events:eu-west-1:123456789012:rule/daily"],
    "detail": {},
}


@pytest.mark.parametrize("event", [None, {}, SCHEDULED])
def test_given_an_empty_or_scheduled_event_when_parsed_then_it_is_a_full_run(event):
    assert parse_event(event) == RunRequest()


def test_given_a_manual_event_when_parsed_then_names_are_normalised_and_deduplicated():
    request = parse_event(
        {"dry_run": True, "regions": ["EU-WEST-1", "eu-west-1"], "identities": ["Example.COM.", "Ops@Example.com"]}
    )

    assert request == RunRequest(dry_run=True, regions=("eu-west-1",), identities=("example.com", "ops@example.com"))


@pytest.mark.parametrize(
    ("event", "words"),
    [
        ([], "must be a JSON object"),
        ({"dryrun": True}, "unknown keys in event: dryrun"),
        ({"dry_run": "yes"}, 'dry_run must be true or false, got "yes"'),
        ({"dry_run": None}, "dry_run must be true or false, got null"),
        ({"dry_run": 0}, "dry_run must be true or false, got 0"),
        ({"regions": None}, "regions must be a non-empty list of non-empty strings, got null"),
        ({"regions": [None]}, "regions must be a non-empty list"),
        ({"identities": None}, "identities must be a non-empty list of non-empty strings, got null"),
        ({"identities": {"example.com": True}}, "identities must be a non-empty list"),
        ({"identities": [" "]}, "identities must be a non-empty list"),
        ({"regions": "eu-west-1"}, "regions must be a non-empty list"),
        ({"regions": []}, "regions must be a non-empty list"),
        ({"regions": ["mars-north-1x"]}, "not an AWS region"),
        ({"identities": ["example.com", 7]}, "identities must be a non-empty list"),
        ({**SCHEDULED, "dry_run": True}, "unknown keys in scheduled event: dry_run"),
        ({**SCHEDULED, "source": None}, "scheduled event: source must be a string, got null"),
        ({**SCHEDULED, "detail": None}, "scheduled event: detail must be a JSON object, got null"),
    ],
)
def test_given_a_bad_event_when_parsed_then_it_is_rejected_with_the_reason(event, words):
    with pytest.raises(EventError, match=words):
        parse_event(event)


def test_given_the_shipped_event_files_when_parsed_then_each_is_valid():
    files = sorted(Path(__file__).parents[3].joinpath("events").glob("*.json"))

    assert files
    for path in files:
        event = json.loads(path.read_text())
        parse_event(event, org_mode="target" in event)  # a target event is for a stack in organisation mode


@pytest.mark.parametrize("event", [{"dry_run": True}, {}, {"regions": ["eu-west-1"]}, SCHEDULED, None])
def test_given_a_deployment_that_only_plans_when_an_event_keeps_or_narrows_it_then_it_is_accepted(event):
    request = parse_event(event, writes_allowed=False)

    assert request.dry_run in (None, True)


def test_given_a_deployment_that_only_plans_when_an_event_asks_to_write_then_it_is_refused_saying_how_to_allow_it():
    with pytest.raises(EventError) as refused:
        parse_event({"dry_run": False, "regions": ["eu-west-1"]}, writes_allowed=False)

    message = str(refused.value)
    assert "DRY_RUN=true" in message
    assert "DryRun=false" in message
    assert "sam deploy --parameter-overrides DryRun=false" in message


def test_given_a_deployment_that_writes_when_an_event_asks_for_a_dry_run_then_the_run_is_narrowed_to_a_plan():
    assert parse_event({"dry_run": True}, writes_allowed=True) == RunRequest(dry_run=True)
    assert parse_event({"dry_run": False}, writes_allowed=True) == RunRequest(dry_run=False)


@pytest.mark.parametrize(
    ("regions", "configured"),
    [(["eu-west-1"], ("eu-west-1", "us-east-1")), (["us-east-1", "eu-west-1"], ("eu-west-1", "us-east-1"))],
)
def test_given_event_regions_within_the_configured_ones_when_parsed_then_they_narrow_the_run(regions, configured):
    request = parse_event({"regions": regions}, configured_regions=configured)

    assert set(request.regions or ()) == set(regions)


@pytest.mark.parametrize("regions", [["ap-south-1"], ["eu-west-1", "ap-south-1"], ["all"]])
def test_given_event_regions_beyond_the_configured_ones_when_parsed_then_refused_naming_them(regions):
    with pytest.raises(EventError, match=r"refused: this function audits eu-west-1 \(AUDIT_REGIONS"):
        parse_event({"regions": regions}, configured_regions=("eu-west-1",))


def test_given_all_regions_configured_when_an_event_names_any_then_it_is_accepted():
    assert parse_event({"regions": ["ap-south-1"]}, configured_regions=("all",)).regions == ("ap-south-1",)
