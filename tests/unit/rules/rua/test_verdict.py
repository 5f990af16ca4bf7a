"""The verdict over a window: volume and pass rate split into SES and other sources, failing sources named, missing
reports noticed, readiness for the next policy step and why not; the record one step up; SES's ranges."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import replace
from datetime import date, timedelta

import pytest

from core.rules.rua.daily import OTHER, DayAggregate, ReporterDay, SourceDay
from core.rules.rua.verdict import FailingSource, Volume, assess, next_record, ses_networks_from_spf

AMAZONSES_SPF = (
    "v=spf1 ip4:199.255.192.0/22 ip4:199.127.232.0/22 ip4:54.240.0.0/18 ip4:69.169.224.0/20 ip4:23.249.208.0/20 "
    "ip4:23.251.224.0/19 ip4:76.223.176.0/20 ip4:54.240.64.0/19 ip4:54.240.96.0/19 ip4:52.82.172.0/22 "
    "ip4:76.223.128.0/19 -all"
)
SES = ses_networks_from_spf([AMAZONSES_SPF])
TODAY = date(2026, 6, 1)
SES_IP, FORWARDER, VENDOR, SPOOFER = "54.240.8.17", "209.85.220.41", "203.0.113.50", "198.51.100.23"
CRM = "192.0.2.80"


def _day(
    ago: int,
    sources: dict[str, tuple[int, int]],
    *,
    policies: tuple[str, ...] = ("none",),
    reporter: str = "",
) -> DayAggregate:
    """The aggregate of the day `ago` days before TODAY; sources map an address to (messages, DMARC passes). One
    reporter saw it all: `reporter`, else google.com on even days and yahoo.com on odd ones."""
    by = reporter or ("google.com" if ago % 2 == 0 else "yahoo.com")
    total, passed = sum(count for count, _ in sources.values()), sum(passed for _, passed in sources.values())
    return DayAggregate(
        domain="example.com",
        day=TODAY - timedelta(days=ago),
        reports=("k",),
        total=total,
        passed=passed,
        policies=policies,
        sources={
            ip: SourceDay(
                count,
                passed,
                passed,
                0,
                {"none": count},
                ("example.com",),
                {by: count - passed} if passed < count else {},
            )
            for ip, (count, passed) in sources.items()
        },
        reporters={by: ReporterDay(total, passed)},
    )


def _merged(*days: DayAggregate) -> DayAggregate:
    """Several reporters' aggregates of one day, added up as the daily aggregate adds reports."""
    sources: dict[str, SourceDay] = {}
    for day in days:
        for ip, s in day.sources.items():
            was = sources.get(ip, SourceDay())
            failed_by = {**was.failed_by, **s.failed_by}
            sources[ip] = SourceDay(
                was.count + s.count, was.passed + s.passed, was.dkim + s.dkim, 0, {}, s.header_from, failed_by
            )
    return DayAggregate(
        domain=days[0].domain,
        day=days[0].day,
        reports=tuple(f"k{n}" for n in range(len(days))),
        total=sum(d.total for d in days),
        passed=sum(d.passed for d in days),
        policies=days[0].policies,
        sources=sources,
        reporters={name: r for d in days for name, r in d.reporters.items()},
    )


def _month(
    sources: dict[str, tuple[int, int]], *, policy: str = "none", days: range = range(1, 31)
) -> list[DayAggregate]:
    return [_day(ago, sources, policies=(policy,)) for ago in days]


CLEAN = {SES_IP: (1000, 1000), FORWARDER: (4, 4)}


def test_given_a_clean_month_at_none_when_assessed_then_ready_for_quarantine_with_ses_and_other_split() -> None:
    verdict = assess(_month(CLEAN), SES, 30, TODAY)

    assert (verdict.start, verdict.end) == (date(2026, 5, 2), date(2026, 5, 31))
    assert verdict.volume == Volume(30_120, 30_120)
    assert (verdict.ses, verdict.other) == (Volume(30_000, 30_000), Volume(120, 120))
    assert len(verdict.days) == 30
    assert (verdict.policy, verdict.ready_for, verdict.failing, verdict.ses_failing) == ("none", "quarantine", (), ())
    assert verdict.reason == (
        "100% of 30120 messages passed DMARC under p=none over the window, no day and no reporter below 99% "
        "(2 reporters): ready for p=quarantine"
    )


def test_given_a_clean_month_at_quarantine_when_assessed_then_ready_for_reject() -> None:
    assert assess(_month(CLEAN, policy="quarantine"), SES, 30, TODAY).ready_for == "reject"


def test_given_a_domain_at_reject_when_assessed_then_there_is_no_next_step() -> None:
    verdict = assess(_month(CLEAN, policy="reject"), SES, 30, TODAY)

    assert (verdict.ready_for, verdict.reason) == (None, "p=reject is already the strictest policy")


def test_given_no_reports_when_assessed_then_not_ready_and_reports_are_missing() -> None:
    verdict = assess([], SES, 30, TODAY)

    assert (verdict.ready_for, verdict.reason) == (None, "no aggregate reports for the window")
    assert verdict.reports_missing
    assert (verdict.volume, verdict.policy, verdict.days) == (Volume(), "", ())


def test_given_a_step_to_quarantine_within_the_window_when_assessed_then_the_next_step_waits_a_whole_window() -> None:
    days = [*_month(CLEAN, days=range(11, 31)), _day(10, CLEAN, policies=("none", "quarantine"))]
    days += _month(CLEAN, policy="quarantine", days=range(1, 10))

    verdict = assess(days, SES, 30, TODAY)

    assert verdict.policy == "quarantine"
    assert verdict.ready_for is None
    assert verdict.reason == (
        "reports of 2026-05-02 saw p=none: a whole window under p=quarantine comes before the next step"
    )


def test_given_reports_only_for_the_last_days_when_assessed_then_not_ready_for_lack_of_history() -> None:
    verdict = assess(_month(CLEAN, days=range(1, 11)), SES, 30, TODAY)

    assert verdict.reason == "reports start on 2026-05-22, not within the first 7 days of the window"
    assert not verdict.reports_missing


def test_given_no_report_for_a_week_when_assessed_then_reports_are_missing_and_not_ready() -> None:
    verdict = assess(_month(CLEAN, days=range(8, 31)), SES, 30, TODAY)

    assert verdict.reports_missing
    assert (verdict.ready_for, verdict.reason) == (None, "no reports for the last 7 days")


def test_given_too_little_mail_when_assessed_then_not_ready_however_clean() -> None:
    verdict = assess(_month({SES_IP: (10, 10)}), SES, 30, TODAY)

    assert verdict.reason == "300 messages in the window; at least 500 are needed to judge"
    assert assess(_month({SES_IP: (10, 10)}), SES, 30, TODAY, min_volume=300).ready_for == "quarantine"


def test_given_a_pass_rate_under_the_threshold_when_assessed_then_not_ready_and_the_rate_is_named() -> None:
    verdict = assess(_month({SES_IP: (980, 980), VENDOR: (20, 0)}), SES, 30, TODAY)

    assert verdict.ready_for is None
    assert verdict.reason == "98% of 30000 messages passed DMARC; 99% needed"
    assert assess(_month({SES_IP: (980, 980), VENDOR: (20, 0)}), SES, 30, TODAY, threshold=0.98).ready_for


def test_given_one_bad_day_in_a_good_month_when_assessed_then_that_day_blocks_the_step() -> None:
    days = _month(CLEAN, days=range(1, 31))
    days[14] = _day(15, {SES_IP: (1000, 1000), VENDOR: (60, 0)})

    verdict = assess(days, SES, 30, TODAY)

    assert verdict.volume.rate >= 0.99
    assert verdict.reason == "on 2026-05-17 94.3% of 1060 messages passed DMARC"


def test_given_a_failure_on_a_day_too_small_to_judge_alone_when_assessed_then_the_window_judges_it() -> None:
    days = [*_month(CLEAN, days=range(2, 31)), _day(1, {SES_IP: (50, 49)})]

    assert assess(days, SES, 30, TODAY).ready_for == "quarantine"


def test_given_failing_sources_when_assessed_then_those_with_a_meaningful_share_are_named_most_first() -> None:
    sources = {SES_IP: (900, 880), VENDOR: (60, 0), SPOOFER: (5, 0), FORWARDER: (35, 20)}

    verdict = assess(_month(sources), SES, 30, TODAY)

    assert verdict.failing == (
        FailingSource(VENDOR, False, Volume(1800, 0), 0.06, ("example.com",)),
        FailingSource(FORWARDER, False, Volume(1050, 600), 0.015, ("example.com",)),
    )  # the spoofer's 0.5% is under the 1% share
    assert verdict.ses_failing == (FailingSource(SES_IP, True, Volume(27_000, 26_400), 0.02, ("example.com",)),)
    assert (verdict.ses, verdict.other) == (Volume(27_000, 26_400), Volume(3_000, 600))


def test_given_failures_among_the_merged_small_sources_when_assessed_then_other_is_named_as_a_source() -> None:
    verdict = assess(_month({SES_IP: (900, 900), OTHER: (100, 50)}), SES, 30, TODAY)

    assert [(f.source, f.ses, f.share) for f in verdict.failing] == [(OTHER, False, 0.05)]


def test_given_days_outside_the_window_when_assessed_then_they_are_ignored() -> None:
    days = [*_month(CLEAN), _day(0, {VENDOR: (10000, 0)}), _day(31, {VENDOR: (10000, 0)})]

    verdict = assess(days, SES, 30, TODAY)

    assert verdict.volume == Volume(30_120, 30_120)
    assert verdict.ready_for == "quarantine"


def test_given_bad_arguments_when_assessed_then_refused() -> None:
    other_domain = DayAggregate("example.org", TODAY - timedelta(days=1))

    with pytest.raises(ValueError, match=re.escape("aggregates of several domains: example.com, example.org")):
        assess([*_month(CLEAN), other_domain], SES, 30, TODAY)
    with pytest.raises(ValueError, match="window_days is 3"):
        assess(_month(CLEAN), SES, 3, TODAY)


# --- the record one step up -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "step", "expected"),
    [
        (
            "v=DMARC1; p=none; rua=mailto:dmarc@example.com",
            "quarantine",
            "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com",
        ),
        ("v=DMARC1;p=quarantine;sp=none;pct=50", "reject", "v=DMARC1;p=reject;sp=none;pct=50"),
        ("v=DMARC1;  P = None ;  fo=1 ", "quarantine", "v=DMARC1;  P = quarantine ;  fo=1 "),
        (
            "v=DMARC1; rua=mailto:d@example.com; p=none",
            "quarantine",
            "v=DMARC1; rua=mailto:d@example.com; p=quarantine",
        ),
        ("v=DMARC1; rua=mailto:d@example.com", "quarantine", "v=DMARC1; p=quarantine; rua=mailto:d@example.com"),
    ],
)
def test_given_a_record_when_moved_one_step_then_only_p_changes(record, step, expected) -> None:
    assert next_record(record, step) == expected


@pytest.mark.parametrize(
    ("record", "step", "message"),
    [
        ("v=DMARC1; p=none", "reject", "the record is at p=none; p=reject follows p=quarantine only"),
        ("v=DMARC1; p=reject", "quarantine", "the record is at p=reject; p=quarantine follows p=none only"),
        ("v=DMARC1; p=none", "none", "'none' is not a step of the progression (quarantine, reject)"),
        ("v=spf1 -all", "quarantine", "not a valid DMARC record: it does not start with exactly v=DMARC1"),
        ("v=DMARC1; p=none; adkim=x", "quarantine", "not a valid DMARC record: adkim=x is not one of r, s"),
    ],
)
def test_given_a_record_that_cannot_take_the_step_when_moved_then_refused(record, step, message) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        next_record(record, step)


# --- SES's sending ranges -------------------------------------------------------------------------------------------


def test_given_amazonses_spf_record_when_read_then_its_ranges_are_the_ses_networks() -> None:
    assert len(SES) == 11
    assert ipaddress.ip_network("54.240.0.0/18") in SES


def test_given_other_txt_values_and_qualifiers_when_read_then_only_passing_ip_terms_of_spf_records_count() -> None:
    values = [
        "google-site-verification=abc",
        "v=spf1 ip4:192.0.2.1 +ip4:198.51.100.0/24 -ip4:203.0.113.0/24 ~ip6:2001:db8:bad::/48 ip6:2001:db8::/32 "
        "ip4:192.0.2.1/32 include:amazonses.com ~all",
    ]

    assert ses_networks_from_spf(values) == [
        ipaddress.ip_network("192.0.2.1/32"),
        ipaddress.ip_network("198.51.100.0/24"),
        ipaddress.ip_network("2001:db8::/32"),
    ]


# --- reports are claims: forged volume, one reporter, outages -------------------------------------------------------


def test_given_a_forged_daily_report_of_huge_passing_volume_when_assessed_then_not_ready_and_the_crm_is_named() -> None:
    # A genuine receiver sees 70% pass, a CRM failing; anyone mails one report a day claiming 2e9 passes as google.com.
    genuine = {SES_IP: (700, 700), CRM: (300, 0)}
    days = [
        _merged(
            _day(ago, genuine, reporter="yahoo.com"),
            _day(ago, {SES_IP: (2_000_000_000, 2_000_000_000)}, reporter="google.com"),
        )
        for ago in range(1, 31)
    ]

    verdict = assess(days, SES, 30, TODAY)

    assert verdict.volume.rate > 0.999
    assert verdict.ready_for is None
    assert verdict.reason == (
        "reports from yahoo.com: 70% of 30000 messages passed DMARC; every reporter with 5% of the mail, or enough to "
        "judge alone, needs 99%"
    )
    assert [(f.source, f.share) for f in verdict.failing] == [(CRM, 0.3)]


def test_given_every_report_from_one_reporter_when_assessed_then_not_ready_for_lack_of_a_second() -> None:
    verdict = assess([_day(ago, CLEAN, reporter="google.com") for ago in range(1, 31)], SES, 30, TODAY)

    assert verdict.ready_for is None
    assert verdict.reason == (
        "reports from only google.com: at least 2 distinct reporters are needed, so that no single reporter, "
        "genuine or forged, decides the step"
    )


def test_given_a_small_reporter_failing_beyond_the_allowance_when_assessed_then_it_blocks_the_step() -> None:
    # 2% of the mail, too little for the 5% share, but enough messages to fail the threshold on its own.
    days = [
        _merged(_day(ago, CLEAN, reporter="google.com"), _day(ago, {VENDOR: (20, 10)}, reporter="mail.ru"))
        for ago in range(1, 31)
    ]

    verdict = assess(days, SES, 30, TODAY)

    assert verdict.volume.rate >= 0.99
    assert verdict.reason.startswith("reports from mail.ru: 50% of 600 messages passed DMARC")


def test_given_a_tiny_reporter_with_one_failure_when_assessed_then_the_window_judges_it() -> None:
    days = [*_month(CLEAN, days=range(2, 31)), _merged(_day(1, CLEAN), _day(1, {VENDOR: (3, 2)}, reporter="mail.ru"))]

    assert assess(days, SES, 30, TODAY).ready_for == "quarantine"


def test_given_aggregates_without_reporters_when_assessed_then_not_ready() -> None:
    days = [replace(day, reporters={}) for day in _month(CLEAN)]

    verdict = assess(days, SES, 30, TODAY)

    assert verdict.reason.startswith("reports from no reporter named in the aggregates: at least 2 distinct")


def test_given_reports_at_both_ends_of_the_window_only_when_assessed_then_the_outage_between_blocks_the_step() -> None:
    days = [*_month(CLEAN, days=range(1, 4)), *_month(CLEAN, days=range(28, 31))]

    verdict = assess(days, SES, 30, TODAY)

    assert verdict.ready_for is None
    assert verdict.reason == "no reports from 2026-05-05 to 2026-05-28 (24 days)"


@pytest.mark.parametrize(("silent", "ready"), [(6, "quarantine"), (7, None)])
def test_given_days_without_reports_mid_window_when_assessed_then_a_week_of_silence_blocks(silent, ready) -> None:
    days = [day for day in _month(CLEAN) if not 10 <= (TODAY - day.day).days < 10 + silent]

    assert assess(days, SES, 30, TODAY).ready_for == ready
