"""The audit: SES per region, streamed into live-DNS checks; Route 53 zones read once each; judged purely."""

from __future__ import annotations

import fnmatch
import threading
from collections import defaultdict
from collections.abc import Collection, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from core.checks.account import check_account
from core.checks.dmarcorg import by_organisation
from core.checks.evaluate import check_failed, evaluate_domain
from core.checks.identity import check_address, signing_domains
from core.kernel.errors import AwsError
from core.kernel.models import (
    AccountState,
    Answer,
    Finding,
    Identity,
    IdentityKey,
    Placement,
    RunError,
    Zone,
    ZoneView,
)
from core.kernel.names import ancestors, identity_pattern, is_glob, normalise, within_zone
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
from core.run.ports import IdentityStream, Lookup, Progress, Wiring

PAGE = 300  # record sets in a ListResourceRecordSets page, the API's maximum
NAMES_READ = 8  # Route 53 names an identity's checks read: DKIM, MAIL FROM, DMARC and their parents


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
    the regions read is listed in `unmatched` and reported as a run error: a typo must never pass as a clean run.

    The run is a pipeline (`_Pipeline`): each region's SES reads stream into the DNS checks as they are paced out,
    and each identity is judged and dropped as soon as it is checked, so a run costs the SES quota's time and not
    much more, and its memory does not grow with observations. What needs every identity first is done once the
    reads are over: replica linking (only identities with a namesake in another region wait for it), the account,
    address and organisation findings, and the results' order, which is the order a read-then-check run gives."""
    pipeline = _Pipeline(
        resolve_regions(regions, wiring),
        settings=settings,
        wiring=wiring,
        deadline=deadline,
        only=only,
        progress=progress or _Quiet(),
    )
    return pipeline.run()


class _Quiet:
    def identities_read(self, count: int) -> None:
        pass

    def domains_checked(self, done: int, total: int, lookups: int) -> None:
        pass


@dataclass
class _Plan:
    """The account's zones, once listed, and those whose identities wait for the end of the SES reads: zones so
    large that reading a few names one by one costs fewer calls than reading them whole."""

    zones: list[Zone]
    error: str = ""
    sparse: frozenset[Zone] = frozenset()


class _Pipeline:
    """One audit, in three kinds of thread that share nothing but what is below, each piece under `_lock`:

    - one reader thread per region (at most 8) lists its identities, then iterates its SES batches and submits
      each wanted domain identity to the check pool the moment its batch is read;
    - one Route 53 thread lists the zones (while SES lists identities), then reads each zone the listed identities
      touch, whole and once, in the order they were listed; a check that needs a zone waits for its read;
    - DNS_CONCURRENCY check threads observe an identity through its own DNS memo (names below its domain) and the
      run's (names identities share: SPF includes, the DMARC tree, zone NS), judge it, keep its findings and drop
      the observations.

    Identities that must wait (a namesake in another region, for replica linking; a zone read name by name) are
    checked after the reads. Results are assembled in read-then-check order by `_assemble`, on the calling thread.
    """

    def __init__(
        self,
        regions: list[str],
        *,
        settings: Settings,
        wiring: Wiring,
        deadline: Deadline,
        only: Collection[str] | None,
        progress: Progress,
    ) -> None:
        self.result = AuditResult(regions=regions)
        self.settings = settings
        self.wiring = wiring
        self.deadline = deadline
        self.patterns = None if only is None else [identity_pattern(p) for p in only]
        self.progress = progress
        self.shared = wiring.dns()  # the run's memo, made here: `dns()` is not built for concurrent first calls
        self.zones_source = wiring.route53()
        self._lock = threading.Lock()
        self._lookups = 0
        self._read = 0
        self._done = 0
        self._total = 0
        self._region_errors: list[RunError] = []
        self._zone_errors: dict[Zone, RunError] = {}
        self._accounts: dict[str, AccountState] = {}
        self._by_region: dict[str, list[Identity]] = {}
        self._namesakes: set[str] = set()
        self._held: list[Identity] = []  # namesakes, until every region is read
        self._deferred: list[Identity] = []  # in a sparse zone, until every region is read
        self._zone_of: dict[IdentityKey, Zone | None] = {}
        self._views: dict[Zone, Future[ZoneView]] = {}
        self._live_ns: dict[Zone, Answer] = {}
        self._findings: dict[IdentityKey, list[Finding]] = {}
        self._pending: list[Future[None]] = []

    def run(self) -> AuditResult:
        route53 = ThreadPoolExecutor(max_workers=1)
        checks = ThreadPoolExecutor(max_workers=self.settings.dns_concurrency)
        try:
            listed_zones = route53.submit(self.zones_source.list_zones)
            streams = self._list_regions()
            plan = route53.submit(self._prepare, listed_zones, streams, route53)
            self._stream(streams, plan, checks)
            self._release_held(plan, checks)
            self._wait()
            self._read_sparse()
            for identity in self._take_deferred():
                self._submit(identity, plan, checks)
            self._wait()
        finally:
            checks.shutdown(wait=True)
            route53.shutdown(wait=True)
        return self._assemble(plan.result())

    # -- SES -----------------------------------------------------------------------------------------------------

    def _list_regions(self) -> dict[str, IdentityStream]:
        """Every region's listing, concurrently (a few calls each), before any batch is read: the listings name
        the namesakes replica linking needs and the identities each zone holds."""
        names = None
        if self.patterns is not None and not any(map(is_glob, self.patterns)):
            # Exact names keep the read cheap; the domains of requested addresses (and their parents) are read too,
            # since they decide the addresses' signing.
            names = set(self.patterns)
            names |= {parent for name in names if "@" in name for parent in ancestors(name.rpartition("@")[2])}

        def list_region(region: str) -> IdentityStream | None:
            try:
                return self.wiring.ses(region).stream_identities(names)
            except AwsError as err:
                self._region_error(region, str(err))
                return None

        regions = self.result.regions
        with ThreadPoolExecutor(max_workers=max(1, min(len(regions), 8))) as pool:
            listed = dict(zip(regions, pool.map(list_region, regions), strict=True))
        streams = {region: stream for region, stream in listed.items() if stream is not None}
        seen: dict[str, set[str]] = defaultdict(set)
        for region, stream in streams.items():
            for name, is_domain in stream.listed:
                seen[name].add(region)
                self._total += is_domain and self._audited(name)
        self._namesakes = {name for name, where in seen.items() if len(where) > 1}
        return streams

    def _stream(self, streams: dict[str, IdentityStream], plan: Future[_Plan], checks: ThreadPoolExecutor) -> None:
        """Reads every region's batches, concurrently: each region has its own SES quota, and its pacer keeps
        each within it. A region that fails part-way is an error and none of its identities count, as if it had
        failed at once; one with identities costs a GetAccount more, for the account findings."""

        def read(region: str) -> None:
            identities: list[Identity] = []
            try:
                for batch in streams[region]:
                    identities += batch
                    with self._lock:
                        self._read += len(batch)
                        self.progress.identities_read(self._read)
                    for identity in batch:
                        if identity.name in self._namesakes:
                            with self._lock:
                                self._held.append(identity)
                        elif identity.is_domain and self._audited(identity.name):
                            self._submit(identity, plan, checks)
            except AwsError as err:
                self._region_error(region, str(err))
                return
            if identities:
                try:
                    account = self.wiring.ses(region).read_account()
                    with self._lock:
                        self._accounts[region] = account
                except AwsError as err:
                    # The identities were read and are audited; the error keeps the region's findings from resolving.
                    self._region_error(region, f"account state not read: {err}")
            with self._lock:
                self._by_region[region] = identities

        with ThreadPoolExecutor(max_workers=max(1, min(len(streams), 8))) as pool:
            list(pool.map(read, list(streams)))

    def _release_held(self, plan: Future[_Plan], checks: ThreadPoolExecutor) -> None:
        """Namesakes, every region read: replicas linked to their parents, then checked."""
        held = self._held
        read = {i.key for identities in self._by_region.values() for i in identities}
        linked = link_replicas(_read_origins(self.result, self.wiring, [i for i in held if i.key in read]))
        self._held = []
        swapped = {identity.key: identity for identity in linked}
        for region, identities in self._by_region.items():
            self._by_region[region] = [swapped.get(identity.key, identity) for identity in identities]
        for identity in linked:
            if identity.is_domain and self._audited(identity.name):
                self._submit(identity, plan, checks)

    # -- Route 53 ------------------------------------------------------------------------------------------------

    def _prepare(
        self, listed_zones: Future[list[Zone]], streams: dict[str, IdentityStream], route53: ThreadPoolExecutor
    ) -> _Plan:
        """On the Route 53 thread: places the listed identities, then queues a read of each zone they touch."""
        try:
            zones = listed_zones.result()
        except AwsError as err:
            return _Plan(zones=[], error=str(err))
        placed: dict[Zone, int] = defaultdict(int)
        for stream in streams.values():
            for name, is_domain in stream.listed:
                zone = pick_zone(name, zones) if is_domain and self._audited(name) else None
                if zone is not None:
                    placed[zone] += 1
        # Reading the zone whole costs its pages; one by one, about NAMES_READ calls an identity.
        sparse = frozenset(z for z, count in placed.items() if count * NAMES_READ < -(-z.record_count // PAGE))
        for zone in placed:
            if zone not in sparse:
                self._zone_view(zone, route53)
        return _Plan(zones=zones, sparse=sparse)

    def _zone_view(self, zone: Zone, route53: ThreadPoolExecutor | None) -> Future[ZoneView]:
        """The zone's view, read once: the first to ask queues the read."""
        with self._lock:
            if zone not in self._views:
                if route53 is None:
                    raise RuntimeError(f"zone {zone.name} was never queued for reading")
                self._views[zone] = route53.submit(self._read_zone, zone)
            return self._views[zone]

    def _read_zone(self, zone: Zone) -> ZoneView:
        """Every page of the zone, keeping the record sets at or below the names its identities might need (the
        exact names are only known once every identity is read; `_assemble` narrows the view to them)."""
        try:
            records = self.zones_source.record_sets(zone)
        except AwsError as err:
            with self._lock:
                self._zone_errors[zone] = RunError("zone", zone.name, str(err))
            # Kept, with why: its identities' findings must say the zone could not be read, not that there is none.
            return ZoneView(zone=zone, unread=str(err))
        return ZoneView(zone=zone, name_servers=apex_name_servers(zone, records), records=records)

    def _read_sparse(self) -> None:
        """The sparse zones, name by name, for the identities deferred to them (all of theirs)."""
        members: dict[Zone, list[Identity]] = defaultdict(list)
        for identity in self._deferred:
            zone = self._zone_of[identity.key]
            if zone is not None:
                members[zone].append(identity)
        for zone, placed in members.items():
            names = {zone.name} | within_zone({n for i in placed for n in _needed_names(i, self.settings)}, zone.name)
            view: Future[ZoneView] = Future()
            try:
                records = self.zones_source.record_sets(zone, names)
                view.set_result(ZoneView(zone=zone, name_servers=apex_name_servers(zone, records), records=records))
            except AwsError as err:
                with self._lock:
                    self._zone_errors[zone] = RunError("zone", zone.name, str(err))
                view.set_result(ZoneView(zone=zone, unread=str(err)))
            with self._lock:
                self._views[zone] = view

    # -- checks --------------------------------------------------------------------------------------------------

    def _submit(self, identity: Identity, plan: Future[_Plan], checks: ThreadPoolExecutor) -> None:
        """Queues the identity's check; finished checks' futures are let go here, any exception raised."""
        future = checks.submit(self._check, identity, plan)
        with self._lock:
            done = [f for f in self._pending if f.done()]
            self._pending = [f for f in self._pending if not f.done()]
            self._pending.append(future)
        for finished in done:
            finished.result()

    def _wait(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for future in pending:
            future.result()

    def _take_deferred(self) -> list[Identity]:
        with self._lock:
            deferred, self._deferred = self._deferred, []
        return deferred

    def _check(self, identity: Identity, plan: Future[_Plan]) -> None:
        view = self._view(identity, plan.result())
        if view is None:
            return  # deferred: its zone is read name by name after the SES reads
        findings = self._judge(identity, view)
        with self._lock:
            if findings:  # most identities have none: an empty list each would be kept for nothing
                self._findings[identity.key] = findings
            self._done += 1
            self.progress.domains_checked(self._done, self._total, self._lookups)

    def _view(self, identity: Identity, plan: _Plan) -> ZoneView | None:
        # Without the zone list nothing is fixable and "no zone" would be a guess: the view says what failed instead.
        if plan.error:
            return ZoneView(zone=None, unread=plan.error)
        zone = pick_zone(identity.domain, plan.zones)
        with self._lock:
            self._zone_of[identity.key] = zone
            if zone in plan.sparse and zone not in self._views:
                self._deferred.append(identity)
                return None
        return ZoneView(zone=None) if zone is None else self._zone_view(zone, None).result()

    def _judge(self, identity: Identity, view: ZoneView) -> list[Finding]:
        if self.deadline.expired():
            return [check_failed(identity, f"Not checked: {TIME_BUDGET} before this identity.")]
        settings = self.settings
        dns = Budgeted(_Routed(self, identity.domain, self.wiring.scoped_dns()), self.deadline)
        receiving = receiving_domain(identity, settings.reports_address, settings.receiving_region)
        observed = observe_domain(identity, dns, receiving=receiving)
        if view.zone is not None and not view.unread:
            view = replace(view, live_ns=self._delegation(view.zone, dns))
        return evaluate_domain(
            identity,
            observed,
            view,
            dmarc_policy=settings.dmarc_policy,
            dmarc_rua=settings.dmarc_rua,
            reports_address=settings.reports_address,
            receiving_region=settings.receiving_region,
        )

    def _delegation(self, zone: Zone, dns: Lookup) -> Answer:
        """The zone's live NS, memoised by the run's DNS client; the zone keeps a failed answer if any identity got
        one (the time budget ran out for it, say), so remediation never writes on a better answer than a check saw."""
        answer = dns.lookup(zone.name, "NS")
        with self._lock:
            if zone not in self._live_ns or answer.failed:
                self._live_ns[zone] = answer
        return answer

    def counted(self) -> None:
        with self._lock:
            self._lookups += 1

    # -- results -------------------------------------------------------------------------------------------------

    def _assemble(self, plan: _Plan) -> AuditResult:
        """The result a read-then-check run gives, in its order."""
        result = self.result
        result.errors[:0] = self._region_errors  # before the replica reads' errors, as they were made
        known = [i for region in result.regions for i in self._by_region.get(region, [])]
        kept = [i for i in known if not _excluded(i.name, self.settings.exclude_identities)]
        patterns = self.patterns
        result.identities = kept if patterns is None else [i for i in kept if _wanted(i.name, patterns)]
        audited = [i.key for i in result.identities]
        for region in result.regions:
            if region in self._accounts:
                result.findings.extend(check_account(self._accounts[region], audited))
        if patterns is not None:
            _report_unmatched(result, patterns, known)
        domains = [i for i in result.identities if i.is_domain]
        if plan.error:
            result.errors.append(RunError("route53", "hosted zones", plan.error))
        else:
            self._place(domains)
        # Whether SES signs an address's mail depends on its domain identity, audited or not.
        signers = {region: signing_domains(members) for region, members in _by_region(known).items()}
        result.findings.extend(
            f for i in result.identities if not i.is_domain for f in check_address(i, signers.get(i.region, ()))
        )
        checked = [f for identity in domains for f in self._findings.get(identity.key, [])]
        settings = self.settings
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

    def _place(self, domains: list[Identity]) -> None:
        """Placement as the read-then-check run built it: zones in the order of their first identity, each view
        narrowed to the names its identities need, with the live NS the checks saw."""
        placement = self.result.placement
        members: dict[Zone, list[Identity]] = defaultdict(list)
        for identity in domains:
            zone = placement.zone_of[identity.key] = self._zone_of[identity.key]
            if zone is not None:
                members[zone].append(identity)
        for zone, placed in members.items():
            view = self._views[zone].result()
            if zone in self._zone_errors:
                self.result.errors.append(self._zone_errors[zone])
            if not view.unread:
                names = {zone.name} | within_zone(
                    {n for i in placed for n in _needed_names(i, self.settings)}, zone.name
                )
                view = replace(view, records={k: r for k, r in view.records.items() if k[0] in names})
            if zone in self._live_ns:
                view = replace(view, live_ns=self._live_ns[zone])
            placement.views[zone] = view

    def _region_error(self, region: str, message: str) -> None:
        with self._lock:
            self._region_errors.append(RunError("region", region, message))

    def _audited(self, name: str) -> bool:
        if _excluded(name, self.settings.exclude_identities):
            return False
        return self.patterns is None or _wanted(name, self.patterns)


class _Routed:
    """One identity's lookups: the names below its domain (its DKIM and MAIL FROM records) through a memo of its
    own, dropped with the check; every other name (SPF includes, the DMARC tree walk, the zone's NS), which other
    identities ask too, through the run's memo. Each lookup is counted, for progress reports."""

    def __init__(self, pipeline: _Pipeline, domain: str, own: Lookup) -> None:
        self._pipeline = pipeline
        self._suffix = "." + domain
        self._own = own

    def lookup(self, name: str, rdtype: str) -> Answer:
        self._pipeline.counted()
        key = normalise(name)
        # `_dmarc.<domain>` is also a subdomain identity's DMARC tree walk step: shared.
        if key.endswith(self._suffix) and not key.startswith("_dmarc."):
            return self._own.lookup(name, rdtype)
        return self._pipeline.shared.lookup(name, rdtype)


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


def _by_region(identities: list[Identity]) -> dict[str, list[Identity]]:
    grouped: dict[str, list[Identity]] = defaultdict(list)
    for identity in identities:
        grouped[identity.region].append(identity)
    return grouped
