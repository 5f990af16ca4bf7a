"""docs/deploy.md's parameter table and template.yaml's parameters are the same: every name, every default, and the
environment variable each one sets."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.iam_policies import load_template

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")


@pytest.fixture(scope="module")
def rows() -> dict[str, list[str]]:
    """parameter -> its row's cells after the name (default, environment variable, meaning)."""
    section = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8").split("\n### Parameters\n", 1)[1]
    table = section.strip().split("\n\n", 1)[0].splitlines()
    found: dict[str, list[str]] = {}
    for line in table[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        assert cells[0].strip("`") not in found, cells[0]
        found[cells[0].strip("`")] = cells[1:]
    return found


def test_given_the_parameter_table_then_it_lists_every_parameter_once_with_its_default(
    template: dict[str, Any], rows: dict[str, list[str]]
) -> None:
    parameters = template["Parameters"]

    assert set(rows) == set(parameters)
    for name, parameter in parameters.items():
        default = str(parameter.get("Default", ""))
        assert rows[name][0] == (f"`{default}`" if default else "(empty)"), name


def test_given_the_parameter_table_then_it_names_the_variable_each_parameter_sets(
    template: dict[str, Any], rows: dict[str, list[str]]
) -> None:
    variables = template["Resources"]["AuditFunction"]["Properties"]["Environment"]["Variables"]
    direct = {value["Ref"]: name for name, value in variables.items() if isinstance(value, dict) and "Ref" in value}

    for parameter, variable in direct.items():
        if parameter in rows:
            assert re.match(rf"`{variable}`", rows[parameter][1]), parameter
