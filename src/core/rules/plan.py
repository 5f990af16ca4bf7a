"""Remediation planning: which Route 53 changes create the missing records without touching what is there.

Pure: it reads a zone's record sets (as Route 53 returned them) and the records the audit found missing, and
returns changes. The rules it keeps are the ones users rely on: never a DELETE, never an existing value altered
(a TXT set that gains a value is written back with every old value byte for byte), never a second SPF or DMARC
record, never a CNAME beside other data, never an MX beside foreign MX values.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.kernel.models import MISSING_CODES, Change, Code, Finding, IdentityKey, Record, Zone, ZoneView
from core.kernel.names import normalise
from core.rules.records import presentation, record_set, route53_txt_value
from core.rules.safety import blocker

# Route 53's ChangeResourceRecordSets limits; an UPSERT counts twice against both.
MAX_RECORDS = 1000
MAX_CHARACTERS = 32_000


@dataclass(frozen=True)
class Wanted:
    """A record the audit found missing, and the findings its creation fixes (wholly or in part): first the one
    that reports it missing, then others that ask for it too (IDENTITY_NOT_VERIFIED, for DKIM records)."""

    record: Record  # presentation form: TXT unquoted
    findings: tuple[Finding, ...]

    @property
    def finding(self) -> Finding:
        return self.findings[0]

    @property
    def reason(self) -> Code:
        return self.finding.code


@dataclass(frozen=True)
class Skipped:
    wanted: Wanted
    why: str


def wanted_records(findings: Iterable[Finding]) -> list[Wanted]:
    """One per record that a fixable *_MISSING finding asks for, with every fixable finding that asks for it."""
    asking: dict[tuple[IdentityKey, Record], list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.fixable:
            for r in finding.required():
                asking[(finding.key, Record(normalise(r.name), r.type, r.values))].append(finding)
    return [
        Wanted(record, tuple(sorted(asked, key=lambda f: f.code not in MISSING_CODES)))
        for (_, record), asked in asking.items()
        if any(f.code in MISSING_CODES for f in asked)
    ]


def plan_zone(zone: Zone, view: ZoneView, wanted: Sequence[Wanted], ttl: int) -> tuple[list[Change], list[Skipped]]:
    """The changes that create `wanted` in `zone`, given what `view` (read from the zone) holds now.

    Records already held are skipped silently: that is what makes a second run plan nothing.
    """
    grouped: dict[tuple[str, str], list[Wanted]] = defaultdict(list)
    for item in wanted:
        grouped[(item.record.name, item.record.type)].append(item)
    changes: list[Change] = []
    skipped: list[Skipped] = []
    for (name, rtype), items in grouped.items():
        values = _distinct(v for item in items for v in item.record.values)
        if rtype == "MX" and len(values) > 1:
            # Identities in several regions share one MAIL FROM name; one MX value can serve only one region.
            skipped += [Skipped(i, f"{name} is wanted with MX {', '.join(values)} by several regions") for i in items]
            continue
        missing = _missing(view, Record(name, rtype, tuple(values)))
        if not missing.values:
            continue  # already there, e.g. written by a run that raced this one
        reason = blocker(view, missing)
        if reason:
            skipped += [Skipped(item, reason) for item in items]
            continue
        changes.append(_change(zone, view, missing, ttl, items[0].reason))
    return changes, skipped


def _missing(view: ZoneView, record: Record) -> Record:
    """`record` with only the values Route 53 does not hold yet."""
    held = record_set(view, record.name, record.type)
    held_values = {presentation(record.type, v) for v in held.values} if held else set()
    values = tuple(v for v in record.values if presentation(record.type, _raw(record.type, v)) not in held_values)
    return Record(record.name, record.type, values)


def _change(zone: Zone, view: ZoneView, record: Record, ttl: int, reason: Code) -> Change:
    held = record_set(view, record.name, record.type)
    new = tuple(_raw(record.type, v) for v in record.values)
    if held is None:
        return Change(zone.id, zone.name, "CREATE", record.name, record.type, new, ttl, False, reason)
    # Only a TXT set can get here with values already in it (the blocker stops CNAME and MX): write the union,
    # old values exactly as Route 53 returned them, at their TTL.
    return Change(
        zone.id, zone.name, "UPSERT", record.name, record.type, (*held.values, *new), held.ttl or ttl, False, reason
    )


def _raw(rtype: str, value: str) -> str:
    return route53_txt_value(value) if rtype == "TXT" else value


def _distinct(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def batches(changes: Sequence[Change]) -> list[list[Change]]:
    """Split into as few ChangeResourceRecordSets calls as Route 53's per-request limits allow."""
    result: list[list[Change]] = []
    records = characters = 0
    for change in changes:
        weight = 2 if change.action == "UPSERT" else 1
        size = (len(change.values) * weight, sum(len(v) for v in change.values) * weight)
        if result and records + size[0] <= MAX_RECORDS and characters + size[1] <= MAX_CHARACTERS:
            result[-1].append(change)
            records, characters = records + size[0], characters + size[1]
        else:
            result.append([change])
            records, characters = size
    return result
