"""Suppressions: findings a person has accepted for now, each with a reason and a date it stops being accepted.

Pure: the SUPPRESSIONS file's text in, rules (or what is wrong with them) out, and which findings they match. The
file is YAML:

    suppressions:
      - code: DMARC_POLICY_NONE      # required, exactly a finding code
        identity: "*.example.com"   # glob, default "*": every identity the finding affects, or its subject
        region: eu-west-1           # glob, default "*": every region the finding affects
        account: "123456789012"     # optional: only in this account
        reason: moving to quarantine after the DMARC reports are reviewed   # required
        expires: 2026-11-30         # required: matches up to and including this day (UTC)

A rule suppresses a finding when its code is the finding's, its account (if any) is the run's, every region the
finding affects matches `region`, and `identity` matches either every identity the finding affects or the finding's
subject (the shared record or zone, e.g. `_dmarc.example.com`). A rule therefore hides a shared finding only when it
covers all of it: a rule written for one domain never hides a problem that also hits others.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import yaml

from core.kernel.models import Code, Finding, Suppression
from core.kernel.names import identity_pattern

KEYS = ("code", "identity", "region", "account", "reason", "expires")
_REQUIRED = ("code", "reason", "expires")
_ACCOUNT = re.compile(r"^\d{12}$")


@dataclass(frozen=True)
class Rule:
    number: int  # 1-based position in the file, as people count
    code: Code
    reason: str
    expires: date
    identity: str = "*"
    region: str = "*"
    account: str = ""

    def describe(self) -> str:
        return f"rule {self.number} ({self.code.value}, {self.identity})"

    def expired(self, today: date) -> bool:
        return self.expires < today

    def matches(self, finding: Finding, account: str) -> bool:
        if finding.code is not self.code or (self.account and self.account != account):
            return False
        if not all(fnmatch.fnmatchcase(key.region, self.region) for key in finding.identities):
            return False
        names = all(fnmatch.fnmatchcase(key.name, self.identity) for key in finding.identities)
        return names or bool(finding.subject and fnmatch.fnmatchcase(finding.subject, self.identity))

    @property
    def suppression(self) -> Suppression:
        return Suppression(self.reason, self.expires.isoformat())


@dataclass(frozen=True)
class Parsed:
    rules: list[Rule]
    problems: list[str]  # "rule N: what is wrong", or what is wrong with the file as a whole; rules empty if any


def parse(text: str) -> Parsed:
    """The rules of a SUPPRESSIONS file, or every problem found in it (and then no rules at all: a file with one
    bad rule is not half applied)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        return Parsed([], [f"not YAML: {_one_line(err)}"])
    raw_rules, problem = _rule_list(data)
    if problem:
        return Parsed([], [problem])
    rules: list[Rule] = []
    problems: list[str] = []
    for number, raw in enumerate(raw_rules, start=1):
        rule, wrong = _rule(number, raw)
        problems += [f"rule {number}: {what}" for what in wrong]
        if rule is not None:
            rules.append(rule)
    return Parsed([] if problems else rules, problems)


def live(rules: Sequence[Rule], today: date) -> tuple[list[Rule], list[Rule]]:
    """(rules still in force, rules expired before `today`)."""
    return [r for r in rules if not r.expired(today)], [r for r in rules if r.expired(today)]


def suppress(findings: Sequence[Finding], rules: Sequence[Rule], account: str) -> list[Finding]:
    """Each finding, with `suppressed` set from the first rule (in file order) that matches it."""
    marked = []
    for finding in findings:
        rule = next((r for r in rules if r.matches(finding, account)), None)
        marked.append(finding if rule is None else replace(finding, suppressed=rule.suppression))
    return marked


def expiry_notice(rule: Rule) -> str:
    return f"{rule.describe()} expired {rule.expires.isoformat()}"


def _rule_list(data: Any) -> tuple[list[Any], str]:
    """The file's list of rules, or what is wrong with its shape; an empty file (or list) holds no rules."""
    if data is None:
        return [], ""
    if not isinstance(data, dict) or "suppressions" not in data:
        return [], "the file must be a mapping with the key `suppressions`, holding a list of rules"
    if len(data) > 1:
        others = ", ".join(repr(key) for key in data if key != "suppressions")
        return [], f"unknown top-level key {others} (only `suppressions`)"
    rules = data["suppressions"]
    if rules is None:
        return [], ""
    if not isinstance(rules, list):
        return [], "`suppressions` must be a list of rules"
    return rules, ""


def _rule(number: int, raw: Any) -> tuple[Rule | None, list[str]]:
    if not isinstance(raw, dict):
        return None, [f"not a mapping of {', '.join(KEYS)}"]
    wrong = [f"unknown key {key!r} (allowed: {', '.join(KEYS)})" for key in raw if key not in KEYS]
    wrong += [f"{key} is required" for key in _REQUIRED if raw.get(key) is None]
    code = _code(raw.get("code"), wrong)
    identity = _glob("identity", raw.get("identity", "*"), wrong)
    region = _glob("region", raw.get("region", "*"), wrong)
    account = _account(raw.get("account"), wrong)
    reason = raw.get("reason")
    if reason is not None and (not isinstance(reason, str) or not reason.strip()):
        wrong.append("reason must be some text")
    expires = _date(raw.get("expires"), wrong)
    if wrong or code is None or expires is None:
        return None, wrong
    return Rule(number, code, str(reason).strip(), expires, identity, region, account), []


def _code(value: Any, wrong: list[str]) -> Code | None:
    if value is None:
        return None
    try:
        return Code(str(value))
    except ValueError:
        wrong.append(f"code {value!r} is not a finding code")
        return None


def _glob(key: str, value: Any, wrong: list[str]) -> str:
    if not isinstance(value, str) or not value.strip():
        wrong.append(f"{key} must be a name or glob")
        return ""
    if value.count("[") != value.count("]"):
        wrong.append(f"{key} {value!r} has an unclosed [ ] in its glob")
        return ""
    # Identities and subjects compare in normalised form (lower case, A-labels, no trailing dot); regions are lower.
    return identity_pattern(value) if key == "identity" else value.strip().lower()


def _account(value: Any, wrong: list[str]) -> str:
    if value is None:
        return ""
    # An unquoted 12-digit number arrives as an int; one with a leading zero would be read as octal or a float, so
    # whatever does not come back as exactly 12 digits is refused rather than guessed at.
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if not _ACCOUNT.match(text):
        wrong.append(f'account {value!r} is not a 12-digit AWS account id (quote it: "012345678901")')
        return ""
    return text


def _date(value: Any, wrong: list[str]) -> date | None:
    if value is None:
        return None
    # A YAML timestamp with a time of day is a datetime, itself a date: refuse it rather than drop the time.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    wrong.append(f"expires {str(value)!r} is not a date (YYYY-MM-DD)")
    return None


def _one_line(err: yaml.YAMLError) -> str:
    return " ".join(str(err).split())
