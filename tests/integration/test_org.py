"""Organisation mode through the real handlers and the CLI: a moto organisation (the management account and three
members, one of them without the member role, and a suspended one) in two regions, each account holding its own
identities and zones, audited through the member role it is reached by."""

from __future__ import annotations

import io
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from moto.core.models import DEFAULT_ACCOUNT_ID

from core.adapters.members import MemberSessions, MemberWirings
from core.adapters.orgresults import MapResults, S3OrgReports, SnsOrgNotifier
from core.adapters.wiring import HOME_SESSION
from core.kernel.errors import ConfigError, EventError
from core.kernel.events import parse_event
from core.kernel.org import Target, TargetResult
from core.kernel.settings import Settings
from core.report.brief import counts
from core.run.deadline import Deadline
from core.run.org import audit_target, conclude
from handlers import audit, cli
from handlers import org as org_handlers
from handlers.cli import org as cli_org
from tests.fidelity import seed_identity
from tests.fixtures_aws import subscribed_queue
from tests.lambda_context import LambdaContext

EU, US = "eu-west-1", "us-east-1"
ROLE = "ses-guard-member"
BUCKET = "ses-guard-reports"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


@dataclass
class Org:
    aws: Any
    topic: str = ""
    queue: str = ""
    alpha: str = ""  # member with a zone of its own
    beta: str = ""
    gamma: str = ""  # member without the member role
    delta: str = ""  # suspended
    # (account, region) -> the identities seeded there
    seeded: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    session: boto3.session.Session = field(default_factory=lambda: boto3.session.Session(region_name=EU))

    @property
    def active(self) -> list[str]:
        return [DEFAULT_ACCOUNT_ID, self.alpha, self.beta, self.gamma]

    def member(self, account: str, service: str, role: str = "OrganizationAccountAccessRole") -> Any:
        """A client in `account`, as its administrator: moto reaches the account the credentials belong to."""
        credentials = self.aws.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/{role}", RoleSessionName="seeding"
        )["Credentials"]
        return self.session.client(  # type: ignore[call-overload]  # one session: its loaded models are shared
            service,
            region_name=EU,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )

    def identity(self, account: str, region: str, name: str, **state: Any) -> None:
        seed_identity(self.aws, region, name, account=account, **state)
        self.seeded.setdefault((account, region), set()).add(name)

    def objects(self, prefix: str) -> list[str]:
        pages = self.aws.client("s3").get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    def read(self, key: str) -> Any:
        return json.loads(self.aws.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read())


@pytest.fixture
def org(aws, dns_server, monkeypatch) -> Org:
    world = Org(aws)
    organizations = aws.client("organizations")
    organizations.create_organization(FeatureSet="ALL")
    ids = [
        organizations.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]["AccountId"]
        for name in ("alpha", "beta", "gamma", "delta")
    ]
    world.alpha, world.beta, world.gamma, world.delta = ids
    organizations.close_account(AccountId=world.delta)
    aws.client("iam").create_role(RoleName=ROLE, AssumeRolePolicyDocument=TRUST)
    for account in (world.alpha, world.beta, world.delta):
        world.member(account, "iam").create_role(RoleName=ROLE, AssumeRolePolicyDocument=TRUST)

    world.identity(DEFAULT_ACCOUNT_ID, EU, "mail.home.example")
    world.identity(world.alpha, EU, "mail.alpha.example")
    world.identity(world.alpha, EU, "pending.alpha.example", verification="PENDING", dkim_status="PENDING")
    world.identity(world.alpha, US, "us.alpha.example")
    world.identity(world.beta, US, "mail.beta.example", dkim_enabled=False, dkim_status="NOT_STARTED")
    world.identity(world.gamma, EU, "mail.gamma.example")
    world.identity(world.delta, EU, "mail.delta.example")
    # Only alpha's own Route 53 holds its zone: reading another account's zones would say it has none.
    world.member(world.alpha, "route53").create_hosted_zone(Name="alpha.example", CallerReference=str(uuid.uuid4()))

    aws.client("s3").create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": EU})
    world.topic = aws.client("sns").create_topic(Name="findings")["TopicArn"]
    world.queue = subscribed_queue(aws, world.topic)
    for name, value in {
        "AUDIT_REGIONS": f"{EU},{US}",
        "REPORT_BUCKET": BUCKET,
        "FINDINGS_TOPIC_ARN": world.topic,
        "DNS_NAMESERVERS": dns_server.nameserver,
        "DNS_TIMEOUT": "5",
        "SES_MAX_RPS": "1000",
    }.items():
        monkeypatch.setenv(name, value)
    aws.calls.clear()
    return world


@pytest.fixture
def org_mode(org, monkeypatch) -> Iterator[Org]:
    """The deployed functions in organisation mode."""
    monkeypatch.setenv("MEMBER_ROLE_NAME", ROLE)
    audit.load_settings.cache_clear()
    org_handlers.load_settings.cache_clear()
    yield org
    audit.load_settings.cache_clear()
    org_handlers.load_settings.cache_clear()


def lambda_context() -> Any:
    """A Lambda context with the fields Powertools and the handlers read, as Lambda gives them."""
    return LambdaContext()


def ses_guard(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = cli.main(["audit", *args], stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def identities_of(report: dict[str, Any]) -> set[str]:
    return {i["identity"] for i in report["identities"]}


# --- the CLI, end to end ---------------------------------------------------------------------------------------------


def test_given_an_organisation_when_audit_org_runs_then_each_active_target_is_audited_in_its_own_account(org):
    status, out, err = ses_guard("--org", "--format", "json")

    summary = json.loads(out)
    assert status == 1, err  # gamma's targets failed
    assert summary["targets"] == 8  # 4 ACTIVE accounts x 2 regions; the suspended one is not a target
    assert summary["failed"] == 2
    failed = [t for t in summary["worst"] if t["status"] == "failed"]
    assert {(t["account"], t["region"]) for t in failed} == {(org.gamma, EU), (org.gamma, US)}
    assert all("AssumeRole" in t["errors"][0] and "AccessDenied" in t["errors"][0] for t in failed)
    assert summary["worst"][:2] == failed  # failed targets lead
    audited = {(t["account"], t["region"]): t for t in summary["worst"] if t["status"] == "ok"}
    assert set(audited) == {(a, r) for a in (DEFAULT_ACCOUNT_ID, org.alpha, org.beta) for r in (EU, US)}
    assert org.delta not in {t["account"] for t in summary["worst"]}
    for (account, region), result in audited.items():
        key = result["report"].removeprefix(f"s3://{BUCKET}/")
        assert key.startswith(f"reports/{account}/{region}/")
        # Each target sees its own account's identities in its own region, nothing else.
        assert identities_of(org.read(key)) == org.seeded.get((account, region), set())
        assert result["identities_audited"] == len(org.seeded.get((account, region), set()))
    assert summary["totals"]["identities"] == 5
    # alpha's zone is found in alpha's Route 53; the management account's identity has no zone in its own.
    alpha = org.read(audited[(org.alpha, EU)]["report"].removeprefix(f"s3://{BUCKET}/"))
    home = org.read(audited[(DEFAULT_ACCOUNT_ID, EU)]["report"].removeprefix(f"s3://{BUCKET}/"))
    assert "ZONE_NOT_FOUND" not in {f["code"] for f in alpha["findings"] if "mail.alpha.example" in json.dumps(f)}
    assert "ZONE_NOT_FOUND" in {f["code"] for f in home["findings"]}
    assert org.aws.calls.count(operation="Publish") == 1  # one notification for the whole org run
    assert summary["report"] == f"s3://{BUCKET}/org/{summary['run_id']}/report.json"
    assert org.read(f"org/{summary['run_id']}/report.json")["targets"] == 8


def test_given_accounts_named_when_audit_runs_then_only_those_are_audited_without_listing_the_organisation(org):
    status, out, err = ses_guard("--account", org.alpha, "--account", org.beta, "--format", "json")

    summary = json.loads(out)
    assert status == 0, err
    assert {(t["account"], t["region"]) for t in summary["worst"]} == {
        (a, r) for a in (org.alpha, org.beta) for r in (EU, US)
    }
    assert org.aws.calls.count(operation="ListAccounts") == 0
    assert org.aws.calls.count(operation="AssumeRole") == 4


def test_given_audit_org_when_printed_as_a_table_then_one_row_per_target_worst_first(org):
    status, out, _ = ses_guard("--org", "--region", EU)

    rows = [line for line in out.splitlines() if line[:12].isdigit()]
    assert status == 1
    assert len(rows) == 4
    assert rows[0].startswith(org.gamma)
    assert "failed" in rows[0]


def test_given_audit_org_when_regions_are_all_then_it_is_refused_before_any_call(org):
    status, _, err = ses_guard("--org", "--region", "all")

    assert status == 2
    assert "'all' is not allowed in organisation mode" in err
    assert len(org.aws.calls) == 0


# --- the handlers in-process -----------------------------------------------------------------------------------------


def test_given_org_mode_when_list_targets_runs_then_targets_json_holds_every_active_account_times_each_region(org_mode):
    org = org_mode

    result = org_handlers.list_targets({"org_run": "run-1"}, lambda_context())

    assert result["key"] == "org/run-1/targets.json"
    assert result["bucket"] == BUCKET
    assert (result["targets"], result["accounts"]) == (8, 4)
    assert result["accounts_skipped"] == [{"account": org.delta, "name": "delta", "state": "SUSPENDED"}]
    targets = org.read("org/run-1/targets.json")
    assert sorted((t["account"], t["region"]) for t in targets) == sorted((a, r) for a in org.active for r in (EU, US))
    assert all(set(t) == {"account", "region"} for t in targets)


def test_given_org_accounts_when_list_targets_runs_then_only_those_without_asking_organizations(org_mode, monkeypatch):
    org = org_mode
    monkeypatch.setenv("ORG_ACCOUNTS", f"{org.beta}")
    org_handlers.load_settings.cache_clear()

    result = org_handlers.list_targets({"org_run": "run-2"}, lambda_context())

    assert result["targets"] == 2
    assert org.read("org/run-2/targets.json") == [
        {"account": org.beta, "region": EU},
        {"account": org.beta, "region": US},
    ]
    assert org.aws.calls.count(operation="ListAccounts") == 0


def test_given_a_target_event_when_the_audit_function_runs_then_it_audits_the_member_and_writes_under_it(org_mode):
    org = org_mode
    context = lambda_context()

    result = audit.handler({"target": {"account": org.alpha, "region": EU}, "org_run": "run-3"}, context)

    assert result["status"] == "ok"
    assert (result["account"], result["region"], result["identities_audited"]) == (org.alpha, EU, 2)
    key = f"reports/{org.alpha}/{EU}/"
    assert result["report"].startswith(f"s3://{BUCKET}/{key}")
    assert identities_of(org.read(result["report"].removeprefix(f"s3://{BUCKET}/"))) == org.seeded[(org.alpha, EU)]
    assert org.objects(f"state/{org.alpha}/")  # the member's memory, in the central bucket
    assert org.aws.calls.count(operation="Publish") == 0  # the org run notifies once, at the end
    assert len(json.dumps(result)) < 4096
    assert org.aws.calls.count(operation="AssumeRole") == 1
    # A first run: every finding is new, and the new ones are counted by severity for NOTIFY_MIN_SEVERITY.
    assert result["new"] > 0
    assert sum(result["new_by_severity"].values()) == result["new"]


def test_given_a_target_without_the_member_role_when_audited_then_it_fails_with_the_assume_role_error(org_mode):
    org = org_mode

    result = audit.handler({"target": {"account": org.gamma, "region": US}, "org_run": "run-4"}, lambda_context())

    assert result["status"] == "failed"
    assert "AccessDenied" in result["errors"][0]
    assert org.gamma in result["errors"][0]
    assert org.aws.calls.count(service="ses") == 0


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"target": {"account": "12345", "region": EU}}, "target.account must be a 12-digit"),
        ({"target": {"account": "123456789012", "region": "mars-1"}}, "not an AWS region"),
        ({"target": {"account": "123456789012", "region": "ap-south-1"}}, "regions ap-south-1 refused"),
        ({"target": {"account": "123456789012", "region": EU}, "org_run": "a/b"}, "org_run must be"),
        ({"target": {"account": "123456789012", "region": EU}, "regions": [EU]}, "regions is not allowed"),
        ({"target": {"account": "123456789012", "region": EU, "role": "x"}}, "unknown keys role"),
    ],
)
def test_given_a_bad_target_event_when_the_audit_function_runs_then_it_is_refused_before_any_aws_call(
    org_mode, event, message
):
    with pytest.raises(EventError, match=message):
        audit.handler(event, lambda_context())

    assert len(org_mode.aws.calls) == 0


def test_given_single_account_mode_when_a_target_event_arrives_then_it_is_refused_naming_member_role_name(org):
    audit.load_settings.cache_clear()

    with pytest.raises(EventError, match="MEMBER_ROLE_NAME is not set"):
        audit.handler({"target": {"account": org.alpha, "region": EU}, "org_run": "run-5"}, lambda_context())

    assert len(org.aws.calls) == 0
    audit.load_settings.cache_clear()


def test_given_single_account_mode_when_list_targets_runs_then_it_is_refused(org):
    org_handlers.load_settings.cache_clear()

    with pytest.raises(ConfigError, match="MEMBER_ROLE_NAME"):
        org_handlers.list_targets({"org_run": "run-6"}, lambda_context())
    org_handlers.load_settings.cache_clear()


STATE_MACHINE = f"arn:aws:states:{EU}:{DEFAULT_ACCOUNT_ID}:stateMachine:ses-guard-org"


def execution(event: dict[str, Any], status: str, **rest: Any) -> dict[str, Any]:
    """One child execution as ResultWriter records it; `Output` (SUCCEEDED) or `Error`/`Cause` (FAILED) in `rest`."""
    return {
        "ExecutionArn": f"{STATE_MACHINE.replace(':stateMachine:', ':execution:')}/AuditTargets:{uuid.uuid4()}",
        "Input": json.dumps(event),
        "InputDetails": {"Included": True},
        "Name": str(uuid.uuid4()),
        "StartDate": "2026-12-01T06:00:00.000Z",
        "StateMachineArn": f"{STATE_MACHINE}/AuditTargets",
        "Status": status,
        "StopDate": "2026-12-01T06:01:00.000Z",
        **rest,
    }


def write_map_results(org: Org, succeeded: list[dict[str, Any]], failed: list[dict[str, Any]]) -> str:
    """What the Distributed Map's ResultWriter writes under its prefix: a manifest and one file per status."""
    s3 = org.aws.client("s3")
    run = str(uuid.uuid4())
    folder = f"org-results/{run}"
    files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    for status, entries in (("SUCCEEDED", succeeded), ("FAILED", failed)):
        if entries:
            body = json.dumps(entries).encode()
            key = f"{folder}/{status}_0.json"
            s3.put_object(Bucket=BUCKET, Key=key, Body=body)
            files[status].append({"Key": key, "Size": len(body)})
    map_run = f"{STATE_MACHINE.replace(':stateMachine:', ':mapRun:')}/AuditTargets:{run}"
    manifest = {"DestinationBucket": BUCKET, "MapRunArn": map_run, "ResultFiles": files}
    s3.put_object(Bucket=BUCKET, Key=f"{folder}/manifest.json", Body=json.dumps(manifest).encode())
    return f"{folder}/manifest.json"


def test_given_map_results_when_summarise_runs_then_it_reports_the_org_and_publishes_once(org_mode):
    org = org_mode
    results = [
        audit.handler({"target": {"account": a, "region": r}, "org_run": "run-7"}, lambda_context())
        for a, r in ((org.alpha, EU), (org.beta, US), (DEFAULT_ACCOUNT_ID, EU))
    ]
    org.aws.calls.clear()
    succeeded = [
        execution({"target": {"account": r["account"], "region": r["region"]}, "org_run": "run-7"}, "SUCCEEDED",
                  Output=json.dumps(r), OutputDetails={"Included": True})
        for r in results
    ]  # fmt: skip
    failed = [
        execution(
            {"target": {"account": org.gamma, "region": EU}, "org_run": "run-7"},
            "FAILED",
            Error="Lambda.Unknown",
            Cause="The cause could not be determined because Lambda did not return an error type.",
        )
    ]
    manifest = write_map_results(org, succeeded, failed)

    summary = org_handlers.summarise(
        {"org_run": "run-7", "results": {"Bucket": BUCKET, "Key": manifest}}, lambda_context()
    )

    assert (summary["targets"], summary["failed"], summary["accounts"]) == (4, 1, 4)
    assert summary["worst"][0]["account"] == org.gamma
    assert "Lambda.Unknown" in summary["worst"][0]["errors"][0]
    assert summary["totals"]["identities"] == 4
    assert summary["report"] == f"s3://{BUCKET}/org/run-7/report.json"
    assert org.read("org/run-7/report.json")["targets"] == 4
    assert org.objects("org/run-7/report.html")
    assert org.aws.calls.count(operation="Publish") == 1
    body = json.loads(org.aws.client("sqs").receive_message(QueueUrl=org.queue)["Messages"][0]["Body"])
    assert (body["targets"], body["failed"]) == (4, 1)


def test_given_the_map_failed_when_summarise_runs_then_the_notification_says_so(org_mode):
    org = org_mode

    summary = org_handlers.summarise(
        {"org_run": "run-8", "map_error": {"Error": "States.ExceedToleratedFailureThreshold", "Cause": "too many"}},
        lambda_context(),
    )

    assert summary["targets"] == 0
    assert "States.ExceedToleratedFailureThreshold" in summary["errors"][0]
    assert org.aws.calls.count(operation="Publish") == 1


@pytest.mark.parametrize(
    "event",
    [
        {"org_run": "run-9"},
        {"org_run": "run-9", "results": {"Bucket": BUCKET}},
        {"org_run": "../x", "results": {"Bucket": BUCKET, "Key": "k"}},
        {"org_run": "run-9", "results": {"Bucket": BUCKET, "Key": "k"}, "extra": 1},
    ],
)
def test_given_a_bad_summarise_event_when_it_runs_then_it_is_refused_before_any_aws_call(org_mode, event):
    with pytest.raises(EventError):
        org_handlers.summarise(event, lambda_context())

    assert len(org_mode.aws.calls) == 0


def test_given_a_result_file_that_cannot_be_read_when_summarised_then_the_report_and_message_say_so(org_mode):
    org = org_mode
    manifest = write_map_results(org, [], [])
    body = org.read(manifest)
    body["ResultFiles"]["SUCCEEDED"] = [{"Key": "org-results/gone/SUCCEEDED_0.json", "Size": 100}]
    org.aws.client("s3").put_object(Bucket=BUCKET, Key=manifest, Body=json.dumps(body).encode())

    summary = org_handlers.summarise(
        {"org_run": "run-10", "results": {"Bucket": BUCKET, "Key": manifest}}, lambda_context()
    )

    assert "SUCCEEDED_0.json" in summary["errors"][0]
    assert "NoSuchKey" in summary["errors"][0]
    assert org.read("org/run-10/report.json")["errors"] == summary["errors"]
    message = json.loads(org.aws.client("sqs").receive_message(QueueUrl=org.queue)["Messages"][0]["Body"])
    assert message["errors"] == summary["errors"]


def test_given_the_shipped_target_event_when_its_account_has_no_member_role_then_the_target_fails_cleanly(org_mode):
    event = json.loads((Path(__file__).parents[2] / "events" / "org-target.json").read_text())

    result = audit.handler(event, lambda_context())

    assert (result["account"], result["region"], result["status"]) == (event["target"]["account"], EU, "failed")
    assert "AccessDenied" in result["errors"][0]


def test_given_accounts_named_when_fail_on_high_then_exit_3_while_a_high_finding_is_open(org):
    status, _, err = ses_guard("--account", org.alpha, "--region", EU, "--fail-on", "HIGH")

    assert status == 3, err


def test_given_accounts_named_when_html_is_asked_then_the_org_page_is_written(org, tmp_path):
    page = tmp_path / "org.html"

    status, _, err = ses_guard("--account", org.beta, "--region", US, "--html", str(page))

    assert status == 0, err
    assert org.beta in page.read_text()


def test_given_org_mode_when_state_file_is_asked_then_it_is_refused_before_any_call(org, tmp_path):
    status, _, err = ses_guard("--org", "--state", str(tmp_path / "state.json"))

    assert status == 2
    assert "--state" in err
    assert len(org.aws.calls) == 0


def test_given_security_hub_on_when_a_target_is_audited_then_findings_go_to_the_members_own_hub(org_mode, monkeypatch):
    org = org_mode
    monkeypatch.setenv("SECURITY_HUB", "true")
    audit.load_settings.cache_clear()
    org.member(org.alpha, "securityhub").enable_security_hub()

    result = audit.handler({"target": {"account": org.alpha, "region": EU}, "org_run": "run-11"}, lambda_context())

    assert result["status"] == "ok"
    assert result["error_count"] == 0
    findings = org.member(org.alpha, "securityhub").get_findings()["Findings"]
    assert findings
    assert {f["AwsAccountId"] for f in findings} == {org.alpha}


# --- what a review found -------------------------------------------------------------------------------------------


def test_given_the_map_failed_before_its_manifest_when_summarised_then_the_result_files_under_the_run_are_read(
    org_mode,
):
    org = org_mode
    result = audit.handler({"target": {"account": org.alpha, "region": EU}, "org_run": "run-13"}, lambda_context())
    event = {"target": {"account": org.alpha, "region": EU}, "org_run": "run-13"}
    done = [execution(event, "SUCCEEDED", Output=json.dumps(result), OutputDetails={"Included": True})]
    # Another run's results share the bucket, never this run's summary.
    for run in ("run-13", "run-99"):
        org.aws.client("s3").put_object(
            Bucket=BUCKET, Key=f"org-results/{run}/{uuid.uuid4()}/SUCCEEDED_0.json", Body=json.dumps(done).encode()
        )

    summary = org_handlers.summarise(
        {"org_run": "run-13", "map_error": {"Error": "States.ExceedToleratedFailureThreshold", "Cause": "x"}},
        lambda_context(),
    )

    assert (summary["targets"], summary["failed"]) == (1, 0)
    assert summary["worst"][0]["report"] == result["report"]
    assert "States.ExceedToleratedFailureThreshold" in summary["errors"][0]
    assert "no manifest" in summary["errors"][1]
    assert org.aws.calls.count(operation="Publish") == 1


def test_given_a_manifest_that_is_not_json_when_summarised_then_it_is_a_run_error_and_the_message_still_goes(
    org_mode,
):
    org = org_mode
    key = "org-results/run-16/map/manifest.json"
    org.aws.client("s3").put_object(Bucket=BUCKET, Key=key, Body=b"<html>not a manifest")

    summary = org_handlers.summarise({"org_run": "run-16", "results": {"Bucket": BUCKET, "Key": key}}, lambda_context())

    assert summary["targets"] == 0
    assert key in summary["errors"][0]
    assert "not JSON" in summary["errors"][0]
    assert org.read("org/run-16/report.json")["errors"] == summary["errors"]
    message = json.loads(org.aws.client("sqs").receive_message(QueueUrl=org.queue)["Messages"][0]["Body"])
    assert message["errors"] == summary["errors"]


def test_given_a_result_file_that_breaks_off_while_read_when_concluded_then_it_is_a_run_error_and_the_rest_stands(
    org_mode,
):
    org = org_mode
    result = audit.handler({"target": {"account": org.alpha, "region": EU}, "org_run": "run-12"}, lambda_context())
    ok = {"target": {"account": org.alpha, "region": EU}, "org_run": "run-12"}
    crashed = {"target": {"account": org.beta, "region": EU}, "org_run": "run-12"}
    manifest = write_map_results(
        org,
        [execution(ok, "SUCCEEDED", Output=json.dumps(result), OutputDetails={"Included": True})],
        [execution(crashed, "FAILED", Error="Lambda.Unknown", Cause="x" * 5_000)],
    )
    s3 = org.aws.session(EU).client("s3")

    def break_off(http_response: Any, parsed: dict[str, Any], **_: Any) -> None:
        # The connection drops half way through the body: botocore sees fewer bytes than Content-Length.
        if http_response.url.split("?")[0].endswith("/FAILED_0.json"):
            data = parsed["Body"].read()
            parsed["Body"] = StreamingBody(io.BytesIO(data[: len(data) // 2]), len(data))

    s3.meta.events.register("after-call.s3.GetObject", break_off)
    errors: list[str] = []
    notifier = SnsOrgNotifier(org.aws.client("sns"), org.topic, always=False, notify_on="changes")

    summary = conclude(
        MapResults(s3, BUCKET, manifest, errors=errors),
        "run-12",
        store=S3OrgReports(s3, BUCKET, "run-12"),
        notifier=notifier,
        errors=errors,
    )

    assert (summary.targets, summary.failed) == (1, 0)  # the file read whole still counts
    assert "FAILED_0.json" in summary.errors[0]
    assert "IncompleteReadError" in summary.errors[0]
    assert org.read("org/run-12/report.json")["errors"] == summary.errors
    message = json.loads(org.aws.client("sqs").receive_message(QueueUrl=org.queue)["Messages"][0]["Body"])
    assert message["errors"] == summary.errors


def test_given_the_target_regions_sts_endpoint_refuses_when_audited_then_the_home_regions_is_used(org_mode):
    org = org_mode
    # An opt-in region the central account has not enabled: its STS endpoint refuses the central credentials.
    org.aws.fail("AssumeRole", "InvalidClientTokenId", "The security token included in the request is invalid",
                 status=403, region=US)  # fmt: skip

    result = audit.handler({"target": {"account": org.alpha, "region": US}, "org_run": "run-17"}, lambda_context())

    assert result["status"] == "ok", result["errors"]
    assert result["identities_audited"] == 1
    assert org.aws.calls.count(operation="AssumeRole", region=EU) == 1  # the function's own region


class Watched(boto3.session.Session):
    """A real session that notes each use made without the home session's lock held."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.unlocked: list[str] = []
        self.partitions = 0

    def client(self, *args: Any, **kwargs: Any) -> Any:
        if not HOME_SESSION.locked():
            self.unlocked.append(f"client {args[0] if args else kwargs.get('service_name')}")
        return super().client(*args, **kwargs)

    def get_partition_for_region(self, region_name: str) -> str:
        self.partitions += 1
        if not HOME_SESSION.locked():
            self.unlocked.append("get_partition_for_region")
        return super().get_partition_for_region(region_name)


def test_given_targets_audited_through_one_home_session_then_every_use_of_it_holds_the_one_lock(org_mode):
    org = org_mode
    home = Watched(region_name=EU)
    settings = Settings.from_env({**os.environ, "MEMBER_ROLE_NAME": ROLE})
    open_member = MemberWirings(settings, "run-14", home=home)

    results = [
        audit_target(
            Target(account, region),
            parse_event({}),
            settings,
            open_member,
            Deadline.unlimited(),
            run_id=f"run-14-{account}-{region}",
            tally=counts,
        )
        for account, region in ((org.alpha, EU), (org.beta, US), (org.alpha, US))
    ]

    assert [r.status for r in results] == ["ok"] * 3
    assert home.unlocked == []
    assert home.partitions == 1  # worked out once for the run


def test_given_many_member_sessions_opened_then_the_shared_loaders_search_paths_do_not_grow(org_mode):
    org = org_mode
    home = org.aws.session(EU)
    loader = home._session.get_component("data_loader")
    before = list(loader.search_paths)
    sessions = MemberSessions(home, ROLE, "run-15")

    opened = [sessions.open(Target(org.alpha, EU)) for _ in range(40)]

    assert loader.search_paths == before
    assert opened[-1].client("sts").get_caller_identity()["Account"] == org.alpha


def test_given_one_target_raises_unexpectedly_when_audit_runs_then_it_alone_fails_naming_the_error(org, monkeypatch):
    audit_for_real = audit_target  # what the CLI calls for each target

    def crashing(target: Target, *args: Any, **kwargs: Any) -> TargetResult:
        if target.account == org.beta:
            raise KeyError("Contents")  # a bug met in one account only
        return audit_for_real(target, *args, **kwargs)

    monkeypatch.setattr(cli_org, "audit_target", crashing)

    status, out, err = ses_guard("--account", org.alpha, "--account", org.beta, "--region", EU, "--format", "json")

    summary = json.loads(out)
    assert status == 1, err
    assert (summary["targets"], summary["failed"]) == (2, 1)
    [failed] = [t for t in summary["worst"] if t["status"] == "failed"]
    assert failed["account"] == org.beta
    assert failed["errors"] == ["KeyError: 'Contents'"]
    [audited] = [t for t in summary["worst"] if t["status"] == "ok"]
    assert (audited["account"], audited["identities_audited"]) == (org.alpha, 2)


@pytest.mark.parametrize(("minimum", "published"), [("HIGH", 0), ("LOW", 1)])
def test_given_only_low_findings_are_new_when_summarised_then_notify_min_severity_decides(
    org_mode, monkeypatch, minimum, published
):
    org = org_mode
    monkeypatch.setenv("NOTIFY_MIN_SEVERITY", minimum)
    org_handlers.load_settings.cache_clear()
    quiet = TargetResult(org.alpha, EU, identities_audited=1, new=2, new_by_severity={"HIGH": 0, "MEDIUM": 0, "LOW": 2},
                         unfixed={"LOW": 2}, counts={"findings": 2, "changes": 0, "changes_applied": 0})  # fmt: skip
    event = {"target": {"account": org.alpha, "region": EU}, "org_run": "run-18"}
    manifest = write_map_results(org, [execution(event, "SUCCEEDED", Output=json.dumps(quiet.to_dict()))], [])

    summary = org_handlers.summarise(
        {"org_run": "run-18", "results": {"Bucket": BUCKET, "Key": manifest}}, lambda_context()
    )

    assert summary["totals"]["new_by_severity"] == {"HIGH": 0, "MEDIUM": 0, "LOW": 2}
    assert org.aws.calls.count(operation="Publish") == published
