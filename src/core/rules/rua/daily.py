"""What the reports about one domain say about one UTC day, added up: a small JSON object per (domain, day).

Idempotent: each report is remembered by a short key of its org and report id, and a report already counted is not
counted again, so a receiver resending it, or the same file dropped twice, changes nothing.

Compact: a busy domain sees thousands of source IPs a day, so each day keeps the MAX_SOURCES largest by messages
and merges the rest into one "other" source. Totals stay exact; only the smallest sources lose their address. No
source with a meaningful share is lost that way: at most 100 sources can each send 1% of a day's mail.

Per reporter: anyone can mail a report to the inbox, under any org name, with any count. A day keeps each reporting
org's volume (the MAX_REPORTERS largest, the rest as "other"), and each source its failures by reporter, so the
verdict can judge every receiver on its own and no forged volume can outweigh what a genuine receiver saw fail.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from core.kernel.errors import SesGuardError
from core.rules.rua.errors import AggregateUnreadable
from core.rules.rua.models import AggregateReport, Row

SCHEMA = 2
SCHEMAS = (1, 2)  # schema 1 predates reporters: read with none
MAX_SOURCES = 200
MAX_REPORTS = 1_000  # a day's reports about one domain: one per receiver, a few hundred receivers at most
MAX_HEADER_FROM = 5  # From domains kept per source, enough to tell the domain from its subdomains
MAX_REPORTERS = 20  # reporting orgs kept by name per day; a domain's mail is mostly reported by a handful
OTHER = "other"
UNNAMED = "(unnamed)"


class DayFull(SesGuardError):
    """The day holds MAX_REPORTS reports already. Not a refusal of the report: `room` tells before any merge."""


@dataclass(frozen=True)
class SourceDay:
    count: int = 0
    passed: int = 0  # DMARC pass: aligned DKIM or aligned SPF
    dkim: int = 0  # aligned DKIM pass
    spf: int = 0  # aligned SPF pass
    dispositions: Mapping[str, int] = field(default_factory=dict)
    header_from: tuple[str, ...] = ()
    failed_by: Mapping[str, int] = field(default_factory=dict)  # reporter -> messages it saw failing DMARC


@dataclass(frozen=True)
class ReporterDay:
    count: int = 0
    passed: int = 0


@dataclass(frozen=True)
class DayAggregate:
    domain: str
    day: date
    reports: tuple[str, ...] = ()  # keys of the reports counted, sorted
    total: int = 0
    passed: int = 0
    policies: tuple[str, ...] = ()  # p as receivers saw it published that day, sorted
    sources: Mapping[str, SourceDay] = field(default_factory=dict)  # source IP (or OTHER) -> its messages
    reporters: Mapping[str, ReporterDay] = field(default_factory=dict)  # reporting org (or OTHER) -> its messages


def reporter(report: AggregateReport) -> str:
    """The name a report's volume is kept under: its org name, folded as report keys fold it."""
    return report.org_name.strip().casefold() or UNNAMED


def report_day(report: AggregateReport) -> date:
    """The UTC day a report counts for: the day holding the middle of its period.

    Receivers report per day, mostly from 00:00 UTC (Google, Yahoo) or 00:00 to 00:00 UTC (Microsoft), where the
    middle and the begin date agree. Some align to their local midnight (22:00 or 23:00 UTC): the begin date would
    put a day's mail on the day before, the middle puts it on the day that holds most of it. Splitting a report
    across days would invent per-day numbers the report does not have, and make one report touch several objects.
    """
    return (report.begin + (report.end - report.begin) / 2).date()


def room(day: DayAggregate | None, report: AggregateReport) -> str:
    """Why `report` cannot be added to `day` ("" when it can): checked for every report of a file before any is
    merged, so a file is counted whole or refused whole."""
    if day is None or report.key in day.reports or len(day.reports) < MAX_REPORTS:
        return ""
    return f"{day.domain} already has {MAX_REPORTS} reports for {day.day}; no more are counted"


def add(day: DayAggregate | None, report: AggregateReport) -> DayAggregate:
    """`day` with `report` counted in (a new day when None); unchanged when the report was counted before.

    Raises DayFull when `room` says no: the day filled up since the caller asked."""
    when = report_day(report)
    if day is None:
        day = DayAggregate(report.domain, when)
    elif (day.domain, day.day) != (report.domain, when):
        raise ValueError(f"a report about {report.domain} on {when} added to the aggregate of {day.domain} {day.day}")
    if report.key in day.reports:
        return day
    if full := room(day, report):
        raise DayFull(full)
    by = reporter(report)
    sources = dict(day.sources)
    for row in report.records:
        address = str(row.source_ip)
        sources[address] = _merge(sources.get(address, SourceDay()), _source(row, by))
    counted = sum(row.count for row in report.records)
    passed = sum(row.count for row in report.records if row.dmarc_pass)
    reporters = dict(day.reporters)
    before = reporters.get(by, ReporterDay())
    reporters[by] = ReporterDay(before.count + counted, before.passed + passed)
    reporters, sources = _cap_reporters(reporters, sources)
    return DayAggregate(
        domain=day.domain,
        day=day.day,
        reports=tuple(sorted({*day.reports, report.key})),
        total=day.total + counted,
        passed=day.passed + passed,
        policies=tuple(sorted({*day.policies, report.policy.p})),
        sources=_cap(sources),
        reporters=reporters,
    )


def _source(row: Row, by: str) -> SourceDay:
    return SourceDay(
        count=row.count,
        passed=row.count if row.dmarc_pass else 0,
        dkim=row.count if row.dkim == "pass" else 0,
        spf=row.count if row.spf == "pass" else 0,
        dispositions={row.disposition: row.count},
        header_from=(row.header_from,) if row.header_from else (),
        failed_by={} if row.dmarc_pass or not row.count else {by: row.count},
    )


def _add_counts(a: Mapping[str, int], b: Mapping[str, int]) -> dict[str, int]:
    counts = dict(a)
    for name, count in b.items():
        counts[name] = counts.get(name, 0) + count
    return dict(sorted(counts.items()))


def _merge(a: SourceDay, b: SourceDay) -> SourceDay:
    return SourceDay(
        count=a.count + b.count,
        passed=a.passed + b.passed,
        dkim=a.dkim + b.dkim,
        spf=a.spf + b.spf,
        dispositions=_add_counts(a.dispositions, b.dispositions),
        header_from=tuple(sorted({*a.header_from, *b.header_from}))[:MAX_HEADER_FROM],
        failed_by=_add_counts(a.failed_by, b.failed_by),
    )


def _cap_reporters(
    reporters: dict[str, ReporterDay], sources: dict[str, SourceDay]
) -> tuple[dict[str, ReporterDay], dict[str, SourceDay]]:
    """The MAX_REPORTERS largest reporters by name, the rest as OTHER, in the reporters and in sources' failures."""
    named = sorted(((k, v) for k, v in reporters.items() if k != OTHER), key=lambda kv: (-kv[1].count, kv[0]))
    if len(named) <= MAX_REPORTERS:
        return reporters, sources
    kept = dict(named[:MAX_REPORTERS])
    rest = [v for _, v in named[MAX_REPORTERS:]] + ([reporters[OTHER]] if OTHER in reporters else [])
    kept[OTHER] = ReporterDay(sum(r.count for r in rest), sum(r.passed for r in rest))
    moved = {}
    for address, source in sources.items():
        failed_by: dict[str, int] = {}
        for name, count in source.failed_by.items():
            kept_as = name if name in kept else OTHER
            failed_by[kept_as] = failed_by.get(kept_as, 0) + count
        moved[address] = replace(source, failed_by=dict(sorted(failed_by.items())))
    return kept, moved


def _cap(sources: dict[str, SourceDay]) -> dict[str, SourceDay]:
    named = sorted(((k, v) for k, v in sources.items() if k != OTHER), key=lambda kv: (-kv[1].count, kv[0]))
    kept = dict(named[:MAX_SOURCES])
    rest = [v for _, v in named[MAX_SOURCES:]] + ([sources[OTHER]] if OTHER in sources else [])
    if rest:
        merged = SourceDay()
        for source in rest:
            merged = _merge(merged, source)
        kept[OTHER] = merged
    return kept


def to_json(day: DayAggregate) -> str:
    sources = {
        address: [s.count, s.passed, s.dkim, s.spf, dict(s.dispositions), list(s.header_from), dict(s.failed_by)]
        for address, s in day.sources.items()
    }
    reporters = {name: [r.count, r.passed] for name, r in day.reporters.items()}
    data = {
        "schema": SCHEMA,
        "domain": day.domain,
        "day": day.day.isoformat(),
        "reports": list(day.reports),
        "total": day.total,
        "passed": day.passed,
        "policies": list(day.policies),
        "sources": sources,
        "reporters": reporters,
    }
    return json.dumps(data, separators=(",", ":"))


def from_json(text: str | bytes) -> DayAggregate:
    """A stored aggregate, or AggregateUnreadable naming what is wrong with it."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as error:
        raise AggregateUnreadable(f"not JSON: {error}") from None
    if not isinstance(data, dict):
        raise AggregateUnreadable("not a daily aggregate: a JSON object is expected")
    schema = data.get("schema")
    if schema not in SCHEMAS or isinstance(schema, bool):
        raise AggregateUnreadable(f"schema {schema!r}; this ses-guard reads schema {SCHEMA} (and {SCHEMAS[0]})")
    raw_sources = data.get("sources")
    if not isinstance(raw_sources, dict):
        raise AggregateUnreadable("`sources` is missing or not an object")
    raw_reporters = data.get("reporters", {}) if schema >= 2 else {}
    if not isinstance(raw_reporters, dict):
        raise AggregateUnreadable("`reporters` is not an object")
    return DayAggregate(
        domain=_text(data.get("domain"), "domain"),
        day=_date(data.get("day")),
        reports=tuple(_texts(data.get("reports"), "reports")),
        total=_count(data.get("total"), "total"),
        passed=_count(data.get("passed"), "passed"),
        policies=tuple(_texts(data.get("policies"), "policies")),
        sources={_address(address): _source_json(raw, address, schema) for address, raw in raw_sources.items()},
        reporters={_text(name, "reporters"): _reporter_json(raw, name) for name, raw in raw_reporters.items()},
    )


def _source_json(raw: Any, where: str, schema: int) -> SourceDay:
    fields = 6 if schema == 1 else 7
    if not isinstance(raw, list) or len(raw) != fields or not all(isinstance(m, dict) for m in raw[4::2]):
        shape = "dispositions, header_from" + ("" if schema == 1 else ", failed_by")
        raise AggregateUnreadable(f"sources[{where}] is not [count, passed, dkim, spf, {shape}]")
    count, passed, dkim, spf = (_count(value, f"sources[{where}]") for value in raw[:4])
    dispositions = _counts(raw[4], f"sources[{where}]")
    failed_by = _counts(raw[6], f"sources[{where}]") if schema > 1 else {}
    return SourceDay(count, passed, dkim, spf, dispositions, tuple(_texts(raw[5], f"sources[{where}]")), failed_by)


def _reporter_json(raw: Any, where: str) -> ReporterDay:
    if not isinstance(raw, list) or len(raw) != 2:
        raise AggregateUnreadable(f"reporters[{where}] is not [count, passed]")
    count, passed = (_count(value, f"reporters[{where}]") for value in raw)
    return ReporterDay(count, passed)


def _counts(raw: dict[Any, Any], where: str) -> dict[str, int]:
    return {_text(k, where): _count(v, where) for k, v in raw.items()}


def _count(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise AggregateUnreadable(f"{where}: {value!r} is not a count")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise AggregateUnreadable(f"{where}: {value!r} is not text")
    return value


def _texts(value: Any, where: str) -> Iterable[str]:
    if not isinstance(value, list):
        raise AggregateUnreadable(f"{where}: {value!r} is not a list")
    return [_text(item, where) for item in value]


def _date(value: Any) -> date:
    try:
        return date.fromisoformat(_text(value, "day"))
    except ValueError:
        raise AggregateUnreadable(f"day: {value!r} is not a date (YYYY-MM-DD)") from None


def _address(value: str) -> str:
    if value == OTHER:
        return value
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise AggregateUnreadable(f"sources: {value!r} is neither an IP address nor {OTHER!r}") from None
