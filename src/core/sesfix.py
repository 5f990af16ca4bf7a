"""Opt-in SES-side fixes: a custom MAIL FROM domain where there is none, 2048-bit keys where DKIM is 1024-bit.

Each is off unless its setting is on. A MAIL FROM domain is only given where its name is free in Route 53 and in
live DNS (somebody may already use `bounce.<domain>`), and only where ses-guard can then create its MX and SPF.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from core.errors import AwsError
from core.models import Change, Code, Finding, Identity, MailFromState, ZoneView
from core.plan import Wanted
from core.ports import Wiring
from core.required import mail_from_records
from core.settings import Settings, mail_from_domain


@dataclass
class SesFixes:
    findings: list[Finding]  # the run's findings, with those these fixes touched updated
    changes: list[Change] = field(default_factory=list)
    wanted: list[Wanted] = field(default_factory=list)  # the MX and SPF records a new MAIL FROM domain needs


@dataclass(frozen=True)
class _Context:
    views: dict[tuple[str, str], ZoneView]
    settings: Settings
    wiring: Wiring
    dry_run: bool
    shared: frozenset[str] = frozenset()  # MAIL FROM names another identity uses or also wants


def fix_ses(
    identities: Sequence[Identity],
    findings: Sequence[Finding],
    views: dict[tuple[str, str], ZoneView],
    settings: Settings,
    *,
    wiring: Wiring,
    dry_run: bool,
) -> SesFixes:
    by_key = {(i.name, i.region): i for i in identities}
    wanted = Counter(
        mail_from_domain(by_key[(f.identity, f.region)], settings)
        for f in findings
        if f.code is Code.MAIL_FROM_NOT_CONFIGURED and (f.identity, f.region) in by_key
    )
    in_use = {i.mail_from.domain for i in identities if i.mail_from and i.mail_from.domain}
    # One MAIL FROM name can carry the MX of one region only: the same domain in two regions needs two names.
    shared = frozenset(name for name, count in wanted.items() if count > 1) | (in_use & set(wanted))
    context = _Context(views, settings, wiring, dry_run, shared)
    result = SesFixes(findings=list(findings))
    for index, finding in enumerate(findings):
        identity = by_key.get((finding.identity, finding.region))
        if identity is None:
            continue
        if settings.configure_mail_from and finding.code is Code.MAIL_FROM_NOT_CONFIGURED:
            result.findings[index] = _configure_mail_from(identity, finding, context, result)
        elif settings.upgrade_dkim_keys and finding.code is Code.DKIM_KEY_WEAK:
            result.findings[index] = _upgrade_keys(identity, finding, context, result)
    return result


def _configure_mail_from(identity: Identity, finding: Finding, context: _Context, result: SesFixes) -> Finding:
    name = mail_from_domain(identity, context.settings)
    view = context.views.get((identity.region, identity.name))
    if identity.verification_status != "SUCCESS" or view is None or view.zone is None:
        return finding  # SES refuses unverified identities; without our zone the MX and SPF could not follow
    if name in context.shared:
        return replace(
            finding,
            message=f"{finding.message} {name} is used or wanted by {identity.domain} in another region too, and its "
            "MX can point to one region only, so ses-guard left it alone: give each region its own MAIL FROM name.",
        )
    if any(held == name for held, _ in view.records) or context.wiring.dns().lookup(name, "TXT").status != "NXDOMAIN":
        return replace(finding, message=f"{finding.message} {name} is already in use, so ses-guard left it alone.")
    change = Change("", "", "SES_SET_MAIL_FROM", identity.name, "SES", (name,), 0, False, finding.code)
    if not context.dry_run:
        try:
            context.wiring.ses(identity.region).set_mail_from(identity.name, name)
        except AwsError as err:
            return replace(finding, message=f"{finding.message} Setting {name} in SES failed: {err}.")
        change = replace(change, applied=True)
    result.changes.append(change)
    needed = mail_from_records(replace(identity, mail_from=MailFromState(domain=name, status="PENDING")))
    result.wanted += [Wanted(identity.name, identity.region, r.record, r.reason) for r in needed]
    # The finding now lists the records that complete the fix, so it reads as fixed once they exist.
    return replace(finding, fixable=True, records=tuple(r.record for r in needed))


def _upgrade_keys(identity: Identity, finding: Finding, context: _Context, result: SesFixes) -> Finding:
    ses = context.wiring.ses(identity.region)
    try:
        # One read per weak identity: the batch calls know neither the key's origin nor the next key's length.
        origin, next_length = ses.dkim_signing(identity.name)
        if origin != "AWS_SES":
            # BYODKIM keys are the owner's; a copied key (AWS_SES_<REGION>) follows its parent, and asking for keys
            # of its own would give it new tokens, and so new CNAMEs.
            return finding
        if next_length == "RSA_2048_BIT":
            return replace(finding, message=f"{finding.message} SES moves to 2048-bit keys at its next rotation.")
        change = Change("", "", "SES_DKIM_2048", identity.name, "SES", ("RSA_2048_BIT",), 0, False, finding.code)
        if not context.dry_run:
            ses.request_2048_bit_keys(identity.name)
            change = replace(change, applied=True)
    except AwsError as err:
        return replace(finding, message=f"{finding.message} Asking SES for 2048-bit keys failed: {err}.")
    result.changes.append(change)
    when = "SES was asked for" if change.applied else "A live run would ask SES for"
    return replace(finding, message=f"{finding.message} {when} 2048-bit keys from the next rotation.")
