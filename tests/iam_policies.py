"""The IAM policies of template.yaml, for the template tests and for parliament (the IAM policy linter), and the
template as CloudFormation decides it for given parameter values: parameter constraints, Rules, Conditions, Fn::If.

CloudFormation short-form tags (!Ref, !Sub, !GetAtt, !If...) load as their long forms. For linting, intrinsic
values become concrete example strings: parliament reads ARNs and condition values, not CloudFormation. An intrinsic
function this module does not evaluate is an error, never a value passed through.

    python -m tests.iam_policies template.yaml   # exit 1 when parliament reports anything
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ACCOUNT = "123456789012"
REGION = "eu-west-1"
_LONG_FORMS = {"Ref": "Ref", "Condition": "Condition", "GetAtt": "Fn::GetAtt"}


class TemplateLoader(yaml.SafeLoader):
    """A SafeLoader that turns `!Name value` into `{"Fn::Name": value}` (`!Ref` into `{"Ref": value}`)."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    key = _LONG_FORMS.get(suffix, f"Fn::{suffix}")
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {key: value}


TemplateLoader.add_multi_constructor("!", _tag)


def load_template(path: str | Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.load(handle, Loader=TemplateLoader)  # a SafeLoader subclass
    return document


def policy_documents(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, document) for every identity and resource policy the template defines, both branches of each !If:
    of a whole document, and of a statement (each branch's statement is in the document yielded)."""
    for name, resource in template.get("Resources", {}).items():
        props = resource.get("Properties", {})
        kind = resource.get("Type", "")
        documents: list[tuple[str, Any]] = []
        if kind in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):  # SAM makes each a role
            for i, entry in enumerate(props.get("Policies", [])):
                documents += [(f"{name}.Policies[{i}]", doc) for doc in _branches(entry)]
        for i, entry in enumerate(props.get("Policies", []) if kind == "AWS::IAM::Role" else []):
            documents += [(f"{name}.Policies[{i}]", policy["PolicyDocument"]) for policy in _branches(entry)]
        for key in ("PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument"):
            if key in props:
                documents.append((f"{name}.{key}", props[key]))
        for where, document in documents:
            if isinstance(document, dict) and "Statement" in document:
                yield where, {**document, "Statement": _statements(document["Statement"])}


def _statements(value: Any) -> list[Any]:
    items = value if isinstance(value, list) else [value]
    return [branch for item in items for branch in _branches(item)]


def _branches(value: Any) -> list[Any]:
    if isinstance(value, dict) and "Fn::If" in value:
        _, when_true, when_false = value["Fn::If"]
        return [*_branches(when_true), *_branches(when_false)]
    if isinstance(value, dict) and value.get("Ref") == "AWS::NoValue":
        return []
    return [value]


# Parameters whose default means "off" (empty): where a policy uses one, it is linted with a value of this shape.
EXAMPLES = {
    "Suppressions": "s3://ses-guard-rules/config/suppressions.yaml",
    "ReportsInbox": "inbox/",
    "ReportsAddress": "dmarc-reports@example.com",
    # member-role.yaml's, which have no default: the central stack's role and the organisation.
    "CentralRoleArn": "arn:aws:iam::210987654321:role/ses-guard-AuditFunctionRole-EXAMPLE",
    "OrganizationId": "o-a1b2c3d4e5",
}
_NO_VALUE = object()  # what !Ref AWS::NoValue leaves: the key or list item disappears


def concrete(value: Any, template: dict[str, Any]) -> Any:
    """`value` with every intrinsic replaced by an example of what CloudFormation would put there (conditions
    decided with the examples' values, so that the optional features are on)."""
    parameters = template.get("Parameters", {})
    values = _with_named_resources(
        template,
        {name: str(p.get("Default", "example")) for name, p in parameters.items()}
        | {name: example for name, example in EXAMPLES.items() if name in parameters},
    )
    return _resolve(value, values, _Conditions(template.get("Conditions", {}), values))


def parameter_values(template: dict[str, Any], overrides: dict[str, str] | None = None) -> dict[str, str]:
    """Every parameter's value as a string (CloudFormation hands even a Number to Ref as one): these, else defaults."""
    values = {name: str(p.get("Default", "")) for name, p in template.get("Parameters", {}).items()}
    unknown = set(overrides or {}) - set(values)
    if unknown:
        raise KeyError(f"no such parameters: {', '.join(sorted(unknown))}")
    values.update(overrides or {})
    return values


def _with_named_resources(template: dict[str, Any], values: dict[str, str]) -> dict[str, str]:
    """`values`, and the name and ARN of each bucket given an explicit BucketName (and each log group given a
    LogGroupName), as these values make them: what a reference to that resource resolves to, so that its policy and
    the policies naming it by text agree."""
    named = dict(values)
    for name, resource in template.get("Resources", {}).items():
        bucket = resource.get("Properties", {}).get("BucketName") if resource.get("Type") == "AWS::S3::Bucket" else None
        if bucket is not None:
            named[name] = str(_resolve(bucket, values, {}))
            named[f"{name}.Arn"] = f"arn:aws:s3:::{named[name]}"
        # Likewise a log group's LogGroupName: Ref is the name, GetAtt Arn its ARN (what a function logs into).
        is_log_group = resource.get("Type") == "AWS::Logs::LogGroup"
        group = resource.get("Properties", {}).get("LogGroupName") if is_log_group else None
        if group is not None:
            named[name] = str(_resolve(group, values, {}))
            named[f"{name}.Arn"] = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{named[name]}:*"
    return named


class _Conditions(dict[str, bool]):
    """Conditions decided on first use, in any order, as CloudFormation allows; a cycle is an error."""

    def __init__(self, expressions: dict[str, Any], values: dict[str, str]) -> None:
        super().__init__()
        self.expressions, self.parameters, self.deciding = expressions, values, set[str]()

    def __missing__(self, name: str) -> bool:
        if name in self.deciding:
            raise ValueError(f"condition {name} depends on itself")
        self.deciding.add(name)
        decided = bool(_resolve(self.expressions[name], self.parameters, self))
        self[name] = decided
        return decided


def conditions(template: dict[str, Any], overrides: dict[str, str] | None = None) -> dict[str, bool]:
    """Each condition of the template, decided for these parameter values (the others at their defaults)."""
    decided = _Conditions(template.get("Conditions", {}), parameter_values(template, overrides))
    return {name: decided[name] for name in template.get("Conditions", {})}


def deployed(template: dict[str, Any], overrides: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """The resources CloudFormation creates with these parameter values (the others at their defaults), by logical
    id: those whose Condition holds, with their properties as deployed: conditions decided, each !If reduced to its
    branch, AWS::NoValue removed, intrinsics concrete."""
    values = _with_named_resources(template, parameter_values(template, overrides))
    decided = _Conditions(template.get("Conditions", {}), values)
    return {
        name: {**resource, "Properties": _resolve(resource.get("Properties", {}), values, decided)}
        for name, resource in template["Resources"].items()
        if "Condition" not in resource or decided[resource["Condition"]]
    }


def function_properties(
    template: dict[str, Any], overrides: dict[str, str] | None = None, function: str = "AuditFunction"
) -> dict[str, Any]:
    """A function's properties as deployed with these parameter values; KeyError when it is not deployed."""
    resource = deployed(template, overrides)[function]
    if resource["Type"] != "AWS::Serverless::Function":
        raise ValueError(f"{function} is a {resource['Type']}, not a function")
    properties: dict[str, Any] = resource["Properties"]
    return properties


def function_policies(
    template: dict[str, Any], overrides: dict[str, str] | None = None, function: str = "AuditFunction"
) -> list[dict[str, Any]]:
    """A function's policy documents as deployed with these parameter values."""
    policies: list[dict[str, Any]] = function_properties(template, overrides, function).get("Policies", [])
    return policies


def role_policies(template: dict[str, Any], overrides: dict[str, str] | None, resource: str) -> list[dict[str, Any]]:
    """The policy documents of a role, or of the role SAM makes for a function or a state machine, as deployed with
    these parameter values; KeyError when the resource is not deployed."""
    deployed_resource = deployed(template, overrides)[resource]
    properties = deployed_resource["Properties"]
    if deployed_resource["Type"] == "AWS::IAM::Role":
        return [policy["PolicyDocument"] for policy in properties.get("Policies", [])]
    if deployed_resource["Type"] not in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
        raise ValueError(f"{resource} is a {deployed_resource['Type']}, which holds no role")
    policies: list[dict[str, Any]] = properties.get("Policies", [])
    return policies


def refusals(template: dict[str, Any], overrides: dict[str, str] | None = None) -> list[str]:
    """Why CloudFormation would refuse these parameter values (empty: it accepts them): each parameter's own
    constraints first, then every Rule whose RuleCondition holds, by its failed assertions' descriptions."""
    values = parameter_values(template, overrides)
    refused = [
        problem
        for name, parameter in template.get("Parameters", {}).items()
        for problem in _constraint_problems(name, parameter, values[name])
    ]
    if refused:  # CloudFormation checks the rules only over values that pass their own constraints
        return refused
    decided = _Conditions(template.get("Conditions", {}), values)
    for name, rule in template.get("Rules", {}).items():
        if "RuleCondition" in rule and not _truth(rule["RuleCondition"], values, decided):
            continue
        for assertion in rule["Assertions"]:
            if not _truth(assertion["Assert"], values, decided):
                refused.append(f"{name}: {assertion.get('AssertDescription', 'assertion failed')}")
    return refused


def _constraint_problems(name: str, parameter: dict[str, Any], value: str) -> list[str]:
    problems = []
    if "AllowedValues" in parameter and value not in [str(v) for v in parameter["AllowedValues"]]:
        problems.append(f"{name}: {value!r} is not one of the allowed values")
    if "AllowedPattern" in parameter and not re.fullmatch(parameter["AllowedPattern"], value):
        problems.append(f"{name}: {parameter.get('ConstraintDescription', 'does not match its pattern')}")
    if parameter.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            return [*problems, f"{name}: {value!r} is not a number"]
        if number < float(parameter.get("MinValue", number)) or number > float(parameter.get("MaxValue", number)):
            problems.append(f"{name}: {value} is outside its MinValue..MaxValue")
    if not int(parameter.get("MinLength", 0)) <= len(value) <= int(parameter.get("MaxLength", len(value))):
        problems.append(f"{name}: its length is outside MinLength..MaxLength")
    return problems


def _truth(expression: Any, values: dict[str, str], conditions: dict[str, bool]) -> bool:
    result = _resolve(expression, values, conditions)
    if not isinstance(result, bool):
        raise ValueError(f"{expression!r} is not a condition: it evaluates to {result!r}")
    return result


def _resolve(value: Any, values: dict[str, str], conditions: dict[str, bool]) -> Any:
    if isinstance(value, list):
        items = [_resolve(v, values, conditions) for v in value]
        return [item for item in items if item is not _NO_VALUE]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        [(key, argument)] = value.items()
        function = _FUNCTIONS.get(key)
        if function is not None and (key != "Condition" or isinstance(argument, str)):  # not a statement's Condition
            return function(argument, values, conditions)
        if key.startswith("Fn::"):
            raise ValueError(f"{key} is not evaluated here: teach tests/iam_policies.py how CloudFormation does it")
    resolved = {k: _resolve(v, values, conditions) for k, v in value.items()}
    return {k: v for k, v in resolved.items() if v is not _NO_VALUE}


def _sub(argument: Any, values: dict[str, str], conditions: dict[str, bool]) -> str:
    text, variables = (argument, {}) if isinstance(argument, str) else argument
    local = {name: str(_resolve(v, values, conditions)) for name, v in variables.items()}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        return local[name] if name in local else str(_ref(name, values))

    return re.sub(r"\$\{([^}!]+)\}", replace, text)


_Function = Any  # (argument, values, conditions) -> resolved value
_FUNCTIONS: dict[str, _Function] = {
    "Ref": lambda a, v, c: _NO_VALUE if a == "AWS::NoValue" else _ref(a, v),
    "Fn::Sub": _sub,
    "Fn::GetAtt": lambda a, v, c: v.get(".".join(a)) or _arn(".".join(a)),
    "Fn::If": lambda a, v, c: _resolve(a[1] if c[a[0]] else a[2], v, c),
    "Fn::Select": lambda a, v, c: _resolve(a[1], v, c)[int(a[0])],
    "Fn::Split": lambda a, v, c: str(_resolve(a[1], v, c)).split(a[0]),
    "Fn::Join": lambda a, v, c: a[0].join(str(x) for x in _resolve(a[1], v, c)),
    "Fn::Equals": lambda a, v, c: _resolve(a[0], v, c) == _resolve(a[1], v, c),
    "Fn::Not": lambda a, v, c: not _resolve(a[0], v, c),
    "Fn::And": lambda a, v, c: all(_resolve(x, v, c) for x in a),
    "Fn::Or": lambda a, v, c: any(_resolve(x, v, c) for x in a),
    # The rule-specific functions (Rules only): a string against a list of strings.
    "Fn::Contains": lambda a, v, c: _resolve(a[1], v, c) in _resolve(a[0], v, c),
    "Fn::EachMemberEquals": lambda a, v, c: all(x == _resolve(a[1], v, c) for x in _resolve(a[0], v, c)),
    "Fn::EachMemberIn": lambda a, v, c: all(x in _resolve(a[1], v, c) for x in _resolve(a[0], v, c)),
    "Condition": lambda a, v, c: c[a],
}


def _ref(name: str, values: dict[str, str]) -> Any:
    pseudo = {"AWS::Partition": "aws", "AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "AWS::StackName": "ses-guard"}
    if name in pseudo:
        return pseudo[name]
    if name in values:
        return values[name]
    if "Bucket" in name and "." not in name:  # Ref of a bucket is its name; its ARN is GetAtt's
        return _arn(name).rpartition(":")[2]
    return _arn(name)


# By the logical id's last word: the ARN of such a resource (a role SAM makes is `<function>Role`).
_ARN_FORMS = (
    ("LogGroup", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{{name}}:*"),
    ("Role", f"arn:aws:iam::{ACCOUNT}:role/{{name}}"),
    ("StateMachine", f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{{name}}"),
)


def _arn(logical_id: str) -> str:
    name = logical_id.partition(".")[0]
    form = next((form for suffix, form in _ARN_FORMS if name.endswith(suffix)), None)
    return form.format(name=name) if form else _arn_by_kind(logical_id)


def _arn_by_kind(logical_id: str) -> str:
    if "Bucket" in logical_id:  # `ReportBucket` and `ReportBucket.Arn` alike: policies name buckets by ARN
        return f"arn:aws:s3:::ses-guard-{logical_id.partition('.')[0].lower()}"
    if "Topic" in logical_id:
        return f"arn:aws:sns:{REGION}:{ACCOUNT}:{logical_id}"
    if "Queue" in logical_id:
        return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{logical_id}"
    if "Key" in logical_id:
        return f"arn:aws:kms:{REGION}:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000"
    if "Function" in logical_id:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{logical_id}"
    return f"arn:aws:iam::{ACCOUNT}:role/{logical_id}"


# Findings that do not apply to a kind of document: a key policy's Resource is always "*" (it means this key),
# and a trust policy names no resource at all.
_NOT_APPLICABLE = {"KeyPolicy": {"RESOURCE_STAR"}, "AssumeRolePolicyDocument": {"MALFORMED"}}
# Actions the Service Authorization Reference gives two resource types, either of which the action takes (an
# execution of a standard or of an express state machine): parliament wants a resource to match both, and reports
# an execution ARN as not matching the express format.
_EITHER_RESOURCE_TYPE = {("states:DescribeExecution", "arn:*:states:*:*:express:*:*:*")}


def _false_positive(finding: Any) -> bool:
    details = finding.detail if isinstance(finding.detail, list) else []
    return (
        finding.issue == "RESOURCE_MISMATCH"
        and bool(details)
        and all((d.get("action"), d.get("required_format")) in _EITHER_RESOURCE_TYPE for d in details)
    )


def main(argv: list[str]) -> int:
    from parliament import analyze_policy_string  # the linter lives in its own virtual environment

    template = load_template(argv[1] if len(argv) > 1 else "template.yaml")
    problems = 0
    for where, document in policy_documents(template):
        ignored = _NOT_APPLICABLE.get(where.rsplit(".", 1)[-1], set())
        policy = analyze_policy_string(
            json.dumps(concrete(document, template)), include_community_auditors=False, ignore_private_auditors=True
        )
        findings = [f for f in policy.findings if f.issue not in ignored and not _false_positive(f)]
        for finding in findings:
            print(f"{where}: {finding.severity} {finding.issue} {finding.detail}")
        problems += len(findings)
        print(f"parliament {where}: {len(findings) or 'no'} findings")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
