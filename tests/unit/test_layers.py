"""The layers of `src/core/` and the one way their imports point, read from the source with `ast`.

kernel <- rules <- checks <- run <- handlers; report depends on the kernel only; every module that touches an outside
system (AWS SDKs, DNS, sockets, HTTP, Powertools) lives in `adapters`, and nothing but the adapters and the handlers
imports those libraries or the adapters themselves.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).parents[2] / "src" / "core"

# What each package of core may import from core, besides itself.
ALLOWED = {
    "kernel": frozenset(),
    "rules": frozenset({"kernel"}),
    "checks": frozenset({"kernel", "rules"}),
    "run": frozenset({"kernel", "rules", "checks"}),
    "report": frozenset({"kernel"}),
    "adapters": frozenset({"kernel", "rules", "report"}),
}
# Libraries that reach outside the process (or wrap what does); only adapters may import them.
OUTSIDE = ("boto3", "botocore", "mypy_boto3_", "s3transfer", "dns", "socket", "ssl", "http", "urllib", "urllib3",
           "requests", "aws_lambda_powertools", "aws_xray_sdk", "subprocess")  # fmt: skip


def imported_modules(source: str) -> list[str]:
    """Every module a source file imports, `from core import x` read as `core.x`."""
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            if node.module == "core":
                names += [f"core.{alias.name}" for alias in node.names]
    return names


def violations(core: Path) -> list[str]:
    """`file: import` for each import that points the wrong way; empty when the layers hold."""
    found = []
    for path in sorted(core.rglob("*.py")):
        if path.parent == core and path.name == "__init__.py":
            continue
        package = path.relative_to(core).parts[0]
        if package not in ALLOWED:
            found.append(f"{path.relative_to(core)}: outside every layer")
            continue
        for module in imported_modules(path.read_text()):
            parts = module.split(".")
            if parts[0] == "core":
                if len(parts) > 1 and parts[1] != package and parts[1] not in ALLOWED[package]:
                    found.append(f"{path.relative_to(core)}: imports {module}")
            elif package != "adapters" and _outside(parts[0]):
                found.append(f"{path.relative_to(core)}: imports {module}")
    return found


def _outside(top: str) -> bool:
    return any(top == lib or (lib.endswith("_") and top.startswith(lib)) for lib in OUTSIDE)


def test_given_the_source_when_its_imports_are_read_then_every_one_points_down_the_layers():
    assert violations(CORE) == []


def test_given_the_source_when_its_folders_are_listed_then_each_is_a_layer():
    assert {p.name for p in CORE.iterdir() if p.is_dir() and p.name != "__pycache__"} == set(ALLOWED)


@pytest.mark.parametrize(
    ("module", "source", "imported"),
    [
        ("rules/leak.py", "import boto3", "boto3"),
        ("checks/leak.py", "import dns.resolver", "dns.resolver"),
        ("report/leak.py", "from mypy_boto3_sns import SNSClient", "mypy_boto3_sns"),
        ("kernel/leak.py", "from aws_lambda_powertools import Logger", "aws_lambda_powertools"),
        ("kernel/leak.py", "import socket", "socket"),
        ("run/leak.py", "from core.adapters.route53 import Route53Zones", "core.adapters.route53"),
        ("run/leak.py", "from core import adapters", "core.adapters"),
        ("rules/leak.py", "from core.checks.dkim import check_dkim", "core.checks.dkim"),
        ("report/leak.py", "from core.run.service import execute", "core.run.service"),
    ],
)
def test_given_an_import_against_the_layers_when_checked_then_it_is_named(tmp_path, module, source, imported):
    for package in ALLOWED:
        (tmp_path / package).mkdir()
    (tmp_path / module).write_text(source + "\n")

    assert violations(tmp_path) == [f"{module}: imports {imported}"]


def test_given_a_module_beside_the_layers_when_checked_then_it_is_named(tmp_path):
    (tmp_path / "helpers.py").write_text("")

    assert violations(tmp_path) == ["helpers.py: outside every layer"]


def test_given_io_in_an_adapter_when_checked_then_it_is_allowed(tmp_path):
    (tmp_path / "adapters").mkdir()
    (tmp_path / "adapters" / "ses.py").write_text("import boto3\nfrom core.kernel.models import Identity\n")

    assert violations(tmp_path) == []
