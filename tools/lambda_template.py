"""A function of a built SAM template as Lambda would configure it: handler, runtime, limits and environment.

`sam build` writes the template it built (`.aws-sam/build/template.yaml`) in plain YAML, intrinsics in long form.
This resolves the few intrinsics a function's settings use (Ref, Fn::Sub, Fn::If with the template's Conditions,
Fn::Join, Fn::Select) against parameter values that satisfy the template's own constraints, so the environment given
to the emulated runtime is the one a deployment with those parameters would give the function.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

NO_VALUE = object()  # AWS::NoValue: the property or variable is left out
_SUB_NAME = re.compile(r"\$\{([^}!]+)\}")
_ARCHITECTURES = {"arm64": "aarch64", "x86_64": "x86_64"}


class TemplateError(Exception):
    """The template, or a parameter value given for it, is not one this tool can deploy locally."""


@dataclass(frozen=True)
class Function:
    logical_id: str
    name: str
    handler: str
    runtime: str  # e.g. python3.13
    machine: str  # the ELF/uname machine of its architecture: aarch64 or x86_64
    timeout: int
    memory: int
    environment: dict[str, str]

    @property
    def python_tag(self) -> str:
        """The CPython ABI tag of its runtime's extension modules: python3.13 -> cpython-313."""
        version = self.runtime.removeprefix("python")
        return "cpython-" + version.replace(".", "")


@dataclass(frozen=True)
class Stack:
    """Where the template is deployed: pseudo parameters, parameter values and the local stand-ins of resources."""

    name: str
    region: str
    account: str
    parameters: Mapping[str, str]
    resources: Mapping[str, str]  # logical id -> what Ref gives for it (a topic ARN, a bucket name)

    def pseudo(self) -> dict[str, str]:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::StackName": self.name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }


def parameter_values(template: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, str]:
    """Every parameter's value: its default unless overridden; each checked as CloudFormation checks it."""
    declared: Mapping[str, Mapping[str, Any]] = template.get("Parameters", {})
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise TemplateError(f"the template has no parameter {', '.join(unknown)}")
    values: dict[str, str] = {}
    for name, spec in declared.items():
        if name in overrides:
            value = overrides[name]
        elif "Default" in spec:
            value = _text(spec["Default"])
        else:
            raise TemplateError(f"parameter {name} has no default; give it a value")
        problem = _constraint_problem(spec, value)
        if problem:
            raise TemplateError(f"parameter {name}={value!r}: {problem}")
        values[name] = value
    return values


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _constraint_problem(spec: Mapping[str, Any], value: str) -> str:
    allowed = [_text(v) for v in spec.get("AllowedValues", [])]
    pattern = spec.get("AllowedPattern")
    problems = [
        f"not one of {', '.join(allowed)}" if allowed and value not in allowed else "",
        f"does not match {pattern}" if pattern is not None and re.fullmatch(pattern, value) is None else "",
        f"shorter than {spec['MinLength']}" if "MinLength" in spec and len(value) < int(spec["MinLength"]) else "",
        f"longer than {spec['MaxLength']}" if "MaxLength" in spec and len(value) > int(spec["MaxLength"]) else "",
        _number_problem(spec, value) if spec.get("Type") == "Number" else "",
    ]
    return next((p for p in problems if p), "")


def _number_problem(spec: Mapping[str, Any], value: str) -> str:
    try:
        number = float(value)
    except ValueError:
        return "not a number"
    if "MinValue" in spec and number < float(spec["MinValue"]):
        return f"below {spec['MinValue']}"
    if "MaxValue" in spec and number > float(spec["MaxValue"]):
        return f"above {spec['MaxValue']}"
    return ""


def function(template: Mapping[str, Any], logical_id: str, stack: Stack) -> Function:
    """The function `logical_id` with the template's Globals applied and its settings resolved for `stack`."""
    resource = template.get("Resources", {}).get(logical_id)
    if not resource or resource.get("Type") != "AWS::Serverless::Function":
        raise TemplateError(f"the template has no AWS::Serverless::Function {logical_id}")
    props = _with_globals(template.get("Globals", {}).get("Function", {}), resource.get("Properties", {}))
    resolver = Resolver(template, stack)
    variables = props.get("Environment", {}).get("Variables", {})
    environment = {}
    for key, raw in variables.items():
        value = resolver.resolve(raw, where=f"{logical_id} environment variable {key}")
        if value is not NO_VALUE:
            environment[key] = _text(value)
    architectures = props.get("Architectures", ["x86_64"])
    if len(architectures) != 1 or architectures[0] not in _ARCHITECTURES:
        raise TemplateError(f"{logical_id}: Architectures must be [arm64] or [x86_64], not {architectures}")
    name = resolver.resolve(props.get("FunctionName", f"{stack.name}-{logical_id}"), where=f"{logical_id} name")
    return Function(
        logical_id=logical_id,
        name=_text(name),
        handler=str(props["Handler"]),
        runtime=str(props["Runtime"]),
        machine=_ARCHITECTURES[architectures[0]],
        timeout=int(resolver.resolve(props.get("Timeout", 3), where=f"{logical_id} Timeout")),
        memory=int(resolver.resolve(props.get("MemorySize", 128), where=f"{logical_id} MemorySize")),
        environment=environment,
    )


def _with_globals(defaults: Mapping[str, Any], props: Mapping[str, Any]) -> dict[str, Any]:
    """SAM's Globals: the function's own properties win; maps (the environment's variables) merge key by key."""
    merged = dict(defaults)
    for key, value in props.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _with_globals(merged[key], value)
        else:
            merged[key] = value
    return merged


class Resolver:
    """Evaluates intrinsic functions for one stack; anything it cannot evaluate locally is a TemplateError."""

    def __init__(self, template: Mapping[str, Any], stack: Stack) -> None:
        self.conditions: Mapping[str, Any] = template.get("Conditions", {})
        self.stack = stack
        self.names = {**stack.pseudo(), **stack.parameters, **stack.resources}

    def resolve(self, value: Any, *, where: str) -> Any:
        if not isinstance(value, Mapping):
            return value
        if len(value) != 1:
            raise TemplateError(f"{where}: expected a value or one intrinsic function, got {dict(value)}")
        [(function_name, argument)] = value.items()
        if function_name == "Ref":
            return self.ref(argument, where=where)
        if function_name == "Fn::Sub":
            return self.sub(argument, where=where)
        if function_name == "Fn::If":
            condition, if_true, if_false = argument
            chosen = if_true if self.condition(condition, where=where) else if_false
            return self.resolve(chosen, where=where)
        if function_name == "Fn::Join":
            separator, items = argument
            parts = [self.resolve(item, where=where) for item in items]
            return separator.join(_text(p) for p in parts if p is not NO_VALUE)
        if function_name == "Fn::Select":
            index, items = argument
            return self.resolve(items[int(self.resolve(index, where=where))], where=where)
        raise TemplateError(f"{where}: {function_name} cannot be resolved locally")

    def ref(self, name: str, *, where: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name not in self.names:
            raise TemplateError(f"{where}: Ref {name} has no local value (give the resource a local stand-in)")
        return self.names[name]

    def sub(self, argument: Any, *, where: str) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        local = {key: self.resolve(value, where=where) for key, value in variables.items()}

        def value_of(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in local:
                return _text(local[name])
            if "." in name:
                raise TemplateError(f"{where}: ${{{name}}} (an attribute) cannot be resolved locally")
            return _text(self.ref(name, where=where))

        return _SUB_NAME.sub(value_of, text)

    def condition(self, spec: Any, *, where: str) -> bool:
        if isinstance(spec, bool):
            return spec
        if isinstance(spec, str):
            if spec not in self.conditions:
                raise TemplateError(f"{where}: no condition {spec}")
            return self.condition(self.conditions[spec], where=f"{where} (condition {spec})")
        [(function_name, argument)] = spec.items()
        operators = {
            "Condition": lambda: self.condition(str(argument), where=where),
            "Fn::Equals": lambda: len({_text(self.resolve(side, where=where)) for side in argument}) == 1,
            "Fn::Not": lambda: not self.condition(argument[0], where=where),
            "Fn::And": lambda: all(self.condition(item, where=where) for item in argument),
            "Fn::Or": lambda: any(self.condition(item, where=where) for item in argument),
        }
        if function_name not in operators:
            raise TemplateError(f"{where}: {function_name} in a condition cannot be evaluated locally")
        return bool(operators[function_name]())
