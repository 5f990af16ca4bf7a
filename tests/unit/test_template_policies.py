"""The function's role as CloudFormation deploys it for each combination of DryRun, ConfigureMailFrom and
UpgradeDkimKeys: the deployed mode is the ceiling, so a stack deployed to plan only can write nothing at all."""

from __future__ import annotations

from itertools import product
from pathlib import Path
from typing import Any

import pytest

from tests.iam_policies import ACCOUNT, conditions, function_policies, load_template, refusals

ROOT = Path(__file__).resolve().parents[2]
ROUTE53_WRITE = "route53:ChangeResourceRecordSets"
MAIL_FROM_WRITE = "ses:SetIdentityMailFromDomain"
DKIM_WRITE = "ses:PutEmailIdentityDkimSigningAttributes"
COMBINATIONS = list(product(["true", "false"], repeat=3))  # DryRun, ConfigureMailFrom, UpgradeDkimKeys


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")


def granted(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """action -> the statements allowing it, in the function's policies as deployed with these parameters."""
    grants: dict[str, list[dict[str, Any]]] = {}
    for document in function_policies(template, parameters):
        for statement in document["Statement"]:
            assert statement["Effect"] == "Allow"
            named = statement["Action"]
            for action in [named] if isinstance(named, str) else named:
                grants.setdefault(action, []).append(statement)
    return grants


def dns_and_ses_writes(actions: set[str]) -> set[str]:
    """Actions of Route 53 and SES that are not reads: anything but Get*/List*."""
    return {
        a for a in actions if a.split(":")[0] in ("route53", "ses") and not a.split(":")[1].startswith(("Get", "List"))
    }


@pytest.mark.parametrize(
    ("dry_run", "mail_from", "dkim"),
    COMBINATIONS,
    ids=[f"DryRun={d}-ConfigureMailFrom={m}-UpgradeDkimKeys={k}" for d, m, k in COMBINATIONS],
)
def test_given_each_combination_of_mode_and_opt_ins_then_the_role_holds_exactly_the_writes_it_allows(
    template: dict[str, Any], dry_run: str, mail_from: str, dkim: str
) -> None:
    parameters = {"DryRun": dry_run, "ConfigureMailFrom": mail_from, "UpgradeDkimKeys": dkim}

    writes = dns_and_ses_writes(set(granted(template, parameters)))

    expected = set()
    if dry_run == "false":
        expected = {ROUTE53_WRITE}
        expected |= {MAIL_FROM_WRITE} if mail_from == "true" else set()
        expected |= {DKIM_WRITE} if dkim == "true" else set()
    assert writes == expected
    assert refusals(template, parameters) == []  # every combination deploys: a planning stack shows the opt-ins' plan


@pytest.mark.parametrize(("dry_run", "mail_from", "dkim"), COMBINATIONS)
def test_given_each_combination_then_the_reads_are_the_same(
    template: dict[str, Any], dry_run: str, mail_from: str, dkim: str
) -> None:
    parameters = {"DryRun": dry_run, "ConfigureMailFrom": mail_from, "UpgradeDkimKeys": dkim}
    reads = {a for a in granted(template, parameters) if a.split(":")[0] in ("route53", "ses", "account")}

    assert reads - dns_and_ses_writes(reads) == {
        "ses:ListEmailIdentities",
        "ses:GetIdentityDkimAttributes",
        "ses:GetIdentityMailFromDomainAttributes",
        "ses:GetAccount",
        "ses:GetEmailIdentity",
        "route53:ListHostedZones",
        "route53:ListResourceRecordSets",
        "account:ListRegions",
    }


def test_given_the_default_deployment_then_it_only_plans_and_holds_no_dns_or_ses_write(
    template: dict[str, Any],
) -> None:
    assert template["Parameters"]["DryRun"]["Default"] == "true"
    assert dns_and_ses_writes(set(granted(template, {}))) == set()


def test_given_a_live_deployment_then_the_record_write_keeps_its_create_only_conditions(
    template: dict[str, Any],
) -> None:
    [statement] = granted(template, {"DryRun": "false", "MailFromSubdomain": "mail"})[ROUTE53_WRITE]

    condition = statement["Condition"]
    assert condition["ForAllValues:StringEquals"]["route53:ChangeResourceRecordSetsActions"] == ["CREATE", "UPSERT"]
    assert condition["ForAllValues:StringLike"]["route53:ChangeResourceRecordSetsNormalizedRecordNames"] == [
        "*._domainkey.*",
        "_dmarc.*",
        "mail.*",
    ]


@pytest.mark.parametrize("dry_run", ["true", "false"])
def test_given_either_mode_then_the_function_may_list_this_accounts_regions_and_nothing_else_of_the_account(
    template: dict[str, Any], dry_run: str
) -> None:
    grants = granted(template, {"DryRun": dry_run})

    account = {action: statements for action, statements in grants.items() if action.startswith("account:")}
    assert list(account) == ["account:ListRegions"]
    # The account resource type of the Service Authorization Reference: this account's own region list only.
    assert [s["Resource"] for s in account["account:ListRegions"]] == [f"arn:aws:account::{ACCOUNT}:account"]


def test_given_the_conditions_then_an_opt_in_is_on_only_for_a_stack_that_writes(template: dict[str, Any]) -> None:
    planning = conditions(template, {"DryRun": "true", "ConfigureMailFrom": "true", "UpgradeDkimKeys": "true"})
    writing = conditions(template, {"DryRun": "false", "ConfigureMailFrom": "true", "UpgradeDkimKeys": "true"})

    assert (planning["WritesAllowed"], planning["ConfigureMailFromOn"], planning["UpgradeDkimKeysOn"]) == (
        False,
        False,
        False,
    )
    assert (writing["WritesAllowed"], writing["ConfigureMailFromOn"], writing["UpgradeDkimKeysOn"]) == (
        True,
        True,
        True,
    )


def test_given_an_intrinsic_the_evaluator_does_not_know_then_it_fails_rather_than_guess() -> None:
    template: dict[str, Any] = {
        "Parameters": {"Vpc": {"Type": "String", "Default": "vpc-1"}},
        "Rules": {"Tagged": {"Assertions": [{"Assert": {"Fn::RefAll": "AWS::EC2::VPC::Id"}}]}},
    }

    with pytest.raises(ValueError, match="Fn::RefAll is not evaluated here"):
        refusals(template)


def test_given_conditions_in_any_order_then_they_are_decided_as_cloudformation_does() -> None:
    template: dict[str, Any] = {
        "Parameters": {"Mode": {"Type": "String", "Default": "a"}},
        "Conditions": {
            "Later": {"Fn::And": [{"Condition": "IsA"}, {"Fn::Not": [{"Condition": "IsB"}]}]},
            "IsA": {"Fn::Equals": [{"Ref": "Mode"}, "a"]},
            "IsB": {"Fn::Equals": [{"Ref": "Mode"}, "b"]},
            "Loop": {"Fn::Not": [{"Condition": "Loop"}]},
        },
    }

    assert conditions({**template, "Conditions": {k: v for k, v in template["Conditions"].items() if k != "Loop"}}) == {
        "Later": True,
        "IsA": True,
        "IsB": False,
    }
    with pytest.raises(ValueError, match="Loop depends on itself"):
        conditions(template)


@pytest.mark.parametrize(
    ("dry_run", "inbox", "address", "apex"),
    [
        ("false", "", "", None),
        ("false", "inbox/", "", None),
        ("true", "inbox/", "dmarc-reports@reports.example.com", None),
        ("false", "inbox/", "dmarc-reports@reports.example.com", ["reports.example.com"]),
    ],
    ids=["no-inbox", "inbox-without-address", "dry-run", "live-with-address"],
)
def test_given_a_reports_address_then_only_its_domain_mx_may_be_created_and_only_on_a_live_stack(
    template: dict[str, Any], dry_run: str, inbox: str, address: str, apex: list[str] | None
) -> None:
    parameters = {"DryRun": dry_run, "ReportsInbox": inbox, "ReportsAddress": address}

    grants = granted(template, parameters).get(ROUTE53_WRITE, [])

    ses_names = ["*._domainkey.*", "_dmarc.*", "bounce.*"]
    general = [g for g in grants if g["Sid"] == "CreateOnlySesRecords"]
    assert [
        g["Condition"]["ForAllValues:StringLike"]["route53:ChangeResourceRecordSetsNormalizedRecordNames"]
        for g in general
    ] == ([ses_names] if dry_run == "false" else [])
    mx = [g["Condition"]["ForAllValues:StringEquals"] for g in grants if g["Sid"] == "CreateReportsMx"]
    assert mx == (
        []
        if apex is None
        else [
            {
                "route53:ChangeResourceRecordSetsActions": ["CREATE"],
                "route53:ChangeResourceRecordSetsRecordTypes": ["MX"],
                "route53:ChangeResourceRecordSetsNormalizedRecordNames": apex,
            }
        ]
    )
