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
        ({"dry_run": "yes"}, "dry_run must be true or false"),
        ({"regions": "eu-west-1"}, "regions must be a non-empty list"),
        ({"regions": []}, "regions must be a non-empty list"),
        ({"regions": ["mars-north-1x"]}, "not an AWS region"),
        ({"identities": ["example.com", 7]}, "identities must be a non-empty list"),
        ({**SCHEDULED, "dry_run": True}, "unknown keys in scheduled event: dry_run"),
    ],
)
def test_given_a_bad_event_when_parsed_then_it_is_rejected_with_the_reason(event, words):
    with pytest.raises(EventError, match=words):
        parse_event(event)


def test_given_the_shipped_event_files_when_parsed_then_each_is_valid():
    files = sorted(Path(__file__).parents[3].joinpath("events").glob("*.json"))

    assert files
    for path in files:
        parse_event(json.loads(path.read_text()))
