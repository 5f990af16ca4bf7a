"""Which regions a run audits: `all` means the SES regions the account has enabled (account:ListRegions), and a
region the account has not enabled is skipped and counted, never an error."""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pytest

from handlers import cli
from tests import scenario
from tests.fidelity import ENABLED_BY_DEFAULT, deny_list_regions, seed_identity, set_region_opt_in
from tests.fixtures_run import BUCKET

OPT_IN = "ap-southeast-3"  # an opt-in region that offers SES
DISABLED = "me-central-1"  # another, left disabled
SES_REGIONS = boto3.session.Session().get_available_regions("sesv2")
DEFAULT_SES_REGIONS = sorted(r for r in SES_REGIONS if r in ENABLED_BY_DEFAULT)
OPT_IN_SES_REGIONS = sorted(r for r in SES_REGIONS if r not in ENABLED_BY_DEFAULT)


@pytest.fixture
def topic(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The findings topic. The runs that use it read no identity, so nothing but an error could make them notify."""
    monkeypatch.setenv("FINDINGS_TOPIC_ARN", aws.client("sns").create_topic(Name="findings")["TopicArn"])


def ses_regions_called(aws: Any) -> set[str]:
    return {call.region for call in aws.calls if call.service == "ses"}


def skipped(summary: dict[str, Any]) -> dict[str, str]:
    return {r["region"]: r["status"] for r in summary["regions_skipped"]}


def test_given_all_and_one_opt_in_region_enabled_when_the_handler_runs_then_only_enabled_ones_are_audited(
    aws, run, monkeypatch
):
    monkeypatch.setenv("AUDIT_REGIONS", "all")
    set_region_opt_in({OPT_IN: "ENABLED", "eu-south-1": "DISABLING", "eu-central-2": "ENABLING"})
    seed_identity(aws, OPT_IN, "ops@opted-in.example")
    seed_identity(aws, DISABLED, "ops@not-enabled.example")
    aws.calls.clear()  # seeding called SES in those regions too

    summary = run()

    assert summary["errors"] == []
    assert summary["regions"] == sorted([*DEFAULT_SES_REGIONS, OPT_IN])
    assert summary["identities_audited"] == 1
    assert skipped(summary) == {
        **{r: "DISABLED" for r in OPT_IN_SES_REGIONS if r != OPT_IN},
        "eu-south-1": "DISABLING",
        "eu-central-2": "ENABLING",
    }
    assert summary["counts"]["regions_skipped"] == len(OPT_IN_SES_REGIONS) - 1
    # Nothing was asked of a region the account has not enabled, and ListRegions was asked once.
    assert ses_regions_called(aws) == {*DEFAULT_SES_REGIONS, OPT_IN}
    assert aws.calls.count(service="account") == 1


def test_given_a_named_region_not_enabled_when_the_handler_runs_then_it_is_skipped_counted_and_not_notified(
    aws, run, bucket, topic, monkeypatch
):
    monkeypatch.setenv("AUDIT_REGIONS", f"{scenario.EU},{DISABLED}")

    summary = run()

    assert summary["errors"] == []
    assert summary["regions"] == [scenario.EU]
    assert summary["regions_skipped"] == [{"region": DISABLED, "status": "DISABLED"}]
    assert summary["counts"]["regions_skipped"] == 1
    assert DISABLED not in ses_regions_called(aws)
    assert aws.calls.count(operation="Publish") == 0
    s3 = aws.client("s3")
    key = summary["report"].removeprefix(f"s3://{BUCKET}/")
    report = json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    assert report["regions_skipped"] == [{"region": DISABLED, "status": "DISABLED"}]
    page = s3.get_object(Bucket=BUCKET, Key=key.removesuffix(".json") + ".html")["Body"].read().decode()
    assert f"{DISABLED} (disabled): not enabled in this account" in page


def test_given_an_event_naming_only_a_region_not_enabled_when_the_handler_runs_then_nothing_is_read_or_wrong(
    aws, run, topic, monkeypatch
):
    set_region_opt_in({DISABLED: "ENABLING"})
    monkeypatch.setenv("AUDIT_REGIONS", f"{scenario.EU},{DISABLED}")  # an event may only narrow what is configured

    summary = run({"regions": [DISABLED], "dry_run": True})

    assert (summary["regions"], summary["errors"]) == ([], [])
    assert skipped(summary) == {DISABLED: "ENABLING"}
    assert ses_regions_called(aws) == set()
    assert aws.calls.count(operation="Publish") == 0


def test_given_a_named_region_no_account_has_when_the_handler_runs_then_it_is_an_error_naming_it(aws, run, monkeypatch):
    monkeypatch.setenv("AUDIT_REGIONS", f"{scenario.EU},eu-west-9")

    summary = run()

    [error] = summary["errors"]
    assert (error["scope"], error["subject"]) == ("region", "eu-west-9")
    assert "account:ListRegions does not list it" in error["message"]
    assert (summary["regions"], summary["regions_skipped"]) == ([scenario.EU], [])
    assert "eu-west-9" not in ses_regions_called(aws)


def test_given_only_regions_every_account_has_when_the_handler_runs_then_list_regions_is_not_needed(aws, run):
    deny_list_regions()  # a role deployed before it held account:ListRegions

    summary = run()

    assert summary["errors"] == []
    assert summary["regions"] == [scenario.EU, scenario.US]
    assert aws.calls.count(service="account") == 0


def test_given_list_regions_denied_when_all_is_audited_then_regions_every_account_has_are_and_one_error_says_so(
    aws, run, topic, monkeypatch
):
    monkeypatch.setenv("AUDIT_REGIONS", "all")
    deny_list_regions()
    set_region_opt_in({OPT_IN: "ENABLED"})
    seed_identity(aws, OPT_IN, "ops@opted-in.example")
    aws.calls.clear()  # seeding called SES there too

    summary = run()

    assert summary["regions"] == DEFAULT_SES_REGIONS
    assert summary["regions_skipped"] == []
    [error] = summary["errors"]
    assert (error["scope"], error["subject"]) == ("run", "regions")
    assert "AccessDeniedException" in error["message"]
    assert f"{len(OPT_IN_SES_REGIONS)} opt-in SES regions ({', '.join(OPT_IN_SES_REGIONS)})" in error["message"]
    assert "allow account:ListRegions" in error["message"]
    assert ses_regions_called(aws) == set(DEFAULT_SES_REGIONS)
    # An incomplete audit is worth telling, once.
    assert aws.calls.count(operation="Publish") == 1


def test_given_list_regions_denied_when_regions_are_named_then_they_are_audited_as_named_without_an_error(
    aws, run, monkeypatch
):
    monkeypatch.setenv("AUDIT_REGIONS", f"{scenario.EU},{OPT_IN}")
    deny_list_regions()
    seed_identity(aws, OPT_IN, "ops@opted-in.example")

    summary = run()

    assert (summary["regions"], summary["errors"]) == ([scenario.EU, OPT_IN], [])
    assert summary["identities_audited"] == 1


def test_given_a_region_disabled_since_the_last_run_when_the_handler_runs_then_its_findings_are_kept_not_resolved(
    aws, run, bucket, clock, monkeypatch
):
    monkeypatch.setenv("AUDIT_REGIONS", OPT_IN)
    set_region_opt_in({OPT_IN: "ENABLED"})
    seed_identity(aws, OPT_IN, "ops@opted-in.example")
    first = run()
    assert first["counts"]["findings"] > 0
    set_region_opt_in({OPT_IN: "DISABLING"})
    clock.next_day()

    second = run()

    assert (second["regions"], skipped(second)) == ([], {OPT_IN: "DISABLING"})
    assert (second["resolved"], second["errors"]) == ([], [])
    set_region_opt_in({OPT_IN: "ENABLED"})
    clock.next_day()
    third = run()
    assert {f["id"] for f in third["findings"]} == {f["id"] for f in first["findings"]}
    assert {f["status"] for f in third["findings"]} == {"open"}


def test_given_the_cli_naming_a_region_not_enabled_when_run_then_the_table_says_it_was_skipped_and_exits_0(aws):
    out, err = io.StringIO(), io.StringIO()

    status = cli.main(["audit", "--region", scenario.EU, "--region", DISABLED], stdout=out, stderr=err)

    assert (status, err.getvalue()) == (0, "")
    assert f"1 region skipped, not enabled in this account: {DISABLED} (disabled)" in out.getvalue().splitlines()
