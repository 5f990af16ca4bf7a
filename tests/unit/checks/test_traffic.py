"""Findings and the traffic panel from a domain's DMARC verdict: pure, over verdicts built from daily aggregates."""

from __future__ import annotations

import ipaddress
from datetime import date, timedelta

from core.checks.traffic import DomainFacts, check_traffic, domain_traffic, readiness
from core.kernel.models import Code, Finding, IdentityKey
from core.rules.rua.daily import DayAggregate, ReporterDay, SourceDay
from core.rules.rua.verdict import DomainVerdict, assess

TODAY = date(2026, 12, 1)
DOMAIN = "example.com"
KEYS = (IdentityKey("eu-west-1", DOMAIN), IdentityKey("us-east-1", DOMAIN))
SES = [ipaddress.ip_network("54.240.0.0/18")]
SES_IP = "54.240.0.1"
OTHER_IP = "203.0.113.7"
RECORD = "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com"


def days(per_day: dict[str, tuple[int, int]], count: int = 30) -> list[DayAggregate]:
    """`count` days before TODAY, each with the same sources: address -> (messages, passed), reported by
    google.com on even days and yahoo.com on odd ones."""
    total, passed = sum(m for m, _ in per_day.values()), sum(p for _, p in per_day.values())
    return [
        DayAggregate(
            DOMAIN,
            TODAY - timedelta(days=n),
            reports=(f"r{n}",),
            total=total,
            passed=passed,
            policies=("none",),
            sources={
                a: SourceDay(m, p, p, p, {"none": m}, (DOMAIN,), {by: m - p} if p < m else {})
                for a, (m, p) in per_day.items()
            },
            reporters={by: ReporterDay(total, passed)},
        )
        for n in range(1, count + 1)
        for by in ["yahoo.com" if n % 2 else "google.com"]
    ]


def verdict(per_day: dict[str, tuple[int, int]], count: int = 30) -> DomainVerdict:
    return assess(days(per_day, count), SES, 30, TODAY)


def facts(v: DomainVerdict | None, **fields: object) -> DomainFacts:
    base: dict[str, object] = {"records": (RECORD,), "ptr": {OTHER_IP: "mail.sender.example"}}
    return DomainFacts(DOMAIN, KEYS, v, **{**base, **fields})  # type: ignore[arg-type]


def codes(found: list[Finding]) -> list[str]:
    return [f.code.value for f in found]


def test_given_a_clean_window_at_p_none_when_checked_then_one_readiness_finding_carries_the_exact_new_record():
    found = check_traffic(facts(verdict({SES_IP: (100, 100)})))

    assert codes(found) == ["DMARC_READY_TO_ENFORCE"]
    ready = found[0]
    assert ready.subject == DOMAIN
    assert ready.identities == KEYS
    assert not ready.fixable
    assert [(r.role, r.values) for r in ready.records] == [
        ("found", (RECORD,)),
        ("required", ("v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@example.com",)),
    ]
    assert {r.name for r in ready.records} == {"_dmarc.example.com"}


def test_given_the_same_verdict_on_two_runs_when_checked_then_the_readiness_finding_keeps_its_id():
    first = check_traffic(facts(verdict({SES_IP: (100, 100)})))
    second = check_traffic(facts(verdict({SES_IP: (120, 120)}), ptr={}))

    assert [f.id for f in first] == [f.id for f in second]


def test_given_a_record_already_stepped_in_dns_when_checked_then_no_readiness_is_claimed_and_the_panel_says_why():
    stepped = facts(verdict({SES_IP: (100, 100)}), records=("v=DMARC1; p=quarantine",))

    assert check_traffic(stepped) == []
    panel = domain_traffic(stepped)
    assert panel is not None
    assert panel.ready_for is None
    assert "p=quarantine" in panel.reason


def test_given_no_own_record_when_checked_then_readiness_names_the_missing_record():
    assert readiness(facts(verdict({SES_IP: (100, 100)}), records=())).step is None


def test_given_a_third_party_failing_with_a_big_share_when_checked_then_it_is_named_with_its_ptr():
    found = check_traffic(facts(verdict({SES_IP: (90, 90), OTHER_IP: (10, 0)})))

    assert codes(found) == ["DMARC_SOURCE_UNALIGNED"]
    assert found[0].severity.value == "MEDIUM"
    assert "203.0.113.7 (mail.sender.example): 300 of 300 messages failed, 10.0% of the mail a receiver reported" in (
        found[0].message
    )


def test_given_ses_mail_failing_when_checked_then_a_high_finding_points_at_the_identitys_own_findings():
    found = check_traffic(facts(verdict({SES_IP: (90, 60)}), causes=("DKIM_RECORD_MISSING", "DMARC_POLICY_NONE")))

    assert codes(found) == ["DMARC_SES_UNALIGNED"]
    assert found[0].severity.value == "HIGH"
    assert "900 of 2700 messages sent through SES" in found[0].message
    assert "explain it: DKIM_RECORD_MISSING." in found[0].message


def test_given_ses_failures_within_the_threshold_when_checked_then_they_are_no_finding():
    assert Code.DMARC_SES_UNALIGNED not in {f.code for f in check_traffic(facts(verdict({SES_IP: (1000, 999)})))}


def test_given_rua_at_the_inbox_and_no_report_for_a_week_when_checked_then_reports_are_missing():
    quiet = assess([d for d in days({SES_IP: (100, 100)}) if d.day < TODAY - timedelta(days=8)], SES, 30, TODAY)

    assert codes(check_traffic(facts(quiet, rua_to_inbox=True))) == ["DMARC_REPORTS_MISSING"]
    assert codes(check_traffic(facts(None, rua_to_inbox=True))) == ["DMARC_REPORTS_MISSING"]
    assert check_traffic(facts(None, rua_to_inbox=True, young=True)) == []
    assert check_traffic(facts(None, rua_to_inbox=False)) == []


def test_given_a_verdict_when_shown_then_the_panel_lists_the_largest_failing_sources_first_with_ptr():
    panel = domain_traffic(facts(verdict({SES_IP: (80, 79), OTHER_IP: (20, 5)})))

    assert panel is not None
    assert (panel.messages, panel.ses_messages, len(panel.days)) == (3000, 2400, 30)
    assert [(s.address, s.ptr, s.ses) for s in panel.failing] == [
        (OTHER_IP, "mail.sender.example", False),
        (SES_IP, "", True),
    ]
    assert domain_traffic(facts(None)) is None


def test_given_progression_when_ready_then_the_finding_says_ses_guard_makes_the_change():
    found = check_traffic(facts(verdict({SES_IP: (100, 100)}), progression=True))

    assert found[0].fixable
    assert "DMARC_PROGRESSION makes this change" in found[0].message
