"""The organisation run's state machine, walked in-process as Step Functions runs it: the definition is the one
template.yaml deploys (org mode), each Task calls the handler its function names with the environment the template
gives that function, the Distributed Map reads the targets file ListTargets wrote and writes its results in the
ResultWriter format, and Summarise reads them back. Moto's server stands in for AWS; DNS is on loopback.

The walker covers what this definition uses (JSONPath and context paths, `.$` parameters, States.StringToJson,
States.Format, ResultSelector, ResultPath, OutputPath, Catch, Pass, Task with lambda:invoke, a Distributed Map with
ItemReader, ItemSelector, tolerated failures and ResultWriter) and refuses anything else, so a definition that grows
past it fails here instead of being walked wrongly. A failed Map writes its results and manifest before it fails,
as ResultWriter does for the child executions that finished. Retries are not walked: nothing is throttled in-process.
"""

from __future__ import annotations

import importlib
import json
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from moto.core.models import DEFAULT_ACCOUNT_ID

from handlers import audit
from handlers import org as org_handlers
from tests.iam_policies import deployed, load_template
from tests.integration import test_org
from tests.integration.test_org import BUCKET, EU, US, Org
from tests.lambda_context import LambdaContext
from tests.state_machine import definition

ROOT = Path(__file__).resolve().parents[2]
# The organisation test_org.py builds (the management account, three members, gamma without the member role, and a
# suspended one; two regions), shared as a fixture.
org = test_org.org
PLACEHOLDER_BUCKET = "ses-guard-reportbucket"  # what tests/iam_policies.py makes of the ReportBucket
MACHINE = f"arn:aws:states:{EU}:{DEFAULT_ACCOUNT_ID}:stateMachine:ses-guard-org"
EXECUTIONS = f"arn:aws:states:{EU}:{DEFAULT_ACCOUNT_ID}:execution:ses-guard-org/AuditTargets"  # a child's, less its id
MAP_RUNS = f"arn:aws:states:{EU}:{DEFAULT_ACCOUNT_ID}:mapRun:ses-guard-org/AuditTargets"
_STRING_TO_JSON = re.compile(r"^States\.StringToJson\('([^']*)'\)$")
_FORMAT = re.compile(r"^States\.Format\('([^']*)'((?:\s*,\s*\$[^,)]*)*)\)$")


class StatesError(Exception):
    """A state failed with a Step Functions error name, as a Catch sees it."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}")
        self.error, self.cause = error, cause


def path(value: Any, reference: str, context: dict[str, Any]) -> Any:
    root, rest = (context, reference[2:]) if reference.startswith("$$") else (value, reference[1:])
    for part in [p for p in rest.split(".") if p]:
        if not isinstance(root, dict) or part not in root:
            raise StatesError("States.Runtime", f"{reference} is not in the input")
        root = root[part]
    return root


def evaluated(expression: str, value: Any, context: dict[str, Any]) -> Any:
    match = _STRING_TO_JSON.match(expression)
    if match:
        return json.loads(match.group(1))
    match = _FORMAT.match(expression)
    if match:  # States.Format('text {} text', $.path, ...): each {} by the next argument's value
        template, arguments = match.group(1), [a.strip() for a in match.group(2).split(",") if a.strip()]
        if template.count("{}") != len(arguments) or "\\" in template:
            raise StatesError("States.Runtime", f"{expression}: arguments do not match the template")
        return template.replace("{}", "{!s}").format(*(path(value, a, context) for a in arguments))
    if expression.startswith("States."):
        raise NotImplementedError(f"intrinsic not walked here: {expression}")
    return path(value, expression, context)


def parameters(template: Any, value: Any, context: dict[str, Any]) -> Any:
    if isinstance(template, list):
        return [parameters(item, value, context) for item in template]
    if not isinstance(template, dict):
        return template
    return {
        key.removesuffix(".$"): evaluated(item, value, context)
        if key.endswith(".$")
        else parameters(item, value, context)
        for key, item in template.items()
    }


def with_result(state: dict[str, Any], value: Any, result: Any, context: dict[str, Any]) -> Any:
    if "ResultSelector" in state:
        result = parameters(state["ResultSelector"], result, context)
    result_path = state.get("ResultPath", "$")
    if result_path is None:
        output = value
    elif result_path == "$":
        output = result
    else:
        output = json.loads(json.dumps(value))
        *parents, last = result_path[2:].split(".")
        here = output
        for part in parents:
            here = here.setdefault(part, {})
        here[last] = result
    return path(output, state["OutputPath"], context) if "OutputPath" in state else output


class Walk:
    """One execution of the org run's state machine against the template's functions."""

    def __init__(self, template: dict[str, Any], overrides: dict[str, str], world: Org, monkeypatch: Any) -> None:
        self.machine = definition(template, overrides)
        self.resources = deployed(template, overrides)
        self.world = world
        self.monkeypatch = monkeypatch
        self.settings_names = {
            name
            for resource in self.resources.values()
            if resource["Type"] == "AWS::Serverless::Function"
            for name in resource["Properties"].get("Environment", {}).get("Variables", {})
        }
        self.invoked: list[str] = []
        self.after_list_targets: Callable[[dict[str, Any]], None] = lambda listed: None

    def run(self, name: str) -> Any:
        context = {"Execution": {"Name": name}}
        return self.states(self.machine, {}, context)

    def states(self, machine: dict[str, Any], value: Any, context: dict[str, Any]) -> Any:
        name = machine["StartAt"]
        while True:
            state = machine["States"][name]
            try:
                value = self.state(name, state, value, context)
            except StatesError as failure:
                catcher = next(
                    (c for c in state.get("Catch", []) if {"States.ALL", failure.error} & set(c["ErrorEquals"])), None
                )
                if catcher is None:
                    raise
                value = with_result(
                    {"ResultPath": catcher.get("ResultPath", "$")},
                    value,
                    {"Error": failure.error, "Cause": failure.cause},
                    context,
                )
                name = catcher["Next"]
                continue
            if state.get("End"):
                return value
            name = state["Next"]

    def state(self, name: str, state: dict[str, Any], value: Any, context: dict[str, Any]) -> Any:
        if state["Type"] == "Pass":
            return with_result(state, value, parameters(state.get("Parameters", value), value, context), context)
        if state["Type"] == "Task":
            result = self.task(state, parameters(state["Parameters"], value, context))
            output = with_result(state, value, result, context)
            if name == "ListTargets":
                self.after_list_targets(output["listed"])
            return output
        if state["Type"] == "Map":
            return with_result(state, value, self.distributed_map(state, value, context), context)
        raise NotImplementedError(f"state type not walked here: {state['Type']}")

    def task(self, state: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
        assert state["Resource"] == "arn:aws:states:::lambda:invoke"
        assert set(request) == {"FunctionName", "Payload"}
        [function] = [
            logical
            for logical, resource in self.resources.items()
            if resource["Type"] == "AWS::Serverless::Function" and request["FunctionName"].endswith(f":{logical}.Arn")
        ]
        self.invoked.append(function)
        module, attribute = self.resources[function]["Properties"]["Handler"].rsplit(".", 1)
        handler = getattr(importlib.import_module(module), attribute)
        payload = json.loads(json.dumps(request["Payload"]))  # what Lambda receives: JSON
        with self.environment(function):
            try:
                answer = handler(payload, LambdaContext(function_name=function))
            except Exception as err:  # a function error, as Lambda reports it to Step Functions
                cause = {"errorMessage": str(err), "errorType": type(err).__name__, "stackTrace": []}
                raise StatesError(type(err).__name__, json.dumps(cause)) from None
        return {"StatusCode": 200, "ExecutedVersion": "$LATEST", "Payload": json.loads(json.dumps(answer))}

    @contextmanager
    def environment(self, function: str) -> Iterator[None]:
        """Exactly the function's environment from the template, with the template's bucket as the test's."""
        variables = self.resources[function]["Properties"]["Environment"]["Variables"]
        with self.monkeypatch.context() as patch:
            for name in self.settings_names:
                patch.delenv(name, raising=False)
            for name, value in variables.items():
                patch.setenv(name, self.real(str(value)))
            patch.setenv("AWS_REGION", EU)
            audit.load_settings.cache_clear()
            org_handlers.load_settings.cache_clear()
            yield
        audit.load_settings.cache_clear()
        org_handlers.load_settings.cache_clear()

    def real(self, value: str) -> str:
        topic_placeholder = f"arn:aws:sns:{EU}:123456789012:FindingsTopic"
        return {PLACEHOLDER_BUCKET: BUCKET, topic_placeholder: self.world.topic}.get(value, value)

    def distributed_map(self, state: dict[str, Any], value: Any, context: dict[str, Any]) -> dict[str, Any]:
        assert state["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
        reader = state["ItemReader"]
        assert reader["Resource"] == "arn:aws:states:::s3:getObject"
        assert reader["ReaderConfig"] == {"InputType": "JSON"}
        where = parameters(reader["Parameters"], value, context)
        s3 = self.world.aws.client("s3")
        items = json.loads(s3.get_object(Bucket=self.real(where["Bucket"]), Key=where["Key"])["Body"].read())
        concurrency = path(value, state["MaxConcurrencyPath"], context)
        tolerated = path(value, state["ToleratedFailurePercentagePath"], context)
        assert isinstance(concurrency, int)
        assert isinstance(tolerated, int)
        assert 0 <= tolerated <= 100
        map_run = str(uuid.uuid4())
        records: dict[str, list[dict[str, Any]]] = {"SUCCEEDED": [], "FAILED": []}
        for index, item in enumerate(items):
            item_context = {**context, "Map": {"Item": {"Value": item, "Index": index}}}
            child_input = parameters(state["ItemSelector"], value, item_context)
            child = {"Execution": {"Name": str(uuid.uuid4())}}
            record = {
                "ExecutionArn": f"{EXECUTIONS}:{uuid.uuid4()}",
                "Input": json.dumps(child_input),
                "InputDetails": {"Included": True},
                "Name": child["Execution"]["Name"],
                "StateMachineArn": f"{MACHINE}/AuditTargets",
                "StartDate": "2026-12-01T06:00:00.000Z",
                "StopDate": "2026-12-01T06:01:00.000Z",
            }
            try:
                output = self.states(state["ItemProcessor"], child_input, child)
                records["SUCCEEDED"].append(
                    {**record, "Status": "SUCCEEDED", "Output": json.dumps(output), "OutputDetails": {"Included": True}}
                )
            except StatesError as failure:
                records["FAILED"].append({**record, "Status": "FAILED", "Error": failure.error, "Cause": failure.cause})
        manifest_key = self.write_results(state["ResultWriter"], value, context, map_run, records)
        if items and 100 * len(records["FAILED"]) > tolerated * len(items):
            raise StatesError(
                "States.ExceedToleratedFailureThreshold", "The specified tolerated failure threshold was exceeded"
            )
        return {"MapRunArn": f"{MAP_RUNS}:{map_run}",
                "ResultWriterDetails": {"Bucket": self.real(BUCKET), "Key": manifest_key}}  # fmt: skip

    def write_results(
        self, writer: dict[str, Any], value: Any, context: dict[str, Any], map_run: str, records: dict[str, Any]
    ) -> str:
        """ResultWriter's files: one per status (when any), and the manifest listing them."""
        assert writer["Resource"] == "arn:aws:states:::s3:putObject"
        where = parameters(writer["Parameters"], value, context)
        bucket, folder = self.real(where["Bucket"]), f"{where['Prefix']}/{map_run}"
        s3 = self.world.aws.client("s3")
        files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
        for status, entries in records.items():
            if entries:
                body = json.dumps(entries).encode()
                s3.put_object(Bucket=bucket, Key=f"{folder}/{status}_0.json", Body=body)
                files[status].append({"Key": f"{folder}/{status}_0.json", "Size": len(body)})
        manifest = {"DestinationBucket": bucket, "MapRunArn": f"{MAP_RUNS}:{map_run}", "ResultFiles": files}
        s3.put_object(Bucket=bucket, Key=f"{folder}/manifest.json", Body=json.dumps(manifest).encode())
        return f"{folder}/manifest.json"


@pytest.fixture
def walk(org, dns_server, monkeypatch) -> Callable[..., Walk]:
    template = load_template(ROOT / "template.yaml")

    def make(**parameters: str) -> Walk:
        overrides = {
            "OrgMode": "true",
            "AuditRegions": f"{EU},{US}",
            "DnsNameservers": dns_server.nameserver,
            "SesMaxRps": "1000",
            "DnsTimeout": "1",  # the loopback server answers at once or never
            **parameters,
        }
        return Walk(template, overrides, org, monkeypatch)

    return make


def test_given_an_organisation_when_the_state_machine_runs_then_every_target_is_audited_and_one_message_sent(
    org,
    walk,
):
    run = "2026-12-01-org"
    machine = walk()

    summary = machine.run(run)

    assert machine.invoked == ["ListTargetsFunction"] + ["AuditFunction"] * 8 + ["SummariseFunction"]
    targets = org.read(f"org/{run}/targets.json")
    assert sorted((t["account"], t["region"]) for t in targets) == sorted((a, r) for a in org.active for r in (EU, US))
    # The Map's results, in the ResultWriter layout the summary read back.
    [manifest] = [key for key in org.objects(f"org-results/{run}/") if key.endswith("/manifest.json")]
    files = org.read(manifest)["ResultFiles"]
    assert (len(files["SUCCEEDED"]), files["FAILED"]) == (1, [])
    executions = org.read(files["SUCCEEDED"][0]["Key"])
    assert {json.loads(e["Input"])["org_run"] for e in executions} == {run}
    # Every target's own report under its account; gamma, without the member role, failed as a target, not the run.
    assert (summary["targets"], summary["failed"]) == (8, 2)
    failed = {(t["account"], t["region"]) for t in summary["worst"] if t["status"] == "failed"}
    assert failed == {(org.gamma, EU), (org.gamma, US)}
    for target in summary["worst"]:
        if target["status"] == "ok":
            assert target["report"].startswith(f"s3://{BUCKET}/reports/{target['account']}/{target['region']}/")
    assert summary["report"] == f"s3://{BUCKET}/org/{run}/report.json"
    assert org.read(f"org/{run}/report.json")["targets"] == 8
    assert org.aws.calls.count(operation="AssumeRole") == 8
    assert org.aws.calls.count(operation="Publish") == 1
    assert len(json.dumps(summary).encode()) < 256 * 1024  # a state's output limit


def test_given_named_accounts_and_a_concurrency_when_the_state_machine_runs_then_only_those_are_listed(org, walk):
    machine = walk(OrgAccounts=f"{org.alpha},{org.beta}", OrgMaxConcurrency="3", AuditRegions=US)

    summary = machine.run("named-accounts")

    assert (summary["targets"], summary["failed"]) == (2, 0)
    assert {(t["account"], t["region"]) for t in summary["worst"]} == {(org.alpha, US), (org.beta, US)}
    assert org.aws.calls.count(operation="ListAccounts") == 0
    assert org.aws.calls.count(operation="Publish") == 1


@pytest.mark.parametrize(("tolerated", "map_fails"), [("0", True), ("50", False)])
def test_given_a_child_execution_fails_when_over_the_tolerated_percentage_then_summarise_says_why_and_still_notifies(
    org,
    walk,
    tolerated,
    map_fails,
):
    machine = walk(OrgAccounts=org.alpha, OrgToleratedFailurePercentage=tolerated, AuditRegions=EU)

    def corrupt(listed: dict[str, Any]) -> None:
        # An item the audit function refuses (EventError): its child execution fails, unlike a target that fails.
        items = [*org.read(listed["key"]), {"account": "12345", "region": EU}]
        org.aws.client("s3").put_object(Bucket=BUCKET, Key=listed["key"], Body=json.dumps(items).encode())

    machine.after_list_targets = corrupt

    summary = machine.run(f"failing-{tolerated}")

    assert org.aws.calls.count(operation="Publish") == 1
    if map_fails:
        # The Map failed, yet every target it audited is in the summary, read from its results under the run.
        assert "States.ExceedToleratedFailureThreshold" in summary["errors"][0]
        assert (summary["targets"], summary["failed"]) == (2, 1)
        [good] = [t for t in summary["worst"] if t["status"] == "ok"]
        assert (good["account"], good["region"]) == (org.alpha, EU)
        assert good["report"].startswith(f"s3://{BUCKET}/reports/{org.alpha}/{EU}/")
        message = json.loads(org.aws.client("sqs").receive_message(QueueUrl=org.queue)["Messages"][0]["Body"])
        assert (message["targets"], message["failed"]) == (2, 1)
    else:
        assert (summary["targets"], summary["failed"]) == (2, 1)  # 1 of 2 failed: 50% is tolerated
        [bad] = [t for t in summary["worst"] if t["status"] == "failed"]
        assert "EventError" in bad["errors"][0]
