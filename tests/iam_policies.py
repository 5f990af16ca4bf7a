"""The IAM policies of template.yaml, for the template tests and for parliament (the IAM policy linter).

CloudFormation short-form tags (!Ref, !Sub, !GetAtt, !If...) load as their long forms. For linting, intrinsic
values become concrete example strings: parliament reads ARNs and condition values, not CloudFormation.

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
    """(where, document) for every identity and resource policy the template defines, both branches of each !If."""
    for name, resource in template.get("Resources", {}).items():
        props = resource.get("Properties", {})
        kind = resource.get("Type", "")
        if kind == "AWS::Serverless::Function":
            for i, entry in enumerate(props.get("Policies", [])):
                for doc in _branches(entry):
                    if isinstance(doc, dict) and "Statement" in doc:
                        yield f"{name}.Policies[{i}]", doc
        for i, policy in enumerate(props.get("Policies", []) if kind == "AWS::IAM::Role" else []):
            yield f"{name}.Policies[{i}]", policy["PolicyDocument"]
        for key in ("PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument"):
            if key in props:
                yield f"{name}.{key}", props[key]


def _branches(value: Any) -> list[Any]:
    if isinstance(value, dict) and "Fn::If" in value:
        _, when_true, when_false = value["Fn::If"]
        return [*_branches(when_true), *_branches(when_false)]
    if isinstance(value, dict) and value.get("Ref") == "AWS::NoValue":
        return []
    return [value]


# Parameters whose default means "off" (empty): where a policy uses one, it is linted with a value of this shape.
EXAMPLES = {"Suppressions": "s3://ses-guard-rules/config/suppressions.yaml"}
_NO_VALUE = object()  # what !Ref AWS::NoValue leaves: the key or list item disappears


def concrete(value: Any, parameters: dict[str, Any]) -> Any:
    """`value` with every intrinsic replaced by an example of what CloudFormation would put there."""
    values = {name: str(p.get("Default", "example")) for name, p in parameters.items()}
    values.update({name: example for name, example in EXAMPLES.items() if name in parameters})
    return _resolve(value, values, {})


def function_policies(template: dict[str, Any], overrides: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The audit function's policy documents as CloudFormation deploys them with these parameter values (the
    others at their defaults): conditions decided, each !If reduced to its branch, intrinsics made concrete."""
    values = {name: str(p.get("Default", "")) for name, p in template.get("Parameters", {}).items()}
    values.update(overrides or {})
    conditions: dict[str, bool] = {}
    for name, expression in template.get("Conditions", {}).items():  # a condition may use those before it
        conditions[name] = bool(_resolve(expression, values, conditions))
    [function] = [r for r in template["Resources"].values() if r.get("Type") == "AWS::Serverless::Function"]
    resolved = _resolve(function["Properties"].get("Policies", []), values, conditions)
    return [document for document in resolved if isinstance(document, dict)]


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
    "Fn::GetAtt": lambda a, v, c: _arn(".".join(a)),
    "Fn::If": lambda a, v, c: _resolve(a[1] if c[a[0]] else a[2], v, c),
    "Fn::Select": lambda a, v, c: _resolve(a[1], v, c)[int(a[0])],
    "Fn::Split": lambda a, v, c: str(_resolve(a[1], v, c)).split(a[0]),
    "Fn::Join": lambda a, v, c: a[0].join(str(x) for x in _resolve(a[1], v, c)),
    "Fn::Equals": lambda a, v, c: _resolve(a[0], v, c) == _resolve(a[1], v, c),
    "Fn::Not": lambda a, v, c: not _resolve(a[0], v, c),
    "Fn::And": lambda a, v, c: all(_resolve(x, v, c) for x in a),
    "Fn::Or": lambda a, v, c: any(_resolve(x, v, c) for x in a),
    "Condition": lambda a, v, c: c[a],
}


def _ref(name: str, values: dict[str, str]) -> Any:
    pseudo = {"AWS::Partition": "aws", "AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "AWS::StackName": "ses-guard"}
    if name in pseudo:
        return pseudo[name]
    if name in values:
        return values[name]
    return _arn(name)


def _arn(logical_id: str) -> str:
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


def main(argv: list[str]) -> int:
    from parliament import analyze_policy_string  # the linter lives in its own virtual environment

    template = load_template(argv[1] if len(argv) > 1 else "template.yaml")
    parameters = template.get("Parameters", {})
    problems = 0
    for where, document in policy_documents(template):
        ignored = _NOT_APPLICABLE.get(where.rsplit(".", 1)[-1], set())
        policy = analyze_policy_string(
            json.dumps(concrete(document, parameters)), include_community_auditors=False, ignore_private_auditors=True
        )
        findings = [f for f in policy.findings if f.issue not in ignored]
        for finding in findings:
            print(f"{where}: {finding.severity} {finding.issue} {finding.detail}")
        problems += len(findings)
        print(f"parliament {where}: {len(findings) or 'no'} findings")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
