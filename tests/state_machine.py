"""The state machines of template.yaml as Step Functions receives them, and a plain CloudFormation template of them
for cfn-lint.

cfn-lint checks the Amazon States Language of an AWS::StepFunctions::StateMachine's `Definition` (rule E3601) but
not of an AWS::Serverless::StateMachine: SAM turns the definition into a `DefinitionString` of `Fn::Join`, which
cfn-lint skips. So the check lints each SAM state machine's definition again, as a plain resource, with its
intrinsics and DefinitionSubstitutions replaced by what CloudFormation would put there.

    python -m tests.state_machine template.yaml > asl-check.json   # then: cfn-lint asl-check.json
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from tests.iam_policies import ACCOUNT, concrete, deployed, load_template

SAM_STATE_MACHINE = "AWS::Serverless::StateMachine"
_SUBSTITUTION = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def definition(
    template: dict[str, Any], overrides: dict[str, str] | None = None, resource: str = "OrgRunStateMachine"
) -> dict[str, Any]:
    """The state machine's definition as deployed with these parameter values: intrinsics resolved, each
    `${Name}` of DefinitionSubstitutions replaced in the JSON text (where Step Functions replaces it); KeyError when
    the state machine is not deployed."""
    properties = deployed(template, overrides)[resource]["Properties"]
    return _substituted(properties["Definition"], properties.get("DefinitionSubstitutions", {}))


def _substituted(document: Any, substitutions: dict[str, Any]) -> dict[str, Any]:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in substitutions:
            raise KeyError(f"the definition uses ${{{name}}}, which DefinitionSubstitutions does not define")
        return json.dumps(str(substitutions[name]))[1:-1]  # inside a JSON string

    text = _SUBSTITUTION.sub(replace, json.dumps(document))
    substituted: dict[str, Any] = json.loads(text)
    return substituted


def lint_template(template: dict[str, Any]) -> dict[str, Any]:
    """A template of plain AWS::StepFunctions::StateMachine resources, one per SAM state machine, each with its
    definition as an object (with example values for the intrinsics, whatever the conditions)."""
    resources = {}
    for name, resource in template.get("Resources", {}).items():
        if resource.get("Type") != SAM_STATE_MACHINE:
            continue
        properties = resource["Properties"]
        substitutions = concrete(properties.get("DefinitionSubstitutions", {}), template)
        resources[name] = {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/{name}Role",
                "StateMachineType": properties.get("Type", "STANDARD"),
                "Definition": _substituted(concrete(properties["Definition"], template), substitutions),
            },
        }
    if not resources:
        raise ValueError("the template defines no AWS::Serverless::StateMachine")
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}


def main(argv: list[str]) -> int:
    template = load_template(argv[1] if len(argv) > 1 else "template.yaml")
    json.dump(lint_template(template), sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
