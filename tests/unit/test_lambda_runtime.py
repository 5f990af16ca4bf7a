"""The pure parts of `make lambda-check`: the function's settings read from the built template, and the verdicts on
what the emulated runtime answered and imported. The emulated run itself needs the build; `make lambda-check` runs it.
"""

from __future__ import annotations

import copy
from pathlib import PurePath
from typing import Any

import pytest
from tools import lambda_checks as checks
from tools.lambda_template import Stack, TemplateError, function, parameter_values

# The shape `sam build` writes: plain YAML, intrinsics in long form, Globals left for the deployment to apply.
TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "DryRun": {"Type": "String", "Default": "true", "AllowedValues": ["true", "false"]},
        "AuditRegions": {"Type": "String", "Default": "", "AllowedPattern": "^(|all|[a-z0-9-]+(,[a-z0-9-]+)*)$"},
        "DnsTimeout": {"Type": "Number", "Default": 5, "MinValue": 1, "MaxValue": 30},
        "ReservedConcurrency": {"Type": "Number", "Default": 0},
    },
    "Conditions": {
        "WritesAllowed": {"Fn::Equals": [{"Ref": "DryRun"}, "false"]},
        "HasReservedConcurrency": {"Fn::Not": [{"Fn::Equals": [{"Ref": "ReservedConcurrency"}, 0]}]},
    },
    "Globals": {"Function": {"Runtime": "python3.13", "Architectures": ["arm64"], "Timeout": 60,
                             "Environment": {"Variables": {"POWERTOOLS_SERVICE_NAME": "ses-guard"}}}},
    "Resources": {
        "FindingsTopic": {"Type": "AWS::SNS::Topic"},
        "AuditFunction": {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "FunctionName": {"Fn::Sub": "${AWS::StackName}-audit"},
                "Handler": "handlers.audit.handler",
                "Timeout": 900,
                "MemorySize": 512,
                "Environment": {"Variables": {
                    "DRY_RUN": {"Ref": "DryRun"},
                    "AUDIT_REGIONS": {"Ref": "AuditRegions"},
                    "DNS_TIMEOUT": {"Ref": "DnsTimeout"},
                    "FINDINGS_TOPIC_ARN": {"Ref": "FindingsTopic"},
                    "WRITES": {"Fn::If": ["WritesAllowed", "yes", "no"]},
                    "CONCURRENCY": {"Fn::If": ["HasReservedConcurrency", {"Ref": "ReservedConcurrency"},
                                               {"Ref": "AWS::NoValue"}]},
                    "ROLE_HINT": {"Fn::Sub": ["${Stack}:${AWS::Region}", {"Stack": {"Ref": "AWS::StackName"}}]},
                }},
            },
        },
    },
}  # fmt: skip
TOPIC = "arn:aws:sns:eu-west-1:123456789012:ses-guard-FindingsTopic"


def stack(template: dict[str, Any], **overrides: str) -> Stack:
    return Stack(
        "ses-guard", "eu-west-1", "123456789012", parameter_values(template, overrides), {"FindingsTopic": TOPIC}
    )


def test_given_a_built_template_when_the_function_is_read_then_its_environment_is_the_deployed_one():
    fn = function(TEMPLATE, "AuditFunction", stack(TEMPLATE, DryRun="false", AuditRegions="eu-west-1,us-east-1"))

    assert fn.environment == {
        "POWERTOOLS_SERVICE_NAME": "ses-guard",
        "DRY_RUN": "false",
        "AUDIT_REGIONS": "eu-west-1,us-east-1",
        "DNS_TIMEOUT": "5",
        "FINDINGS_TOPIC_ARN": TOPIC,
        "WRITES": "yes",
        "ROLE_HINT": "ses-guard:eu-west-1",
    }
    assert (fn.name, fn.handler, fn.runtime, fn.machine) == ("ses-guard-audit", "handlers.audit.handler",
                                                             "python3.13", "aarch64")  # fmt: skip
    assert (fn.timeout, fn.memory, fn.python_tag) == (900, 512, "cpython-313")


def test_given_the_defaults_when_the_function_is_read_then_conditions_follow_them():
    fn = function(TEMPLATE, "AuditFunction", stack(TEMPLATE, ReservedConcurrency="1"))

    assert (fn.environment["DRY_RUN"], fn.environment["WRITES"], fn.environment["CONCURRENCY"]) == ("true", "no", "1")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"DryRun": "maybe"}, "parameter DryRun='maybe': not one of true, false"),
        ({"AuditRegions": "eu west 1"}, "parameter AuditRegions='eu west 1': does not match"),
        ({"DnsTimeout": "40"}, "parameter DnsTimeout='40': above 30"),
        ({"DnsTimeout": "soon"}, "parameter DnsTimeout='soon': not a number"),
        ({"DnsServers": "127.0.0.1"}, "the template has no parameter DnsServers"),
    ],
)
def test_given_a_parameter_value_cloudformation_would_refuse_when_read_then_it_is_refused_by_name(overrides, message):
    with pytest.raises(TemplateError, match=message.replace("(", r"\(")):
        parameter_values(TEMPLATE, overrides)


def test_given_an_intrinsic_with_no_local_value_when_the_function_is_read_then_the_variable_is_named():
    template = copy.deepcopy(TEMPLATE)
    variables = template["Resources"]["AuditFunction"]["Properties"]["Environment"]["Variables"]
    variables["QUEUE_ARN"] = {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}

    with pytest.raises(TemplateError, match="AuditFunction environment variable QUEUE_ARN: Fn::GetAtt"):
        function(template, "AuditFunction", stack(template))


@pytest.mark.parametrize(
    ("event", "deployed_dry_run", "outcome"),
    [
        ({}, True, checks.Outcome.DRY),
        ({}, False, checks.Outcome.LIVE),
        ({"dry_run": True}, False, checks.Outcome.DRY),
        ({"dry_run": False}, False, checks.Outcome.LIVE),
        ({"dry_run": False}, True, checks.Outcome.REFUSED),
        ({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}, False, checks.Outcome.LIVE),
        ({"target": {"account": "111122223333", "region": "eu-west-1"}}, False, checks.Outcome.REFUSED),
    ],
)
def test_given_an_event_and_a_deployed_mode_when_judged_then_the_mode_is_the_ceiling(event, deployed_dry_run, outcome):
    assert checks.expected_outcome(event, deployed_dry_run) is outcome


@pytest.mark.parametrize(
    ("event", "subject"),
    [({"target": {"account": "111122223333", "region": "eu-west-1"}}, "MEMBER_ROLE_NAME"), ({}, "dry_run")],
)
def test_given_a_refused_event_when_judged_then_the_error_must_name_what_refused_it(event, subject):
    assert checks.refusal_subject(event) == subject


def test_given_a_manual_event_naming_identities_when_scoped_then_only_those_in_its_regions_are_expected():
    account = {("example.com", "eu-west-1"): {"DMARC_POLICY_NONE"}, ("example.com", "us-east-1"): set(),
               ("shop.example.com", "eu-west-1"): {"MAIL_FROM_MX_MISSING"}}  # fmt: skip
    scope = checks.Scope.of({"regions": ["eu-west-1"], "identities": ["Example.COM"]}, ["eu-west-1", "us-east-1"])

    assert scope.expected(account) == {("example.com", "eu-west-1"): {"DMARC_POLICY_NONE"}}
    assert checks.Scope.of({}, ["eu-west-1", "us-east-1"]).expected(account) == account


def summary(**changes: Any) -> dict[str, Any]:
    finding = {"id": "1", "code": "DMARC_MISSING", "severity": "HIGH", "subject": "_dmarc.example.com",
               "identities": [{"identity": "example.com", "region": "eu-west-1"}], "message": "m", "fixable": True,
               "fixed": True, "records": []}  # fmt: skip
    change = {"zone_id": "Z1", "zone_name": "example.com", "action": "CREATE", "name": "_dmarc.example.com",
              "type": "TXT", "values": ['"v=DMARC1; p=none"'], "ttl": 1800, "applied": True,
              "reason": "DMARC_MISSING"}  # fmt: skip
    base = {
        "run_id": "r", "dry_run": False, "regions": ["eu-west-1"], "identities_audited": 1, "report": "",
        "counts": {"findings": 1, "by_severity": {"HIGH": 1, "MEDIUM": 0, "LOW": 0}, "by_code": {"DMARC_MISSING": 1},
                   "fixed": 1, "changes": 1, "changes_applied": 1, "errors": 0},
        "truncated": False, "findings": [finding], "changes": [change], "errors": [],
    }  # fmt: skip
    return {**base, **changes}


def test_given_the_documented_summary_when_checked_then_nothing_is_wrong():
    assert checks.summary_problems(summary()) == []


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ({"errorType": "EventError", "errorMessage": "bad"}, "run_id: missing"),
        (summary(identities_audited=True), "identities_audited: bool, not int"),
        (summary(changes=[{"zone_id": "Z1"}]), "changes[0]: missing action, applied"),
        (summary(errors=[{"scope": "run", "subject": "x", "message": "m"}]), "counts.errors is 0, but 1 are listed"),
        (summary(findings=[]), "counts.findings is 1, but 0 are listed"),
    ],
)
def test_given_an_answer_unlike_the_documented_summary_when_checked_then_the_difference_is_named(answer, problem):
    assert any(p.startswith(problem) for p in checks.summary_problems(answer)), checks.summary_problems(answer)


def test_given_findings_unlike_the_account_when_checked_then_each_identity_says_what_differs():
    expected = {("example.com", "eu-west-1"): {"DMARC_MISSING", "DKIM_RECORD_MISSING"},
                ("good.example.com", "eu-west-1"): set()}  # fmt: skip

    problems = checks.findings_problems(summary(), expected)

    assert problems == [
        "identities_audited is 1, expected 2",
        "example.com (eu-west-1): found nothing too many, ['DKIM_RECORD_MISSING'] missing",
    ]


ZONE = {("/hostedzone/Z1", "example.com.", "TXT"): (300, ('"v=spf1 -all"',))}
DMARC = ("/hostedzone/Z1", "_dmarc.example.com.", "TXT")


def test_given_route53_holding_exactly_the_applied_change_when_compared_then_nothing_is_wrong():
    after = {**ZONE, DMARC: (1800, ('"v=DMARC1; p=none"',))}

    assert checks.zone_problems(ZONE, after, summary()["changes"]) == []


def test_given_route53_changed_beyond_the_summary_when_compared_then_every_difference_is_named():
    after = {("/hostedzone/Z1", "example.com.", "TXT"): (60, ('"v=spf1 -all"',)),
             ("/hostedzone/Z1", "www.example.com.", "CNAME"): (300, ("example.com",))}  # fmt: skip

    problems = checks.zone_problems(ZONE, after, summary()["changes"])

    assert problems == [
        "example.com TXT was altered: (300, ('\"v=spf1 -all\"',)) became (60, ('\"v=spf1 -all\"',))",
        "www.example.com CNAME appeared, but no applied change lists it",
        "_dmarc.example.com TXT is listed as applied but is not in Route 53",
    ]


def test_given_a_dry_run_that_deleted_a_record_when_compared_then_the_deletion_is_named():
    assert checks.zone_problems(ZONE, {}, []) == ["example.com TXT was deleted"]


STDLIB = PurePath("/py/lib/python3.13")
SITE = "/w/.venv-lambda/lib/python3.13/site-packages"
ROOTS = checks.Roots(
    build=PurePath("/w/.aws-sam/build/AuditFunction"),
    stdlib=(STDLIB,),
    site_packages=(PurePath(SITE),),
    client_names=frozenset({"awslambdaric", "runtime_client", "simplejson", "snapshot_restore_py"}),
)
TRACE = f"""\
# {STDLIB}/json/__pycache__/__init__.cpython-313.pyc matches {STDLIB}/json/__init__.py
# code object from '{STDLIB}/json/__pycache__/__init__.cpython-313.pyc'
# extension module '_json' loaded from '{STDLIB}/lib-dynload/_json.cpython-313-x86_64-linux-gnu.so'
# code object from {SITE}/awslambdaric/bootstrap.py
# extension module 'runtime_client' loaded from '{SITE}/runtime_client.cpython-313-x86_64-linux-gnu.so'
# code object from /w/.aws-sam/build/AuditFunction/handlers/audit.py
# code object from /w/.aws-sam/build/AuditFunction/six.py
import 'six' # <_frozen_importlib_external.SourceFileLoader object at 0x7f>
"""


def test_given_an_import_trace_from_the_build_and_the_runtime_when_read_then_nothing_is_stray():
    origin = checks.origins(checks.imported_files(TRACE.splitlines()), ROOTS)

    assert origin == checks.Origins(frozenset({"handlers", "six"}), frozenset({"awslambdaric", "runtime_client"}), ())


@pytest.mark.parametrize(
    "path",
    [
        "/w/.venv/lib/python3.11/site-packages/boto3/__init__.py",  # a project venv
        "/w/.venv-lambda/lib/python3.13/site-packages/boto3/__init__.py",  # the runtime venv, not the client
        "/py/lib/python3.13/site-packages/yaml/__init__.py",  # the interpreter's own site-packages
        "/w/src/core/__init__.py",  # the source tree instead of the build
    ],
)
def test_given_a_module_loaded_from_outside_the_build_when_read_then_it_is_stray(path):
    origin = checks.origins(checks.imported_files([*TRACE.splitlines(), f"# code object from {path}"]), ROOTS)

    assert origin.stray == (path,)


@pytest.mark.parametrize(
    ("relative", "name"),
    [
        ("yaml/_yaml.cpython-313-aarch64-linux-gnu.so", "yaml"),
        ("six.py", "six"),
        ("__pycache__/six.cpython-313.pyc", "six"),
        ("runtime_client.cpython-313-x86_64-linux-gnu.so", "runtime_client"),
    ],
)
def test_given_a_file_under_a_path_entry_when_named_then_its_top_level_module_is_given(relative, name):
    assert checks.top_level(PurePath(relative)) == name


@pytest.mark.parametrize(
    ("header", "machine"),
    [
        (b"\x7fELF\x02\x01\x01" + bytes(9) + b"\x03\x00\xb7\x00", "aarch64"),
        (b"\x7fELF\x02\x01\x01" + bytes(9) + b"\x03\x00\x3e\x00", "x86_64"),
        (b"#!/bin/sh\n" + bytes(10), ""),
    ],
)
def test_given_an_elf_header_when_read_then_the_machine_of_its_code_is_given(header, machine):
    assert checks.elf_machine(header) == machine


def test_given_a_host_machine_when_the_emulator_is_chosen_then_it_is_the_one_for_that_machine():
    assert (checks.rie_name("x86_64"), checks.rie_name("aarch64")) == ("aws-lambda-rie-x86_64", "aws-lambda-rie-arm64")
    with pytest.raises(ValueError, match="riscv64"):
        checks.rie_name("riscv64")
