"""The DMARC reports inbox in template.yaml, as CloudFormation deploys it for each combination of ReportsInbox,
ReportsAddress and ReportsRuleSet: what exists, what the ingest function may do, and what the audit is told."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.kernel.settings import Settings
from tests.iam_policies import (
    ACCOUNT,
    REGION,
    deployed,
    function_policies,
    function_properties,
    load_template,
    refusals,
)

ROOT = Path(__file__).resolve().parents[2]
INBOX_BUCKET = f"ses-guard-inbox-{ACCOUNT}-{REGION}"
INBOX_ARN = f"arn:aws:s3:::{INBOX_BUCKET}"
REPORT_BUCKET = "ses-guard-reportbucket"  # what tests/iam_policies.py makes of Ref ReportBucket
REPORT_ARN = f"arn:aws:s3:::{REPORT_BUCKET}"
ADDRESS = "dmarc-reports@example.com"
INBOX_RESOURCES = frozenset(
    {
        "ReportsInboxBucket",
        "ReportsInboxBucketPolicy",
        "IngestInboxPermission",
        "IngestFunctionLogGroup",
        "IngestFunction",
        "IngestErrorsAlarm",
    }
)
RECEIVING = frozenset({"ReportsReceiptRule"})
# ReportsInbox, ReportsAddress, ReportsRuleSet: every combination the stack's rules accept.
COMBINATIONS = [
    ("", "", ""),
    ("inbox/", "", ""),
    ("mail/dmarc/", "", ""),
    ("inbox/", ADDRESS, ""),
    ("inbox/", ADDRESS, "default-rule-set"),
]
IDS = [f"ReportsInbox={i!r}-ReportsAddress={a!r}-ReportsRuleSet={r!r}" for i, a, r in COMBINATIONS]


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")


def parameters(inbox: str, address: str, rule_set: str) -> dict[str, str]:
    return {"ReportsInbox": inbox, "ReportsAddress": address, "ReportsRuleSet": rule_set}


def grants(documents: list[dict[str, Any]]) -> dict[str, set[str]]:
    """action -> the resources it is allowed on."""
    found: dict[str, set[str]] = {}
    for document in documents:
        for statement in document["Statement"]:
            assert statement["Effect"] == "Allow"
            named, resources = statement["Action"], statement["Resource"]
            for action in [named] if isinstance(named, str) else named:
                found.setdefault(action, set()).update([resources] if isinstance(resources, str) else resources)
    return found


@pytest.mark.parametrize(("inbox", "address", "rule_set"), COMBINATIONS, ids=IDS)
def test_given_each_inbox_setup_then_the_stack_creates_exactly_its_resources(
    template: dict[str, Any], inbox: str, address: str, rule_set: str
) -> None:
    assert refusals(template, parameters(inbox, address, rule_set)) == []

    created = set(deployed(template, parameters(inbox, address, rule_set)))

    expected = set(INBOX_RESOURCES if inbox else ())
    expected |= RECEIVING if address else set()
    expected |= {"ReportsRuleSetNew"} if address and not rule_set else set()
    assert created & (INBOX_RESOURCES | RECEIVING | {"ReportsRuleSetNew"}) == expected


@pytest.mark.parametrize(("inbox", "address", "rule_set"), COMBINATIONS, ids=IDS)
def test_given_each_inbox_setup_then_the_ingest_function_may_read_the_inbox_and_count_and_nothing_more(
    template: dict[str, Any], inbox: str, address: str, rule_set: str
) -> None:
    if not inbox:
        with pytest.raises(KeyError):
            function_policies(template, parameters(inbox, address, rule_set), "IngestFunction")
        return

    granted = grants(function_policies(template, parameters(inbox, address, rule_set), "IngestFunction"))

    assert granted == {
        # The inbox's own objects only, and the refused copies beside them: never the original overwritten.
        "s3:GetObject": {f"{INBOX_ARN}/{inbox}*", f"{REPORT_ARN}/dmarc/*"},
        "s3:PutObject": {f"{INBOX_ARN}/rejected/*", f"{REPORT_ARN}/dmarc/*"},
        "s3:ListBucket": {INBOX_ARN, REPORT_ARN},
        "sqs:SendMessage": {f"arn:aws:sqs:{REGION}:{ACCOUNT}:DeadLetterQueue.Arn"},
        "kms:GenerateDataKey": {f"arn:aws:kms:{REGION}:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000"},
        "kms:Decrypt": {f"arn:aws:kms:{REGION}:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000"},
    }


@pytest.mark.parametrize(("inbox", "address", "rule_set"), COMBINATIONS, ids=IDS)
def test_given_each_inbox_setup_then_the_audit_reads_the_aggregates_and_never_the_inbox(
    template: dict[str, Any], inbox: str, address: str, rule_set: str
) -> None:
    granted = grants(function_policies(template, parameters(inbox, address, rule_set)))

    assert not [resource for resources in granted.values() for resource in resources if INBOX_BUCKET in resource]
    assert f"{REPORT_ARN}/dmarc/*" in granted["s3:GetObject"]
    assert f"{REPORT_ARN}/dmarc/*" not in granted["s3:PutObject"]


@pytest.mark.parametrize(("inbox", "address", "rule_set"), COMBINATIONS, ids=IDS)
def test_given_each_inbox_setup_then_both_functions_settings_accept_what_they_are_told(
    template: dict[str, Any], inbox: str, address: str, rule_set: str
) -> None:
    chosen = parameters(inbox, address, rule_set)
    audit = Settings.from_env(
        {"AWS_REGION": REGION, **function_properties(template, chosen)["Environment"]["Variables"]}
    )

    assert audit.reports_inbox == (f"s3://{INBOX_BUCKET}/{inbox}" if inbox else "")
    # The inbox address is the rua of the records ses-guard creates, unless DmarcRua names another.
    assert audit.dmarc_rua == address
    assert Settings.from_env(
        {"AWS_REGION": REGION, **function_properties(template, {**chosen, "DmarcRua": "rua@other.example"})[
            "Environment"]["Variables"]}
    ).dmarc_rua == "rua@other.example"  # fmt: skip
    if inbox:
        environment = function_properties(template, chosen, "IngestFunction")["Environment"]["Variables"]
        ingest = Settings.from_env({"AWS_REGION": REGION, **environment})
        assert (ingest.inbox_bucket, ingest.inbox_prefix, ingest.report_bucket) == (INBOX_BUCKET, inbox, REPORT_BUCKET)
        assert ingest.reports_inbox == audit.reports_inbox


def test_given_the_inbox_then_s3_notifies_the_function_of_the_prefix_only_once_it_may_invoke_it(
    template: dict[str, Any],
) -> None:
    resources = deployed(template, parameters("mail/dmarc/", "", ""))
    bucket = resources["ReportsInboxBucket"]
    permission = resources["IngestInboxPermission"]["Properties"]

    assert bucket["Properties"]["BucketName"] == INBOX_BUCKET
    [notification] = bucket["Properties"]["NotificationConfiguration"]["LambdaConfigurations"]
    assert notification["Event"] == "s3:ObjectCreated:*"
    assert notification["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "mail/dmarc/"}]
    assert notification["Function"] == permission["FunctionName"]
    # S3 checks the permission when the notification is set; the permission is scoped to this bucket and account.
    assert bucket["DependsOn"] == "IngestInboxPermission"
    assert (permission["Principal"], permission["Action"]) == ("s3.amazonaws.com", "lambda:InvokeFunction")
    assert (permission["SourceArn"], permission["SourceAccount"]) == (INBOX_ARN, ACCOUNT)


def test_given_the_inbox_then_its_bucket_is_private_encrypted_kept_and_its_objects_expire(
    template: dict[str, Any],
) -> None:
    bucket = deployed(template, parameters("inbox/", "", ""))["ReportsInboxBucket"]
    props = bucket["Properties"]

    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]
    assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(props["PublicAccessBlockConfiguration"]) == 4
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    rules = props["LifecycleConfiguration"]["Rules"]
    assert [(r["Prefix"], r["ExpirationInDays"]) for r in rules] == [("inbox/", "90"), ("rejected/", "90")]


@pytest.mark.parametrize(("address", "rule_set"), [("", ""), (ADDRESS, ""), (ADDRESS, "default-rule-set")])
def test_given_the_inbox_then_only_tls_reaches_it_and_only_this_accounts_reports_rule_may_store_mail(
    template: dict[str, Any], address: str, rule_set: str
) -> None:
    resources = deployed(template, parameters("inbox/", address, rule_set))
    policy = resources["ReportsInboxBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]

    assert policy[0] == {
        "Sid": "TlsOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [INBOX_ARN, f"{INBOX_ARN}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    if not address:
        assert len(policy) == 1
        return
    rule_set_name = rule_set or "ses-guard-reports"
    rule = resources["ReportsReceiptRule"]["Properties"]
    assert policy[1] == {
        "Sid": "SesStoresReports",
        "Effect": "Allow",
        "Principal": {"Service": "ses.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"{INBOX_ARN}/inbox/*",
        "Condition": {
            "StringEquals": {
                "aws:SourceAccount": ACCOUNT,
                "aws:SourceArn": f"arn:aws:ses:{REGION}:{ACCOUNT}:receipt-rule-set/{rule_set_name}:receipt-rule/"
                f"{rule['Rule']['Name']}",
            }
        },
    }
    # The rule stores into the prefix the bucket policy opens to it, for the one address.
    if rule_set:
        assert rule["RuleSetName"] == rule_set
    else:
        assert resources["ReportsRuleSetNew"]["Properties"]["RuleSetName"] == rule_set_name
        assert template["Resources"]["ReportsReceiptRule"]["Properties"]["RuleSetName"]["Fn::If"][1] == {
            "Ref": "ReportsRuleSetNew"
        }
    assert rule["Rule"]["Recipients"] == [address]
    assert rule["Rule"]["Actions"] == [{"S3Action": {"BucketName": INBOX_BUCKET, "ObjectKeyPrefix": "inbox/"}}]
    assert resources["ReportsReceiptRule"]["DependsOn"] == "ReportsInboxBucketPolicy"


@pytest.mark.parametrize(
    ("chosen", "refused"),
    [
        (
            parameters("", ADDRESS, ""),
            ["ReportsAddressNeedsInbox: ReportsAddress needs ReportsInbox, the prefix SES stores the address's mail "
             "under"],
        ),
        (
            parameters("inbox/", "", "default-rule-set"),
            ["ReportsRuleSetNeedsAddress: ReportsRuleSet needs ReportsAddress, the address whose rule goes into that "
             "rule set"],
        ),
    ],
)  # fmt: skip
def test_given_an_inbox_setting_without_what_it_needs_then_the_stack_refuses_it(
    template: dict[str, Any], chosen: dict[str, str], refused: list[str]
) -> None:
    assert refusals(template, chosen) == refused


def test_given_the_ingest_function_then_it_runs_the_ingest_handler_bounded_and_failures_reach_the_topic(
    template: dict[str, Any],
) -> None:
    resources = deployed(template, parameters("inbox/", "", ""))
    function = {**template["Globals"]["Function"], **resources["IngestFunction"]["Properties"]}

    assert (function["Handler"], function["CodeUri"], function["Runtime"]) == (
        "handlers.ingest.handler",
        "src/",
        "python3.13",
    )
    assert (ROOT / "src" / "handlers" / "ingest.py").exists()
    assert "ReservedConcurrentExecutions" not in function  # it would fail to deploy on accounts at the minimum
    assert function["DeadLetterQueue"]["TargetArn"] == f"arn:aws:sqs:{REGION}:{ACCOUNT}:DeadLetterQueue.Arn"
    assert resources["IngestFunctionLogGroup"]["Properties"]["LogGroupName"] == "/aws/lambda/ses-guard-ingest"
    declared = template["Resources"]
    assert declared["IngestFunction"]["Properties"]["LoggingConfig"] == {"LogGroup": {"Ref": "IngestFunctionLogGroup"}}
    alarm = declared["IngestErrorsAlarm"]["Properties"]
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "IngestFunction"}}]
    assert alarm["AlarmActions"] == [{"Ref": "FindingsTopic"}]
