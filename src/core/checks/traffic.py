"""What a domain's DMARC aggregate reports say, as findings and as the traffic panel of the outputs.

One finding per code and domain (`subject` is the domain), so a verdict that holds run after run keeps its id and
the run's memory tells only when it changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from core.kernel.models import Code, Finding, IdentityKey, Record
from core.kernel.traffic import DayTraffic, DomainTraffic, Source
from core.rules.dmarcrecord import is_dmarc_record
from core.rules.required import dmarc_name
from core.rules.rua.daily import OTHER
from core.rules.rua.verdict import MAX_LISTED, QUIET_DAYS, DomainVerdict, FailingSource, next_record

# Codes of findings that explain SES mail failing alignment: its DKIM signature or its MAIL FROM domain.
SES_CAUSES = ("IDENTITY_NOT_VERIFIED", "DKIM_", "MAIL_FROM_", "DMARC_STRICT_SPF_ALIGNMENT")


@dataclass(frozen=True)
class DomainFacts:
    """Everything the checks judge one domain on, read by the run."""

    domain: str
    identities: tuple[IdentityKey, ...]
    verdict: DomainVerdict | None  # None: the domain has no aggregates at all
    records: tuple[str, ...] = ()  # TXT values at the domain's own _dmarc name, as live DNS answers them
    rua_to_inbox: bool = False  # the record sends aggregate reports to the reports inbox
    young: bool = False  # ses-guard created the record less than QUIET_DAYS ago: no report may have come yet
    causes: tuple[str, ...] = ()  # codes of the identities' open DKIM and MAIL FROM findings
    ptr: Mapping[str, str] = field(default_factory=dict)  # source address -> its PTR name
    threshold: float = 0.99
    progression: bool = False  # DMARC_PROGRESSION may step this record (ses-guard created it)

    @property
    def record(self) -> str:
        """The domain's own DMARC record; "" when it has none, or several (which receivers discard)."""
        found = [v for v in self.records if is_dmarc_record(v)]
        return found[0] if len(found) == 1 else ""


@dataclass(frozen=True)
class Readiness:
    step: str | None  # the policy the record may move to, or None
    reason: str
    record: str = ""  # the record with p= moved one step: exactly what to publish


def readiness(facts: DomainFacts) -> Readiness:
    """The verdict's readiness, held against the record live DNS shows now: the step applies to that record only."""
    verdict = facts.verdict
    if verdict is None or verdict.ready_for is None:
        return Readiness(None, verdict.reason if verdict else "no aggregate reports")
    name = dmarc_name(facts.domain)
    if not facts.record:
        return Readiness(None, f"{name} holds no DMARC record of its own to step up")
    try:
        new = next_record(facts.record, verdict.ready_for)
    except ValueError as err:
        return Readiness(None, f"{verdict.reason}, but {name} cannot take that step now: {err}")
    return Readiness(verdict.ready_for, verdict.reason, new)


def domain_traffic(facts: DomainFacts) -> DomainTraffic | None:
    verdict = facts.verdict
    if verdict is None:
        return None
    ready = readiness(facts)
    failing = sorted((*verdict.failing, *verdict.ses_failing), key=lambda f: (-f.volume.failed, f.source))
    return DomainTraffic(
        domain=facts.domain,
        start=verdict.start,
        end=verdict.end,
        messages=verdict.volume.total,
        passed=verdict.volume.passed,
        ses_messages=verdict.ses.total,
        ses_passed=verdict.ses.passed,
        days=tuple(DayTraffic(d.day, d.volume.total, d.volume.passed) for d in verdict.days),
        failing=tuple(_source(f, facts.ptr) for f in failing[:MAX_LISTED]),
        policy=verdict.policy,
        ready_for=ready.step,
        reason=ready.reason,
    )


def check_traffic(facts: DomainFacts) -> list[Finding]:
    findings: list[Finding] = []
    verdict = facts.verdict
    name = dmarc_name(facts.domain)
    here = Record(name, "TXT", facts.records, "found")
    if verdict is not None and verdict.failing:
        findings.append(_unaligned_sources(facts, verdict, here))
    if verdict is not None and verdict.ses.total and verdict.ses.failed / verdict.ses.total > 1 - facts.threshold:
        findings.append(_ses_unaligned(facts, verdict, here))
    if facts.rua_to_inbox and not facts.young and (verdict is None or verdict.reports_missing):
        findings.append(
            Finding(
                Code.DMARC_REPORTS_MISSING,
                facts.identities,
                f"The DMARC record at {name} sends aggregate reports to the reports inbox, but none about "
                f"{facts.domain} arrived in the last {QUIET_DAYS} days: either receivers saw no mail from it, or "
                "the reports do not reach the inbox (its MX record, the SES receipt rule, the bucket).",
                subject=facts.domain,
                records=(here,),
            )
        )
    ready = readiness(facts)
    if ready.step is not None:
        auto = " DMARC_PROGRESSION makes this change, since ses-guard created the record." if facts.progression else ""
        findings.append(
            Finding(
                Code.DMARC_READY_TO_ENFORCE,
                facts.identities,
                f"{facts.domain}: {ready.reason}. Publish at {name}: {ready.record}{auto}",
                subject=facts.domain,
                fixable=facts.progression,
                records=(Record(name, "TXT", (facts.record,), "found"), Record(name, "TXT", (ready.record,))),
            )
        )
    return findings


def _unaligned_sources(facts: DomainFacts, verdict: DomainVerdict, here: Record) -> Finding:
    named = "; ".join(_describe(f, facts.ptr) for f in verdict.failing)
    return Finding(
        Code.DMARC_SOURCE_UNALIGNED,
        facts.identities,
        f"Aggregate reports from {verdict.start} to {verdict.end} show mail as {facts.domain} from senders "
        f"outside SES failing DMARC: {named}. A service sending for the domain needs its own DKIM signature with "
        "the domain (or an aligned MAIL FROM); mail nobody sent for it is spoofing, which enforcement stops.",
        subject=facts.domain,
        records=(here,),
    )


def _ses_unaligned(facts: DomainFacts, verdict: DomainVerdict, here: Record) -> Finding:
    sources = ", ".join(f.source for f in verdict.ses_failing)
    causes = sorted(c for c in facts.causes if c.startswith(SES_CAUSES))
    if causes:
        why = f" The identity's open findings explain it: {', '.join(causes)}."
    else:
        why = (
            " ses-guard sees the identity's DKIM and MAIL FROM set up now: the failures may predate a fix, or come "
            "from SES in another account or a region not audited."
        )
    return Finding(
        Code.DMARC_SES_UNALIGNED,
        facts.identities,
        f"Aggregate reports from {verdict.start} to {verdict.end} show {verdict.ses.failed} of "
        f"{verdict.ses.total} messages sent through SES as {facts.domain} failing DMARC alignment (from "
        f"{sources}): neither their DKIM signature nor their MAIL FROM domain aligns with the From domain.{why}",
        subject=facts.domain,
        records=(here,),
    )


def _source(failing: FailingSource, ptr: Mapping[str, str]) -> Source:
    return Source(
        address=failing.source,
        ptr=ptr.get(failing.source, ""),
        ses=failing.ses,
        messages=failing.volume.total,
        passed=failing.volume.passed,
        share=failing.share,
    )


def _describe(failing: FailingSource, ptr: Mapping[str, str]) -> str:
    name = ptr.get(failing.source, "")
    if failing.source == OTHER:
        where = "the smallest senders, counted together"
    else:
        where = f"{failing.source} ({name})" if name else f"{failing.source} (no PTR name)"
    return (
        f"{where}: {failing.volume.failed} of {failing.volume.total} messages failed, "
        f"{failing.share:.1%} of the mail a receiver reported"
    )
