"""Remediation: turn fixable findings into Route 53 changes, zone by zone, and apply them unless this is a dry run."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from core.kernel.errors import AwsError
from core.kernel.models import (
    Change,
    Code,
    Finding,
    IdentityKey,
    Placement,
    Record,
    SkippedZone,
    Zone,
    ZoneView,
)
from core.kernel.names import within_zone
from core.rules.plan import Skipped, Wanted, batches, plan_zone, wanted_records
from core.rules.safety import placement as zone_blocker
from core.run.ports import Zones

# Route 53 answers InvalidChangeBatch when a CREATE meets a record set that appeared since the zone was read.
_RACE = "InvalidChangeBatch"
_DENIED = ("AccessDenied", "AccessDeniedException")


@dataclass
class Remediation:
    changes: list[Change] = field(default_factory=list)
    failures: list[Finding] = field(default_factory=list)
    wanted: list[Wanted] = field(default_factory=list)  # every record the findings asked for
    done: set[Wanted] = field(default_factory=set)  # those Route 53 now holds, written by this run or already there

    def mark_fixed(self, findings: Sequence[Finding]) -> list[Finding]:
        """A finding is fixed when every record it lists is one that this run wrote, or found already written."""
        done = Counter(f for w in self.done for f in w.findings)
        return [replace(f, fixed=True) if f.required() and done[f] == len(f.required()) else f for f in findings]


def skipped_zones(placement: Placement) -> list[SkippedZone]:
    """The zones of this run that get no change whatever their findings ask, each with the reason, for the plan."""
    return [
        SkippedZone(zone.id, zone.name, reason)
        for zone, view in sorted(placement.views.items(), key=lambda item: item[0].name)
        if (reason := zone_blocker(view, zone.name))
    ]


def remediate(
    findings: Sequence[Finding],
    placement: Placement,
    writer: Zones,
    *,
    ttl: int,
    dry_run: bool,
    extra: Sequence[Wanted] = (),
    out_of_time: Callable[[], bool] = lambda: False,
) -> Remediation:
    """Plans, and writes, zone by zone as the audit grouped the identities, so one zone's failure leaves the
    others alone."""
    result = Remediation(wanted=[*wanted_records(findings), *extra])
    zones: dict[Zone, list[Wanted]] = defaultdict(list)
    for item in result.wanted:
        zone = placement.zone_of.get(item.finding.key)
        if zone is not None and zone in placement.views:
            zones[zone].append(item)
    for zone, wanted in zones.items():
        view = placement.views[zone]
        reason = zone_blocker(view, zone.name)
        if reason:
            # Never reached through fixable findings (they are not fixable there); this keeps any other way out too.
            result.failures += _failed(wanted, f"Not written to {zone.name}: {reason}.")
        elif dry_run:
            changes, skipped = plan_zone(zone, view, wanted, ttl)
            result.changes += changes
            result.failures += _skipped(skipped)
        elif out_of_time():
            result.failures += _failed(wanted, f"Not written to {zone.name}: the run's time budget ran out.")
        else:
            _apply_zone(zone, view, wanted, writer, result, ttl=ttl)
    return result


def _apply_zone(
    zone: Zone, audited: ZoneView, wanted: list[Wanted], writer: Zones, result: Remediation, *, ttl: int
) -> None:
    """`audited`: the zone as the audit saw it; its records are read again here, its delegation stands."""
    names = {item.record.name for item in wanted}
    start = len(result.changes)
    for attempt in (1, 2):
        try:
            # Read immediately before writing: an UPSERT carries every value the set holds at this moment.
            view = replace(audited, records=writer.record_sets(zone, within_zone(names, zone.name)))
            changes, skipped = plan_zone(zone, view, wanted, ttl)
            for batch in batches(changes):
                skipped += _write(zone, batch, writer, wanted, result)
        except AwsError as err:
            if err.code == _RACE and attempt == 1:
                continue  # the zone changed between read and write: read it again and plan again, once
            # Batches written before the failure stand; only what was not written is reported as failed.
            written = {(c.name, c.type) for c in result.changes[start:]}
            result.done.update(w for w in wanted if (w.record.name, w.record.type) in written)
            unwritten = [w for w in wanted if (w.record.name, w.record.type) not in written]
            result.failures += _failed(
                unwritten, f"Route 53 did not take the changes to {zone.name} ({zone.id}): {err}"
            )
            return
        refused = {s.wanted for s in skipped}
        result.failures += _skipped(skipped)
        result.done.update(w for w in wanted if w not in refused)
        return


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
    records: dict[IdentityKey, list[Record]] = defaultdict(list)
    for item in wanted:
        if item.record not in records[item.finding.key]:
            records[item.finding.key].append(item.record)
    return [Finding.about(key, Code.CHECK_FAILED, message, records=tuple(held)) for key, held in records.items()]


def _skipped(skipped: list[Skipped]) -> list[Finding]:
    return [
        Finding.about(s.wanted.finding.key, Code.CHECK_FAILED, f"Not created: {s.why}.", records=(s.wanted.record,))
        for s in skipped
    ]
