"""The run's memory through a real StateStore, the local file the CLI's --state names: read at the start, written
at the end over the version read, merged when another run wrote in between, and never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.adapters.state import FileState, UnavailableState
from core.kernel.errors import ConflictError, SesGuardError
from core.kernel.models import Code, Finding, IdentityKey, RunError
from core.rules.memory import State, parse_state, recall
from core.run.memory import read, scope_key, write

EU = "eu-west-1"
MX = Finding.about(IdentityKey(EU, "shop.example.com"), Code.MAIL_FROM_MX_MISSING, "no MX")
DMARC = Finding.about(IdentityKey(EU, "example.com"), Code.DMARC_MISSING, "no DMARC")
DAY1 = "2026-06-01T06:00:00+00:00"
DAY2 = "2026-06-02T06:00:00+00:00"


def test_given_no_file_when_read_then_it_is_a_first_run_without_an_error(tmp_path: Path):
    errors: list[RunError] = []

    memory = read(FileState(tmp_path / "state.json"), DAY1, errors)

    assert (memory.previous, memory.version, errors) == (State(), "", [])


def test_given_a_file_that_is_not_a_state_when_read_then_it_is_a_first_run_and_the_error_says_why(tmp_path: Path):
    path = tmp_path / "state.json"
    path.write_text('{"version": 1, "findings": [{"id": "x"}]}', encoding="utf-8")
    errors: list[RunError] = []

    memory = read(FileState(path), DAY1, errors)

    assert memory.previous == State()
    assert errors == [RunError("state", str(path), "read as a first run: findings[0]: no `code`")]


def test_given_a_run_when_written_and_read_back_then_the_next_run_sees_its_findings_open(tmp_path: Path):
    store = FileState(tmp_path / "state.json")
    errors: list[RunError] = []
    first = read(store, DAY1, errors)
    result = first.recall([MX], DAY1)

    write(first, result.state, [MX.id], DAY1, digest=False, errors=errors)
    second = read(store, DAY2, errors)

    assert errors == []
    [finding] = second.recall([MX], DAY2).findings
    assert (finding.status, finding.first_seen) == ("open", DAY1)


def test_given_another_run_wrote_since_this_one_read_when_written_then_both_runs_updates_are_kept(tmp_path: Path):
    store = FileState(tmp_path / "state.json")
    errors: list[RunError] = []
    ours = read(store, DAY1, errors)
    theirs = read(store, DAY1, errors)
    write(theirs, recall([DMARC], State(), DAY1).state, [DMARC.id], DAY1, digest=False, errors=errors)

    write(ours, recall([MX], State(), DAY1).state, [MX.id], DAY1, digest=False, errors=errors)

    assert errors == []
    saved = parse_state((tmp_path / "state.json").read_text(encoding="utf-8"))
    assert set(saved.entries) == {MX.id, DMARC.id}


def test_given_a_file_changed_since_it_was_read_when_saved_then_the_store_refuses(tmp_path: Path):
    store = FileState(tmp_path / "state.json")
    version = store.save("one", "")

    store.save("two", version)

    with pytest.raises(ConflictError):
        store.save("three", version)
    with pytest.raises(ConflictError):
        store.save("three", "")  # "" means: only if nothing is stored yet
    assert store.load()[0] == "two"


def test_given_a_folder_that_is_gone_when_written_then_the_error_says_so_and_the_run_goes_on(tmp_path: Path):
    folder = tmp_path / "gone"
    folder.mkdir()
    store = FileState(folder / "state.json")
    errors: list[RunError] = []
    memory = read(store, DAY1, errors)
    folder.rmdir()

    write(memory, recall([MX], State(), DAY1).state, [], DAY1, digest=False, errors=errors)

    [error] = errors
    assert (error.scope, error.subject) == ("state", str(folder / "state.json"))
    assert error.message.startswith("not written: cannot write")


def test_given_a_path_that_is_a_folder_when_read_then_it_is_an_error_not_a_crash(tmp_path: Path):
    errors: list[RunError] = []

    read(FileState(tmp_path), DAY1, errors)

    [error] = errors
    assert error.message.startswith(f"read as a first run: cannot read {tmp_path}")


def test_given_a_store_whose_place_is_unknown_when_read_and_written_then_each_is_an_error(tmp_path: Path):
    store = UnavailableState("s3://reports/state/", SesGuardError("sts GetCallerIdentity failed: ExpiredToken"))
    errors: list[RunError] = []

    memory = read(store, DAY1, errors)
    write(memory, recall([MX], State(), DAY1).state, [], DAY1, digest=False, errors=errors)

    assert [e.message for e in errors] == [
        "read as a first run: sts GetCallerIdentity failed: ExpiredToken",
        "not written: sts GetCallerIdentity failed: ExpiredToken",
    ]


def test_given_no_store_when_recalled_then_findings_stay_new_with_no_first_sighting_and_nothing_is_written():
    errors: list[RunError] = []
    memory = read(None, DAY1, errors)

    result = memory.recall([MX], DAY1)
    write(memory, result.state, [MX.id], DAY1, digest=False, errors=errors)

    assert [(f.status, f.first_seen) for f in result.findings] == [("new", "")]
    assert (result.resolved, errors) == ([], [])


@pytest.mark.parametrize(
    ("regions", "identities", "key"),
    [
        (["us-east-1", "eu-west-1"], None, "eu-west-1_us-east-1"),
        (["eu-west-1", "eu-west-1"], None, "eu-west-1"),
        (["all"], None, "all"),
    ],
)
def test_given_a_scope_when_keyed_then_the_key_reads_as_its_regions(regions, identities, key):
    assert scope_key(regions, identities) == key


def test_given_named_identities_when_keyed_then_the_scope_is_its_own_whatever_their_order():
    key = scope_key(["eu-west-1"], ["b.example.com", "*.example.org"])

    assert key.startswith("eu-west-1.identities-")
    assert key == scope_key(["eu-west-1"], ["*.example.org", "b.example.com"])
    assert key != scope_key(["eu-west-1"], ["b.example.com"])
    assert key != scope_key(["eu-west-1"], None)
