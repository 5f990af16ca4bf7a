"""What the run makes of the DMARC aggregates in the report store: per audited domain, the window's verdict, its
findings and its traffic panel, and, with DMARC_PROGRESSION, the one-step policy change on records ses-guard made.

Bounded: one listing of the domains with aggregates, one listing and at most a window of GETs per domain, at most
MAX_DAY_READS GETs and MAX_PTR reverse lookups per run, and nothing new once the run's time budget runs out.
"""

from __future__ import annotations

import ipaddress
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from core.checks.traffic import DomainFacts, check_traffic, domain_traffic, readiness
from core.kernel.errors import AwsError, SesGuardError
from core.kernel.models import Change, Code, Finding, Identity, IdentityKey, Placement, Record, RecordSet, Zone
from core.kernel.names import normalise
from core.kernel.settings import Settings
from core.kernel.traffic import DomainTraffic
from core.rules.dmarcrecord import is_dmarc_record, parse_record
from core.rules.memory import Created
from core.rules.records import presentation, record_set, route53_txt_value
from core.rules.required import dmarc_name
from core.rules.rua import daily
from core.rules.rua.daily import OTHER
from core.rules.rua.verdict import QUIET_DAYS, DomainVerdict, Network, assess, ses_networks_from_spf
from core.rules.safety import placement as zone_blocker
from core.run.deadline import TIME_BUDGET, Budgeted, Deadline
from core.run.ports import AggregateReader, Lookup, Wiring

MAX_DAY_READS = 10_000  # aggregate GETs per run: a year's window for 27 domains, a month's for 333
MAX_PTR = 50  # reverse lookups of failing sources per run, the largest first
WORKERS = 8
SES_SPF = "amazonses.com"


@dataclass
class TrafficResult:
    traffic: list[DomainTraffic] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    created: dict[str, Created] = field(default_factory=dict)  # the _dmarc records ses-guard created, for the state


@dataclass(frozen=True)
class TrafficRun:
    """What the step needs from the rest of the run."""

    settings: Settings
    wiring: Wiring
    deadline: Deadline
    now: datetime
    dry_run: bool


def remember_created(previous: Mapping[str, Created], changes: Sequence[Change], now: str) -> dict[str, Created]:
    """The remembered records plus the DMARC records this run's changes wrote (a CREATE, or an UPSERT adding the
    record beside other TXT values)."""
    created = dict(previous)
    for change in changes:
        if change.applied and change.reason is Code.DMARC_MISSING and change.type == "TXT":
            values = [v for v in (presentation("TXT", raw) for raw in change.values) if is_dmarc_record(v)]
            if len(values) == 1:
                created[normalise(change.name)] = Created(normalise(change.name), values[0], now)
    return created


def assess_traffic(
    identities: Sequence[Identity],
    findings: Sequence[Finding],
    placement: Placement,
    run: TrafficRun,
    created: Mapping[str, Created],
) -> TrafficResult:
    """`findings`: the run's findings so far, which explain SES mail failing alignment; `created`: the _dmarc records
    ses-guard created, as the state remembers them."""
    result = TrafficResult(created=dict(created))
    store = run.wiring.aggregates()
    domains = _domains(identities)
    if store is None or not domains:
        return result
    try:
        if run.deadline.expired():
            raise SesGuardError(TIME_BUDGET)
        held = store.domains()
    except SesGuardError as err:
        result.findings.append(_unread(list(domains.values()), f"Not read: {err}.", store.target))
        return result
    dns = Budgeted(run.wiring.dns(), run.deadline)
    verdicts, failed = _verdicts([d for d in domains if held is None or d in held], store, dns, run)
    # One finding per domain not read: its subject keeps it apart from the other domains' across runs.
    result.findings += [_unread([domains[d]], why, f"{store.target}{d}/") for d, why in sorted(failed.items())]
    ptr = _reverse_names(verdicts.values(), dns)
    for domain, keys in domains.items():
        facts = None
        if domain not in failed:
            facts = _facts(
                domain=domain,
                keys=keys,
                verdict=verdicts.get(domain),
                findings=findings,
                dns=dns,
                run=run,
                created=result.created,
                ptr=ptr,
            )
        if facts is not None:
            _judge(facts, placement, run, result)
    return result


def _domains(identities: Sequence[Identity]) -> dict[str, tuple[IdentityKey, ...]]:
    """The audited domain identities by domain, sorted: one name in several regions is one domain's mail."""
    groups: dict[str, list[IdentityKey]] = defaultdict(list)
    for identity in identities:
        if identity.is_domain:
            groups[identity.domain].append(identity.key)
    return {domain: tuple(keys) for domain, keys in sorted(groups.items())}


def _judge(facts: DomainFacts, placement: Placement, run: TrafficRun, result: TrafficResult) -> None:
    traffic = domain_traffic(facts)
    if traffic is not None:
        result.traffic.append(traffic)
    judged = check_traffic(facts)
    if facts.progression and any(f.code is Code.DMARC_READY_TO_ENFORCE for f in judged):
        judged = _progress(facts, judged, placement, run, result)
    result.findings += judged


def _verdicts(
    domains: Sequence[str], store: AggregateReader, dns: Lookup, run: TrafficRun
) -> tuple[dict[str, DomainVerdict], dict[str, str]]:
    """Each domain's verdict, read concurrently; `failed` says, by domain, why one could not be read."""
    failed: dict[str, str] = {}
    verdicts: dict[str, DomainVerdict] = {}
    if not domains:
        return verdicts, failed
    answer = dns.lookup(SES_SPF, "TXT")
    networks: list[Network] = ses_networks_from_spf(answer.values) if answer.status == "OK" else []
    if not networks:
        # Without SES's ranges every SES message would count as another sender's: no verdict beats a wrong one.
        why = f"Not judged: {SES_SPF}'s SPF ranges could not be read ({answer.error or answer.status})."
        return verdicts, dict.fromkeys(domains, why)
    # A verdict needs QUIET_DAYS of window at least; a shorter DMARC_WINDOW_DAYS is read as that.
    window = max(run.settings.dmarc_window_days, QUIET_DAYS)
    today = run.now.date()
    start, end = today - timedelta(days=window), today - timedelta(days=1)
    lock = threading.Lock()
    budget = MAX_DAY_READS

    def read(domain: str) -> None:
        nonlocal budget
        with lock:
            enough = budget >= window
            budget -= window if enough else 0
        if run.deadline.expired() or not enough:
            why = TIME_BUDGET if enough else f"the run's {MAX_DAY_READS} aggregate reads are spent"
            with lock:
                failed[domain] = f"Not read: {why}."
            return
        try:
            days = [daily.from_json(text) for text in store.window(domain, start, end, window)]
            verdict = assess(
                [d for d in days if d.domain == domain],
                networks,
                window,
                today,
                threshold=run.settings.dmarc_ready_threshold,
            )
        except SesGuardError as err:
            with lock:
                failed[domain] = f"Not read: {err}"
            return
        if verdict.days:  # older aggregates only: the domain has no traffic to show, as with none at all
            with lock:
                verdicts[domain] = replace(verdict, domain=domain)

    with ThreadPoolExecutor(max_workers=min(WORKERS, len(domains))) as pool:
        list(pool.map(read, domains))
    return verdicts, failed


def _reverse_names(verdicts: Iterable[DomainVerdict], dns: Lookup) -> dict[str, str]:
    """PTR names of the failing sources, the largest shares first, at most MAX_PTR lookups."""
    sources: dict[str, float] = {}
    for verdict in verdicts:
        for failing in (*verdict.failing, *verdict.ses_failing):
            if failing.source != OTHER:
                sources[failing.source] = max(sources.get(failing.source, 0.0), failing.share)
    names: dict[str, str] = {}
    for address in sorted(sources, key=lambda a: (-sources[a], a))[:MAX_PTR]:
        answer = dns.lookup(ipaddress.ip_address(address).reverse_pointer, "PTR")
        if answer.status == "OK" and answer.values:
            names[address] = normalise(sorted(answer.values)[0])
    return names


def _facts(
    *,
    domain: str,
    keys: tuple[IdentityKey, ...],
    verdict: DomainVerdict | None,
    findings: Sequence[Finding],
    dns: Lookup,
    run: TrafficRun,
    created: Mapping[str, Created],
    ptr: Mapping[str, str],
) -> DomainFacts | None:
    """None when there is nothing to judge: no aggregates, and no rua to the inbox that could miss them."""
    settings = run.settings
    # The address reports reach the inbox at: REPORTS_ADDRESS when set apart from the rua ses-guard publishes.
    inbox = (settings.reports_address or settings.dmarc_rua).lower() if settings.reports_inbox else ""
    if verdict is None and not inbox:
        return None
    name = dmarc_name(domain)
    answer = dns.lookup(name, "TXT")  # read by the audit's DMARC walk already: the run's DNS cache answers
    records = answer.values if answer.status == "OK" else ()
    facts = DomainFacts(domain, keys, verdict, records, ptr=ptr, threshold=settings.dmarc_ready_threshold)
    record = facts.record
    rua = parse_record(record).rua if record else ()
    mine = created.get(name)
    window = timedelta(days=max(settings.dmarc_window_days, QUIET_DAYS))
    stepped = mine is not None and bool(mine.stepped) and run.now - _when(mine.stepped) < window
    return replace(
        facts,
        rua_to_inbox=bool(inbox) and any(uri[7:].split("?")[0].lower() == inbox for uri in rua),
        young=mine is not None and run.now - _when(mine.created) < timedelta(days=QUIET_DAYS),
        causes=tuple(sorted({f.code.value for f in findings if set(f.identities) & set(keys)})),
        progression=settings.dmarc_progression and mine is not None and mine.value == record and not stepped,
    )


def _progress(
    facts: DomainFacts, judged: list[Finding], placement: Placement, run: TrafficRun, result: TrafficResult
) -> list[Finding]:
    """The ready record moved one step: planned on a dry run, else written over the Route 53 set read just before,
    and only while that set still holds the record exactly as ses-guard last wrote it."""
    name = dmarc_name(facts.domain)
    ready = readiness(facts)
    mine = result.created[name]
    zone = placement.zone_of.get(facts.identities[0])
    view = placement.views.get(zone) if zone is not None else None
    why = zone_blocker(view, name) if view is not None else "the record's Route 53 zone was not read"
    if not why and not run.dry_run and run.deadline.expired():
        why = TIME_BUDGET
    change = None
    if not why and view is not None and zone is not None:
        held = record_set(view, name, "TXT")
        if not run.dry_run:
            writer = run.wiring.route53()
            try:
                held = writer.record_sets(zone, {name}).get((name, "TXT"))
                change = _step(zone, held, name=name, old=mine.value, new=ready.record, ttl=run.settings.record_ttl)
                if change is not None:
                    writer.apply(zone, [change])
            except AwsError as err:
                why = f"Route 53 did not take it: {err}"
        else:
            change = _step(zone, held, name=name, old=mine.value, new=ready.record, ttl=run.settings.record_ttl)
        if change is None and not why:
            why = f"Route 53's {name} no longer holds the record ses-guard wrote, alone among DMARC records"
    if why:
        failed = Finding(
            Code.CHECK_FAILED,
            facts.identities,
            f"DMARC_PROGRESSION did not move {name} to p={ready.step}: {why}.",
            subject=name,
            records=(Record(name, "TXT", (ready.record,)),),
        )
        return [*judged, failed]
    assert change is not None
    applied = not run.dry_run
    result.changes.append(replace(change, applied=applied))
    if applied:
        result.created[name] = replace(mine, value=ready.record, stepped=run.now.isoformat(timespec="seconds"))
    return [replace(f, fixed=applied) if f.code is Code.DMARC_READY_TO_ENFORCE else f for f in judged]


def _step(zone: Zone, held: RecordSet | None, *, name: str, old: str, new: str, ttl: int) -> Change | None:
    """An UPSERT of the TXT set with `old` replaced by `new` and every other value kept byte for byte; None unless
    the set holds `old` once and no other DMARC record."""
    if held is None or held.alias:
        return None
    values = list(held.values)
    at = [i for i, raw in enumerate(values) if presentation("TXT", raw) == old]
    if len(at) != 1 or sum(is_dmarc_record(presentation("TXT", raw)) for raw in values) != 1:
        return None
    values[at[0]] = route53_txt_value(new)
    return Change(
        zone.id, zone.name, "UPSERT", name, "TXT", tuple(values), held.ttl or ttl, False, Code.DMARC_READY_TO_ENFORCE
    )


def _unread(groups: Sequence[tuple[IdentityKey, ...]], message: str, subject: str) -> Finding:
    keys = tuple(dict.fromkeys(key for group in groups for key in group))
    return Finding(Code.CHECK_FAILED, keys, f"DMARC aggregate reports: {message}", subject=subject)


def _when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)
