"""Daily aggregates per domain: reports added up once each, the day a report counts for, the cap on sources that
keeps 90 busy days small, and stored JSON that says what is wrong with it."""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from core.rules.rua import daily
from core.rules.rua.daily import (
    MAX_REPORTERS,
    MAX_SOURCES,
    OTHER,
    DayAggregate,
    DayFull,
    ReporterDay,
    SourceDay,
    add,
    from_json,
    report_day,
    room,
    to_json,
)
from core.rules.rua.errors import AggregateUnreadable, ReportRejected
from core.rules.rua.models import AggregateReport, Policy, Row
from core.rules.rua.parse import parse
from tests.unit.rules.rua.samples import sample

MAY_1 = date(2026, 5, 1)
GOOGLE, OUTLOOK, YAHOO = (parse(sample(f"{name}.xml")) for name in ("google", "outlook", "yahoo"))


def _report(
    rows: list[Row], *, report_id: str = "r1", day: date = MAY_1, p: str = "none", org: str = "receiver.example"
) -> AggregateReport:
    begin = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return AggregateReport(
        org,
        "",
        report_id,
        begin,
        begin + timedelta(seconds=86399),
        "example.com",
        Policy(p),
        tuple(rows),
    )


def _row(address: str, count: int, *, passed: bool = True) -> Row:
    verdict = "pass" if passed else "fail"
    return Row(ipaddress.ip_address(address), count, "none", verdict, verdict, "example.com")


def _busy_report(sources: int, report_id: str = "busy", day: date = MAY_1) -> AggregateReport:
    """`sources` senders, half IPv4 and half IPv6, with counts from 1 to `sources` and every tenth failing."""
    rows = [
        _row(f"198.18.{i // 256}.{i % 256}" if i % 2 else f"2a01:111:f403:{i:04x}::{i:x}", i + 1, passed=i % 10 != 0)
        for i in range(sources)
    ]
    return _report(rows, report_id=report_id, day=day)


def test_given_googles_report_when_added_to_no_day_then_the_day_holds_its_messages_per_source() -> None:
    day = add(None, GOOGLE)

    assert (day.domain, day.day, day.reports, day.policies) == ("example.com", MAY_1, (GOOGLE.key,), ("none",))
    assert (day.total, day.passed) == (1420, 1418)
    assert day.sources["54.240.8.17"] == SourceDay(1412, 1412, 1412, 1412, {"none": 1412}, ("example.com",))
    assert day.sources["209.85.220.41"] == SourceDay(6, 6, 6, 0, {"none": 6}, ("example.com",))
    assert day.sources["198.51.100.23"] == SourceDay(2, 0, 0, 0, {"none": 2}, ("example.com",), {"google.com": 2})
    assert day.reporters == {"google.com": ReporterDay(1420, 1418)}


def test_given_reports_of_three_receivers_when_added_then_a_sender_seen_by_all_is_summed() -> None:
    day = add(add(add(None, GOOGLE), OUTLOOK), YAHOO)

    assert day.total == 1420 + 1075 + 233
    assert day.passed == 1418 + 960 + 233
    assert day.sources["54.240.8.17"].count == 1412 + 960 + 233
    assert day.sources["23.251.226.4"].header_from == ("shop.example.com",)
    assert day.reports == tuple(sorted((GOOGLE.key, OUTLOOK.key, YAHOO.key)))


def test_given_the_same_report_twice_when_added_then_it_counts_once() -> None:
    once = add(add(None, GOOGLE), OUTLOOK)

    assert add(once, GOOGLE) == once
    assert add(from_json(to_json(once)), OUTLOOK) == from_json(to_json(once))


def test_given_a_resent_report_with_the_id_in_angle_brackets_when_added_then_it_counts_once() -> None:
    first = _report([_row("192.0.2.1", 5)], report_id="abc@receiver.example")
    again = replace(first, report_id="<abc@receiver.example>", org_name="RECEIVER.EXAMPLE")

    assert add(add(None, first), again) == add(None, first)


def test_given_a_report_of_another_day_when_added_then_refused() -> None:
    with pytest.raises(
        ValueError, match=re.escape("a report about example.com on 2026-05-02 added to the aggregate of")
    ):
        add(add(None, GOOGLE), _report([_row("192.0.2.1", 1)], day=date(2026, 5, 2)))


def test_given_policy_changes_within_a_day_when_added_then_the_day_lists_both_policies() -> None:
    day = add(add(None, GOOGLE), _report([_row("192.0.2.1", 1)], p="quarantine"))

    assert day.policies == ("none", "quarantine")


@pytest.mark.parametrize(
    ("begin", "end", "day"),
    [
        ("2026-05-01T00:00:00", "2026-05-01T23:59:59", MAY_1),  # Google, Yahoo
        ("2026-05-01T00:00:00", "2026-05-02T00:00:00", MAY_1),  # Outlook.com
        ("2026-04-30T22:00:00", "2026-05-01T21:59:59", MAY_1),  # a receiver reporting from its local midnight
        ("2026-05-01T06:00:00", "2026-05-01T12:00:00", MAY_1),  # a few hours
    ],
)
def test_given_a_report_period_when_attributed_then_the_day_holding_most_of_it_counts(begin, end, day) -> None:
    report = replace(
        GOOGLE,
        begin=datetime.fromisoformat(begin).replace(tzinfo=UTC),
        end=datetime.fromisoformat(end).replace(tzinfo=UTC),
    )

    assert report_day(report) == day


def test_given_more_sources_than_kept_when_added_then_the_smallest_merge_into_other_and_totals_stay_exact() -> None:
    report = _busy_report(2_000)

    day = add(None, report)

    assert len(day.sources) == MAX_SOURCES + 1
    assert day.total == sum(row.count for row in report.records) == sum(s.count for s in day.sources.values())
    assert day.passed == sum(s.passed for s in day.sources.values())
    smallest_kept = min(s.count for address, s in day.sources.items() if address != OTHER)
    assert smallest_kept == 2_000 - MAX_SOURCES + 1
    assert day.sources[OTHER].count == sum(range(1, 2_000 - MAX_SOURCES + 1))


def test_given_a_capped_day_when_more_reports_arrive_then_other_keeps_growing_and_totals_stay_exact() -> None:
    day = add(add(None, _busy_report(2_000, "a")), _busy_report(2_000, "b"))

    assert day.total == 2 * sum(range(1, 2_001))
    assert sum(s.count for s in day.sources.values()) == day.total
    assert len(day.sources) == MAX_SOURCES + 1


def test_given_ninety_busy_days_when_stored_then_they_fit_in_a_few_megabytes() -> None:
    busy = add(None, _busy_report(2_000))
    stored = [to_json(replace(busy, day=MAY_1 - timedelta(days=n))) for n in range(90)]
    sizes = [len(text.encode()) for text in stored]

    assert max(sizes) < 16_000  # 2,000 sources a day, capped at 200 plus "other"
    assert sum(sizes) < 1_500_000


def test_given_a_day_when_stored_and_read_back_then_it_is_the_same_day() -> None:
    day = add(add(add(None, GOOGLE), OUTLOOK), _busy_report(300))

    assert from_json(to_json(day)) == day
    assert from_json(to_json(day).encode()) == day


def test_given_a_day_at_its_report_limit_when_asked_for_room_then_a_new_report_has_none_before_any_merge(
    monkeypatch,
) -> None:
    monkeypatch.setattr(daily, "MAX_REPORTS", 2)
    day = add(add(None, GOOGLE), OUTLOOK)

    assert room(add(None, GOOGLE), OUTLOOK) == ""
    assert room(day, GOOGLE) == ""  # counted already: adding it changes nothing
    assert room(day, YAHOO) == "example.com already has 2 reports for 2026-05-01; no more are counted"
    with pytest.raises(DayFull, match=re.escape("example.com already has 2 reports for 2026-05-01")) as caught:
        add(day, YAHOO)
    assert not isinstance(caught.value, ReportRejected)  # the day filled up under the caller: not the file's fault


def test_given_reports_of_several_orgs_when_added_then_each_reporter_keeps_its_volume_and_its_failures() -> None:
    failing = _report([_row("192.0.2.1", 30), _row("203.0.113.9", 70, passed=False)], org="Mail.RU", report_id="m")
    day = add(add(add(None, GOOGLE), OUTLOOK), failing)

    assert day.reporters == {
        "google.com": ReporterDay(1420, 1418),
        "outlook.com": ReporterDay(1075, 960),
        "mail.ru": ReporterDay(100, 30),
    }
    assert day.sources["203.0.113.9"].failed_by == {"mail.ru": 70}
    assert from_json(to_json(day)) == day


def test_given_more_reporters_than_kept_when_added_then_the_smallest_merge_into_other_with_their_failures() -> None:
    day = None
    for n in range(MAX_REPORTERS + 5):
        rows = [_row("192.0.2.1", 100 + n), _row("203.0.113.9", 1, passed=False)]
        day = add(day, _report(rows, org=f"org{n:02d}.example", report_id=f"r{n}"))
    assert day is not None

    assert len(day.reporters) == MAX_REPORTERS + 1
    assert day.reporters[OTHER] == ReporterDay(sum(101 + n for n in range(5)), sum(100 + n for n in range(5)))
    assert sum(r.count for r in day.reporters.values()) == day.total
    assert day.sources["203.0.113.9"].failed_by[OTHER] == 5
    assert sum(day.sources["203.0.113.9"].failed_by.values()) == MAX_REPORTERS + 5


VALID = json.loads(to_json(add(None, GOOGLE)))


def _changed(**changes: object) -> str:
    return json.dumps({**VALID, **changes})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not JSON"),
        ("[]", "not a daily aggregate: a JSON object is expected"),
        (_changed(schema=3), "schema 3; this ses-guard reads schema 2 (and 1)"),
        (_changed(sources=[]), "`sources` is missing or not an object"),
        (_changed(day="May 1"), "day: 'May 1' is not a date (YYYY-MM-DD)"),
        (_changed(total=-1), "total: -1 is not a count"),
        (_changed(passed=True), "passed: True is not a count"),
        (_changed(domain=7), "domain: 7 is not text"),
        (_changed(reports="abc"), "reports: 'abc' is not a list"),
        (_changed(sources={"mail.example": [1, 1, 1, 1, {}, []]}), "sources: 'mail.example' is neither an IP"),
        (_changed(sources={"192.0.2.1": [1, 1, 1]}), "sources[192.0.2.1] is not [count, passed, dkim, spf"),
        (_changed(sources={"192.0.2.1": [1, 1, 1, 1, {}, []]}), "sources[192.0.2.1] is not [count, passed, dkim"),
        (_changed(sources={"192.0.2.1": [1, 1, 1, "1", {}, [], {}]}), "sources[192.0.2.1]: '1' is not a count"),
        (_changed(reporters=[]), "`reporters` is not an object"),
        (_changed(reporters={"google.com": [1]}), "reporters[google.com] is not [count, passed]"),
    ],
)
def test_given_a_stored_aggregate_that_is_not_ours_when_read_then_the_error_names_the_problem(text, message) -> None:
    with pytest.raises(AggregateUnreadable) as caught:
        from_json(text)

    assert str(caught.value).startswith(message)


def test_given_an_empty_day_when_stored_then_it_reads_back_empty() -> None:
    empty = DayAggregate("example.com", MAY_1)

    assert from_json(to_json(empty)) == empty


def test_given_an_aggregate_stored_before_reporters_were_kept_when_read_then_it_reads_with_none() -> None:
    stored = json.loads(to_json(add(None, GOOGLE)))
    del stored["reporters"]
    stored["schema"] = 1
    stored["sources"] = {address: fields[:6] for address, fields in stored["sources"].items()}

    day = from_json(json.dumps(stored))

    assert (day.total, day.reporters) == (1420, {})
    assert day.sources["198.51.100.23"] == SourceDay(2, 0, 0, 0, {"none": 2}, ("example.com",))
    assert add(day, OUTLOOK).reporters == {"outlook.com": ReporterDay(1075, 960)}
