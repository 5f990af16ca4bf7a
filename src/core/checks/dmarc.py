"""DMARC policy discovery (RFC 9989 "DNS Tree Walk" and "DMARC Policy Discovery") and the DMARC checks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.checks.findings import Findings, may_propagate, ttl_at, undecided
from core.kernel.models import Answer, Code, DomainObservation, Finding, Identity, Record, ZoneView
from core.kernel.names import is_subdomain, normalise
from core.rules.dmarcrecord import (
    DmarcRecord,
    discard_reason,
    is_dmarc_record,
    is_external,
    looks_like_dmarc,
    parse_record,
    report_auth_name,
    report_destinations,
)
from core.rules.records import values_at
from core.rules.required import dmarc_name, dmarc_record

__all__ = [
    "Discovery",
    "DmarcRecord",
    "check_dmarc",
    "discover",
    "is_dmarc_record",
    "is_external",
    "parse_record",
    "report_auth_name",
    "report_destinations",
    "walk_names",
]

MAX_QUERIES = 8  # RFC 9989: Author Domains of more than eight labels still cost at most eight queries


def walk_names(domain: str) -> list[str]:
    """The `_dmarc.` names a receiver queries for `domain`, in order: the name itself, then - from its parent, or
    from its 7-label suffix when it has more than 8 labels - one label shorter each time, down to the TLD."""
    labels = normalise(domain).split(".")
    names = [labels]
    rest = labels[-min(len(labels) - 1, MAX_QUERIES - 1) :] if len(labels) > 1 else []
    while rest:
        names.append(rest)
        rest = rest[1:]
    return [dmarc_name(".".join(name)) for name in names]


@dataclass(frozen=True)
class Discovery:
    domain: str
    policy_domain: str = ""  # where the applicable record lives; "" when none applies
    record: DmarcRecord | None = None
    failed: Answer | None = None  # a query that failed before the policy could be known
    duplicates: tuple[Answer, ...] = ()  # names holding several DMARC records, which receivers all discard
    ignored: tuple[tuple[str, str], ...] = ()  # (name, value) of text meant as DMARC that receivers discard

    @property
    def inherited(self) -> bool:
        return bool(self.policy_domain) and self.policy_domain != self.domain

    def applied_policy(self) -> str:
        if self.record is None:
            return ""
        return self.record.subdomain_policy() if self.inherited else self.record.policy


def discover(answers: Sequence[Answer]) -> Discovery:
    """The policy that applies, from the walk's answers (the first is the domain's own `_dmarc` name).

    Works on a walk that stopped at the first record as well as on a full one: without a record of its own, a
    domain takes the record of its organisational domain - a `psd=n` record, the name below a `psd=y` record, or
    else the record with the fewest labels - and the PSD's record when the organisational domain has none.
    """
    if not answers:
        return Discovery("")
    domain = answers[0].name.removeprefix("_dmarc.")
    found: list[tuple[str, DmarcRecord]] = []
    duplicates: list[Answer] = []
    ignored: list[tuple[str, str]] = []
    for index, answer in enumerate(answers):
        ignored += [(answer.name, v) for v in answer.values if looks_like_dmarc(v) and not is_dmarc_record(v)]
        if answer.failed:
            return Discovery(domain, failed=answer, duplicates=tuple(duplicates), ignored=tuple(ignored))
        records = [value for value in answer.values if is_dmarc_record(value)]
        if len(records) > 1:
            duplicates.append(answer)
        elif records:
            record = parse_record(records[0])
            found.append((answer.name.removeprefix("_dmarc."), record))
            if index == 0 or record.value("psd") in ("y", "n"):
                break
    if not found:
        return Discovery(domain, duplicates=tuple(duplicates), ignored=tuple(ignored))
    policy_domain, record = _organisational(domain, found)
    return Discovery(domain, policy_domain, record, None, tuple(duplicates), tuple(ignored))


def _organisational(domain: str, found: list[tuple[str, DmarcRecord]]) -> tuple[str, DmarcRecord]:
    name, record = found[-1]
    if record.value("psd") == "y" and name != domain:
        below = ".".join(domain.split(".")[-(name.count(".") + 2) :])
        return next((item for item in found if item[0] == below), (name, record))
    return name, record


def check_dmarc(
    identity: Identity, obs: DomainObservation, view: ZoneView, *, policy: str = "none", rua: str = ""
) -> list[Finding]:
    """`policy` and `rua` shape the record a DMARC_MISSING finding asks for (DMARC_POLICY / DMARC_RUA)."""
    if not identity.is_domain or not obs.dmarc:
        return []
    found = Findings(identity)
    walk = discover(obs.dmarc)
    if walk.failed is not None:
        found.add(
            Code.CHECK_FAILED,
            f"Could not read {walk.failed.name} ({walk.failed.error or 'the query failed'}), so the DMARC policy "
            "that applies below it is unknown.",
            (Record(walk.failed.name, "TXT", (), "found"),),
            subject=walk.failed.name,
        )
    # RFC 9989: receivers discard these records and walk on, so each finding says what applies instead.
    applies = _applies_instead(identity, walk)
    for answer in walk.duplicates:
        values = tuple(v for v in answer.values if is_dmarc_record(v))
        found.add(
            Code.DMARC_INVALID,
            f"{answer.name} holds {len(values)} DMARC records; receivers ignore "
            f"{'both' if len(values) == 2 else 'all of them'}, {applies}",
            (Record(answer.name, "TXT", values, "found"),),
            subject=answer.name,
        )
    for name, value in walk.ignored:
        found.add(
            Code.DMARC_INVALID,
            f"{name} holds {value!r}, which receivers ignore: {discard_reason(value)}; {applies}",
            (Record(name, "TXT", (value,), "found"),),
            subject=name,
        )
    own = dmarc_name(identity.domain)
    # In a zone receivers do not see, a record only Route 53 holds is no policy on its way: DMARC stays missing;
    # while whether they see it is unknown, it is neither (core.checks.findings.undecided).
    held = tuple(v for v in values_at(view, own, "TXT") if is_dmarc_record(v))
    pending = held if may_propagate(view) else ()
    if pending and not any(is_dmarc_record(v) for v in obs.dmarc[0].values) and walk.failed is None:
        found.add(
            Code.DNS_NOT_PROPAGATED,
            f"Route 53 holds a DMARC record at {own}, but live DNS does not show it yet.",
            (Record(own, "TXT", pending, "found"),),
            subject=own,
            ttl=ttl_at(view, own, "TXT"),
        )
    if walk.record is not None:
        _check_record(found, identity, obs, walk, walk.record)
    elif walk.failed is None and not pending and not _broken_at(walk, own) and not undecided(view, bool(held)):
        # A broken record at a parent applies to nobody: the identity still needs a policy of its own.
        _missing(found, identity, view, obs.dmarc[-1].name, dmarc_record(identity, policy, rua).record)
    return found.build()


def _applies_instead(identity: Identity, walk: Discovery) -> str:
    """The end of a discarded record's message: the policy receivers find once they have skipped it."""
    if walk.failed is not None:
        return f"and which policy applies to {identity.domain} is unknown until {walk.failed.name} can be read."
    if walk.record is None or not walk.applied_policy():
        return f"so no DMARC policy applies to {identity.domain}."
    tag = "sp" if walk.inherited and walk.record.value("sp") and walk.record.policy_tags_valid else "p"
    return (
        f"so for {identity.domain} the policy that applies is the one at {dmarc_name(walk.policy_domain)}: "
        f"{tag}={walk.applied_policy()}."
    )


def _broken_at(walk: Discovery, name: str) -> bool:
    """True when `name` holds DMARC records receivers discard (duplicates, or a mistyped version)."""
    return any(a.name == name for a in walk.duplicates) or any(held == name for held, _ in walk.ignored)


def _missing(found: Findings, identity: Identity, view: ZoneView, last: str, required: Record) -> None:
    if last != required.name:
        where = f"neither {required.name} nor any parent up to {last} holds a DMARC record"
    else:
        where = f"{required.name} holds no DMARC record"
    message = f"No DMARC policy applies to {identity.domain}: {where}."
    found.missing(Code.DMARC_MISSING, message, required, view, subject=required.name)


def _check_record(
    found: Findings, identity: Identity, obs: DomainObservation, walk: Discovery, record: DmarcRecord
) -> None:
    # The record is the root cause, whichever identities it applies to: one finding, about the record.
    name = dmarc_name(walk.policy_domain)
    here = Record(name, "TXT", (record.text,), "found")
    # Removed tags (pct, rf, ri) earn no finding of their own: the warning rides on the record's other findings.
    note = "".join(f" Note: {warning}." for warning in record.warnings)
    if record.errors:
        problems = "; ".join(record.errors)
        message = f"The DMARC record at {name} is invalid: {problems}.{note}"
        found.add(Code.DMARC_INVALID, message, (here,), subject=name)
    if not record.usable:
        return
    none_reason = _none_reason(walk, record)
    if none_reason:
        message = f"{none_reason} Receivers take no action on failing mail.{note}"
        found.add(Code.DMARC_POLICY_NONE, message, (here,), subject=name)
    if not record.rua:
        found.add(
            Code.DMARC_NO_REPORTING,
            f"The DMARC record at {name} has no rua= tag, so receivers send no aggregate reports.{note}",
            (here,),
            subject=name,
        )
    _report_auth(found, obs, walk, record)
    domain = normalise(identity.domain)
    mail_from = normalise(identity.mail_from.domain) if identity.mail_from and identity.mail_from.domain else ""
    if record.value("aspf") == "s" and mail_from != domain and is_subdomain(mail_from, domain):
        found.add(
            Code.DMARC_STRICT_SPF_ALIGNMENT,
            f"The DMARC record at {name} sets aspf=s, but SES sends with a custom MAIL FROM subdomain: strict "
            "alignment needs it to equal the From domain, so SPF can never align. Use aspf=r (the default).",
            (here,),
            subject=name,
        )


def _none_reason(walk: Discovery, record: DmarcRecord) -> str:
    name = dmarc_name(walk.policy_domain)
    applied = walk.applied_policy()
    tag = "sp" if walk.inherited and record.value("sp") else "p"
    if applied == "quarantine" and record.value("t") == "y":
        return f"The DMARC record at {name} sets t=y (test mode), which turns {tag}=quarantine into none."
    if applied != "none":
        return ""
    if not record.value("p"):
        return f"The DMARC record at {name} has no valid p=; because it has a rua=, receivers read it as p=none."
    if not record.policy_tags_valid:
        return (
            f"The DMARC record at {name} has an invalid sp= or np=; because it has a rua=, receivers read it as p=none."
        )
    below = " to the subdomains below it" if tag == "sp" else ""
    return f"The DMARC record at {name} applies {tag}=none{below}."


def _report_auth(found: Findings, obs: DomainObservation, walk: Discovery, record: DmarcRecord) -> None:
    answers = {normalise(answer.name): answer for answer in obs.report_auth}
    for destination in report_destinations(record):
        if not is_external(walk.policy_domain, destination):
            continue
        name = report_auth_name(walk.policy_domain, destination)
        answer = answers.get(name)
        if answer is None:
            continue
        if answer.failed:
            found.add(
                Code.CHECK_FAILED,
                f"Could not read {name} ({answer.error or 'the query failed'}), so it is unknown whether "
                f"{destination} accepts DMARC reports for {walk.policy_domain}.",
                (Record(name, "TXT", (), "found"),),
                subject=name,
            )
        elif not any(is_dmarc_record(value) for value in answer.values):
            found.add(
                Code.DMARC_REPORT_AUTH_MISSING,
                f"The rua= of {dmarc_name(walk.policy_domain)} sends aggregate reports to {destination}, which has "
                f"not agreed to take them: {name} holds no v=DMARC1 record, so receivers drop those reports.",
                (*_held(name, answer), Record(name, "TXT", ("v=DMARC1",))),
                subject=name,
            )


def _held(name: str, answer: Answer) -> tuple[Record, ...]:
    """What the name holds now, when it holds anything."""
    return (Record(name, "TXT", answer.values, "found"),) if answer.values else ()
