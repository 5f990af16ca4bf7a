"""template.yaml in organisation mode: the two org functions, the state machine and its definition, the audit
function's member-role grant, and a single-account stack (OrgMode=false) that deploys exactly as before."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

import handlers.org
from core.adapters.orgresults import targets_key
from core.kernel.errors import ConfigError
from core.kernel.events import parse_event
from core.kernel.org import Target
from core.kernel.settings import Settings
from tests.iam_policies import ACCOUNT, REGION, deployed, function_properties, load_template, refusals, role_policies
from tests.state_machine import definition, lint_template

ROOT = Path(__file__).resolve().parents[2]
ORG = {"OrgMode": "true", "AuditRegions": "eu-west-1,us-east-1"}
BUCKET_ARN = "arn:aws:s3:::ses-guard-reportbucket"  # what tests/iam_policies.py makes of ReportBucket.Arn
BUCKET = "ses-guard-reportbucket"
MACHINE_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:ses-guard-org"  # stack name ses-guard
ORG_RESOURCES = {
    "ListTargetsFunction",
    "ListTargetsFunctionLogGroup",
    "SummariseFunction",
    "SummariseFunctionLogGroup",
    "OrgRunStateMachine",
    "OrgRunLogGroup",
    "OrgRunFailedAlarm",
}
LAMBDA_RETRIED = {
    "Lambda.TooManyRequestsException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")


@pytest.fixture(scope="module")
def machine(template: dict[str, Any]) -> dict[str, Any]:
    return definition(template, ORG)


def grants(documents: list[dict[str, Any]]) -> dict[str, set[str]]:
    """action -> the resources it is allowed on."""
    found: dict[str, set[str]] = {}
    for document in documents:
        for statement in document["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
            resources = [statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"]
            for action in actions:
                found.setdefault(action, set()).update(resources)
    return found


def statements_of(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [statement for document in documents for statement in document["Statement"]]


# --- a single-account stack is the stack it was -------------------------------------------------------------


@pytest.mark.parametrize(
    "parameters",
    [{}, {"DryRun": "false"}, {"SecurityHub": "true", "ReportsInbox": "inbox/"}, {"MemberRoleName": "other-role"}],
    ids=["defaults", "live", "features", "member-role-named"],
)
def test_given_org_mode_off_then_no_org_resource_is_deployed_and_nothing_org_reaches_a_role(
    template: dict[str, Any], parameters: dict[str, str]
) -> None:
    resources = deployed(template, parameters)

    assert not set(resources) & ORG_RESOURCES
    assert not [a for a in grants(role_policies(template, parameters, "AuditFunction")) if a.startswith("sts:")]
    assert [s["Sid"] for s in statements_of(role_policies(template, parameters, "ScheduleRole"))] == [
        "InvokeAudit",
        "DeadLetters",
        "EncryptDeadLetters",
    ]
    rules = resources["ReportBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert [rule["Prefix"] for rule in rules] == ["reports/", "dmarc/"]
    environment = function_properties(template, parameters)["Environment"]["Variables"]
    assert (environment["MEMBER_ROLE_NAME"], environment["ORG_ACCOUNTS"]) == ("", "")
    assert not Settings.from_env({"AWS_REGION": REGION, **environment}).org_mode


@pytest.mark.parametrize("state", ["ENABLED", "DISABLED"])
def test_given_either_mode_then_exactly_one_schedule_runs(template: dict[str, Any], state: str) -> None:
    single = function_properties(template, {"ScheduleState": state})["Events"]["Schedule"]["Properties"]
    org = deployed(template, {**ORG, "ScheduleState": state})

    assert single["State"] == state
    assert org["AuditFunction"]["Properties"]["Events"]["Schedule"]["Properties"]["State"] == "DISABLED"
    machine_schedule = org["OrgRunStateMachine"]["Properties"]["Events"]["Schedule"]["Properties"]
    assert machine_schedule["State"] == state
    assert machine_schedule["ScheduleExpression"] == single["ScheduleExpression"]
    assert machine_schedule["Input"] == "{}"
    assert machine_schedule["RoleArn"] == single["RoleArn"]


# --- parameters and rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parameters", "refused"),
    [
        ({"OrgMode": "true"}, []),
        ({"OrgMode": "true", "OrgAccounts": "123456789012,210987654321"}, []),
        ({"OrgAccounts": "123456789012"}, ["OrgAccountsNeedOrgMode"]),
        ({"OrgMode": "true", "AuditRegions": "all"}, ["OrgModeNamesRegions"]),
        ({"AuditRegions": "all"}, []),
        ({"OrgMode": "true", "OrgMaxConcurrency": "0"}, ["OrgMaxConcurrency"]),
        ({"OrgMode": "true", "OrgToleratedFailurePercentage": "101"}, ["OrgToleratedFailurePercentage"]),
        ({"OrgMode": "yes"}, ["OrgMode"]),
    ],
)
def test_given_org_parameters_then_the_stack_refuses_what_cannot_work(
    template: dict[str, Any], parameters: dict[str, str], refused: list[str]
) -> None:
    assert [problem.split(":")[0] for problem in refusals(template, parameters)] == refused


def test_given_all_regions_then_settings_refuse_them_in_org_mode_as_the_stack_does(template: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="all"):
        Settings.from_env({"AWS_REGION": REGION, "AUDIT_REGIONS": "all", "MEMBER_ROLE_NAME": "ses-guard-member"})
    assert refusals(template, {"OrgMode": "true", "AuditRegions": "all"})


# --- the org functions ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "handler", "log_group"),
    [
        ("ListTargetsFunction", "list_targets", "/aws/lambda/ses-guard-org-targets"),
        ("SummariseFunction", "summarise", "/aws/lambda/ses-guard-org-summarise"),
    ],
)
def test_given_an_org_function_then_it_runs_like_the_audit_function_with_its_own_log_group(
    template: dict[str, Any], function: str, handler: str, log_group: str
) -> None:
    resources = deployed(template, ORG)
    properties = resources[function]["Properties"]
    audit = resources["AuditFunction"]["Properties"]

    assert properties["Handler"] == f"handlers.org.{handler}"
    assert callable(getattr(handlers.org, handler))
    assert properties["CodeUri"] == audit["CodeUri"] == "src/"
    assert {"Runtime", "Architectures", "Tracing"}.isdisjoint(properties)  # the Globals': python3.13 on arm64, traced
    assert properties["Timeout"] < 900
    [group_name] = [name for name in resources if name == f"{function}LogGroup"]
    group = resources[group_name]["Properties"]
    assert properties["LoggingConfig"] == {"LogGroup": group["LogGroupName"]}  # Ref of a log group is its name
    assert group["LogGroupName"] == log_group == f"/aws/lambda/{properties['FunctionName']}"
    assert group["RetentionInDays"] == resources["AuditFunctionLogGroup"]["Properties"]["RetentionInDays"]


@pytest.mark.parametrize("function", ["AuditFunction", "ListTargetsFunction", "SummariseFunction"])
def test_given_org_mode_then_each_function_environment_is_settings_in_org_mode(
    template: dict[str, Any], function: str
) -> None:
    parameters = {**ORG, "OrgAccounts": "123456789012, 210987654321", "MemberRoleName": "audit-reader"}
    environment = function_properties(template, parameters, function)["Environment"]["Variables"]

    settings = Settings.from_env({"AWS_REGION": REGION, **environment})

    assert settings.org_mode
    assert settings.member_role_name == "audit-reader"
    assert settings.org_accounts == ("123456789012", "210987654321")
    assert settings.regions == ("eu-west-1", "us-east-1")
    assert settings.report_bucket == BUCKET


def test_given_list_targets_then_it_may_list_accounts_and_write_under_org_only(template: dict[str, Any]) -> None:
    assert grants(role_policies(template, ORG, "ListTargetsFunction")) == {
        "organizations:ListAccounts": {"*"},  # the action defines no resource type
        "s3:PutObject": {f"{BUCKET_ARN}/org/*"},
    }


def test_given_summarise_then_it_reads_the_run_results_writes_the_org_report_and_publishes(
    template: dict[str, Any],
) -> None:
    policies = role_policies(template, ORG, "SummariseFunction")
    assert grants(policies) == {
        "s3:GetObject": {f"{BUCKET_ARN}/org-results/*", f"{BUCKET_ARN}/org/*"},
        "s3:ListBucket": {BUCKET_ARN},
        "s3:PutObject": {f"{BUCKET_ARN}/org/*"},
        "sns:Publish": {f"arn:aws:sns:{REGION}:{ACCOUNT}:FindingsTopic"},
        "kms:GenerateDataKey": {f"arn:aws:kms:{REGION}:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000"},
        "kms:Decrypt": {f"arn:aws:kms:{REGION}:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000"},
    }
    [listing] = [s for s in statements_of(policies) if s["Action"] == "s3:ListBucket"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": "org-results/*"}}  # the Map's results only


def test_given_the_defaults_then_no_share_of_crashed_targets_stops_the_map(template: dict[str, Any]) -> None:
    # A crashed child execution is already a failed target in the summary: stopping early only leaves targets out.
    assert template["Parameters"]["OrgToleratedFailurePercentage"]["Default"] == 100


def test_given_org_mode_then_the_audit_function_may_assume_the_member_role_only_within_its_organisation(
    template: dict[str, Any],
) -> None:
    parameters = {**ORG, "MemberRoleName": "audit-reader"}
    policies = role_policies(template, parameters, "AuditFunction")
    [assume] = [s for s in statements_of(policies) if s["Sid"] == "AssumeMemberRoles"]

    assert assume == {
        "Sid": "AssumeMemberRoles",
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Resource": "arn:aws:iam::*:role/audit-reader",
        # A policy variable, not a CloudFormation substitution: the caller's own organisation at request time.
        "Condition": {"StringEquals": {"aws:ResourceOrgID": "${aws:PrincipalOrgID}"}},
    }
    single = grants(role_policies(template, {"MemberRoleName": "audit-reader"}, "AuditFunction"))
    org = grants(role_policies(template, parameters, "AuditFunction"))
    assert {action: org[action] for action in single} == single  # org mode adds, never widens
    assert set(org) - set(single) == {"sts:AssumeRole"}


def test_given_the_outputs_then_the_member_template_gets_the_audit_role_and_the_run_its_state_machine(
    template: dict[str, Any],
) -> None:
    outputs = template["Outputs"]

    assert outputs["AuditRoleArn"]["Value"] == {"Fn::GetAtt": ["AuditFunctionRole", "Arn"]}  # SAM's <function>Role
    assert "Condition" not in outputs["AuditRoleArn"]
    assert outputs["OrgRunStateMachineArn"]["Condition"] == "OrgMode"  # the state machine's own condition
    assert template["Resources"]["OrgRunStateMachine"]["Condition"] == "OrgMode"
    assert outputs["OrgRunStateMachineArn"]["Value"] == {"Ref": "OrgRunStateMachine"}


def test_given_org_mode_then_the_run_files_expire_with_the_reports(template: dict[str, Any]) -> None:
    rules = deployed(template, {**ORG, "ReportRetentionDays": "30"})["ReportBucket"]["Properties"][
        "LifecycleConfiguration"
    ]["Rules"]

    expiry = {rule["Prefix"]: rule["ExpirationInDays"] for rule in rules}
    assert expiry == {"reports/": "30", "dmarc/": 731, "org/": "30", "org-results/": "30"}
    # Each target's own report is under reports/<account>/..., so it expires with the single-account reports.


# --- the state machine ---------------------------------------------------------------------------------------


def test_given_the_state_machine_then_it_is_a_logged_traced_standard_workflow_with_a_fixed_name(
    template: dict[str, Any],
) -> None:
    resources = deployed(template, ORG)
    properties = resources["OrgRunStateMachine"]["Properties"]

    assert resources["OrgRunStateMachine"]["Type"] == "AWS::Serverless::StateMachine"
    assert properties["Type"] == "STANDARD"
    assert properties["Name"] == "ses-guard-org"
    assert properties["Tracing"] == {"Enabled": True}
    assert template["Globals"]["Function"]["Tracing"] == "Active"
    [destination] = properties["Logging"]["Destinations"]
    assert destination["CloudWatchLogsLogGroup"]["LogGroupArn"].startswith("arn:aws:logs:")
    assert resources["OrgRunLogGroup"]["Properties"]["LogGroupName"] == "/aws/vendedlogs/states/ses-guard-org"
    assert resources["OrgRunLogGroup"]["Properties"]["RetentionInDays"] == "90"


def transitions(states: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for name, state in states.items():
        for target in [state.get("Next"), *[c["Next"] for c in state.get("Catch", [])]]:
            if target:
                yield name, target


def reachable(start: str, states: dict[str, Any]) -> set[str]:
    seen, todo = set(), [start]
    edges = list(transitions(states))
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += [target for source, target in edges if source == name]
    return seen


def test_given_the_definition_then_every_transition_lands_on_a_state_and_every_state_is_reached(
    machine: dict[str, Any],
) -> None:
    # What cfn-lint's schema does not check: state names, transitions, ends.
    for states, start in (
        (machine["States"], machine["StartAt"]),
        (machine["States"]["AuditTargets"]["ItemProcessor"]["States"], "AuditTarget"),
    ):
        assert {target for _, target in transitions(states)} <= set(states)
        assert reachable(start, states) == set(states)
        assert [name for name, s in states.items() if ("Next" in s) == (s.get("End") is True)] == []
    assert machine["StartAt"] == "ListTargets"
    assert reachable("ListTargets", machine["States"]) == {"ListTargets", "AuditTargets", "MapFailed", "Summarise"}


def tasks(machine: dict[str, Any]) -> dict[str, dict[str, Any]]:
    inner = machine["States"]["AuditTargets"]["ItemProcessor"]["States"]
    return {name: s for name, s in {**machine["States"], **inner}.items() if s["Type"] == "Task"}


def test_given_each_task_then_it_invokes_one_function_and_retries_lambda_throttling_with_jittered_backoff(
    machine: dict[str, Any],
) -> None:
    found = tasks(machine)

    assert {name: task["Parameters"]["FunctionName"].rsplit(":", 1)[1] for name, task in found.items()} == {
        "ListTargets": "ListTargetsFunction.Arn",
        "AuditTarget": "AuditFunction.Arn",
        "Summarise": "SummariseFunction.Arn",
    }
    for task in found.values():
        assert task["Resource"] == "arn:aws:states:::lambda:invoke"
        [retry] = task["Retry"]
        assert set(retry["ErrorEquals"]) == LAMBDA_RETRIED
        assert retry["JitterStrategy"] == "FULL"
        assert retry["BackoffRate"] > 1
        assert retry["IntervalSeconds"] >= 1
        assert retry["MaxAttempts"] >= 3
        assert retry["IntervalSeconds"] < retry["MaxDelaySeconds"] <= 300


def test_given_each_task_then_its_timeout_outlasts_its_function(
    template: dict[str, Any], machine: dict[str, Any]
) -> None:
    resources = deployed(template, ORG)
    functions = {"ListTargets": "ListTargetsFunction", "AuditTarget": "AuditFunction", "Summarise": "SummariseFunction"}

    for name, task in tasks(machine).items():
        # The function times out first and says so; the Task's own timeout only guards a lost invocation.
        assert task["TimeoutSeconds"] > resources[functions[name]]["Properties"]["Timeout"], name


def test_given_the_distributed_map_then_it_reads_the_targets_file_and_writes_results_to_the_report_bucket(
    machine: dict[str, Any],
) -> None:
    audit = machine["States"]["AuditTargets"]

    assert audit["Type"] == "Map"
    assert audit["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert audit["ItemReader"] == {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSON"},
        "Parameters": {"Bucket": BUCKET, "Key.$": "$.listed.key"},
    }
    assert audit["ResultWriter"] == {
        "Resource": "arn:aws:states:::s3:putObject",
        # Per execution: a failed Map's Catch gets no manifest location, so Summarise lists the run's own prefix.
        "Parameters": {"Bucket": BUCKET, "Prefix.$": "States.Format('org-results/{}', $$.Execution.Name)"},
    }
    assert audit["ItemSelector"] == {"target.$": "$$.Map.Item.Value", "org_run.$": "$$.Execution.Name"}
    assert audit["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.map_error", "Next": "MapFailed"}]
    # ListTargets' result is where the Map finds its key, and its limits.
    selected = machine["States"]["ListTargets"]["ResultSelector"]
    assert machine["States"]["ListTargets"]["ResultPath"] == "$.listed"
    assert selected["key.$"] == "$.Payload.key"
    assert audit["MaxConcurrencyPath"] == "$.listed.max_concurrency"
    assert audit["ToleratedFailurePercentagePath"] == "$.listed.tolerated_failure_percentage"


@pytest.mark.parametrize(("concurrency", "tolerated"), [("10", "10"), ("250", "0"), ("1", "100")])
def test_given_the_limits_then_they_reach_the_map_as_numbers(
    template: dict[str, Any], concurrency: str, tolerated: str
) -> None:
    parameters = {**ORG, "OrgMaxConcurrency": concurrency, "OrgToleratedFailurePercentage": tolerated}
    selected = definition(template, parameters)["States"]["ListTargets"]["ResultSelector"]

    # A substitution is always text inside a JSON string; States.StringToJson turns it back into a number.
    numbers = {}
    for field in ("max_concurrency.$", "tolerated_failure_percentage.$"):
        match = re.fullmatch(r"States\.StringToJson\('([^']*)'\)", selected[field])
        assert match, selected[field]
        numbers[field] = json.loads(match.group(1))  # what the intrinsic makes of its argument
    assert numbers == {"max_concurrency.$": int(concurrency), "tolerated_failure_percentage.$": int(tolerated)}
    assert all(type(number) is int for number in numbers.values())


def test_given_an_item_then_the_child_gets_the_audit_functions_target_event(template: dict[str, Any]) -> None:
    settings = Settings.from_env(
        {"AWS_REGION": REGION, **function_properties(template, ORG)["Environment"]["Variables"]}
    )
    item = Target("123456789012", "us-east-1").to_dict()  # an element of targets.json
    event = {"target": item, "org_run": "3f2c1a9e-0b7d-4c35-9a61-2d1f0e8b7c64"}  # what ItemSelector builds

    request = parse_event(
        event, writes_allowed=not settings.dry_run, configured_regions=settings.regions, org_mode=settings.org_mode
    )

    assert request.target == Target("123456789012", "us-east-1")
    assert request.org_run == event["org_run"]


def test_given_the_role_then_it_invokes_exactly_the_functions_the_definition_invokes(
    template: dict[str, Any], machine: dict[str, Any]
) -> None:
    granted = grants(role_policies(template, ORG, "OrgRunStateMachine"))

    invoked = {task["Parameters"]["FunctionName"] for task in tasks(machine).values()}
    assert granted["lambda:InvokeFunction"] == invoked


def test_given_the_role_then_it_reaches_the_targets_file_the_results_and_its_own_child_executions_only(
    template: dict[str, Any],
) -> None:
    granted = grants(role_policies(template, ORG, "OrgRunStateMachine"))

    assert granted["s3:GetObject"] == {f"{BUCKET_ARN}/org/*/targets.json", f"{BUCKET_ARN}/org-results/*"}
    for action in ("s3:PutObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"):
        assert granted[action] == {f"{BUCKET_ARN}/org-results/*"}, action
    assert fnmatchcase(f"{BUCKET_ARN}/{targets_key('3f2c1a9e-0b7d-4c35')}", f"{BUCKET_ARN}/org/*/targets.json")
    assert granted["states:StartExecution"] == {MACHINE_ARN}
    executions = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:ses-guard-org/*"
    assert granted["states:DescribeExecution"] == granted["states:StopExecution"] == {executions}
    # A child execution of the Map: <state machine name>/<map label>:<id>.
    assert fnmatchcase(executions.replace("/*", "/AuditTargets:0f1e2d3c"), executions)
    s3_or_states = {a for a in granted if a.split(":")[0] in ("s3", "states", "lambda")}
    assert s3_or_states == {
        "lambda:InvokeFunction",
        "s3:GetObject",
        "s3:PutObject",
        "s3:ListMultipartUploadParts",
        "s3:AbortMultipartUpload",
        "states:StartExecution",
        "states:DescribeExecution",
        "states:StopExecution",
    }


def test_given_the_schedule_then_its_role_starts_the_state_machine_named_by_the_machine(
    template: dict[str, Any],
) -> None:
    statements = statements_of(role_policies(template, ORG, "ScheduleRole"))
    machine_name = deployed(template, ORG)["OrgRunStateMachine"]["Properties"]["Name"]

    [start] = [s for s in statements if s["Sid"] == "StartOrgRun"]
    assert start["Action"] == "states:StartExecution"
    assert start["Resource"] == MACHINE_ARN.replace("ses-guard-org", machine_name)


def test_given_the_lint_template_then_it_holds_each_definition_concrete_and_substituted(
    template: dict[str, Any],
) -> None:
    linted = lint_template(template)
    text = json.dumps(linted)

    [(name, resource)] = linted["Resources"].items()
    assert (name, resource["Type"]) == ("OrgRunStateMachine", "AWS::StepFunctions::StateMachine")
    assert resource["Properties"]["Definition"]["StartAt"] == "ListTargets"
    assert "Fn::" not in text
    assert '"Ref"' not in text
    assert "${" not in text
