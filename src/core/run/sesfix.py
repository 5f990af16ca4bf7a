"""Applies the opt-in SES-side fixes that core.rules.sesplan planned: asks the plan's questions of DNS and SES, then
makes each SES write unless this is a dry run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from core.kernel.errors import AwsError
from core.kernel.models import Change, Finding, Identity, Placement
from core.kernel.settings import Settings
from core.rules.plan import Wanted
from core.rules.sesplan import SesAction, SesFacts, SesQuestions, Signing, plan_ses, questions
from core.run.ports import Wiring


@dataclass
class SesFixes:
    findings: list[Finding]  # the run's findings, with those these fixes touched updated
    changes: list[Change] = field(default_factory=list)
    wanted: list[Wanted] = field(default_factory=list)  # the MX and SPF records a new MAIL FROM domain needs


def fix_ses(
    identities: Sequence[Identity],
    findings: Sequence[Finding],
    placement: Placement,
    settings: Settings,
    *,
    wiring: Wiring,
    dry_run: bool,
) -> SesFixes:
    facts = _answer(questions(identities, findings, placement, settings), wiring)
    plan = plan_ses(identities, findings, placement, settings, facts)
    result = SesFixes(findings=[])
    outcomes = {}
    for action in plan.actions:
        outcome = _apply(action, wiring, dry_run, result)
        outcomes[(outcome.key, outcome.code)] = outcome
    result.findings = [outcomes.get((f.key, f.code), f) for f in plan.findings]
    return result


def _apply(action: SesAction, wiring: Wiring, dry_run: bool, result: SesFixes) -> Finding:
    """Makes one SES write (none on a dry run); returns the finding as it then reads."""
    change = action.change
    if not dry_run:
        key = action.finding.key
        try:
            if change.action == "SES_SET_MAIL_FROM":
                wiring.ses(key.region).set_mail_from(key.name, change.values[0])
            else:
                wiring.ses(key.region).request_2048_bit_keys(key.name)
        except AwsError as err:
            return replace(action.finding, message=f"{action.finding.message} {action.failure}: {err}.")
        change = replace(change, applied=True)
    result.changes.append(change)
    result.wanted += action.wanted
    return action.done if change.applied else action.planned


def _answer(asked: SesQuestions, wiring: Wiring) -> SesFacts:
    dns = wiring.dns()
    in_use = frozenset(name for name in asked.names if dns.lookup(name, "TXT").status != "NXDOMAIN")
    signing = {}
    for key in asked.signing:
        try:
            # One read per weak identity: the batch calls know neither the key's origin nor the next key's length.
            origin, next_length = wiring.ses(key.region).dkim_signing(key.name)
            signing[key] = Signing(origin, next_length)
        except AwsError as err:
            signing[key] = Signing(error=str(err))
    return SesFacts(in_use, signing)
