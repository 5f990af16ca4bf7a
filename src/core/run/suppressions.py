"""The run's suppressions through the SuppressionFile port: read the file once, mark the findings its live rules
match, and say which rules have expired. Whatever is wrong with the file is an error of the run, never of the audit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from core.kernel.errors import SesGuardError
from core.kernel.models import Finding, RunError
from core.rules.suppress import expiry_notice, live, parse, suppress
from core.run.ports import SuppressionFile


def apply_suppressions(
    findings: Sequence[Finding], source: SuppressionFile | None, today: date, errors: list[RunError]
) -> tuple[list[Finding], list[str]]:
    """(the findings, suppressed where a live rule matches; the expired rules, described).

    A file that cannot be read, or holds one malformed rule, suppresses nothing this run: half a file applied
    would hide findings nobody chose to hide, or show ones they did, without anyone noticing which."""
    if source is None:
        return list(findings), []
    try:
        parsed = parse(source.read())
    except SesGuardError as err:
        errors.append(RunError("suppressions", source.target, f"nothing suppressed: {err}"))
        return list(findings), []
    if parsed.problems:
        errors += [RunError("suppressions", source.target, problem) for problem in parsed.problems]
        return list(findings), []
    rules, expired = live(parsed.rules, today)
    account = ""
    # Only a rule that names an account needs to know the run's, so a file without one costs no STS call.
    if any(rule.account for rule in rules):
        try:
            account = source.account()
        except SesGuardError as err:
            errors.append(RunError("suppressions", source.target, f"rules naming an account match nothing: {err}"))
    return suppress(findings, rules, account), [expiry_notice(rule) for rule in expired]
