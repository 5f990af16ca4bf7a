"""DMARC aggregate reports in: each inbox object or file unpacked and parsed, every report in it merged into its
domain's aggregate for the day. Anything malformed or hostile is refused with the reason and set aside; nothing is
ever deleted. Ingesting the same report again changes nothing."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from core.kernel.errors import ConflictError, SesGuardError
from core.kernel.names import normalise
from core.rules.rua import daily
from core.rules.rua.errors import AggregateUnreadable, ReportRejected
from core.rules.rua.models import AggregateReport
from core.rules.rua.parse import parse
from core.rules.rua.unpack import unpack
from core.run.ports import RuaInbox, RuaStore, StateStore

# Each lost race means another delivery wrote the same day in between; S3 settles one writer per round.
MAX_ATTEMPTS = 8
SUMMARY_SOURCES = 20  # sources listed one by one in a summary; the counts cover all of them
_TEXT_LIMIT = 300
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z0-9-]{2,63}$")


@dataclass(frozen=True)
class Ingested:
    """What became of one source (an inbox key or a file)."""

    source: str
    added: int = 0  # reports counted for the first time
    duplicates: int = 0  # reports already counted before
    reason: str = ""  # why the source was refused; it is kept apart and never counted
    error: str = ""  # why it could not be finished (the store failed): ingesting it again is safe

    @property
    def status(self) -> str:
        if self.error:
            return "failed"
        if self.reason:
            return "rejected"
        return "accepted" if self.added else "duplicate"


def ingest(data: bytes, name: str, store: RuaStore) -> Ingested:
    """Every report in `data` counted once in its (domain, day) aggregate; raises SesGuardError when the store
    fails, after which ingesting again finishes the job without counting anything twice."""
    try:
        reports = _reports(data, name)
    except ReportRejected as rejected:
        return Ingested(name, reason=rejected.reason)
    except Exception as error:
        # Reading touches nothing but the bytes: whatever else fails there is hostile input meeting a parser's bug
        # (the stdlib's email and XML parsers have raised on crafted input). Raising would fail the invocation and
        # retry the same bytes to the same failure; refusing sets them aside with the reason.
        return Ingested(name, reason=f"the input could not be read: {type(error).__name__}: {_bounded(str(error))}")
    for report in reports:
        # A source is counted whole or refused whole: a full day refuses it before anything is merged.
        why = daily.room(_current(store.day(report.domain, daily.report_day(report))), report)
        if why:
            return Ingested(name, reason=why)
    added = sum(_merge(report, store) for report in reports)
    return Ingested(name, added=added, duplicates=len(reports) - added)


def ingest_source(source: str, read: Callable[[str], bytes], store: RuaStore) -> Ingested:
    """`read(source)` ingested; a refusal or a failure is the outcome, never an exception."""
    try:
        return ingest(read(source), source, store)
    except ReportRejected as rejected:
        return Ingested(source, reason=rejected.reason)
    except SesGuardError as err:
        return Ingested(source, error=str(err))


def ingest_inbox(keys: Iterable[str], inbox: RuaInbox, store: RuaStore) -> list[Ingested]:
    """Each inbox object ingested; a refused one is copied aside with its reason, the original left in place."""
    outcomes = []
    for key in keys:
        outcome = ingest_source(key, inbox.read, store)
        if outcome.reason:
            try:
                inbox.reject(key, outcome.reason)
            except SesGuardError as err:
                outcome = replace(outcome, error=f"refused ({outcome.reason}) but not set aside: {err}")
        outcomes.append(outcome)
    return outcomes


def _reports(data: bytes, name: str) -> list[AggregateReport]:
    # Every attachment is parsed before anything is merged: a source is counted whole or refused whole, so a
    # corrected copy delivered later is not half counted already.
    reports = [parse(attachment.xml) for attachment in unpack(data, name)]
    if not reports:
        raise ReportRejected("no DMARC aggregate report in it")
    for report in reports:
        domain = normalise(report.domain)
        if domain != report.domain or not _DOMAIN.match(domain):
            raise ReportRejected(f"the published policy's domain {_bounded(report.domain)!r} is not a domain name")
    return reports


def _current(target: StateStore) -> daily.DayAggregate | None:
    text, _ = target.load()
    return _parsed(target.target, text)


def _parsed(where: str, text: str | None) -> daily.DayAggregate | None:
    try:
        return daily.from_json(text) if text is not None else None
    except AggregateUnreadable as err:
        # Never written over: whatever is there was counted once, and may be read back by hand.
        raise SesGuardError(f"{where} is not a readable aggregate: {err}") from err


def _merge(report: AggregateReport, store: RuaStore) -> bool:
    """Counts the report in its day; False when it had been counted before."""
    day = daily.report_day(report)
    target = store.day(report.domain, day)
    for _ in range(MAX_ATTEMPTS):
        text, version = target.load()
        current = _parsed(target.target, text)
        if current is not None and report.key in current.reports:
            return False
        merged = daily.add(current, report)
        try:
            target.save(daily.to_json(merged), version)
        except ConflictError:
            continue
        return True
    raise ConflictError(f"{target.target} changed under each of {MAX_ATTEMPTS} writes; try again")


def summary(outcomes: list[Ingested]) -> dict[str, Any]:
    """Counts over every source and, for the first few, what became of each: bounded whatever the event held."""
    listed = [
        {
            "source": _bounded(o.source),
            "status": o.status,
            "added": o.added,
            "duplicates": o.duplicates,
            **({"reason": _bounded(o.reason)} if o.reason else {}),
            **({"error": _bounded(o.error)} if o.error else {}),
        }
        for o in outcomes[:SUMMARY_SOURCES]
    ]
    statuses = [o.status for o in outcomes]
    return {
        "sources": len(outcomes),
        "accepted": statuses.count("accepted"),
        "duplicate": statuses.count("duplicate"),
        "rejected": statuses.count("rejected"),
        "failed": statuses.count("failed"),
        "reports_added": sum(o.added for o in outcomes),
        "results": listed,
        "unlisted": max(0, len(outcomes) - SUMMARY_SOURCES),
    }


def _bounded(text: str) -> str:
    return text if len(text) <= _TEXT_LIMIT else text[: _TEXT_LIMIT - 1] + "…"
