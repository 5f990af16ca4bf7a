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


def concrete(value: Any, parameters: dict[str, Any]) -> Any:
    """`value` with every intrinsic replaced by an example of what CloudFormation would put there."""
    if isinstance(value, list):
        return [concrete(v, parameters) for v in value]
    if not isinstance(value, dict):
        return value
    if "Ref" in value:
        return _ref(value["Ref"], parameters)
    if "Fn::Sub" in value:
        text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
        return re.sub(r"\$\{([^}]+)\}", lambda m: str(_ref(m.group(1), parameters)), text)
    if "Fn::GetAtt" in value:
        return _arn(value["Fn::GetAtt"][0])
    return {k: concrete(v, parameters) for k, v in value.items()}


def _ref(name: str, parameters: dict[str, Any]) -> Any:
    pseudo = {"AWS::Partition": "aws", "AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "AWS::StackName": "ses-guard"}
    if name in pseudo:
        return pseudo[name]
    if name in parameters:
        return str(parameters[name].get("Default", "example"))
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
