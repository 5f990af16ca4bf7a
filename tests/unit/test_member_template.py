"""member-role.yaml, the role each member account holds for organisation mode: plain CloudFormation, trusted by the
central audit role alone, read-only unless AllowRemediation, and then exactly the central stack's own writes."""

from __future__ import annotations

import re
from itertools import product
from pathlib import Path
from typing import Any

import pytest

from tests.iam_policies import ACCOUNT, deployed, load_template, refusals, role_policies

ROOT = Path(__file__).resolve().parents[2]
CENTRAL = "arn:aws:iam::210987654321:role/ses-guard-AuditFunctionRole-1A2B3C4D5E6F"
ORG_ID = "o-a1b2c3d4e5"
REQUIRED = {"CentralRoleArn": CENTRAL, "OrganizationId": ORG_ID}
ROUTE53_WRITE = "route53:ChangeResourceRecordSets"
MAIL_FROM_WRITE = "ses:SetIdentityMailFromDomain"
DKIM_WRITE = "ses:PutEmailIdentityDkimSigningAttributes"
COMBINATIONS = list(product(["false", "true"], repeat=3))  # AllowRemediation, ConfigureMailFrom, UpgradeDkimKeys


@pytest.fixture(scope="module")
def member() -> dict[str, Any]:
    return load_template(ROOT / "member-role.yaml")


@pytest.fixture(scope="module")
def central() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")


def statements(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [statement for document in documents for statement in document["Statement"]]


def actions(statement: dict[str, Any]) -> list[str]:
    found = statement["Action"]
    return [found] if isinstance(found, str) else list(found)


def granted(documents: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grants: dict[str, list[dict[str, Any]]] = {}
    for statement in statements(documents):
        assert statement["Effect"] == "Allow"
        for action in actions(statement):
            grants.setdefault(action, []).append(statement)
    return grants


def member_policies(member: dict[str, Any], parameters: dict[str, str]) -> list[dict[str, Any]]:
    return role_policies(member, {**REQUIRED, **parameters}, "MemberRole")


def writes(actions_: set[str]) -> set[str]:
    """Actions that are not reads (anything but Get*/List*)."""
    return {a for a in actions_ if not a.split(":")[1].startswith(("Get", "List"))}


def test_given_the_member_template_then_it_is_plain_cloudformation_with_one_role(member: dict[str, Any]) -> None:
    assert "Transform" not in member
    assert {name: r["Type"] for name, r in member["Resources"].items()} == {"MemberRole": "AWS::IAM::Role"}
    assert member["Parameters"]["AllowRemediation"]["Default"] == "false"


@pytest.mark.parametrize(
    ("remediation", "mail_from", "dkim"),
    COMBINATIONS,
    ids=[f"AllowRemediation={r}-ConfigureMailFrom={m}-UpgradeDkimKeys={k}" for r, m, k in COMBINATIONS],
)
def test_given_each_combination_then_the_role_writes_exactly_what_it_allows_or_the_stack_refuses_it(
    member: dict[str, Any], remediation: str, mail_from: str, dkim: str
) -> None:
    parameters = {"AllowRemediation": remediation, "ConfigureMailFrom": mail_from, "UpgradeDkimKeys": dkim}

    refused = refusals(member, {**REQUIRED, **parameters})
    found = writes(set(granted(member_policies(member, parameters))))

    opted_in = "true" in (mail_from, dkim)
    assert refused == (
        ["OptInsNeedRemediation: ConfigureMailFrom and UpgradeDkimKeys need AllowRemediation true (the role writes "
         "nothing without it)"]
        if opted_in and remediation == "false"
        else []
    )  # fmt: skip
    expected = set()
    if remediation == "true":
        expected = {ROUTE53_WRITE}
        expected |= {MAIL_FROM_WRITE} if mail_from == "true" else set()
        expected |= {DKIM_WRITE} if dkim == "true" else set()
    assert found == expected


def test_given_the_defaults_then_the_role_only_reads(member: dict[str, Any]) -> None:
    grants = granted(member_policies(member, {}))

    assert writes(set(grants)) == set()
    assert refusals(member, REQUIRED) == []


@pytest.mark.parametrize("remediation", ["false", "true"])
def test_given_the_reads_then_they_are_the_central_audits_reads_in_the_members_own_account(
    member: dict[str, Any], central: dict[str, Any], remediation: str
) -> None:
    theirs = granted(role_policies(central, {}, "AuditFunction"))
    ours = granted(member_policies(member, {"AllowRemediation": remediation}))

    reads = {a for a in theirs if a.split(":")[0] in ("ses", "route53", "account")}
    assert {a for a in ours if a not in writes(set(ours))} == reads
    for action in reads:
        # Same statements, resources in the account that holds the role (the evaluator's one account).
        assert [(s["Sid"], s["Resource"]) for s in ours[action]] == [(s["Sid"], s["Resource"]) for s in theirs[action]]
    assert ours["account:ListRegions"][0]["Resource"] == f"arn:aws:account::{ACCOUNT}:account"


def test_given_the_adapters_then_every_call_they_make_in_the_member_account_is_granted(member: dict[str, Any]) -> None:
    # The SES, Route 53 and account calls the audit makes through the member session, read from the adapters.
    sources = {
        "ses": (ROOT / "src/core/adapters/ses.py").read_text(encoding="utf-8"),
        "route53": (ROOT / "src/core/adapters/route53.py").read_text(encoding="utf-8"),
        "account": (ROOT / "src/core/adapters/regions.py").read_text(encoding="utf-8"),
    }
    called = {f"ses:{name}" for name in re.findall(r'"((?:Get|List|Set|Put)[A-Za-z]+)"', sources["ses"])}
    for service in ("route53", "account"):
        paginated = re.findall(r'get_paginator\("([a-z_]+)"', sources[service])
        direct = [name for name in re.findall(r"_client\.([a-z_]+)\(", sources[service]) if name != "get_paginator"]
        called |= {f"{service}:{''.join(part.title() for part in name.split('_'))}" for name in paginated + direct}

    everything = {"AllowRemediation": "true", "ConfigureMailFrom": "true", "UpgradeDkimKeys": "true"}
    assert {"route53:ListHostedZones", "account:ListRegions", "ses:ListEmailIdentities"} <= called
    assert called <= set(granted(member_policies(member, everything)))


def test_given_remediation_then_the_record_write_is_the_central_stacks_condition_for_condition(
    member: dict[str, Any], central: dict[str, Any]
) -> None:
    ours = granted(member_policies(member, {"AllowRemediation": "true", "MailFromSubdomain": "mail"}))[ROUTE53_WRITE]
    theirs = [
        s
        for s in granted(role_policies(central, {"DryRun": "false", "MailFromSubdomain": "mail"}, "AuditFunction"))[
            ROUTE53_WRITE
        ]
        if s["Sid"] == "CreateOnlySesRecords"
    ]

    assert ours == theirs
    [statement] = ours
    names = statement["Condition"]["ForAllValues:StringLike"]["route53:ChangeResourceRecordSetsNormalizedRecordNames"]
    assert names == ["*._domainkey.*", "_dmarc.*", "mail.*"]
    assert "DELETE" not in str(statement)


def test_given_the_ses_opt_ins_then_each_is_the_central_stacks_statement(
    member: dict[str, Any], central: dict[str, Any]
) -> None:
    on = {"ConfigureMailFrom": "true", "UpgradeDkimKeys": "true"}
    ours = granted(member_policies(member, {"AllowRemediation": "true", **on}))
    theirs = granted(role_policies(central, {"DryRun": "false", **on}, "AuditFunction"))

    for action in (MAIL_FROM_WRITE, DKIM_WRITE):
        assert ours[action] == theirs[action], action


def test_given_the_trust_policy_then_only_the_central_audit_role_of_the_organisation_may_assume(
    member: dict[str, Any],
) -> None:
    role = deployed(member, REQUIRED)["MemberRole"]["Properties"]

    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Sid": "CentralAuditOnly",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "ArnEquals": {"aws:PrincipalArn": CENTRAL},
                "StringEquals": {"aws:PrincipalOrgID": ORG_ID},
            },
        }
    ]
    assert role["RoleName"] == "ses-guard-member"
    assert role["MaxSessionDuration"] >= 900  # one audit is at most the function's 15 minutes


def test_given_the_role_name_then_it_defaults_and_is_constrained_as_the_central_member_role_name(
    member: dict[str, Any], central: dict[str, Any]
) -> None:
    ours, theirs = member["Parameters"]["RoleName"], central["Parameters"]["MemberRoleName"]

    assert (ours["Default"], ours["AllowedPattern"]) == (theirs["Default"], theirs["AllowedPattern"])
    assert deployed(member, {**REQUIRED, "RoleName": "audit-reader"})["MemberRole"]["Properties"]["RoleName"] == (
        "audit-reader"
    )
    assert member["Parameters"]["MailFromSubdomain"] == central["Parameters"]["MailFromSubdomain"] | {
        "Description": member["Parameters"]["MailFromSubdomain"]["Description"]
    }


@pytest.mark.parametrize(
    ("parameter", "value", "accepted"),
    [
        ("CentralRoleArn", CENTRAL, True),
        ("CentralRoleArn", "arn:aws-us-gov:iam::210987654321:role/path/ses-guard-audit", True),
        ("CentralRoleArn", "arn:aws:iam::210987654321:user/admin", False),
        ("CentralRoleArn", "arn:aws:iam::21098765432:role/x", False),
        ("CentralRoleArn", "210987654321", False),
        ("CentralRoleArn", "", False),
        ("OrganizationId", ORG_ID, True),
        ("OrganizationId", "o-abcdefghij0123456789", True),
        ("OrganizationId", "r-a1b2", False),
        ("OrganizationId", "o-short", False),
        ("OrganizationId", "", False),
    ],
)
def test_given_the_central_role_and_organisation_then_only_well_formed_values_deploy(
    member: dict[str, Any], parameter: str, value: str, accepted: bool
) -> None:
    refused = refusals(member, {**REQUIRED, parameter: value})

    assert (refused == []) is accepted


@pytest.mark.parametrize("hub", ["false", "true"])
def test_given_security_hub_then_the_role_imports_only_into_its_own_accounts_hub_and_only_when_on(
    member: dict[str, Any], hub: str
) -> None:
    grants = granted(member_policies(member, {"SecurityHub": hub}))

    if hub == "false":
        assert "securityhub:BatchImportFindings" not in grants
        return
    [statement] = grants["securityhub:BatchImportFindings"]
    assert statement["Resource"] == f"arn:aws:securityhub:*:{ACCOUNT}:product/{ACCOUNT}/default"
    assert writes(set(grants)) == {"securityhub:BatchImportFindings"}
