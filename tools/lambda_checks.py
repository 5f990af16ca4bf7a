"""What an emulated invocation must show, as pure functions over its answer, the zones and the runtime's import log."""

from __future__ import annotations

import enum
import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

# The run summary as the README documents it ("The run summary"); further keys may follow.
SUMMARY_TYPES: dict[str, type | tuple[type, ...]] = {
    "run_id": str,
    "dry_run": bool,
    "regions": list,
    "identities_audited": int,
    "report": str,
    "counts": dict,
    "truncated": bool,
    "findings": list,
    "changes": list,
    "errors": list,
}
COUNT_KEYS = ("findings", "by_severity", "by_code", "fixed", "changes", "changes_applied", "errors")
FINDING_KEYS = frozenset({"id", "code", "severity", "subject", "identities", "message", "fixable", "fixed", "records"})
CHANGE_KEYS = frozenset({"zone_id", "zone_name", "action", "name", "type", "values", "ttl", "applied", "reason"})
ERROR_KEYS = frozenset({"scope", "subject", "message"})
SEVERITIES = ("HIGH", "MEDIUM", "LOW")

Zones = Mapping[tuple[str, str, str], tuple[int, tuple[str, ...]]]  # (zone id, name, type) -> (TTL, values)
Expected = Mapping[tuple[str, str], set[str]]  # (identity, region) -> finding codes


class Outcome(enum.Enum):
    REFUSED = "refused"
    DRY = "dry run"
    LIVE = "live run"


def expected_outcome(event: Any, deployed_dry_run: bool) -> Outcome:
    """The deployed mode is the ceiling: an event may ask for a dry run, and a live one only where writes are on.
    The checked stack is a single-account one, so an organisation's target event is refused too."""
    if refusal_subject(event) == "MEMBER_ROLE_NAME":
        return Outcome.REFUSED
    asked = event.get("dry_run") if isinstance(event, Mapping) and "detail-type" not in event else None
    if asked is False and deployed_dry_run:
        return Outcome.REFUSED
    if asked is None:
        return Outcome.DRY if deployed_dry_run else Outcome.LIVE
    return Outcome.DRY if asked else Outcome.LIVE


def refusal_subject(event: Any) -> str:
    """What the error refusing `event` must name: the setting org mode needs, or the `dry_run` key."""
    return "MEMBER_ROLE_NAME" if isinstance(event, Mapping) and "target" in event else "dry_run"


@dataclass(frozen=True)
class Scope:
    regions: tuple[str, ...]
    identities: tuple[str, ...] | None  # globs; None: every identity

    @classmethod
    def of(cls, event: Any, configured_regions: Sequence[str]) -> Scope:
        manual = isinstance(event, Mapping) and "detail-type" not in event
        regions = tuple(event["regions"]) if manual and "regions" in event else tuple(configured_regions)
        identities = tuple(event["identities"]) if manual and "identities" in event else None
        return cls(regions, identities)

    def covers(self, identity: str, region: str) -> bool:
        if region not in self.regions:
            return False
        patterns = self.identities or ("*",)
        return any(fnmatch.fnmatchcase(identity.lower(), p.lower()) for p in patterns)

    def expected(self, account: Expected) -> dict[tuple[str, str], set[str]]:
        return {key: set(codes) for key, codes in account.items() if self.covers(*key)}


def summary_problems(summary: Any) -> list[str]:
    """Where the answer differs from the documented run summary, in words; [] when it has that shape."""
    if not isinstance(summary, dict):
        return [f"the answer is {type(summary).__name__}, not a summary object"]
    problems = [
        f"{key}: missing" if key not in summary else f"{key}: {type(summary[key]).__name__}, not {_names(kind)}"
        for key, kind in SUMMARY_TYPES.items()
        if key not in summary or not isinstance(summary[key], kind) or isinstance(summary[key], bool) != (kind is bool)
    ]
    if problems:
        return problems
    counts = summary["counts"]
    problems += [f"counts.{key}: missing" for key in COUNT_KEYS if key not in counts]
    problems += _items_problems("findings", summary["findings"], FINDING_KEYS)
    problems += _items_problems("changes", summary["changes"], CHANGE_KEYS)
    problems += _items_problems("errors", summary["errors"], ERROR_KEYS)
    if problems:
        return problems
    return _count_problems(summary)


def _names(kind: type | tuple[type, ...]) -> str:
    return " or ".join(k.__name__ for k in kind) if isinstance(kind, tuple) else kind.__name__


def _items_problems(key: str, items: list[Any], keys: frozenset[str]) -> list[str]:
    problems = []
    for index, item in enumerate(items):
        missing = keys - set(item) if isinstance(item, dict) else keys
        if missing:
            problems.append(f"{key}[{index}]: missing {', '.join(sorted(missing))}")
    return problems


def _count_problems(summary: Mapping[str, Any]) -> list[str]:
    counts = summary["counts"]
    problems = []
    if sum(counts["by_severity"].get(s, 0) for s in SEVERITIES) != counts["findings"]:
        problems.append(f"counts.by_severity {counts['by_severity']} does not add up to {counts['findings']}")
    if sum(counts["by_code"].values()) != counts["findings"]:
        problems.append(f"counts.by_code does not add up to {counts['findings']} findings")
    if not summary["truncated"]:
        listed = {
            "findings": len(summary["findings"]),
            "fixed": sum(bool(f["fixed"]) for f in summary["findings"]),
            "changes": len(summary["changes"]),
            "changes_applied": sum(bool(c["applied"]) for c in summary["changes"]),
            "errors": len(summary["errors"]),
        }
        problems += [
            f"counts.{key} is {counts[key]}, but {number} are listed (not truncated)"
            for key, number in listed.items()
            if counts[key] != number
        ]
    return problems


def codes_by_identity(summary: Mapping[str, Any]) -> dict[tuple[str, str], set[str]]:
    found: dict[tuple[str, str], set[str]] = {}
    for finding in summary["findings"]:
        for affected in finding["identities"]:
            found.setdefault((affected["identity"], affected["region"]), set()).add(finding["code"])
    return found


def findings_problems(summary: Mapping[str, Any], expected: Mapping[tuple[str, str], set[str]]) -> list[str]:
    """The identities audited and the codes found, against what the seeded account holds in the run's scope."""
    problems = []
    if summary["identities_audited"] != len(expected):
        problems.append(f"identities_audited is {summary['identities_audited']}, expected {len(expected)}")
    found = codes_by_identity(summary)
    for key in sorted(set(found) | {k for k, codes in expected.items() if codes}):
        wanted, got = expected.get(key, set()), found.get(key, set())
        if wanted != got:
            extra, missing = sorted(got - wanted), sorted(wanted - got)
            problems.append(f"{key[0]} ({key[1]}): found {extra or 'nothing'} too many, {missing or 'nothing'} missing")
    return problems


def _key(zone_id: str, name: str, rtype: str) -> tuple[str, str, str]:
    return zone_id.rsplit("/", 1)[-1], name.lower().rstrip("."), rtype


def zone_problems(before: Zones, after: Zones, changes: Iterable[Mapping[str, Any]]) -> list[str]:
    """Route 53 after a run: what it held before, untouched, plus exactly the record sets the run says it applied."""
    applied = {_key(c["zone_id"], c["name"], c["type"]): c for c in changes if c["applied"] and c["zone_id"]}
    before = {_key(*k): v for k, v in before.items()}
    after = {_key(*k): v for k, v in after.items()}
    problems = [f"{k[1]} {k[2]} was deleted" for k in sorted(set(before) - set(after))]
    problems += [
        f"{k[1]} {k[2]} was altered: {before[k]} became {after[k]}"
        for k in sorted(set(before) & set(after))
        if before[k] != after[k]
    ]
    added = set(after) - set(before)
    problems += [f"{k[1]} {k[2]} appeared, but no applied change lists it" for k in sorted(added - set(applied))]
    problems += [f"{k[1]} {k[2]} is listed as applied but is not in Route 53" for k in sorted(set(applied) - added)]
    for k in sorted(set(applied) & added):
        change, (ttl, values) = applied[k], after[k]
        if (change["ttl"], sorted(change["values"])) != (ttl, sorted(values)):
            problems.append(f"{k[1]} {k[2]} holds TTL {ttl} {list(values)}, the change said {change['ttl']} "
                            f"{change['values']}")  # fmt: skip
    return problems


# --- what the runtime imported --------------------------------------------------------------------------------------

_VERBOSE_PATHS = (
    re.compile(r"^# \S+ matches (?P<path>\S+)$"),
    re.compile(r"^# code object from '?(?P<path>[^']+?)'?$"),
    re.compile(r"^# extension module '[^']+' loaded from '(?P<path>[^']+)'$"),
)


def imported_files(log_lines: Iterable[str]) -> set[str]:
    """Every file Python loaded a module from, read from its verbose import trace (PYTHONVERBOSE=1)."""
    files = set()
    for line in log_lines:
        for pattern in _VERBOSE_PATHS:
            match = pattern.match(line.rstrip("\n"))
            if match:
                files.add(match["path"])
                break
    return files


def top_level(relative: PurePath) -> str:
    """The importable top-level name a file under a path entry belongs to: yaml/x.py -> yaml, six.py -> six,
    __pycache__/six.cpython-313.pyc -> six, runtime_client.cpython-313-x86_64-linux-gnu.so -> runtime_client."""
    parts = relative.parts
    first = parts[1] if parts[0] == "__pycache__" and len(parts) > 1 else parts[0]
    return first.split(".", 1)[0] if len(parts) == 1 or parts[0] == "__pycache__" else first


@dataclass(frozen=True)
class Roots:
    """Where the runtime may import from: the build, the interpreter's standard library, and the runtime client's
    own site-packages, of which only the runtime client's distributions (`client_names`, top-level names)."""

    build: PurePath
    stdlib: tuple[PurePath, ...]
    site_packages: tuple[PurePath, ...]
    client_names: frozenset[str]


@dataclass(frozen=True)
class Origins:
    from_build: frozenset[str]  # top-level names
    from_client: frozenset[str]
    stray: tuple[str, ...]  # files from anywhere else, or client files of another distribution


def origins(files: Iterable[str], roots: Roots) -> Origins:
    build, client, stray = set(), set(), []
    for name in sorted(files):
        path = PurePath(name)
        if path.is_relative_to(roots.build):
            build.add(top_level(path.relative_to(roots.build)))
            continue
        site = next((root for root in roots.site_packages if path.is_relative_to(root)), None)
        if site is not None:
            top = top_level(path.relative_to(site))
            if top in roots.client_names:
                client.add(top)
                continue
        elif any(_in_stdlib(path, root) for root in roots.stdlib):
            continue
        stray.append(name)
    return Origins(frozenset(build), frozenset(client), tuple(stray))


def _in_stdlib(path: PurePath, stdlib: PurePath) -> bool:
    """Under the standard library, but not in the interpreter's own site-packages (a venv leaves those out)."""
    if not path.is_relative_to(stdlib):
        return False
    return not {"site-packages", "dist-packages"} & set(path.relative_to(stdlib).parts)


# --- native code ----------------------------------------------------------------------------------------------------

_ELF_MACHINES = {62: "x86_64", 183: "aarch64", 3: "i386", 40: "arm"}


def elf_machine(header: bytes) -> str:
    """The machine an ELF file's code is for, from its first 20 bytes ("" when it is not ELF)."""
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return ""
    number = int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")
    return _ELF_MACHINES.get(number, f"machine {number}")


def rie_name(host_machine: str) -> str:
    """The emulator binary the SAM CLI ships for this host (`uname -m`)."""
    names = {"x86_64": "aws-lambda-rie-x86_64", "amd64": "aws-lambda-rie-x86_64",
             "aarch64": "aws-lambda-rie-arm64", "arm64": "aws-lambda-rie-arm64"}  # fmt: skip
    if host_machine not in names:
        raise ValueError(f"no Lambda Runtime Interface Emulator for a {host_machine} host (x86_64 or arm64 only)")
    return names[host_machine]
