"""Custom MAIL FROM: SES's status, and the MX and SPF records the MAIL FROM domain needs."""

from __future__ import annotations

from core.checks.findings import Findings, may_propagate, ttl_at, undecided
from core.kernel.models import Answer, Code, DomainObservation, Finding, Identity, Record, ZoneView
from core.rules.records import values_at
from core.rules.required import mail_from_mx_value, mail_from_records
from core.rules.safety import normalise_mx
from core.rules.spf import SES_DOMAIN, parse_spf, spf_records
from core.rules.spftree import evaluate_spf, replay

_FALLBACK = {
    "USE_DEFAULT_VALUE": "meanwhile SES sends with its own amazonses.com MAIL FROM, which cannot align",
    "REJECT_MESSAGE": "meanwhile SES rejects every message from this identity (BehaviorOnMxFailure REJECT_MESSAGE)",
}


def check_mail_from(identity: Identity, obs: DomainObservation, view: ZoneView) -> list[Finding]:
    if not identity.is_domain:
        return []
    found = Findings(identity)
    mail_from = identity.mail_from
    if mail_from is None or not mail_from.domain:
        found.add(
            Code.MAIL_FROM_NOT_CONFIGURED,
            f"{identity.domain} has no custom MAIL FROM domain in {identity.region}: SES uses amazonses.com as the "
            "envelope sender, so SPF can never align with the From domain for DMARC.",
        )
        return found.build()
    # SES only accepts a MAIL FROM domain below the identity's domain, so that is not re-checked here.
    mx_record, spf_record = (required.record for required in mail_from_records(identity))
    if mail_from.status and mail_from.status != "SUCCESS":
        fallback = _FALLBACK.get(mail_from.behavior_on_mx_failure, "")
        found.add(
            Code.MAIL_FROM_NOT_VERIFIED,
            f"SES reports the MAIL FROM domain {mail_from.domain} as {mail_from.status}: it has not found the MX "
            f"record it needs" + (f"; {fallback}." if fallback else "."),
            (mx_record,),
        )
    if obs.mail_from_mx is not None:
        _check_mx(found, identity, obs.mail_from_mx, view, mx_record)
    if obs.mail_from_txt is not None:
        _check_spf(found, obs.mail_from_txt, obs.mail_from_spf, view, spf_record)
    return found.build()


def _check_mx(found: Findings, identity: Identity, answer: Answer, view: ZoneView, wanted: Record) -> None:
    name = wanted.name
    if answer.failed:
        found.query_failed(f"the MX of {name}", answer)
        return
    if answer.status == "OK" and answer.values:
        # SES publishes exactly one MX, preference 10; anything else (another preference included) is reported, so
        # what runs is what SES documents and what remediation would write.
        expected = normalise_mx(mail_from_mx_value(identity.region))
        if [normalise_mx(value) for value in answer.values] != [expected]:
            found.add(
                Code.MAIL_FROM_MX_INVALID,
                f"{name} has MX {', '.join(answer.values)}; SES needs exactly one: {expected}.",
                (Record(name, "MX", answer.values, "found"), wanted),
            )
        return
    found.absent(
        Code.MAIL_FROM_MX_MISSING,
        f"{name} has no MX record, so SES cannot use it as the MAIL FROM domain.",
        wanted,
        view,
    )


def _check_spf(found: Findings, answer: Answer, tree: tuple[Answer, ...], view: ZoneView, wanted: Record) -> None:
    name = wanted.name
    if answer.failed:
        found.query_failed(f"the TXT records of {name}", answer)
        return
    records = spf_records(answer.values) if answer.status == "OK" else []
    if len(records) > 1:
        found.add(
            Code.MAIL_FROM_SPF_INVALID,
            f"{name} holds {len(records)} SPF records; receivers treat that as a permanent error and SPF fails.",
            (Record(name, "TXT", tuple(records), "found"),),
            subject=name,
        )
        return
    if records:
        _judge_spf_tree(found, name, records[0], tree)
        return
    pending = [value for value in values_at(view, name, "TXT") if parse_spf(value).authorises_ses]
    if pending and may_propagate(view):
        found.add(
            Code.DNS_NOT_PROPAGATED,
            f"Route 53 holds the SPF record of {name}, but live DNS does not show it yet.",
            (Record(name, "TXT", tuple(pending), "found"),),
            subject=name,
            ttl=ttl_at(view, name, "TXT"),
        )
        return
    if undecided(view, bool(pending)):
        return
    found.missing(
        Code.MAIL_FROM_SPF_MISSING,
        f"{name} has no SPF record, so mail sent with this MAIL FROM domain fails SPF.",
        wanted,
        view,
        subject=name,
    )


def _judge_spf_tree(found: Findings, name: str, record: str, tree: tuple[Answer, ...]) -> None:
    """The record and everything its includes and redirects reach, as receivers evaluate them (core.rules.spftree)."""
    result = evaluate_spf(name, record, replay(tree))
    if result.failed is not None and result.failed_at is not None:
        at = result.failed_at
        what = (
            f"the {result.failed.rdtype} of {result.failed.name}, which the SPF record of {name} needs at "
            f"{' → '.join(at.path)}" + (f" ({at.term!r})" if at.term else "")
        )
        found.query_failed(what, result.failed)
        return
    problems = [problem.describe() for problem in result.errors]
    if not result.errors and not result.authorises_ses:
        problems.append(
            f"it does not reach include:{SES_DOMAIN} (at any depth, before an all, through passing includes), "
            f"nor do its ip4/ip6 terms cover SES's sending ranges, so SES is not authorised to send"
        )
    notes = [problem.describe() for problem in result.warnings]
    if not problems:
        if notes:
            # Receivers pass it today; the warning says why that may change (SES adds ranges, a macro went unchecked).
            found.add(
                Code.MAIL_FROM_SPF_FRAGILE,
                f"The SPF record of {name} passes as receivers evaluate it, but: {'; '.join(notes)}.",
                (Record(name, "TXT", (record,), "found"),),
                subject=name,
            )
        return
    lookups = f"{result.lookups} DNS lookup{'s' if result.lookups != 1 else ''} counted"
    # Each record on the broken path is named, so the person fixing it sees which zone to edit.
    at_fault = [(name, record)] + [
        (problem.path[-1], problem.record) for problem in result.errors if problem.path[-1] != name
    ]
    found.add(
        Code.MAIL_FROM_SPF_INVALID,
        f"The SPF record of {name} fails as receivers evaluate it ({lookups}): {'; '.join(problems)}."
        + (f" Also: {'; '.join(notes)}." if notes else ""),
        tuple(Record(at, "TXT", (value,), "found") for at, value in dict.fromkeys(at_fault)),
        subject=name,
    )
