"""The audit: read SES per region, Route 53 once, live DNS per identity, then judge everything purely."""

from __future__ import annotations

import fnmatch
import threading
from collections import defaultdict
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from core.checks.account import check_account
from core.checks.dmarcorg import by_organisation
from core.checks.evaluate import check_failed, evaluate_domain
from core.checks.identity import check_address, signing_domains
from core.kernel.errors import AwsError
from core.kernel.models import AccountState, Answer, Finding, Identity, Placement, RunError, Zone, ZoneView
from core.kernel.names import ancestors, identity_pattern, is_glob, within_zone
from core.kernel.settings import Settings
from core.rules.dmarcrecord import organisational_domain
from core.rules.replicas import link_replicas, replica_candidates, settle_origins
from core.rules.required import (
    dmarc_name,
    new_mail_from_domain,
    receiving_domain,
    receiving_records,
    required_records,
)
from core.rules.zones import apex_name_servers, pick_zone
from core.run.deadline import TIME_BUDGET, Budgeted, Deadline
from core.run.observe import observe_domain
from core.run.ports import Lookup, Progress, Wiring


@dataclass
class AuditResult:
    regions: list[str]
    identities: list[Identity] = field(default_factory=list)
    placement: Placement = field(default_factory=Placement)
    findings: list[Finding] = field(default_factory=list)
    errors: list[RunError] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)  # requested names or globs that matched no identity


def resolve_regions(requested: Sequence[str], wiring: Wiring) -> list[str]:
    return wiring.all_regions() if list(requested) == ["all"] else list(requested)


def audit(
    regions: Sequence[str],
    settings: Settings,
    wiring: Wiring,
    deadline: Deadline,
    only: Collection[str] | None = None,
    *,
    progress: Progress | None = None,
) -> AuditResult:
    """`only`: identity names or fnmatch globs to audit (None: every identity). One that matches no identity in
    the regions read is listed in `unmatched` and reported as a run error: a typo must never pass as a clean run."""
    progress = progress or _Quiet()
    result = AuditResult(regions=resolve_regions(regions, wiring))
    patterns = None if only is None else [identity_pattern(p) for p in only]
    accounts: list[AccountState] = []
    known = _read_identities(result, wiring, patterns, progress, accounts)
    kept = [i for i in known if not _excluded(i.name, settings.exclude_identities)]
    result.identities = kept if patterns is None else [i for i in kept if _wanted(i.name, patterns)]
    audited = [i.key for i in result.identities]
    result.findings.extend(f for account in accounts for f in check_account(account, audited))
    if patterns is not None:
        _report_unmatched(result, patterns, known)
    domains = [i for i in result.identities if i.is_domain]
    route53_error = _read_views(result, domains, settings, wiring)
    # Whether SES signs an address's mail depends on its domain identity, audited or not.
    signers = {region: signing_domains(members) for region, members in _by_region(known).items()}
    result.findings.extend(
        f for i in result.identities if not i.is_domain for f in check_address(i, signers.get(i.region, ()))
    )
    checked = _check_domains(
        result,
        domains,
        wiring.dns(),
        deadline=deadline,
        settings=settings,
        route53_error=route53_error,
        progress=progress,
    )
    result.findings.extend(
        by_organisation(
            checked,
            policy=settings.dmarc_policy,
            rua=settings.dmarc_rua,
            at_organisation=settings.dmarc_at_organisation,
            view_of=result.placement.view,
        )
    )
    return result


class _Quiet:
    def identities_read(self, count: int) -> None:
        pass

    def domains_checked(self, done: int, total: int, lookups: int) -> None:
        pass


def _read_identities(
    result: AuditResult, wiring: Wiring, patterns: list[str] | None, progress: Progress, accounts: list[AccountState]
) -> list[Identity]:
    """Regions are read concurrently: each has its own SES quota, and the pacer keeps each within it.

    Exact names keep the read cheap (SES is asked for those only); a single glob means reading every identity of
    the region and matching here. The domains of requested addresses (and their parents) are read too, since they
    decide the addresses' signing. A region with identities costs one GetAccount more, for `accounts`; one
    without has no mail the account's state could stop, so it costs nothing."""
    names = None
    if patterns is not None and not any(map(is_glob, patterns)):
        names = set(patterns)
        names |= {parent for name in names if "@" in name for parent in ancestors(name.rpartition("@")[2])}
    lock = threading.Lock()
    read_so_far = 0

    def read(region: str) -> list[Identity]:
        nonlocal read_so_far
        try:
            identities = wiring.ses(region).read_identities(names)
        except AwsError as err:
            result.errors.append(RunError("region", region, str(err)))
            return []
        if identities:
            try:
                accounts.append(wiring.ses(region).read_account())
            except AwsError as err:
                # The identities were read and are audited; the error keeps the region's findings from resolving.
                result.errors.append(RunError("region", region, f"account state not read: {err}"))
        with lock:
            read_so_far += len(identities)
            progress.identities_read(read_so_far)
        return identities

    with ThreadPoolExecutor(max_workers=max(1, min(len(result.regions), 8))) as pool:
        identities = [i for batch in pool.map(read, result.regions) for i in batch]
    return link_replicas(_read_origins(result, wiring, identities))


def _read_origins(result: AuditResult, wiring: Wiring, identities: list[Identity]) -> list[Identity]:
    """Deterministic Easy DKIM replicas show only in SigningAttributesOrigin, which costs a call per identity: only
    the candidates (tokens shared with a namesake in another region) are asked, region by region, concurrently. A
    region that fails here keeps its batch-read identities, Easy DKIM as far as the run knows, and is an error."""
    candidates = replica_candidates(identities)
    if not candidates:
        return settle_origins(identities)  # a probe or a failed verification may already have read one

    def read(region: str) -> list[Identity]:
        try:
            return wiring.ses(region).read_origins(candidates[region])
        except AwsError as err:
            result.errors.append(RunError("region", region, str(err)))
            return []

    with ThreadPoolExecutor(max_workers=max(1, min(len(candidates), 8))) as pool:
        reread = {i.key: i for batch in pool.map(read, list(candidates)) for i in batch}
    return settle_origins([reread.get(identity.key, identity) for identity in identities])


def _wanted(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) if is_glob(p) else name == p for p in patterns)


def _report_unmatched(result: AuditResult, patterns: Sequence[str], known: Sequence[Identity]) -> None:
    """Names only the regions that were read: a region that could not be read is an error of its own."""
    failed = {e.subject for e in result.errors if e.scope == "region"}
    where = ", ".join(r for r in result.regions if r not in failed) or "no region"
    for pattern in patterns:
        if any(_wanted(i.name, [pattern]) for i in result.identities):
            continue
        message = f"no identity matches {pattern} in {where}"
        if any(_wanted(i.name, [pattern]) for i in known):
            message += " (the identities it matches are excluded by EXCLUDE_IDENTITIES)"
        result.unmatched.append(pattern)
        result.errors.append(RunError("run", pattern, message))


def _excluded(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, identity_pattern(p)) for p in patterns)


def _needed_names(identity: Identity, settings: Settings) -> set[str]:
    names = {r.record.name for r in required_records(identity, settings.dmarc_policy, settings.dmarc_rua)}
    names |= {r.record.name for r in receiving_records(identity, settings.reports_address, settings.receiving_region)}
    if settings.configure_mail_from and not (identity.mail_from and identity.mail_from.domain):
        names.add(new_mail_from_domain(identity, settings.mail_from_subdomain))
    names.add(dmarc_name(identity.domain))
    if settings.dmarc_at_organisation:
        names.add(dmarc_name(organisational_domain(identity.domain)))
    return names


def _read_views(result: AuditResult, domains: list[Identity], settings: Settings, wiring: Wiring) -> str:
    """Lists zones once and reads each touched zone once; returns the Route 53 error, if any."""
    source = wiring.route53()
    try:
        zones = source.list_zones()
    except AwsError as err:
        result.errors.append(RunError("route53", "hosted zones", str(err)))
        return str(err)
    placement = result.placement
    members: dict[Zone, list[Identity]] = defaultdict(list)
    for identity in domains:
        zone = placement.zone_of[identity.key] = pick_zone(identity.domain, zones)
        if zone is not None:
            members[zone].append(identity)
    for zone, placed in members.items():
        names = {zone.name} | within_zone({n for i in placed for n in _needed_names(i, settings)}, zone.name)
        try:
            records = source.record_sets(zone, names)
        except AwsError as err:
            result.errors.append(RunError("zone", zone.name, str(err)))
            # Kept, with why: its identities' findings must say the zone could not be read, not that there is none.
            placement.views[zone] = ZoneView(zone=zone, unread=str(err))
            continue
        placement.views[zone] = ZoneView(zone=zone, name_servers=apex_name_servers(zone, records), records=records)
    return ""


def _check_domains(
    result: AuditResult,
    domains: list[Identity],
    dns: Lookup,
    *,
    deadline: Deadline,
    settings: Settings,
    route53_error: str,
    progress: Progress,
) -> list[Finding]:
    dmarc = {
        "dmarc_policy": settings.dmarc_policy,
        "dmarc_rua": settings.dmarc_rua,
        "reports_address": settings.reports_address,
        "receiving_region": settings.receiving_region,
    }
    counted = _Counted(dns)
    dns = Budgeted(counted, deadline)
    lock = threading.Lock()
    done = 0
    live_ns: dict[Zone, Answer] = {}

    def check(identity: Identity) -> list[Finding]:
        nonlocal done
        findings = judge(identity)
        with lock:
            done += 1
            progress.domains_checked(done, len(domains), counted.count)
        return findings

    def judge(identity: Identity) -> list[Finding]:
        if deadline.expired():
            return [check_failed(identity, f"Not checked: {TIME_BUDGET} before this identity.")]
        # Without the zone list nothing is fixable and "no zone" would be a guess: the view says what failed instead.
        view = result.placement.view(identity.key) or ZoneView(zone=None, unread=route53_error or "not read")
        receiving = receiving_domain(identity, settings.reports_address, settings.receiving_region)
        observed = observe_domain(identity, dns, receiving=receiving)
        if view.zone is not None and not view.unread:
            view = replace(view, live_ns=delegation(view.zone))
        return evaluate_domain(identity, observed, view, **dmarc)

    def delegation(zone: Zone) -> Answer:
        """The zone's live NS, memoised by the DNS client; the zone keeps a failed answer if any identity got one
        (the time budget ran out for it, say), so remediation never writes on a better answer than a check saw."""
        answer = dns.lookup(zone.name, "NS")
        with lock:
            if zone not in live_ns or answer.failed:
                live_ns[zone] = answer
        return answer

    with ThreadPoolExecutor(max_workers=settings.dns_concurrency) as pool:
        checked = [f for findings in pool.map(check, domains) for f in findings]
    # Remediation writes only into zones whose delegation was seen; a zone no check reached keeps none.
    for zone, answer in live_ns.items():
        result.placement.views[zone] = replace(result.placement.views[zone], live_ns=answer)
    return checked


class _Counted:
    """Counts the lookups the checks make, for progress reports."""

    def __init__(self, dns: Lookup) -> None:
        self._dns = dns
        self._lock = threading.Lock()
        self.count = 0

    def lookup(self, name: str, rdtype: str) -> Answer:
        answer = self._dns.lookup(name, rdtype)
        with self._lock:
            self.count += 1
        return answer


def _by_region(identities: list[Identity]) -> dict[str, list[Identity]]:
    grouped: dict[str, list[Identity]] = defaultdict(list)
    for identity in identities:
        grouped[identity.region].append(identity)
    return grouped
