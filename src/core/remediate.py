"""Remediation: turn fixable findings into Route 53 changes, zone by zone, and apply them unless this is a dry run."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from core.errors import AwsError
from core.models import Change, Code, Finding, Zone, ZoneView
from core.names import within_zone
from core.plan import Skipped, Wanted, batches, plan_zone, wanted_records
from core.ports import Zones

# Route 53 answers InvalidChangeBatch when a CREATE meets a record set that appeared since the zone was read.
_RACE = "InvalidChangeBatch"
_DENIED = ("AccessDenied", "AccessDeniedException")


@dataclass
class Remediation:
    changes: list[Change] = field(default_factory=list)
    failures: list[Finding] = field(default_factory=list)
    done: set[tuple[str, str, str]] = field(default_factory=set)  # (name, type, value) now in Route 53

    def mark_fixed(self, findings: Sequence[Finding]) -> list[Finding]:
        """Findings whose every record now exists in Route 53 are marked fixed."""
        return [
            replace(f, fixed=True)
            if f.fixable and f.records and all((r.name, r.type, v) in self.done for r in f.records for v in r.values)
            else f
            for f in findings
        ]


def remediate(
    findings: Sequence[Finding],
    views: dict[tuple[str, str], ZoneView],
    writer: Zones,
    *,
    ttl: int,
    dry_run: bool,
    extra: Sequence[Wanted] = (),
    out_of_time: Callable[[], bool] = lambda: False,
) -> Remediation:
    """`views` are the audit's, keyed by (region, identity). Each zone is planned, and written, on its own, so
    one zone's failure leaves the others alone."""
    result = Remediation()
    zones: dict[Zone, list[Wanted]] = defaultdict(list)
    audit_views: dict[Zone, ZoneView] = {}
    for item in [*wanted_records(findings), *extra]:
        view = views.get((item.region, item.identity))
        if view is not None and view.zone is not None:
            zones[view.zone].append(item)
            audit_views[view.zone] = view
    for zone, wanted in zones.items():
        if dry_run:
            changes, skipped = plan_zone(zone, audit_views[zone], wanted, ttl)
            result.changes += changes
            result.failures += _skipped(skipped)
        elif out_of_time():
            result.failures += _failed(wanted, f"Not written to {zone.name}: the run's time budget ran out.")
        else:
            _apply_zone(zone, wanted, writer, ttl, result)
    return result


def _apply_zone(zone: Zone, wanted: list[Wanted], writer: Zones, ttl: int, result: Remediation) -> None:
    names = {item.record.name for item in wanted}
    start = len(result.changes)
    for attempt in (1, 2):
        try:
            # Read immediately before writing: an UPSERT carries every value the set holds at this moment.
            view = ZoneView(zone=zone, records=writer.record_sets(zone, within_zone(names, zone.name)))
            changes, skipped = plan_zone(zone, view, wanted, ttl)
            for batch in batches(changes):
                skipped += _write(zone, batch, writer, wanted, result)
        except AwsError as err:
            if err.code == _RACE and attempt == 1:
                continue  # the zone changed between read and write: read it again and plan again, once
            # Batches written before the failure stand; only what was not written is reported as failed.
            written = {(c.name, c.type) for c in result.changes[start:]}
            _mark_done(result, [w for w in wanted if (w.record.name, w.record.type) in written])
            unwritten = [w for w in wanted if (w.record.name, w.record.type) not in written]
            result.failures += _failed(
                unwritten, f"Route 53 did not take the changes to {zone.name} ({zone.id}): {err}"
            )
            return
        refused = {id(s.wanted) for s in skipped}
        result.failures += _skipped(skipped)
        _mark_done(result, [w for w in wanted if id(w) not in refused])
        return


def _mark_done(result: Remediation, wanted: list[Wanted]) -> None:
    result.done |= {(item.record.name, item.record.type, value) for item in wanted for value in item.record.values}


def _write(zone: Zone, batch: list[Change], writer: Zones, wanted: list[Wanted], result: Remediation) -> list[Skipped]:
    """Apply one batch. IAM conditions judge a batch as a whole, so when it is denied, each change is tried alone:
    one record outside the policy (say, a MAIL FROM name of another pattern) must not hold back the rest."""
    try:
        writer.apply(zone, batch)
    except AwsError as err:
        if err.code not in _DENIED or len(batch) == 1:
            raise
    else:
        result.changes += [replace(change, applied=True) for change in batch]
        return []
    denied: list[Skipped] = []
    for change in batch:
        try:
            writer.apply(zone, [change])
        except AwsError as err:
            if err.code not in _DENIED:
                raise
            key = (change.name, change.type)
            denied += [
                Skipped(w, f"Route 53 refused it: {err}") for w in wanted if (w.record.name, w.record.type) == key
            ]
        else:
            result.changes.append(replace(change, applied=True))
    return denied


def _failed(wanted: list[Wanted], message: str) -> list[Finding]:
    identities = dict.fromkeys((item.identity, item.region) for item in wanted)
    return [
        Finding(
            Code.CHECK_FAILED,
            identity,
            region,
            message,
            records=tuple(dict.fromkeys(i.record for i in wanted if i.identity == identity and i.region == region)),
        )
        for identity, region in identities
    ]


def _skipped(skipped: list[Skipped]) -> list[Finding]:
    return [
        Finding(
            Code.CHECK_FAILED,
            s.wanted.identity,
            s.wanted.region,
            f"Not created: {s.why}.",
            records=(s.wanted.record,),
        )
        for s in skipped
    ]
