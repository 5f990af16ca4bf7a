"""The run's memory of the `_dmarc` records ses-guard created: kept through a run, written, read, and merged."""

from __future__ import annotations

import pytest

from core.rules.memory import Created, State, dump_state, merge, notified, parse_state, recall

T0 = "2026-10-01T06:00:00+00:00"
T1 = "2026-12-01T06:00:00+00:00"
NAME = "_dmarc.example.com"
MINE = Created(NAME, "v=DMARC1; p=none", T0)


def test_given_created_records_when_written_and_read_back_then_they_are_the_same():
    state = State(created={NAME: MINE})

    assert parse_state(dump_state(state)) == state
    assert "created_records" not in dump_state(State())


def test_given_created_records_when_a_run_recalls_and_notifies_then_they_are_kept():
    previous = State(created={NAME: MINE})

    after = notified(recall([], previous, T1).state, [], T1, digest=True)

    assert after.created == {NAME: MINE}


def test_given_two_runs_when_merged_then_the_later_step_wins_and_records_of_either_stay():
    stepped = Created(NAME, "v=DMARC1; p=quarantine", T0, stepped=T1)
    other = Created("_dmarc.example.org", "v=DMARC1; p=none", T1)

    merged = merge(State(created={NAME: MINE}), State(created={NAME: stepped, other.name: other}), T0)

    assert merged.created == {NAME: stepped, other.name: other}


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ('{"version": 1, "findings": [], "created_records": {}}', "`created_records` is not a list"),
        ('{"version": 1, "findings": [], "created_records": [{"name": 1}]}', "created_records[0]"),
        (
            '{"version": 1, "findings": [], "created_records": [{"name": "a", "value": "b", "created": "x"}]}',
            "created_records[0].created",
        ),
    ],
)
def test_given_a_broken_created_list_when_read_then_the_error_names_it(raw, words):
    with pytest.raises(ValueError, match=words.replace("[", r"\[").replace("]", r"\]")):
        parse_state(raw)
