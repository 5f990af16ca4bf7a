"""template.yaml says what the code and the least-privilege design need: settings, runtime, IAM, notifications."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from core.kernel.errors import ConfigError
from core.kernel.events import RunRequest, parse_event
from core.kernel.settings import Settings
from tests.iam_policies import (
    ACCOUNT,
    REGION,
    deployed,
    function_policies,
    function_properties,
    load_template,
    policy_documents,
    refusals,
)

ROOT = Path(__file__).resolve().parents[2]
LAMBDA_PROVIDED = {"AWS_REGION", "AWS_DEFAULT_REGION"}  # set by the Lambda runtime, never by the template
POWERTOOLS = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOG_LEVEL", "POWERTOOLS_METRICS_NAMESPACE"}
CLI_ONLY = {"ORG_CONCURRENCY"}  # the command line's local fan-out; the function audits one target per invocation


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

    assert passed - POWERTOOLS == env.asked - LAMBDA_PROVIDED - CLI_ONLY
    assert passed >= POWERTOOLS


def referenced(value: Any) -> set[str]:
    """Every name a value refers to: by Ref, by ${Name} in a Sub, and by the conditions of its Ifs."""
    if isinstance(value, list):
        return {name for item in value for name in referenced(item)}
    if not isinstance(value, dict):
        return set()
    if "Ref" in value:
        return {value["Ref"]}
    if "Fn::Sub" in value:
        text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
        return {name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text)}
    if "Fn::If" in value:
        condition, *branches = value["Fn::If"]
        return {f"Condition:{condition}"} | referenced(branches)
    return {name for item in value.values() for name in referenced(item)}


def test_given_the_function_then_every_setting_comes_from_a_parameter(
    template: dict[str, Any], function: dict[str, Any]
) -> None:
    variables = function["Environment"]["Variables"]
    resources = {"FINDINGS_TOPIC_ARN", "REPORT_BUCKET"}  # the stack's own, not choices made at deployment
    pseudo = {"AWS::AccountId", "AWS::Region", "AWS::Partition"}
    condition_names = {f"Condition:{name}" for name in template["Conditions"]}

    for variable in set(variables) - POWERTOOLS - resources:
        names = referenced(variables[variable])
        assert names & set(template["Parameters"]), variable
        assert names <= set(template["Parameters"]) | pseudo | condition_names, variable
    assert variables["FINDINGS_TOPIC_ARN"] == {"Ref": "FindingsTopic"}
    assert variables["REPORT_BUCKET"] == {"Ref": "ReportBucket"}


def test_given_the_function_then_it_runs_python_3_13_on_arm64_for_up_to_15_minutes(
    template: dict[str, Any], function: dict[str, Any]
) -> None:
    merged = {**template["Globals"]["Function"], **function}

    assert merged["Runtime"] == "python3.13"
    assert merged["Architectures"] == ["arm64"]
    assert merged["Handler"] == "handlers.audit.handler"
    assert merged["CodeUri"] == "src/"
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
    # The shipped sample is what the schedule really sends, so local runs replay the scheduled invocation.
    assert json.loads(schedule["Properties"]["Input"]) == json.loads((ROOT / "events" / "scheduler.json").read_text())


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("scheduler.json", RunRequest()),
        ("eventbridge-rule.json", RunRequest()),
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

    assert {grant["Sid"] for grant in grants} == {"CreateOnlySesRecords", "CreateReportsMx"}
    for grant in grants:
        assert grant["Effect"] == "Allow"
        condition = grant["Condition"]
        equals = condition["ForAllValues:StringEquals"]
        if grant["Sid"] == "CreateReportsMx":
            # The reports domain's apex: its MX created, nothing else (the name: see test_template_policies).
            assert (
                equals["route53:ChangeResourceRecordSetsActions"],
                equals["route53:ChangeResourceRecordSetsRecordTypes"],
            ) == (["CREATE"], ["MX"])
            assert "ForAllValues:StringLike" not in condition
        else:
            assert equals["route53:ChangeResourceRecordSetsActions"] == ["CREATE", "UPSERT"]
            assert equals["route53:ChangeResourceRecordSetsRecordTypes"] == ["CNAME", "TXT", "MX"]
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
    # Step Functions' log delivery setup (the org-mode state machine) is the one delete, of a log delivery only.
    assert not [a for a in granted if "Delete" in a and a != "logs:DeleteLogDelivery"]


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
    assert not [a for a in always if a.startswith("route53:Change")]
    assert optional == {
        "WritesAllowed": ["route53:ChangeResourceRecordSets"],
        "ReportsMxWritable": ["route53:ChangeResourceRecordSets"],
        "ConfigureMailFromOn": ["ses:SetIdentityMailFromDomain"],
        "UpgradeDkimKeysOn": ["ses:PutEmailIdentityDkimSigningAttributes"],
        "HasSuppressions": ["s3:GetObject"],
        "SecurityHubOn": ["securityhub:BatchImportFindings"],
        "OrgMode": ["sts:AssumeRole"],
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
    for alarm in ("FunctionErrorsAlarm", "DeadLetterAlarm", "IngestErrorsAlarm"):
        assert resources[alarm]["Properties"]["AlarmActions"] == [{"Ref": "FindingsTopic"}]


def test_given_the_outputs_then_they_name_the_function_the_topic_the_schedule_and_the_bucket(
    template: dict[str, Any],
) -> None:
    outputs = {name: output["Value"] for name, output in template["Outputs"].items()}

    assert outputs["AuditFunctionName"] == {"Ref": "AuditFunction"}
    assert outputs["FindingsTopicArn"] == {"Ref": "FindingsTopic"}
    assert outputs["ScheduleName"] == {"Ref": "AuditFunctionSchedule"}  # SAM names it <function><event>
    assert outputs["ReportBucketName"] == {"Ref": "ReportBucket"}
    assert outputs["IngestFunctionName"] == {"Ref": "IngestFunction"}
    assert outputs["ReportsInboxUri"] == {"Fn::Sub": "s3://${ReportsInboxBucket}/${ReportsInbox}"}
    # Each output names a resource that exists only with its feature: the output has the same condition.
    for name in ("IngestFunctionName", "ReportsInboxUri", "ActivateReportsRuleSet"):
        [resource] = [r for r in referenced(template["Outputs"][name]["Value"]) if r in template["Resources"]]
        assert template["Outputs"][name]["Condition"] == template["Resources"][resource]["Condition"]


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
    rules = single_account_rules(template)
    parameter = template["Parameters"]["ReportRetentionDays"]

    expiring = [r for r in rules if r["Status"] == "Enabled" and "ExpirationInDays" in r]
    assert [(r["Prefix"], r["ExpirationInDays"]) for r in expiring] == [
        ("reports/", {"Ref": "ReportRetentionDays"}),
        # The DMARC aggregates outlive the longest window a verdict reads.
        ("dmarc/", template["Parameters"]["DmarcWindowDays"]["MaxValue"] * 2 - 1),
    ]
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
        # The DMARC aggregates are read, never written: the ingest function counts them.
        "s3:GetObject": {f"{BUCKET_ARN}/state/*", f"{BUCKET_ARN}/dmarc/*"},
        # Listing lets S3 answer NoSuchKey for a first run's missing state instead of AccessDenied.
        "s3:ListBucket": {BUCKET_ARN},
    }


def single_account_rules(template: dict[str, Any]) -> list[dict[str, Any]]:
    """The report bucket's lifecycle rules but the org-mode ones (each an !If on OrgMode: test_template_org)."""
    rules = template["Resources"]["ReportBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    return [rule for rule in rules if "Fn::If" not in rule]


def test_given_the_report_bucket_then_the_lifecycle_never_expires_the_state(template: dict[str, Any]) -> None:
    rules = single_account_rules(template)

    assert [rule["Prefix"] for rule in rules] == ["reports/", "dmarc/"]


@pytest.mark.parametrize(
    ("suppressions", "security_hub"),
    [("", "false"), (SUPPRESSIONS, "false"), ("", "true"), (SUPPRESSIONS, "true")],
)
def test_given_each_combination_of_exports_and_suppressions_then_the_function_gets_exactly_what_it_asks_for(
    template: dict[str, Any], suppressions: str, security_hub: str
) -> None:
    grants = granted(template, Suppressions=suppressions, SecurityHub=security_hub)

    reads = grants["s3:GetObject"] - {f"{BUCKET_ARN}/state/*", f"{BUCKET_ARN}/dmarc/*"}
    assert reads == ({"arn:aws:s3:::team-config/ses-guard/suppressions.yaml"} if suppressions else set())
    product = f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"
    assert grants.get("securityhub:BatchImportFindings") == ({product} if security_hub == "true" else None)
    assert not [a for a in grants if a.startswith("securityhub:") and a != "securityhub:BatchImportFindings"]


@pytest.mark.parametrize(
    ("parameter", "variable", "default", "allowed"),
    [
        ("NotifyOn", "NOTIFY_ON", "changes", ["changes", "all"]),
        ("SecurityHub", "SECURITY_HUB", "false", ["true", "false"]),
        ("DmarcProgression", "DMARC_PROGRESSION", "false", ["true", "false"]),
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


@pytest.mark.parametrize(
    ("parameter", "variable", "default", "low", "high"),
    [
        ("DigestDays", "DIGEST_DAYS", 7, 0, 365),
        ("DmarcWindowDays", "DMARC_WINDOW_DAYS", 30, 7, 366),
        ("DmarcReadyThreshold", "DMARC_READY_THRESHOLD", 0.99, 0.5, 1),
    ],
)
def test_given_a_number_parameter_then_it_has_the_settings_range(
    template: dict[str, Any], parameter: str, variable: str, default: float, low: float, high: float
) -> None:
    declared = template["Parameters"][parameter]

    assert (declared["Type"], declared["Default"], declared["MinValue"], declared["MaxValue"]) == (
        "Number",
        default,
        low,
        high,
    )
    for accepted in (low, high):
        assert settings_accept(**{variable: str(accepted)})
    for refused in (low - 1, high + 1):
        assert not settings_accept(**{variable: str(refused)})


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


def settings_accept(**env: str) -> bool:
    try:
        Settings.from_env({"AWS_REGION": REGION, **env})
    except ConfigError:
        return False
    return True


def test_given_every_free_text_parameter_then_each_has_a_pattern_and_says_what_it_takes(
    template: dict[str, Any],
) -> None:
    free_text = [
        name
        for name, parameter in template["Parameters"].items()
        if parameter["Type"] == "String" and "AllowedValues" not in parameter
    ]

    assert free_text
    assert [name for name in free_text if "AllowedPattern" not in template["Parameters"][name]] == []
    assert [name for name in free_text if not template["Parameters"][name].get("ConstraintDescription")] == []


# parameter -> (the setting it becomes, or None where the code takes any text; values accepted; values refused)
PATTERNS: dict[str, tuple[str | None, list[str], list[str]]] = {
    "ScheduleExpression": (
        None,
        ["rate(1 day)", "rate(5 minutes)", "rate(12 hours)", "cron(0 6 * * ? *)", "cron(0/15 8-17 ? * MON-FRI *)",
         "at(2026-12-01T06:00:00)"],
        ["", "rate(0 days)", "rate(1 week)", "rate(1day)", "cron(0 6 * * ?)", "0 6 * * *", "daily", "rate(1 day) "],
    ),
    "AuditRegions": (
        "AUDIT_REGIONS",
        ["", "all", "eu-west-1", "eu-west-1,us-east-1", "eu-west-1, us-east-1", "us-gov-west-1", "ap-southeast-2",
         "eusc-de-east-1"],
        ["all,eu-west-1", "eu-west", "eu_west_1", "Ireland", "eu-west-1,", "*", "eu-west-1 us-east-1"],
    ),
    "ExcludeIdentities": (
        "EXCLUDE_IDENTITIES",
        ["", "example.com", "*.example.net,NoReply@*", "a.example, b.example", "shop.bücher.example"],
        ["example.com,", ",example.com", "example .com", "a.example,,b.example", " "],
    ),
    "DnsNameservers": (
        "DNS_NAMESERVERS",
        ["", "192.0.2.53", "192.0.2.53:5353", "1.1.1.1,8.8.8.8", "1.1.1.1, 8.8.8.8:53", "2001:db8::53", "::1",
         "[2001:db8::53]:5353"],
        ["dns.google", "resolver.example:53", "192.0.2.256", "192.0.2.53:0", "192.0.2.53:65536", "1.1.1.1 8.8.8.8",
         "https://1.1.1.1/dns-query", "[dns.google]:53", "192.0.2"],
    ),
    "DmarcRua": (
        "DMARC_RUA",
        ["", "dmarc@example.com", "dmarc-reports+ses@reports.example.org"],
        ["mailto:dmarc@example.com", "dmarc@example", "a@b.c", "dmarc@example.com,other@example.com", "reports"],
    ),
    "AlertEmail": (
        None,
        ["", "security@example.com", "ops+ses@example.co.uk"],
        ["security", "security@", "@example.com", "a@example.com,b@example.com", "Team <team@example.com>"],
    ),
    "SlackWorkspaceId": (None, ["", "T07EA123LEP"], ["my-workspace", "https://app.slack.com/client/T07EA123LEP"]),
    "SlackChannelId": (None, ["", "C0123ABCDEF"], ["#alerts", "alerts channel", "C0123-ABC"]),
    "MailFromSubdomain": ("MAIL_FROM_SUBDOMAIN", ["bounce", "mail-from", "m1"], ["", "Bounce", "-bounce", "a_b"]),
    "Suppressions": ("SUPPRESSIONS", ["", SUPPRESSIONS], ["s3://bucket", "/etc/ses-guard/suppressions.yaml"]),
    "ReservedConcurrency": (None, ["", "1", "5", "100"], ["0", "-1", "01", "one", "1.5"]),
    # A prefix in the inbox bucket: REPORTS_INBOX is s3://<that bucket>/<this>, checked as deployed below.
    "ReportsInbox": (
        None,
        ["", "inbox/", "dmarc-reports/", "mail/dmarc/", "reports-inbox/", "Inbox_2(a)/"],
        ["inbox", "/inbox/", "inbox//", "rejected/", "rejected/inbox/", "reports/", "state/", "dmarc/", "in box/",
         "inbox/x", "s3://bucket/inbox/", "inbox*/", "../", "./", "a/../", "a/./"],
    ),
    "ReportsAddress": (
        "DMARC_RUA",
        ["", "dmarc-reports@example.com", "rua+ses@reports.example.org"],
        ["mailto:dmarc@example.com", "dmarc@example", "a@b.c", "a@example.com,b@example.com",
         "dmarc reports@example.com", "reports", "dmarc@Example.com"],
    ),
    "ReportsRuleSet": (None, ["", "default-rule-set", "INBOUND_MAIL.v2"], ["my rule set", "rules/set", "a" * 65]),
    "OrgAccounts": (
        "ORG_ACCOUNTS",
        ["", "123456789012", "123456789012,210987654321", "123456789012, 210987654321"],
        ["12345678901", "1234567890123", "123456789012,", "all", "123456789012 210987654321", "o-abc123defg"],
    ),
    "MemberRoleName": (
        "MEMBER_ROLE_NAME",
        ["ses-guard-member", "SesGuard_Member", "a", "r" * 64, "team+ses=audit,x.y@z"],
        ["", "r" * 65, "role/ses-guard-member", "ses guard", "arn:aws:iam::123456789012:role/ses-guard-member"],
    ),
}  # fmt: skip
# What a free-text parameter needs beside it to reach the function (the others are at their defaults).
COMPANIONS = {"ReportsAddress": {"ReportsInbox": "inbox/"}, "OrgAccounts": {"OrgMode": "true"}}
PATTERN_CASES = [
    (name, value, accepted)
    for name, (_, good, bad) in PATTERNS.items()
    for accepted, values in ((True, good), (False, bad))
    for value in values
]


@pytest.mark.parametrize(
    ("parameter", "value", "accepted"), PATTERN_CASES, ids=[f"{p}={v!r}" for p, v, _ in PATTERN_CASES]
)
def test_given_a_free_text_value_then_its_parameter_pattern_accepts_it_only_if_it_works(
    template: dict[str, Any], parameter: str, value: str, accepted: bool
) -> None:
    declared = template["Parameters"][parameter]
    variable = PATTERNS[parameter][0]

    assert bool(re.fullmatch(declared["AllowedPattern"], value)) is accepted
    if accepted and variable:
        # What the stack accepts the function accepts too: a deployed value never fails the run at cold start.
        assert settings_accept(**{variable: value})
    if accepted:
        # And as deployed: the environment the template makes of the value, whatever it passes it through.
        overrides = {parameter: value, **COMPANIONS.get(parameter, {})}
        for function in ("AuditFunction", "IngestFunction"):
            if function in deployed(template, overrides):
                environment = function_properties(template, overrides, function)["Environment"]["Variables"]
                Settings.from_env({"AWS_REGION": REGION, **environment})


def test_given_every_free_text_parameter_then_the_pattern_cases_cover_it(template: dict[str, Any]) -> None:
    patterned = {name for name, parameter in template["Parameters"].items() if "AllowedPattern" in parameter}

    assert patterned == set(PATTERNS)


def test_given_the_defaults_then_cloudformation_accepts_them_and_settings_accept_what_they_pass(
    template: dict[str, Any], function: dict[str, Any]
) -> None:
    assert refusals(template) == []
    defaults = {name: str(p.get("Default", "")) for name, p in template["Parameters"].items()}
    env = {
        variable: defaults[value["Ref"]]
        for variable, value in function["Environment"]["Variables"].items()
        if isinstance(value, dict) and value.get("Ref") in defaults
    }
    settings = Settings.from_env({"AWS_REGION": REGION, **env})
    assert (settings.dns_timeout, settings.time_margin_seconds) == (5, 30)


def timeout_pairs() -> list[tuple[str, str]]:
    parameters = load_template(ROOT / "template.yaml")["Parameters"]
    return [
        (timeout, margin)
        for timeout in parameters["DnsTimeout"]["AllowedValues"]
        for margin in parameters["TimeMarginSeconds"]["AllowedValues"]
    ]


@pytest.mark.parametrize(("timeout", "margin"), timeout_pairs())
def test_given_each_dns_timeout_and_margin_then_the_stack_accepts_the_pair_exactly_when_the_settings_do(
    template: dict[str, Any], timeout: str, margin: str
) -> None:
    refused = refusals(template, {"DnsTimeout": timeout, "TimeMarginSeconds": margin})

    works = settings_accept(DNS_TIMEOUT=timeout, TIME_MARGIN_SECONDS=margin)
    assert works is (float(margin) >= float(timeout))
    assert (refused == []) is works
    if not works:
        assert refused == [f"MarginCoversDnsTimeout{timeout}: With DnsTimeout {timeout}, TimeMarginSeconds must be "
                           f"at least {timeout}"]  # fmt: skip


def test_given_each_dns_timeout_then_settings_accept_it_with_the_largest_margin(template: dict[str, Any]) -> None:
    largest = max(template["Parameters"]["TimeMarginSeconds"]["AllowedValues"], key=float)

    for timeout in template["Parameters"]["DnsTimeout"]["AllowedValues"]:
        assert settings_accept(DNS_TIMEOUT=timeout, TIME_MARGIN_SECONDS=largest), timeout
        assert refusals(template, {"DnsTimeout": timeout, "TimeMarginSeconds": largest}) == []


NEEDS_CHANNEL = "SlackWorkspaceNeedsChannel: SlackWorkspaceId needs SlackChannelId (set both, or neither)"
NEEDS_WORKSPACE = "SlackChannelNeedsWorkspace: SlackChannelId needs SlackWorkspaceId (set both, or neither)"


@pytest.mark.parametrize(
    ("workspace", "channel", "refused"),
    [
        ("", "", []),
        ("T07EA123LEP", "C0123ABCDEF", []),
        ("T07EA123LEP", "", [NEEDS_CHANNEL]),
        ("", "C0123ABCDEF", [NEEDS_WORKSPACE]),
    ],
)
def test_given_slack_ids_then_the_stack_takes_both_or_neither(
    template: dict[str, Any], workspace: str, channel: str, refused: list[str]
) -> None:
    assert refusals(template, {"SlackWorkspaceId": workspace, "SlackChannelId": channel}) == refused


def test_given_a_value_outside_a_parameter_constraint_then_the_stack_refuses_it_before_the_rules(
    template: dict[str, Any],
) -> None:
    assert refusals(template, {"DnsTimeout": "40"}) == ["DnsTimeout: '40' is not one of the allowed values"]
    assert refusals(template, {"DnsNameservers": "dns.google"}) == [
        f"DnsNameservers: {template['Parameters']['DnsNameservers']['ConstraintDescription']}"
    ]


@pytest.mark.parametrize(("value", "reserved"), [("", None), ("1", "1"), ("25", "25")])
def test_given_reserved_concurrency_then_the_function_reserves_only_what_is_asked(
    template: dict[str, Any], value: str, reserved: str | None
) -> None:
    # Overlapping runs are safe without a reservation, and reserving fails where the account's unreserved
    # concurrency is at its minimum: off unless asked for.
    properties = function_properties(template, {"ReservedConcurrency": value})

    assert properties.get("ReservedConcurrentExecutions") == reserved
    assert template["Parameters"]["ReservedConcurrency"]["Default"] == ""
