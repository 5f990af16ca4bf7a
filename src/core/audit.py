"""The audit: read SES per region, Route 53 once, live DNS per identity, then judge everything purely."""

from __future__ import annotations

import fnmatch
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from core.checks.identity import check_address, signing_domains
from core.errors import AwsError
from core.evaluate import check_failed, evaluate_domain
from core.models import Answer, Code, Finding, Identity, Zone, ZoneView
from core.names import ancestors, identity_name, within_zone
from core.observe import observe_domain
from core.ports import Lookup, Wiring
from core.required import dmarc_name, required_records
from core.settings import Settings, mail_from_domain
from core.zones import apex_name_servers, pick_zone

TIME_BUDGET = "the run's time budget ran out"


@dataclass(frozen=True)
class Deadline:
    """The Lambda's remaining time: under the margin, no new lookup or change starts."""

    remaining_seconds: Callable[[], float]
    margin_seconds: float

    @classmethod
    def unlimited(cls) -> Deadline:
        return cls(lambda: float("inf"), 0.0)

    def expired(self) -> bool:
        return self.remaining_seconds() < self.margin_seconds


@dataclass(frozen=True)
class _Budgeted:
    """A lookup that stops asking once the deadline passes, so one slow identity cannot outrun the margin by more
    than one DNS timeout; what it no longer asks comes back FAILED and the checks say so."""

    dns: Lookup
    deadline: Deadline

    def lookup(self, name: str, rdtype: str) -> Answer:
        if self.deadline.expired():
            return Answer(name, rdtype, "FAILED", error=TIME_BUDGET)
        return self.dns.lookup(name, rdtype)


@dataclass
class AuditResult:
    regions: list[str]
    identities: list[Identity] = field(default_factory=list)
    views: dict[tuple[str, str], ZoneView] = field(default_factory=dict)  # (region, identity) -> Route 53 view
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def resolve_regions(requested: Sequence[str], wiring: Wiring) -> list[str]:
    return wiring.all_regions() if list(requested) == ["all"] else list(requested)


def audit(
    regions: Sequence[str],
    settings: Settings,
    wiring: Wiring,
    deadline: Deadline,
    only: Collection[str] | None = None,
) -> AuditResult:
    result = AuditResult(regions=resolve_regions(regions, wiring))
    known = _read_identities(result, wiring, only)
    wanted = None if only is None else {identity_name(name) for name in only}
    result.identities = [
        i for i in known if (wanted is None or i.name in wanted) and not _excluded(i.name, settings.exclude_identities)
    ]
    domains = [i for i in result.identities if i.is_domain]
    route53_error = _read_views(result, domains, settings, wiring)
    # Whether SES signs an address's mail depends on its domain identity, audited or not.
    signers = {region: signing_domains(members) for region, members in _by_region(known).items()}
    result.findings.extend(
        f for i in result.identities if not i.is_domain for f in check_address(i, signers.get(i.region, ()))
    )
    result.findings.extend(
        _check_domains(result, domains, wiring.dns(), deadline=deadline, settings=settings, route53_error=route53_error)
    )
    return result


def _read_identities(result: AuditResult, wiring: Wiring, only: Collection[str] | None) -> list[Identity]:
    """Regions are read concurrently: each has its own SES quota, and the pacer keeps each within it. With `only`,
    the domains of its addresses (and their parents) are read too, since they decide the addresses' signing."""
    names = None
    if only is not None:
        names = {identity_name(name) for name in only}
        names |= {parent for name in names if "@" in name for parent in ancestors(name.rpartition("@")[2])}

    def read(region: str) -> list[Identity]:
        try:
            return wiring.ses(region).read_identities(names)
        except AwsError as err:
            result.errors.append(f"{region}: {err}")
            return []

    with ThreadPoolExecutor(max_workers=max(1, min(len(result.regions), 8))) as pool:
        return [i for batch in pool.map(read, result.regions) for i in batch]


def _excluded(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, identity_name(p)) for p in patterns)


def _needed_names(identity: Identity, settings: Settings) -> set[str]:
    names = {r.record.name for r in required_records(identity, settings.dmarc_policy, settings.dmarc_rua)}
    if settings.configure_mail_from and not (identity.mail_from and identity.mail_from.domain):
        names.add(mail_from_domain(identity, settings))
    return names | {dmarc_name(identity.domain)}


def _read_views(result: AuditResult, domains: list[Identity], settings: Settings, wiring: Wiring) -> str:
    """Lists zones once and reads each touched zone once; returns the Route 53 error, if any."""
    source = wiring.route53()
    try:
        zones = source.list_zones()
    except AwsError as err:
        result.errors.append(f"route53: {err}")
        return str(err)
    placed: dict[Zone, list[Identity]] = defaultdict(list)
    for identity in domains:
        zone = pick_zone(identity.domain, zones)
        if zone is None:
            result.views[(identity.region, identity.name)] = ZoneView(zone=None)
        else:
            placed[zone].append(identity)
    for zone, members in placed.items():
        names = {zone.name} | within_zone({n for i in members for n in _needed_names(i, settings)}, zone.name)
        try:
            records = source.record_sets(zone, names)
        except AwsError as err:
            result.errors.append(f"route53 zone {zone.name}: {err}")
            continue
        view = ZoneView(zone=zone, name_servers=apex_name_servers(zone, records), records=records)
        for identity in members:
            result.views[(identity.region, identity.name)] = view
    return ""


def _check_domains(
    result: AuditResult,
    domains: list[Identity],
    dns: Lookup,
    *,
    deadline: Deadline,
    settings: Settings,
    route53_error: str,
) -> list[Finding]:
    dmarc = {"dmarc_policy": settings.dmarc_policy, "dmarc_rua": settings.dmarc_rua}
    dns = _Budgeted(dns, deadline)

    def check(identity: Identity) -> list[Finding]:
        if deadline.expired():
            return [check_failed(identity, f"Not checked: {TIME_BUDGET} before this identity.")]
        view = result.views.get((identity.region, identity.name))
        if view is None:
            reason = route53_error or "its Route 53 zone could not be read"
            findings = evaluate_domain(identity, observe_domain(identity, dns, None), ZoneView(zone=None), **dmarc)
            # Without Route 53 nothing is fixable and "no zone" would be a guess: say what failed instead.
            return [
                *(f for f in findings if f.code is not Code.ZONE_NOT_FOUND),
                check_failed(identity, f"Route 53 could not be read ({reason}); nothing can be fixed this run."),
            ]
        return evaluate_domain(identity, observe_domain(identity, dns, view.zone), view, **dmarc)

    with ThreadPoolExecutor(max_workers=settings.dns_concurrency) as pool:
        return [f for findings in pool.map(check, domains) for f in findings]


def _by_region(identities: list[Identity]) -> dict[str, list[Identity]]:
    grouped: dict[str, list[Identity]] = defaultdict(list)
    for identity in identities:
        grouped[identity.region].append(identity)
    return grouped
