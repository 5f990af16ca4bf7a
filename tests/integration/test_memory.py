"""The run's memory through the real handler and moto's S3: findings new then open, resolved ones listed with when
they were first seen, a broken state read as a first run, and overlapping runs that both keep their updates.
The CLI's --state keeps the same memory in a local file."""

from __future__ import annotations

import io
import json
import os
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from core.adapters.state import S3State
from core.adapters.wiring import AwsWiring
from core.kernel.events import RunRequest
from core.kernel.settings import Settings
from core.run.deadline import Deadline
from core.run.service import execute
from handlers import cli
from tests import scenario
from tests.fixtures_run import BUCKET, Clock
from tests.interleave import BeforeFirstSave
from tests.scenario import EU, US

ACCOUNT = "123456789012"  # moto's account: STS GetCallerIdentity answers it
KEY = f"state/{ACCOUNT}/{EU}_{US}.json"  # the run fixture audits both regions
DRY = {"dry_run": True}  # dry runs leave the account as it is, so a run sees what the last one saw
MX_FIX = f"10 feedback-smtp.{EU}.amazonses.com"


def state_keys(aws: Any) -> list[str]:
    listed = aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="state/")
    return [o["Key"] for o in listed.get("Contents", [])]


def stored_state(aws: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(aws.client("s3").get_object(Bucket=BUCKET, Key=KEY)["Body"].read())
    return data


def statuses(summary: dict[str, Any]) -> set[str]:
    return {f["status"] for f in summary["findings"]}


def mx_missing(summary: dict[str, Any]) -> dict[str, Any]:
    found: list[dict[str, Any]] = [f for f in summary["findings"] if f["code"] == "MAIL_FROM_MX_MISSING"]
    [finding] = found
    return finding


def settled(aws: Any, dns_server: Any) -> scenario.World:
    """The scenario once its late DKIM record is in live DNS: from day to day nothing changes (a record still missing a
    day later would be news of its own, DNS_PROPAGATION_STALLED)."""
    world = scenario.build(aws, dns_server)
    world.sync("example.com")
    return world


def test_given_a_first_run_when_run_again_over_the_same_account_then_findings_go_from_new_to_open(
    aws, dns_server, run, bucket, clock
):
    settled(aws, dns_server)
    first_day = clock.stamp()

    first = run(DRY)
    clock.next_day()
    second = run(DRY)

    # No state yet is an ordinary first run, not an error.
    assert first["errors"] == second["errors"] == []
    assert statuses(first) == {"new"}
    assert {f["first_seen"] for f in first["findings"]} == {first_day}
    assert statuses(second) == {"open"}
    assert {f["first_seen"] for f in second["findings"]} == {first_day}
    assert second["resolved"] == []
    # One object per account and audited scope, in the report bucket, kept although both runs were dry.
    assert state_keys(aws) == [KEY]
    state = stored_state(aws)
    assert {e["id"] for e in state["findings"]} == {f["id"] for f in second["findings"]}
    assert {e["last_seen"] for e in state["findings"]} == {clock.stamp()}


def test_given_a_record_fixed_between_runs_when_run_again_then_its_finding_is_resolved_with_its_first_sighting(
    aws, dns_server, run, bucket, clock
):
    world = scenario.build(aws, dns_server)
    first_day = clock.stamp()
    first = run(DRY)
    mx = mx_missing(first)
    clock.next_day()
    run(DRY)

    # Someone adds the missing MAIL FROM MX, in Route 53 and (propagated) in live DNS.
    world.r53("example.com", "bounce.shop.example.com", "MX", MX_FIX)
    dns_server.set("bounce.shop.example.com", "MX", [MX_FIX])
    clock.next_day()
    third = run(DRY)

    assert third["resolved"] == [
        {
            "id": mx["id"],
            "code": "MAIL_FROM_MX_MISSING",
            "subject": "shop.example.com",
            "severity": "HIGH",
            "first_seen": first_day,
            "last_seen": (clock.now - timedelta(days=1)).isoformat(timespec="seconds"),
        }
    ]
    assert mx["id"] not in {f["id"] for f in third["findings"]}
    assert statuses(third) == {"open"}
    assert mx["id"] not in {e["id"] for e in stored_state(aws)["findings"]}


def test_given_an_unreadable_state_when_the_handler_runs_then_it_is_a_first_run_with_a_state_error(
    aws, dns_server, run, bucket, clock
):
    scenario.build(aws, dns_server)
    run(DRY)
    aws.client("s3").put_object(Bucket=BUCKET, Key=KEY, Body=b'{"version": 1, "findings": [')

    summary = run(DRY)

    [error] = summary["errors"]
    assert (error["scope"], error["subject"]) == ("state", f"s3://{BUCKET}/{KEY}")
    assert "read as a first run: not JSON" in error["message"]
    assert statuses(summary) == {"new"}
    assert summary["counts"]["findings"] == len(summary["findings"]) > 0
    # The run's own state replaces the broken one, so the next run compares again.
    assert {e["id"] for e in stored_state(aws)["findings"]} == {f["id"] for f in summary["findings"]}
    assert statuses(run(DRY)) == {"open"}


def test_given_a_state_that_cannot_be_read_when_the_handler_runs_then_the_error_says_so_and_the_run_returns(
    aws, dns_server, run, bucket, clock
):
    scenario.build(aws, dns_server)
    aws.fail("GetObject", "AccessDenied", "Access Denied", status=403)

    summary = run(DRY)

    [error] = summary["errors"]
    assert error["scope"] == "state"
    assert "AccessDenied" in error["message"]
    assert "without s3:ListBucket" in error["message"]  # S3's answer for a missing key without that permission
    assert statuses(summary) == {"new"}


def test_given_the_account_cannot_be_read_when_the_handler_runs_then_the_state_is_an_error_and_the_run_returns(
    aws, dns_server, run, bucket, clock
):
    scenario.build(aws, dns_server)
    aws.fail("GetCallerIdentity", "ExpiredToken", "The security token included in the request is expired")

    summary = run(DRY)

    assert {e["scope"] for e in summary["errors"]} == {"state"}
    assert all("GetCallerIdentity" in e["message"] for e in summary["errors"])
    assert statuses(summary) == {"new"}
    assert state_keys(aws) == []


def test_given_a_run_that_starts_and_finishes_inside_another_when_both_write_then_the_state_holds_both_updates(
    aws, dns_server, run, bucket, clock, monkeypatch
):
    # Given a state from an earlier run
    world = settled(aws, dns_server)
    first_day = clock.stamp()
    earlier = run(DRY)
    clock.next_day()
    # When run A reads that state and audits, then run B sees the account change (a new problem: a DMARC record
    # that now says p=none; a fixed one: the MX), runs and writes, and only then A writes
    stores: list[BeforeFirstSave] = []
    b_summary: dict[str, Any] = {}

    def run_b() -> None:
        world.r53("example.com", "bounce.shop.example.com", "MX", MX_FIX)
        dns_server.set("bounce.shop.example.com", "MX", [MX_FIX])
        dns_server.set("_dmarc.good.example.com", "TXT", ["v=DMARC1; p=none; rua=mailto:d@example.com"])
        clock.now += timedelta(hours=1)
        b_summary.update(run(DRY))

    real_state = AwsWiring.state

    def interleaved(self: AwsWiring, scope: str) -> BeforeFirstSave:
        store = real_state(self, scope)
        assert isinstance(store, S3State)
        # Only run A gets the interleaving; B, started from inside A's write, runs as usual.
        wrapped = BeforeFirstSave(store, run_b if not stores else lambda: None)
        stores.append(wrapped)
        return wrapped

    monkeypatch.setattr(AwsWiring, "state", interleaved)
    a_summary = run(DRY)

    # Then A lost the race once (moto answered PreconditionFailed to its If-Match), merged and wrote
    a_store, b_store = stores
    assert (a_store.conflicts, b_store.conflicts) == (1, 0)
    assert a_summary["errors"] == b_summary["errors"] == []
    state = stored_state(aws)
    entries = {e["id"]: e for e in state["findings"]}
    assert len(entries) == len(state["findings"])  # one entry per finding id
    # B's new finding survives A's write; everything A saw is there with its first sighting kept.
    [b_new] = [f for f in b_summary["findings"] if f["status"] == "new"]
    assert (b_new["code"], b_new["subject"]) == ("DMARC_POLICY_NONE", "_dmarc.good.example.com")
    assert b_new["id"] in entries
    assert {f["id"] for f in a_summary["findings"]} <= set(entries)
    assert {entries[f["id"]]["first_seen"] for f in earlier["findings"]} == {first_day}
    assert entries[b_new["id"]]["first_seen"] == b_new["first_seen"]
    assert entries[b_new["id"]]["last_notified"] == b_new["first_seen"]  # B reported it; A's merge kept that
    # A saw the MX missing after B saw it fixed: A's newer word keeps it open one run more, never lost.
    assert entries[mx_missing(earlier)["id"]]["last_seen"] == a_summary_time(clock)


def a_summary_time(clock: Clock) -> str:
    """Run A read the clock before B moved it on by an hour."""
    return (clock.now - timedelta(hours=1)).isoformat(timespec="seconds")


def test_given_two_runs_started_together_when_both_create_the_state_then_one_merges_and_each_finding_is_kept_once(
    aws, dns_server, bucket, clock, monkeypatch
):
    # Given two runs over the same scope, called as the CLI and the handler call them
    scenario.build(aws, dns_server)
    monkeypatch.setenv("AUDIT_REGIONS", f"{EU},{US}")
    monkeypatch.setenv("DNS_NAMESERVERS", dns_server.nameserver)
    monkeypatch.setenv("SES_MAX_RPS", "1000")
    settings = Settings.from_env(os.environ)
    # Neither writes before both have read, so they truly overlap; their PUTs then go one at a time, since which
    # of two simultaneous conditional PUTs S3 refuses is S3's business, not what this test is about.
    both_read = threading.Barrier(2, timeout=30)
    one_put_at_a_time = threading.Lock()
    stores: list[BeforeFirstSave] = []
    real_state = AwsWiring.state

    class Overlapping(BeforeFirstSave):
        saves = 0

        def save(self, text: str, version: str) -> str:
            if self.saves == 0:
                both_read.wait()
            self.saves += 1
            with one_put_at_a_time:
                return super().save(text, version)

    def gated(self: AwsWiring, scope: str) -> BeforeFirstSave:
        store = real_state(self, scope)
        assert isinstance(store, S3State)
        stores.append(Overlapping(store, lambda: None))
        return stores[-1]

    monkeypatch.setattr(AwsWiring, "state", gated)
    wirings = [AwsWiring(settings, aws.session()) for _ in range(2)]
    summaries: list[Any] = [None, None]

    def one_run(index: int) -> None:
        request = RunRequest(dry_run=True)
        summaries[index] = execute(request, settings, wirings[index], Deadline.unlimited(), run_id=str(index))

    # When both run at once, both finding no state and creating it (If-None-Match: *)
    threads = [threading.Thread(target=one_run, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # Then exactly one lost the race and merged, and the state holds every finding once with its first sighting
    assert sorted(s.conflicts for s in stores) == [0, 1]
    assert [s.errors for s in summaries] == [[], []]
    state = stored_state(aws)
    ids = [e["id"] for e in state["findings"]]
    assert len(ids) == len(set(ids))
    assert set(ids) == {f.id for f in summaries[0].findings} | {f.id for f in summaries[1].findings}
    assert {e["first_seen"] for e in state["findings"]} == {clock.stamp()}


# --- the CLI's --state ------------------------------------------------------------------------------------------


def ses_guard(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = cli.main(["audit", *args], stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def cli_world(aws, dns_server, monkeypatch, clock):
    monkeypatch.setenv("DNS_NAMESERVERS", dns_server.nameserver)
    monkeypatch.setenv("SES_MAX_RPS", "1000")
    monkeypatch.setenv("NO_COLOR", "1")
    return settled(aws, dns_server)


def test_given_a_state_file_when_the_cli_runs_twice_then_findings_are_new_then_open_and_fixes_are_resolved(
    cli_world, dns_server, tmp_path: Path, clock
):
    state = tmp_path / "ses-guard-state.json"
    first_day = clock.stamp()

    status, first, err = ses_guard("--json", "--state", str(state))
    clock.next_day()
    _, second, _ = ses_guard("--json", "--state", str(state))
    cli_world.r53("example.com", "bounce.shop.example.com", "MX", MX_FIX)
    dns_server.set("bounce.shop.example.com", "MX", [MX_FIX])
    clock.next_day()
    _, table, _ = ses_guard("--state", str(state))

    assert (status, err) == (0, "")
    assert statuses(json.loads(first)) == {"new"}
    assert statuses(json.loads(second)) == {"open"}
    assert {f["first_seen"] for f in json.loads(second)["findings"]} == {first_day}
    # The table says how long each finding has been open, and lists what was fixed since the last run.
    assert "  [HIGH] MAIL_FROM_MX_INVALID (eu-west-1) - open since 2026-12-01 06:00 UTC\n" in table
    assert "RESOLVED since the last run\n  [HIGH] MAIL_FROM_MX_MISSING shop.example.com (first seen 2026-12-01" in table
    assert "; 0 new, 1 resolved)" in table
    assert json.loads(state.read_text())["version"] == 1


def test_given_a_state_file_when_a_new_problem_appears_then_the_table_marks_it_new(cli_world, dns_server, tmp_path):
    state = tmp_path / "state.json"
    ses_guard("--state", str(state))
    dns_server.set("_dmarc.good.example.com", "TXT", ["v=DMARC1; p=none; rua=mailto:d@example.com"])

    _, table, _ = ses_guard("--state", str(state))

    section = table[table.index("== _dmarc.good.example.com ==") :]
    assert section.splitlines()[1] == "  [LOW] DMARC_POLICY_NONE (affects good.example.com (eu-west-1)) - new"
    assert "; 1 new, 0 resolved)" in table


def test_given_no_state_file_when_the_cli_runs_then_it_keeps_no_memory_even_with_a_report_bucket(
    cli_world, aws, bucket, tmp_path
):
    # A person's run must not mark findings as reported in the function's state: only --state remembers.
    _, first, _ = ses_guard("--json")

    summary = json.loads(first)
    assert statuses(summary) == {"new"}
    assert {f["first_seen"] for f in summary["findings"]} == {""}
    assert state_keys(aws) == []
    assert aws.calls.count(operation="GetCallerIdentity") == 0


def test_given_a_state_file_in_a_missing_folder_when_the_cli_runs_then_it_exits_2_before_the_run(
    cli_world, aws, tmp_path
):
    seeded = len(aws.calls)

    status, out, err = ses_guard("--state", str(tmp_path / "nowhere" / "state.json"))

    assert (status, out) == (2, "")
    assert "--state: no directory" in err
    assert len(aws.calls) == seeded  # refused before any AWS call
