"""The README's settings table and the settings the code reads are the same: every name, every default.

The names and literal defaults come from the code itself (its `env.get("NAME", "default")` calls, read with ast); a
stated default is checked by feeding it to `Settings.from_env` and comparing the parsed settings with the code's own
defaults, so `1800` matches `"1800"` and `false` matches the empty string that parses to false.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from core.kernel import settings as settings_module
from core.kernel.errors import ConfigError
from core.kernel.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"
SOURCE = Path(settings_module.__file__)
# Set by the Lambda runtime (or the CLI's profile), not by whoever deploys: the table calls it "the function's region".
RUNTIME = frozenset({"AWS_REGION", "AWS_DEFAULT_REGION"})
REGION = "eu-west-1"
FUNCTION_REGION = "the function's region"
VALUES = re.compile(r"`[^`]*`(, `[^`]*`)*")


def read_by_code(source: str) -> dict[str, str | None]:
    """Every variable settings.py reads from the environment, with its literal default (None: read without one)."""
    tree = ast.parse(source)
    from_env = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "from_env")
    env = from_env.args.args[1].arg
    read: dict[str, str | None] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
            if not (isinstance(node.func.value, ast.Name) and node.func.value.id == env):
                continue
            name, default = node.args[0], node.args[1] if len(node.args) > 1 else None
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == env:
            name, default = node.slice, None
        else:
            continue
        if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
            raise AssertionError(f"settings.py line {node.lineno} reads a variable whose name is not a literal")
        value = default.value if isinstance(default, ast.Constant) else None
        read[name.value] = value if isinstance(value, str) else None
    return read


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def stated_defaults(readme: str) -> tuple[dict[str, str | None], list[str]]:
    """The default the README's "## Settings" table states for each variable (None: its row is malformed), and what
    is malformed."""
    section = readme.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    stated: dict[str, str | None] = {}
    malformed = []
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        names_cell, default_cell, *_ = _cells(line)
        names = re.findall(r"`([A-Z][A-Z0-9_]*)`", names_cell)
        listed = ", ".join(names)
        malformed += [f"{name} is in the settings table twice" for name in names if name in stated]
        stated.update(dict.fromkeys(names))
        if not default_cell or default_cell == FUNCTION_REGION:
            defaults = [default_cell]
        elif VALUES.fullmatch(default_cell):
            defaults = re.findall(r"`([^`]*)`", default_cell)
        else:
            malformed.append(f"{listed}: default {default_cell!r} is not `value`, empty or {FUNCTION_REGION}")
            continue
        if len(defaults) == 1:
            defaults *= len(names)
        if len(defaults) != len(names):
            malformed.append(f"{listed}: {len(defaults)} defaults for {len(names)} variables")
            continue
        stated.update(zip(names, defaults, strict=True))
    return stated, malformed


def mismatches(readme: str, read: Mapping[str, str | None]) -> list[str]:
    """What the README's settings table says that the code does not do, one line per variable."""
    stated, problems = stated_defaults(readme)
    variables = set(read) - RUNTIME
    problems += [
        f"{name} is read by settings.py but not in the README's settings table" for name in variables - set(stated)
    ]
    problems += [
        f"{name} is in the README's settings table but settings.py does not read it" for name in set(stated) - variables
    ]
    defaults = Settings.from_env({"AWS_REGION": REGION})
    for name in sorted(variables & set(stated)):
        said, code = stated[name], read[name]
        if said is None:
            continue
        in_code = repr(code) if code else "empty"
        if not said and code:
            problems.append(f"{name}: the table leaves the default empty, the code's is {in_code}")
            continue
        try:
            parsed = Settings.from_env({"AWS_REGION": REGION, name: REGION if said == FUNCTION_REGION else said})
        except ConfigError as err:
            problems.append(f"{name}: the table's default {said!r} is refused by the code ({err})")
            continue
        if parsed != defaults:
            problems.append(f"{name}: the table says the default is {said!r}, the code's is {in_code}")
    return sorted(problems)


class RecordingEnv(Mapping[str, str]):
    """An environment holding only the region, remembering every name the code asks it for."""

    def __init__(self) -> None:
        self.asked: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        if key == "AWS_REGION":
            return REGION
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def test_given_settings_from_env_when_it_runs_then_every_name_it_asks_for_is_one_the_source_reading_finds():
    env = RecordingEnv()
    Settings.from_env(env)

    read = read_by_code(SOURCE.read_text(encoding="utf-8"))

    assert env.asked - RUNTIME
    assert env.asked <= set(read)


def test_given_the_readme_when_its_settings_table_is_read_then_it_names_every_setting_with_the_codes_default():
    problems = mismatches(README.read_text(encoding="utf-8"), read_by_code(SOURCE.read_text(encoding="utf-8")))

    assert not problems, "\n".join(problems)


def _with_default(readme: str, name: str, cell: str) -> str:
    line = next(line for line in readme.splitlines() if line.startswith(f"| `{name}` |"))
    names, _, meaning = _cells(line)[:3]
    return readme.replace(line, f"| {names} | {cell} | {meaning} |")


def _without_row(readme: str, name: str) -> str:
    line = next(line for line in readme.splitlines() if line.startswith(f"| `{name}` |"))
    return readme.replace(line + "\n", "")


def _with_row(readme: str, row: str) -> str:
    line = next(line for line in readme.splitlines() if line.startswith("| `DIGEST_DAYS` |"))
    return readme.replace(line, f"{line}\n{row}")


@pytest.mark.parametrize(
    ("doctor", "name", "words"),
    [
        (lambda r: _without_row(r, "DIGEST_DAYS"), "DIGEST_DAYS", "not in the README's settings table"),
        (lambda r: _with_row(r, "| `DNS_RETRIES` | `3` | retries |"), "DNS_RETRIES", "does not read it"),
        (lambda r: _with_row(r, "| `DIGEST_DAYS` | `7` | again |"), "DIGEST_DAYS", "in the settings table twice"),
        (lambda r: _with_default(r, "RECORD_TTL", "`3600`"), "RECORD_TTL", "the code's is '1800'"),
        (lambda r: _with_default(r, "DRY_RUN", "`true`"), "DRY_RUN", "the table says the default is 'true'"),
        (lambda r: _with_default(r, "NOTIFY_ON", ""), "NOTIFY_ON", "leaves the default empty"),
        (lambda r: _with_default(r, "AUDIT_REGIONS", "`all`"), "AUDIT_REGIONS", "the code's is empty"),
        (lambda r: _with_default(r, "DNS_NAMESERVERS", FUNCTION_REGION), "DNS_NAMESERVERS", "refused by the code"),
        (lambda r: _with_default(r, "DMARC_POLICY", "`none`, `quarantine`"), "DMARC_POLICY", "2 defaults for 1"),
        (lambda r: _with_default(r, "DIGEST_DAYS", "a week"), "DIGEST_DAYS", "is not `value`"),
    ],
    ids=[
        "row-missing",
        "row-the-code-does-not-read",
        "row-twice",
        "wrong-number",
        "wrong-bool",
        "empty-where-the-code-has-one",
        "wrong-regions",
        "region-phrase-elsewhere",
        "two-defaults-for-one-variable",
        "prose-default",
    ],
)
def test_given_a_doctored_settings_table_when_checked_then_the_problem_names_the_variable(doctor, name, words):
    readme = README.read_text(encoding="utf-8")
    doctored = doctor(readme)
    assert doctored != readme

    problems = mismatches(doctored, read_by_code(SOURCE.read_text(encoding="utf-8")))

    assert [p for p in problems if name in p and words in p], problems
