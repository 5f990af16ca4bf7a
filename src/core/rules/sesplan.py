"""The opt-in SES-side fixes, planned without I/O: a custom MAIL FROM domain where there is none, 2048-bit keys
where Easy DKIM publishes 1024-bit ones.

A MAIL FROM domain is given only where its name is free in Route 53 and in live DNS (somebody may already use
`bounce.<domain>`), and only where ses-guard can then create its MX and SPF. What the plan cannot know from the audit
(live DNS at a candidate name, SES's signing state of a weak-key identity) it asks for first (`questions`), and the
run brings the answers (`SesFacts`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from core.kernel.models import Change, Code, Finding, Identity, IdentityKey, MailFromState, Placement
from core.kernel.settings import Settings
from core.rules.plan import Wanted
from core.rules.required import mail_from_records, new_mail_from_domain
from core.rules.safety import placement as zone_blocker

DKIM_2048 = "RSA_2048_BIT"


@dataclass(frozen=True)
class SesQuestions:
    names: tuple[str, ...] = ()  # candidate MAIL FROM names: is anything at them in live DNS?
    signing: tuple[IdentityKey, ...] = ()  # weak-key identities: whose key is it, and what comes next?


@dataclass(frozen=True)
class Signing:
    """SES's DKIM signing state of one identity, as GetEmailIdentity reports it, or why it could not be read."""

    origin: str = ""  # AWS_SES, EXTERNAL, AWS_SES_<REGION>
    next_key_length: str = ""
    error: str = ""


@dataclass(frozen=True)
class SesFacts:
    in_use: frozenset[str] = frozenset()  # candidate names that answer in live DNS (anything but NXDOMAIN)
    signing: Mapping[IdentityKey, Signing] = field(default_factory=dict)


@dataclass(frozen=True)
class SesAction:
    """One SES write, and how its finding reads in each outcome."""

    change: Change  # not yet applied
    finding: Finding  # as the audit reported it
    planned: Finding  # a dry run's finding
    done: Finding  # once SES took the change
    failure: str  # what the finding adds when SES refuses: "<failure>: <error>."
    wanted: tuple[Wanted, ...] = ()  # the Route 53 records that complete the fix (a new MAIL FROM's MX and SPF)


@dataclass(frozen=True)
class SesPlan:
    findings: tuple[Finding, ...]  # the run's findings; those a fix left alone say why, where there is a reason
    actions: tuple[SesAction, ...] = ()


@dataclass(frozen=True)
class _Context:
    identities: Mapping[IdentityKey, Identity]
    placement: Placement
    settings: Settings
    shared: frozenset[str]  # MAIL FROM names another identity uses or also wants


def questions(
    identities: Sequence[Identity], findings: Sequence[Finding], placement: Placement, settings: Settings
) -> SesQuestions:
    context = _context(identities, findings, placement, settings)
    names, signing = [], []
    for finding in findings:
        identity = _target(finding, context)
        if identity is None:
            continue
        if finding.code is Code.MAIL_FROM_NOT_CONFIGURED:
            name = new_mail_from_domain(identity, settings.mail_from_subdomain)
            if _mail_from_blocker(identity, finding, name, context) is None:
                names.append(name)
        else:
            signing.append(identity.key)
    return SesQuestions(tuple(dict.fromkeys(names)), tuple(signing))


def plan_ses(
    identities: Sequence[Identity],
    findings: Sequence[Finding],
    placement: Placement,
    settings: Settings,
    facts: SesFacts,
) -> SesPlan:
    context = _context(identities, findings, placement, settings)
    updated = list(findings)
    actions = []
    for index, finding in enumerate(findings):
        identity = _target(finding, context)
        if identity is None:
            continue
        if finding.code is Code.MAIL_FROM_NOT_CONFIGURED:
            outcome = _mail_from(identity, finding, context, facts)
        else:
            outcome = _dkim_2048(finding, facts.signing.get(identity.key, Signing(error="not read")))
        if isinstance(outcome, SesAction):
            actions.append(outcome)
        else:
            updated[index] = outcome
    return SesPlan(tuple(updated), tuple(actions))


def _context(
    identities: Sequence[Identity], findings: Sequence[Finding], placement: Placement, settings: Settings
) -> _Context:
    by_key = {i.key: i for i in identities}
    wanted = Counter(
        new_mail_from_domain(by_key[f.key], settings.mail_from_subdomain)
        for f in findings
        if f.code is Code.MAIL_FROM_NOT_CONFIGURED and f.key in by_key
    )
    in_use = {i.mail_from.domain for i in identities if i.mail_from and i.mail_from.domain}
    # One MAIL FROM name can carry the MX of one region only: the same domain in two regions needs two names.
    shared = frozenset(name for name, count in wanted.items() if count > 1) | (in_use & set(wanted))
    return _Context(by_key, placement, settings, shared)


def _target(finding: Finding, context: _Context) -> Identity | None:
    """The identity of a finding an enabled SES fix acts on; None for every other finding."""
    settings = context.settings
    enabled = (finding.code is Code.MAIL_FROM_NOT_CONFIGURED and settings.configure_mail_from) or (
        finding.code is Code.DKIM_KEY_WEAK and settings.upgrade_dkim_keys
    )
    return context.identities.get(finding.key) if enabled else None


def _mail_from_blocker(identity: Identity, finding: Finding, name: str, context: _Context) -> Finding | None:
    """The finding as it stays when the name cannot be given (unchanged, or saying why); None when it may be."""
    view = context.placement.view(identity.key)
    if identity.verification_status != "SUCCESS" or view is None or (view.zone is None and not view.unread):
        return finding  # SES refuses unverified identities; without our zone the MX and SPF could not follow
    reason = zone_blocker(view, name)
    if reason:
        # An SES MAIL FROM domain whose MX receivers cannot find makes SES fall back, or reject the identity's mail.
        return replace(
            finding, message=f"{finding.message} ses-guard did not set {name} as its MAIL FROM domain: {reason}."
        )
    if name in context.shared:
        return replace(
            finding,
            message=f"{finding.message} {name} is used or wanted by {identity.domain} in another region too, and its "
            "MX can point to one region only, so ses-guard left it alone: give each region its own MAIL FROM name.",
        )
    if any(held == name for held, _ in view.records):
        return _in_use(finding, name)
    return None


def _in_use(finding: Finding, name: str) -> Finding:
    return replace(finding, message=f"{finding.message} {name} is already in use, so ses-guard left it alone.")


def _mail_from(identity: Identity, finding: Finding, context: _Context, facts: SesFacts) -> SesAction | Finding:
    name = new_mail_from_domain(identity, context.settings.mail_from_subdomain)
    blocked = _mail_from_blocker(identity, finding, name, context)
    if blocked is not None:
        return blocked
    if name in facts.in_use:
        return _in_use(finding, name)
    needed = mail_from_records(replace(identity, mail_from=MailFromState(domain=name, status="PENDING")))
    # The finding then lists the records that complete the fix, so it reads as fixed once they exist.
    done = replace(finding, fixable=True, records=tuple(r.record for r in needed))
    return SesAction(
        change=Change("", "", "SES_SET_MAIL_FROM", identity.name, "SES", (name,), 0, False, finding.code),
        finding=finding,
        planned=done,
        done=done,
        failure=f"Setting {name} in SES failed",
        wanted=tuple(Wanted(r.record, (done,)) for r in needed),
    )


def _dkim_2048(finding: Finding, signing: Signing) -> SesAction | Finding:
    failure = "Asking SES for 2048-bit keys failed"
    if signing.error:
        return replace(finding, message=f"{finding.message} {failure}: {signing.error}.")
    if signing.origin != "AWS_SES":
        # BYODKIM keys are the owner's; a copied key (AWS_SES_<REGION>) follows its parent, and asking for keys of
        # its own would give it new tokens, and so new CNAMEs.
        return finding
    if signing.next_key_length == DKIM_2048:
        return replace(finding, message=f"{finding.message} SES moves to 2048-bit keys at its next rotation.")
    return SesAction(
        change=Change("", "", "SES_DKIM_2048", finding.identity, "SES", (DKIM_2048,), 0, False, finding.code),
        finding=finding,
        planned=replace(
            finding, message=f"{finding.message} A live run would ask SES for 2048-bit keys from the next rotation."
        ),
        done=replace(finding, message=f"{finding.message} SES was asked for 2048-bit keys from the next rotation."),
        failure=failure,
    )
