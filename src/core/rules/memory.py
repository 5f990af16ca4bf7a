"""What ses-guard remembers between runs: each open finding, when it was first and last seen and last notified.

Pure: the state is JSON text in and out; the run reads and writes it through the StateStore port. Two runs that
overlap each read the state, then write it back with a conditional write; the one that loses the race merges its
result into the winner's state (`merge`) and tries again, so neither run's update is lost.

Times are ISO 8601 strings in UTC to the second (`2026-06-01T06:00:00+00:00`), as the run writes them; a state read
back is normalised to that form, so comparing two of them as text compares the instants.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from core.kernel.models import Code, Finding, Resolved, Severity
from core.rules.propagation import stalled

VERSION = 1


@dataclass(frozen=True)
class Entry:
    id: str
    code: str
    subject: str
    severity: str
    identities: tuple[tuple[str, str], ...]  # (region, name)
    first_seen: str
    last_seen: str
    last_notified: str = ""  # "" until a run reported the finding as new


@dataclass(frozen=True)
class Created:
    """A `_dmarc` record ses-guard created, so the only kind whose policy it may step up (DMARC_PROGRESSION)."""

    name: str
    value: str  # the record as ses-guard last wrote it, presentation form
    created: str
    stepped: str = ""  # when ses-guard last moved its policy one step; "" never

    @property
    def touched(self) -> str:
        return max(self.created, self.stepped)


@dataclass(frozen=True)
class State:
    entries: dict[str, Entry] = field(default_factory=dict)
    last_digest: str = ""
    created: dict[str, Created] = field(default_factory=dict)  # by record name


@dataclass(frozen=True)
class Recall:
    findings: list[Finding]  # with status and first_seen
    resolved: list[Resolved]
    state: State  # what this run leaves behind (not yet marked notified)


def parse_state(text: str) -> State:
    """The state from its JSON; ValueError naming what is wrong (and where) when it is not ses-guard's state."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"not JSON: {err}") from None
    if not isinstance(data, dict):
        raise ValueError(f"not a ses-guard state: a JSON object is expected, not {type(data).__name__}")
    if data.get("version") != VERSION:
        raise ValueError(f"state version {data.get('version')!r}; this ses-guard reads version {VERSION}")
    findings = data.get("findings")
    if not isinstance(findings, list):
        raise ValueError("`findings` is missing or not a list")
    entries: dict[str, Entry] = {}
    for index, raw in enumerate(findings):
        entry = _parse_entry(raw, f"findings[{index}]")
        if entry.id in entries:
            raise ValueError(f"findings[{index}]: id {entry.id} appears twice")
        entries[entry.id] = entry
    created = _parse_created(data.get("created_records", []))
    return State(entries, _time(data.get("last_digest", ""), "last_digest", optional=True), created)


def dump_state(state: State) -> str:
    findings = [asdict(entry) for entry in sorted(state.entries.values(), key=lambda e: e.id)]
    data: dict[str, Any] = {"version": VERSION, "last_digest": state.last_digest, "findings": findings}
    if state.created:
        data["created_records"] = [asdict(c) for _, c in sorted(state.created.items())]
    return json.dumps(data, indent=1)


def recall(findings: Sequence[Finding], previous: State, now: str, *, unread_regions: Collection[str] = ()) -> Recall:
    """Each finding `new` (not open in the previous state, or open but never yet reported) or `open`; what the
    previous state had open and this run saw gone is resolved.

    A finding this run could not have seen is not gone: an entry about an identity whose checks failed (a
    CHECK_FAILED finding names it: a lookup failed, the time budget ran out) or in a region that could not be read
    (`unread_regions`) is kept as it was, neither resolved nor refreshed, so a passing outage does not resolve
    findings only to report them as new on the next run. A DNS_NOT_PROPAGATED finding that has waited too long
    is reported as DNS_PROPAGATION_STALLED (core.rules.propagation)."""
    seen: dict[str, Entry] = {}
    marked = []
    waited: set[str] = set()  # DNS_NOT_PROPAGATED ids this run reports as stalled: not resolved, the same problem

    def first_seen(finding_id: str) -> str:
        entry = previous.entries.get(finding_id)
        return entry.first_seen if entry else ""

    for reported in findings:
        finding, since = stalled(reported, first_seen, now)
        if finding.id != reported.id:
            waited.add(reported.id)
        before = previous.entries.get(finding.id)
        first = since or now
        told = before.last_notified if before else ""
        # New until reported: a finding whose notification failed is still news to the next run.
        marked.append(replace(finding, status="open" if told else "new", first_seen=first))
        # While suppressed, a finding is not reported: when its rule expires it comes back as news.
        seen[finding.id] = _entry(finding, first, now, "" if finding.suppressed else told)
    unchecked = {(k.region, k.name) for f in findings if f.code is Code.CHECK_FAILED for k in f.identities}
    resolved = []
    for entry in previous.entries.values():
        if entry.id in seen or entry.id in waited:
            continue
        # A failed check that no longer fails is itself resolved, whatever else failed this run.
        unseen = entry.code != Code.CHECK_FAILED.value and any(
            key in unchecked or key[0] in unread_regions for key in entry.identities
        )
        if unseen:
            seen[entry.id] = entry
        else:
            code, severity = Code(entry.code), Severity(entry.severity)
            resolved.append(Resolved(entry.id, code, entry.subject, severity, entry.first_seen, entry.last_seen))
    resolved.sort(key=lambda r: (-r.severity.rank, r.subject, r.code.value))
    return Recall(marked, resolved, State(seen, previous.last_digest, previous.created))


def notified(state: State, ids: Iterable[str], now: str, *, digest: bool) -> State:
    """The state after this run's notification went out: its findings marked, and the digest time when it was one."""
    entries = dict(state.entries)
    for finding_id in ids:
        if finding_id in entries:
            entries[finding_id] = replace(entries[finding_id], last_notified=now)
    return State(entries, now if digest else state.last_digest, state.created)


def merge(ours: State, theirs: State, started: str) -> State:
    """Our run's state written over a state another run wrote while ours ran (`theirs`).

    An entry only theirs has stays when their run saw it after ours started (ours may have read the world before
    it appeared); one they last saw before ours started, ours has since seen gone. An entry both have keeps the
    fresher sighting's code, severity and identities, the earliest first sighting, the latest last sighting and
    the latest notification."""
    entries = {k: v for k, v in theirs.entries.items() if k not in ours.entries and v.last_seen >= started}
    for key, mine in ours.entries.items():
        other = theirs.entries.get(key)
        if other is None:
            entries[key] = mine
            continue
        fresher = mine if mine.last_seen >= other.last_seen else other
        entries[key] = replace(
            fresher,
            first_seen=min(mine.first_seen, other.first_seen),
            last_seen=max(mine.last_seen, other.last_seen),
            last_notified=max(mine.last_notified, other.last_notified),
        )
    created = dict(theirs.created)
    for name, record in ours.created.items():
        if name not in created or record.touched >= created[name].touched:
            created[name] = record
    return State(entries, max(ours.last_digest, theirs.last_digest), created)


def digest_due(state: State, now: str, days: int) -> bool:
    """Once per `days` (0: never): the first run after the period since the last digest sends one. Before the
    first digest the period counts from the earliest finding still open; a state with none has nothing to digest."""
    if days <= 0:
        return False
    since = state.last_digest or min((e.first_seen for e in state.entries.values()), default="")
    if not since:
        return False
    return datetime.fromisoformat(now) - datetime.fromisoformat(since) >= timedelta(days=days)


def _entry(finding: Finding, first: str, now: str, last_notified: str) -> Entry:
    return Entry(
        id=finding.id,
        code=finding.code.value,
        subject=finding.topic,
        severity=finding.severity.value,
        identities=tuple((k.region, k.name) for k in finding.identities),
        first_seen=first,
        last_seen=now,
        last_notified=last_notified,
    )


def _parse_entry(raw: Any, where: str) -> Entry:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: an object is expected, not {type(raw).__name__}")
    for name in ("id", "code", "subject", "severity", "identities", "first_seen", "last_seen"):
        if name not in raw:
            raise ValueError(f"{where}: no `{name}`")
    for name in ("id", "code", "subject", "severity"):
        if not isinstance(raw[name], str):
            raise ValueError(f"{where}.{name}: a string is expected, not {raw[name]!r}")
    if raw["code"] not in {c.value for c in Code}:
        raise ValueError(f"{where}.code: unknown finding code {raw['code']!r}")
    if raw["severity"] not in {s.value for s in Severity}:
        raise ValueError(f"{where}.severity: unknown severity {raw['severity']!r}")
    identities = raw["identities"]
    if not isinstance(identities, list) or not all(map(_is_pair, identities)):
        raise ValueError(f"{where}.identities: a list of [region, name] pairs is expected")
    return Entry(
        id=raw["id"],
        code=raw["code"],
        subject=raw["subject"],
        severity=raw["severity"],
        identities=tuple((region, name) for region, name in identities),
        first_seen=_time(raw["first_seen"], f"{where}.first_seen"),
        last_seen=_time(raw["last_seen"], f"{where}.last_seen"),
        last_notified=_time(raw.get("last_notified", ""), f"{where}.last_notified", optional=True),
    )


def _parse_created(raw: Any) -> dict[str, Created]:
    if not isinstance(raw, list):
        raise ValueError("`created_records` is not a list")
    created: dict[str, Created] = {}
    for index, item in enumerate(raw):
        where = f"created_records[{index}]"
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in ("name", "value")):
            raise ValueError(f"{where}: an object with a `name` and a `value` is expected")
        created[item["name"]] = Created(
            item["name"],
            item["value"],
            _time(item.get("created"), f"{where}.created"),
            _time(item.get("stepped", ""), f"{where}.stepped", optional=True),
        )
    return created


def _is_pair(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(isinstance(part, str) for part in value)


def _time(value: Any, where: str, *, optional: bool = False) -> str:
    """An ISO 8601 time with its offset, normalised to UTC to the second; "" where that means "never"."""
    if optional and value == "":
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{where}: a time is expected, not {value!r}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{where}: {value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise ValueError(f"{where}: {value!r} has no UTC offset")
    return moment.astimezone(UTC).isoformat(timespec="seconds")
