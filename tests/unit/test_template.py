"""template.yaml says what the code and the least-privilege design need: settings, runtime, IAM, notifications."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from core.kernel.events import RunRequest, parse_event
from core.kernel.settings import Settings
from tests.iam_policies import ACCOUNT, REGION, function_policies, load_template, policy_documents

ROOT = Path(__file__).resolve().parents[2]
LAMBDA_PROVIDED = {"AWS_REGION", "AWS_DEFAULT_REGION"}  # set by the Lambda runtime, never by the template
POWERTOOLS = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOG_LEVEL", "POWERTOOLS_METRICS_NAMESPACE"}


class RecordingEnv(Mapping[str, str]):
    """An empty environment (but for the region) that remembers every name it was asked for."""

    def __init__(self) -> None:
        self.asked: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        if key == "AWS_REGION":
            return "eu-west-1"
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")


@pytest.fixture(scope="module")
def function(template: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = template["Resources"]["AuditFunction"]["Properties"]
    return props


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


def actions(statement: dict[str, Any]) -> list[str]:
    found = statement.get("Action", [])
    return [found] if isinstance(found, str) else list(found)


def identity_statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for where, document in policy_documents(template):
        if where.rsplit(".", 1)[-1] not in {"KeyPolicy", "AssumeRolePolicyDocument"}:
            for statement in statements(document):
                yield where, statement


def test_given_the_function_then_its_environment_is_exactly_what_settings_read_plus_powertools(
    function: dict[str, Any],
) -> None:
    env = RecordingEnv()
    Settings.from_env(env)

    passed = set(function["Environment"]["Variables"])

    assert passed - POWERTOOLS == env.asked - LAMBDA_PROVIDED
    assert passed >= POWERTOOLS


def test_given_the_function_then_every_setting_comes_from_a_parameter(
    template: dict[str, Any], function: dict[str, Any]
) -> None:
    refs = {
        name: value["Ref"]
        for name, value in function["Environment"]["Variables"].items()
        if isinstance(value, dict) and "Ref" in value
    }
    resources = {"FINDINGS_TOPIC_ARN", "REPORT_BUCKET"}  # the stack's own, not choices made at deployment
    settings = set(function["Environment"]["Variables"]) - POWERTOOLS - resources

    assert settings <= set(refs)
    assert {refs[name] for name in settings} <= set(template["Parameters"])
    assert refs["FINDINGS_TOPIC_ARN"] == "FindingsTopic"
    assert refs["REPORT_BUCKET"] == "ReportBucket"


def test_given_the_function_then_it_runs_python_3_13_on_arm64_alone_for_up_to_15_minutes(
    template: dict[str, Any], function: dict[str, Any]
) -> None:
    merged = {**template["Globals"]["Function"], **function}

    assert merged["Runtime"] == "python3.13"
    assert merged["Architectures"] == ["arm64"]
    assert merged["Handler"] == "handlers.audit.handler"
    assert merged["CodeUri"] == "src/"
    assert merged["ReservedConcurrentExecutions"] == 1
    assert merged["Timeout"] == 900
    assert merged["Tracing"] == "Active"
    assert (ROOT / "src" / "handlers" / "__init__.py").exists()


def test_given_the_schedule_then_it_sends_an_event_the_handler_reads_as_a_full_run(function: dict[str, Any]) -> None:
    schedule = function["Events"]["Schedule"]

    assert schedule["Type"] == "ScheduleV2"
    assert schedule["Properties"]["ScheduleExpression"] == {"Ref": "ScheduleExpression"}
    assert schedule["Properties"]["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    assert schedule["Properties"]["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    assert parse_event(json.loads(schedule["Properties"]["Input"])) == RunRequest()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("scheduler.json", RunRequest()),
        ("dry-run.json", RunRequest(dry_run=True)),
        ("single-identity.json", RunRequest(regions=("eu-west-1",), identities=("example.com",))),
        ("remediate.json", RunRequest(dry_run=False)),
    ],
)
def test_given_the_sample_events_then_each_is_the_request_its_name_says(name: str, expected: RunRequest) -> None:
    event = json.loads((ROOT / "events" / name).read_text(encoding="utf-8"))

    assert parse_event(event) == expected


def test_given_record_changes_then_every_grant_is_limited_to_creating_ses_records(template: dict[str, Any]) -> None:
    grants = [s for _, s in identity_statements(template) if any(a.startswith("route53:Change") for a in actions(s))]

    assert grants
    for grant in grants:
        assert grant["Effect"] == "Allow"
        condition = grant["Condition"]
        assert condition["ForAllValues:StringEquals"]["route53:ChangeResourceRecordSetsActions"] == ["CREATE", "UPSERT"]
        assert condition["ForAllValues:StringEquals"]["route53:ChangeResourceRecordSetsRecordTypes"] == [
            "CNAME",
            "TXT",
            "MX",
        ]
        names = condition["ForAllValues:StringLike"]["route53:ChangeResourceRecordSetsNormalizedRecordNames"]
        assert names == ["*._domainkey.*", "_dmarc.*", {"Fn::Sub": "${MailFromSubdomain}.*"}]
        # ForAllValues holds for an empty set too, so each key must be required to be present.
        assert set(condition["Null"]) == {
            "route53:ChangeResourceRecordSetsActions",
            "route53:ChangeResourceRecordSetsRecordTypes",
            "route53:ChangeResourceRecordSetsNormalizedRecordNames",
        }
        assert set(condition["Null"].values()) == {"false"}


def test_given_the_whole_template_then_nothing_grants_delete_or_wildcard_actions(template: dict[str, Any]) -> None:
    text = (ROOT / "template.yaml").read_text(encoding="utf-8")
    granted = [a for _, s in identity_statements(template) if s["Effect"] == "Allow" for a in actions(s)]

    assert "DELETE" not in text
    assert not [a for a in granted if a.endswith(":*") or a == "*"]
    assert not [a for a in granted if "Delete" in a]


def test_given_publishing_then_the_function_may_publish_to_its_own_topic_only(function: dict[str, Any]) -> None:
    publish = [s for s in statements(function["Policies"][0]) if "sns:Publish" in actions(s)]

    assert publish == [
        {"Sid": "PublishFindings", "Effect": "Allow", "Action": "sns:Publish", "Resource": {"Ref": "FindingsTopic"}}
    ]
    kms = [s for s in statements(function["Policies"][0]) if any(a.startswith("kms:") for a in actions(s))]
    assert kms == [
        {
            "Sid": "EncryptFindings",
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": {"Fn::GetAtt": ["FindingsKey", "Arn"]},
        }
    ]


def test_given_ses_writes_then_each_is_granted_only_under_its_opt_in_condition(function: dict[str, Any]) -> None:
    always = [a for s in statements(function["Policies"][0]) for a in actions(s)]
    optional = {
        entry["Fn::If"][0]: [a for s in statements(entry["Fn::If"][1]) for a in actions(s)]
        for entry in function["Policies"][1:]
    }

    assert not [a for a in always if a.startswith(("ses:Put", "ses:Set", "ses:Create", "ses:Update"))]
    assert optional == {
        "ConfigureMailFromOn": ["ses:SetIdentityMailFromDomain"],
        "UpgradeDkimKeysOn": ["ses:PutEmailIdentityDkimSigningAttributes"],
        "HasSuppressions": ["s3:GetObject"],
        "SecurityHubOn": ["securityhub:BatchImportFindings"],
    }
    assert all(entry["Fn::If"][2] == {"Ref": "AWS::NoValue"} for entry in function["Policies"][1:])


def test_given_slack_then_the_channel_is_optional_and_its_guardrail_is_never_administrator(
    template: dict[str, Any],
) -> None:
    channel = template["Resources"]["SlackChannel"]
    guardrails = channel["Properties"]["GuardrailPolicies"]

    assert channel["Type"] == "AWS::Chatbot::SlackChannelConfiguration"
    assert channel["Condition"] == "HasSlack"
    assert template["Resources"]["SlackChannelRole"]["Condition"] == "HasSlack"
    assert guardrails == [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/ReadOnlyAccess"}]
    assert "AdministratorAccess" not in json.dumps(template)
    assert channel["Properties"]["SnsTopicArns"] == [{"Ref": "FindingsTopic"}]


def test_given_the_encrypted_topic_then_alarms_can_publish_to_it(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    key_policy = statements(resources["FindingsKey"]["Properties"]["KeyPolicy"])
    topic_policy = statements(resources["FindingsTopicPolicy"]["Properties"]["PolicyDocument"])

    assert resources["FindingsTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "FindingsKey"}
    assert any(
        s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
        and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(actions(s))
        for s in key_policy
    )
    assert any(
        s["Effect"] == "Allow"
        and s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
        and actions(s) == ["sns:Publish"]
        for s in topic_policy
    )
    for alarm in ("FunctionErrorsAlarm", "DeadLetterAlarm"):
        assert resources[alarm]["Properties"]["AlarmActions"] == [{"Ref": "FindingsTopic"}]


def test_given_the_outputs_then_they_name_the_function_the_topic_the_schedule_and_the_bucket(
    template: dict[str, Any],
) -> None:
    outputs = {name: output["Value"] for name, output in template["Outputs"].items()}

    assert outputs["AuditFunctionName"] == {"Ref": "AuditFunction"}
    assert outputs["FindingsTopicArn"] == {"Ref": "FindingsTopic"}
    assert outputs["ScheduleName"] == {"Ref": "AuditFunctionSchedule"}  # SAM names it <function><event>
    assert outputs["ReportBucketName"] == {"Ref": "ReportBucket"}


def test_given_the_report_bucket_then_it_is_private_encrypted_owner_enforced_and_kept_on_stack_deletion(
    template: dict[str, Any],
) -> None:
    bucket = template["Resources"]["ReportBucket"]
    props = bucket["Properties"]

    assert bucket["Type"] == "AWS::S3::Bucket"
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert "BucketName" not in props  # names are global: CloudFormation picks one that cannot collide
    [encryption] = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


def test_given_the_report_bucket_then_reports_expire_after_the_retention_parameter(template: dict[str, Any]) -> None:
    rules = template["Resources"]["ReportBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    parameter = template["Parameters"]["ReportRetentionDays"]

    expiring = [r for r in rules if r["Status"] == "Enabled" and "ExpirationInDays" in r]
    assert [(r["Prefix"], r["ExpirationInDays"]) for r in expiring] == [("reports/", {"Ref": "ReportRetentionDays"})]
    assert (parameter["Type"], parameter["Default"], parameter["MinValue"]) == ("Number", 90, 1)


def test_given_the_report_bucket_then_its_policy_refuses_every_request_without_tls(template: dict[str, Any]) -> None:
    policy = template["Resources"]["ReportBucketPolicy"]["Properties"]

    assert policy["Bucket"] == {"Ref": "ReportBucket"}
    assert statements(policy["PolicyDocument"]) == [
        {
            "Sid": "TlsOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [{"Fn::GetAtt": ["ReportBucket", "Arn"]}, {"Fn::Sub": "${ReportBucket.Arn}/*"}],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]


BUCKET_ARN = "arn:aws:s3:::ses-guard-reportbucket"  # what tests/iam_policies.py makes of ReportBucket.Arn
SUPPRESSIONS = "s3://team-config/ses-guard/suppressions.yaml"


def granted(template: dict[str, Any], **parameters: str) -> dict[str, set[str]]:
    """action -> the resources it is allowed on, in the function's policies as deployed with these parameters."""
    grants: dict[str, set[str]] = {}
    for document in function_policies(template, parameters):
        for statement in statements(document):
            assert statement["Effect"] == "Allow"
            resources = statement["Resource"]
            for action in actions(statement):
                grants.setdefault(action, set()).update([resources] if isinstance(resources, str) else resources)
    return grants


def test_given_the_report_bucket_then_the_function_writes_reports_and_reads_and_writes_only_its_state(
    template: dict[str, Any],
) -> None:
    s3 = {action: where for action, where in granted(template).items() if action.startswith("s3:")}

    assert s3 == {
        "s3:PutObject": {f"{BUCKET_ARN}/reports/*", f"{BUCKET_ARN}/state/*"},
        "s3:GetObject": {f"{BUCKET_ARN}/state/*"},
        # Listing lets S3 answer NoSuchKey for a first run's missing state instead of AccessDenied.
        "s3:ListBucket": {BUCKET_ARN},
    }


def test_given_the_report_bucket_then_the_lifecycle_never_expires_the_state(template: dict[str, Any]) -> None:
    rules = template["Resources"]["ReportBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]

    assert all(rule["Prefix"] == "reports/" for rule in rules)


@pytest.mark.parametrize(
    ("suppressions", "security_hub"),
    [("", "false"), (SUPPRESSIONS, "false"), ("", "true"), (SUPPRESSIONS, "true")],
)
def test_given_each_combination_of_exports_and_suppressions_then_the_function_gets_exactly_what_it_asks_for(
    template: dict[str, Any], suppressions: str, security_hub: str
) -> None:
    grants = granted(template, Suppressions=suppressions, SecurityHub=security_hub)

    reads = grants["s3:GetObject"] - {f"{BUCKET_ARN}/state/*"}
    assert reads == ({"arn:aws:s3:::team-config/ses-guard/suppressions.yaml"} if suppressions else set())
    product = f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"
    assert grants.get("securityhub:BatchImportFindings") == ({product} if security_hub == "true" else None)
    assert not [a for a in grants if a.startswith("securityhub:") and a != "securityhub:BatchImportFindings"]


@pytest.mark.parametrize(
    ("parameter", "variable", "default", "allowed"),
    [
        ("NotifyOn", "NOTIFY_ON", "changes", ["changes", "all"]),
        ("SecurityHub", "SECURITY_HUB", "false", ["true", "false"]),
    ],
)
def test_given_the_new_choices_then_each_parameter_offers_what_its_setting_accepts(
    template: dict[str, Any], function: dict[str, Any], parameter: str, variable: str, default: str, allowed: list[str]
) -> None:
    declared = template["Parameters"][parameter]

    assert (declared["Default"], declared["AllowedValues"]) == (default, allowed)
    assert function["Environment"]["Variables"][variable] == {"Ref": parameter}
    for value in allowed:
        Settings.from_env({"AWS_REGION": REGION, variable: value})  # raises ConfigError for a value it refuses


def test_given_digest_days_then_the_parameter_has_the_settings_range(template: dict[str, Any]) -> None:
    declared = template["Parameters"]["DigestDays"]

    assert (declared["Type"], declared["Default"], declared["MinValue"], declared["MaxValue"]) == ("Number", 7, 0, 365)


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("", True),
        (SUPPRESSIONS, True),
        ("s3://b-1.example/k", True),
        ("s3://bucket", False),  # no key
        ("s3://bucket/", False),
        ("/etc/ses-guard/suppressions.yaml", False),  # a local path means nothing to the function
        ("s3://Bucket/key", False),
    ],
)
def test_given_a_suppressions_location_then_the_parameter_takes_only_an_s3_object(
    template: dict[str, Any], value: str, accepted: bool
) -> None:
    pattern = template["Parameters"]["Suppressions"]["AllowedPattern"]

    assert bool(re.fullmatch(pattern, value)) is accepted
