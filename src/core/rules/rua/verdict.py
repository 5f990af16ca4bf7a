"""A domain's DMARC traffic over a window of days, and whether it is safe to enforce the next policy step.

The window is the `window_days` days before `today`: today's mail is reported tomorrow at the earliest. Readiness
follows the usual advice for moving off p=none (RFC 9989 "Policy Enforcement Considerations"): enough mail seen,
aligned pass rate at or above the threshold over the window and on every day that carries enough mail to judge
alone, all of it under the current policy, and reports all the way through the window. One step at a time: after
a step, the days under the old policy keep the next step away until a whole window has passed under the new one.

Reports are claims: anyone can mail one to the inbox under any receiver's name with any count. So readiness needs
two receivers at least, and every receiver carrying a meaningful part of the mail must reach the threshold on its
own; and a failing source's share is measured against the mail of the receiver that saw it fail, which no forged
volume under another name can dilute.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from core.rules.dmarcrecord import parse_record
from core.rules.rua.daily import OTHER, DayAggregate
from core.rules.spf import spf_records, spf_terms

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
NEXT_POLICY = {"none": "quarantine", "quarantine": "reject"}
QUIET_DAYS = 7  # no report for this long although rua points at the inbox is a finding
MAX_LISTED = 10  # failing sources named in a verdict
MIN_REPORTERS = 2  # distinct reporting orgs over the window before any step
REPORTER_SHARE = 0.05  # a reporter with this part of the window's mail is judged on its own however few it fails


@dataclass(frozen=True)
class Volume:
    total: int = 0
    passed: int = 0

    @property
    def failed(self) -> int:
        return self.total - self.passed

    @property
    def rate(self) -> float:
        """Share of messages passing DMARC; 0.0 without messages."""
        return self.passed / self.total if self.total else 0.0

    def __add__(self, other: Volume) -> Volume:
        return Volume(self.total + other.total, self.passed + other.passed)


@dataclass(frozen=True)
class DayRate:
    day: date
    volume: Volume
    policies: tuple[str, ...]


@dataclass(frozen=True)
class FailingSource:
    source: str  # an IP address, or "other" for the small sources a day merges
    ses: bool  # inside amazonses.com's published ranges
    volume: Volume
    share: float  # its failing messages over the mail of the reporter that saw most of it fail (at least over all)
    header_from: tuple[str, ...]


@dataclass(frozen=True)
class ReporterVolume:
    name: str  # the reporting org, or "other" for the small reporters a day merges
    volume: Volume


@dataclass(frozen=True)
class DomainVerdict:
    domain: str
    start: date  # first day of the window
    end: date  # last day of the window
    volume: Volume
    ses: Volume
    other: Volume
    days: tuple[DayRate, ...]  # days of the window with reports, oldest first
    failing: tuple[FailingSource, ...]  # sources outside SES failing with at least `share` of the mail
    ses_failing: tuple[FailingSource, ...]  # SES sources whose mail failed alignment
    reports_missing: bool  # no report for the last QUIET_DAYS days
    policy: str  # p= in the latest reports ("" without any)
    ready_for: str | None  # "quarantine" or "reject" when safe, else None
    reason: str
    reporters: tuple[ReporterVolume, ...] = ()  # the window's reporters, largest first


def assess(
    days: Sequence[DayAggregate],
    ses_networks: Sequence[Network],
    window_days: int,
    today: date,
    *,
    threshold: float = 0.99,
    min_volume: int = 500,
    share: float = 0.01,
) -> DomainVerdict:
    """The verdict for one domain from its daily aggregates (those outside the window are ignored).

    `threshold`: the DMARC pass rate the window, and every day big enough to judge alone, must reach to step up.
    `min_volume`: messages the window must hold before any step. `share`: the part of the window's mail a failing
    source outside SES must send to be named. A verdict over no aggregates has domain "".
    """
    if window_days < QUIET_DAYS:
        raise ValueError(f"window_days is {window_days}; a window shorter than {QUIET_DAYS} days proves nothing")
    if len({day.domain for day in days}) > 1:
        raise ValueError(f"aggregates of several domains: {', '.join(sorted({d.domain for d in days}))}")
    start, end = today - timedelta(days=window_days), today - timedelta(days=1)
    window = sorted((d for d in days if start <= d.day <= end and d.total), key=lambda d: d.day)
    rates = tuple(DayRate(d.day, Volume(d.total, d.passed), d.policies) for d in window)
    ses_cache: dict[str, bool] = {}
    ses, other = Volume(), Volume()
    by_source: dict[str, tuple[Volume, set[str]]] = {}
    failed_by: dict[str, dict[str, int]] = {}
    by_reporter: dict[str, Volume] = {}
    for day in window:
        for name, seen in day.reporters.items():
            by_reporter[name] = by_reporter.get(name, Volume()) + Volume(seen.count, seen.passed)
        for address, source in day.sources.items():
            volume = Volume(source.count, source.passed)
            if address not in ses_cache:
                ses_cache[address] = _in_ses(address, ses_networks)
            if ses_cache[address]:
                ses += volume
            else:
                other += volume
            before, froms = by_source.get(address, (Volume(), set()))
            by_source[address] = (before + volume, froms | set(source.header_from))
            counts = failed_by.setdefault(address, {})
            for name, count in source.failed_by.items():
                counts[name] = counts.get(name, 0) + count
    total = sum((rate.volume for rate in rates), Volume())
    failing = [
        FailingSource(
            address,
            ses_cache[address],
            volume,
            _share(volume.failed, total.total, failed_by.get(address, {}), by_reporter),
            tuple(sorted(froms)),
        )
        for address, (volume, froms) in by_source.items()
        if volume.failed
    ]
    failing.sort(key=lambda f: (-f.volume.failed, f.source))
    policy = max(rates[-1].policies, key=_strictness) if rates else ""
    missing = not any(rate.day >= today - timedelta(days=QUIET_DAYS) for rate in rates)
    reporters = tuple(
        ReporterVolume(name, volume)
        for name, volume in sorted(by_reporter.items(), key=lambda kv: (-kv[1].total, kv[0]))
    )
    ready_for, reason = _readiness(_Window(rates, total, policy, missing, start, threshold, min_volume, reporters))
    return DomainVerdict(
        domain=days[0].domain if days else "",
        start=start,
        end=end,
        volume=total,
        ses=ses,
        other=other,
        days=rates,
        failing=tuple(f for f in failing if not f.ses and f.share >= share)[:MAX_LISTED],
        ses_failing=tuple(f for f in failing if f.ses)[:MAX_LISTED],
        reports_missing=missing,
        policy=policy,
        ready_for=ready_for,
        reason=reason,
        reporters=reporters,
    )


def _share(failed: int, total: int, failed_by: dict[str, int], reporters: dict[str, Volume]) -> float:
    """The larger of the source's failures over all the mail and, per reporter, over the mail that reporter saw."""
    shares = [failed / total]
    shares += [
        count / reporters[name].total for name, count in failed_by.items() if reporters.get(name, Volume()).total
    ]
    return max(shares)


@dataclass(frozen=True)
class _Window:
    """What readiness is judged on; each check below names one reason not to step up, or returns ""."""

    rates: Sequence[DayRate]
    total: Volume
    policy: str
    missing: bool
    start: date
    threshold: float
    min_volume: int
    reporters: Sequence[ReporterVolume] = ()

    @property
    def floor(self) -> int:
        """Messages below which one failure breaks the threshold: too few to judge alone."""
        return math.ceil(1 / (1 - self.threshold)) if self.threshold < 1 else 1


def _no_reports(w: _Window) -> str:
    return "" if w.rates else "no aggregate reports for the window"


def _at_end(w: _Window) -> str:
    return "" if w.policy in NEXT_POLICY else f"p={w.policy} is already the strictest policy"


def _mixed(w: _Window) -> str:
    mixed = next((rate for rate in w.rates if rate.policies != (w.policy,)), None)
    if mixed is None:
        return ""
    seen = ", ".join(f"p={p}" for p in mixed.policies)
    return f"reports of {mixed.day} saw {seen}: a whole window under p={w.policy} comes before the next step"


def _late_start(w: _Window) -> str:
    if w.rates[0].day < w.start + timedelta(days=QUIET_DAYS):
        return ""
    return f"reports start on {w.rates[0].day}, not within the first {QUIET_DAYS} days of the window"


def _gap(w: _Window) -> str:
    # As at either end of the window: QUIET_DAYS without a report is an outage, not a quiet spell.
    for before, after in zip(w.rates, w.rates[1:], strict=False):
        if (after.day - before.day).days > QUIET_DAYS:
            silent = (after.day - before.day).days - 1
            return (
                f"no reports from {before.day + timedelta(days=1)} to {after.day - timedelta(days=1)} ({silent} days)"
            )
    return ""


def _quiet(w: _Window) -> str:
    return f"no reports for the last {QUIET_DAYS} days" if w.missing else ""


def _thin(w: _Window) -> str:
    if w.total.total >= w.min_volume:
        return ""
    return f"{w.total.total} messages in the window; at least {w.min_volume} are needed to judge"


def _low_window(w: _Window) -> str:
    if w.total.rate >= w.threshold:
        return ""
    return f"{_percent(w.total.rate)} of {w.total.total} messages passed DMARC; {_percent(w.threshold)} needed"


def _low_day(w: _Window) -> str:
    # A day too small for one failure to stay within the threshold is judged with the window, not alone.
    low = next((r for r in w.rates if r.volume.total >= w.floor and r.volume.rate < w.threshold), None)
    return f"on {low.day} {_percent(low.volume.rate)} of {low.volume.total} messages passed DMARC" if low else ""


def _few_reporters(w: _Window) -> str:
    if len(w.reporters) >= MIN_REPORTERS:
        return ""
    seen = f"only {w.reporters[0].name}" if w.reporters else "no reporter named in the aggregates"
    return (
        f"reports from {seen}: at least {MIN_REPORTERS} distinct reporters are needed, so that no single reporter, "
        "genuine or forged, decides the step"
    )


def _low_reporter(w: _Window) -> str:
    # Each reporter judged alone: a forged report's volume under one name cannot lift another receiver's failures.
    counted = sum(r.volume.total for r in w.reporters)
    low = next(
        (
            r
            for r in w.reporters
            if (r.volume.total >= REPORTER_SHARE * counted or r.volume.total >= w.floor) and r.volume.rate < w.threshold
        ),
        None,
    )
    if low is None:
        return ""
    return (
        f"reports from {low.name}: {_percent(low.volume.rate)} of {low.volume.total} messages passed DMARC; "
        f"every reporter with {_percent(REPORTER_SHARE)} of the mail, or enough to judge alone, needs "
        f"{_percent(w.threshold)}"
    )


_CHECKS = (
    _no_reports,
    _at_end,
    _mixed,
    _late_start,
    _quiet,
    _gap,
    _thin,
    _low_window,
    _low_day,
    _few_reporters,
    _low_reporter,
)


def _readiness(window: _Window) -> tuple[str | None, str]:
    blocker = next((reason for check in _CHECKS if (reason := check(window))), "")
    if blocker:
        return None, blocker
    step = NEXT_POLICY[window.policy]
    return step, (
        f"{_percent(window.total.rate)} of {window.total.total} messages passed DMARC under p={window.policy} "
        f"over the window, no day and no reporter below {_percent(window.threshold)} ({len(window.reporters)} "
        f"reporters): ready for p={step}"
    )


def _in_ses(address: str, networks: Sequence[Network]) -> bool:
    if address == OTHER:
        return False
    ip = ipaddress.ip_address(address)
    return any(ip in network for network in networks)


def _strictness(policy: str) -> int:
    return ("none", "quarantine", "reject").index(policy) if policy in ("none", "quarantine", "reject") else -1


def _percent(rate: float) -> str:
    # Rounded down, so a rate just under the threshold never reads as equal to it.
    return f"{math.floor(rate * 1000 + 1e-9) / 10:g}%"


def next_record(current_record: str, step: str) -> str:
    """`current_record` with p= moved to `step` (the next policy after the current one), every other byte kept."""
    previous = {after: before for before, after in NEXT_POLICY.items()}
    if step not in previous:
        raise ValueError(f"{step!r} is not a step of the progression ({', '.join(previous)})")
    record = parse_record(current_record)
    if not record.valid:
        raise ValueError(f"not a valid DMARC record: {'; '.join(record.errors)}")
    if record.policy != previous[step]:
        raise ValueError(f"the record is at p={record.policy}; p={step} follows p={previous[step]} only")
    offset = 0
    for part in current_record.split(";"):
        name, equals, value = part.partition("=")
        if equals and name.strip().lower() == "p":
            start = offset + len(name) + 1 + len(value) - len(value.lstrip())
            return current_record[:start] + step + current_record[start + len(value.strip()) :]
        offset += len(part) + 1
    # No p= at all: RFC 9989 reads such a record (with a valid rua) as p=none; p goes right after the version.
    head = current_record.find(";")
    head = len(current_record) if head < 0 else head
    return f"{current_record[:head]}; p={step}{current_record[head:]}"


def ses_networks_from_spf(txt_values: Iterable[str]) -> list[Network]:
    """The ip4:/ip6: ranges that pass in amazonses.com's SPF record (its TXT values, looked up elsewhere)."""
    networks: list[Network] = []
    for record in spf_records(txt_values):
        for term in spf_terms(record):
            if term.name in ("ip4", "ip6") and term.qualifier == "+":
                network = ipaddress.ip_network(term.value, strict=False)
                if network not in networks:
                    networks.append(network)
    return networks
