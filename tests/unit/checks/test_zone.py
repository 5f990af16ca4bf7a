"""Where an identity's records would be written: a zone receivers see, one they do not, one that could not be read."""

from __future__ import annotations

import pytest

from core.checks.dkim import check_dkim
from core.checks.evaluate import evaluate_domain
from core.checks.mailfrom import check_mail_from
from core.checks.zone import check_zone
from core.kernel.models import (
    Answer,
    Code,
    DkimObservation,
    DkimState,
    DomainObservation,
    Identity,
    MailFromState,
    Record,
    RecordSet,
    ZoneView,
)
from core.rules.memory import Recall, State, notified, recall
from tests.unit.checks.helpers import ZONE, codes, only
from tests.unit.views import ROUTE53_NS, delegated, elsewhere, ns_unread, unread

MAIL_FROM = "bounce.example.com"
DMARC_HELD = RecordSet("_dmarc.example.com", "TXT", 300, ('"v=DMARC1; p=none"',))
MX_HELD = RecordSet(MAIL_FROM, "MX", 3600, ("10 feedback-smtp.eu-west-1.amazonses.com",))
TOKEN = "tok1"
CNAME_HELD = RecordSet(f"{TOKEN}._domainkey.example.com", "CNAME", 600, (f"{TOKEN}.dkim.amazonses.com",))


def identity(mail_from: str = "") -> Identity:
    state = MailFromState(mail_from, "SUCCESS") if mail_from else None
    dkim = DkimState(True, "SUCCESS", (TOKEN,), "dkim.amazonses.com", "AWS_SES")
    return Identity("example.com", "eu-west-1", "DOMAIN", "SUCCESS", dkim=dkim, mail_from=state)


def nothing_live(mail_from: str = "") -> DomainObservation:
    """Live DNS shows none of the identity's records."""
    name = f"{TOKEN}._domainkey.example.com"
    dkim = DkimObservation(TOKEN, name, f"{TOKEN}.dkim.amazonses.com", Answer(name, "TXT", "NXDOMAIN"))
    return DomainObservation(
        domain="example.com",
        dkim=(dkim,),
        mail_from_mx=Answer(mail_from, "MX", "NXDOMAIN") if mail_from else None,
        mail_from_txt=Answer(mail_from, "TXT", "NXDOMAIN") if mail_from else None,
        dmarc=(Answer("_dmarc.example.com", "TXT", "NXDOMAIN"), Answer("_dmarc.com", "TXT", "NXDOMAIN")),
    )


def held(*records: RecordSet) -> dict[tuple[str, str], RecordSet]:
    return {(r.name, r.type): r for r in records}


SPF_HELD = RecordSet(MAIL_FROM, "TXT", 300, ('"v=spf1 include:amazonses.com ~all"',))
RECORDS = held(DMARC_HELD, MX_HELD, SPF_HELD, CNAME_HELD)


def test_given_a_delegated_zone_holding_records_live_dns_lacks_then_each_is_not_propagated_with_its_ttl() -> None:
    view = delegated(ZONE, held(DMARC_HELD, MX_HELD, CNAME_HELD))

    findings = evaluate_domain(identity(MAIL_FROM), nothing_live(MAIL_FROM), view)

    # DKIM and MX are about the identity (one finding, waiting as long as the longest TTL), DMARC about its name
    pending = {f.subject: f.ttl for f in findings if f.code is Code.DNS_NOT_PROPAGATED}
    assert pending == {"": 3600, "_dmarc.example.com": 300}
    assert {Code.DMARC_MISSING, Code.DKIM_RECORD_MISSING, Code.MAIL_FROM_MX_MISSING}.isdisjoint(codes(findings))


def test_given_an_undelegated_zone_holding_the_records_then_they_stay_missing_beside_zone_not_delegated() -> None:
    view = elsewhere(ZONE, held(DMARC_HELD, MX_HELD, CNAME_HELD))

    findings = evaluate_domain(identity(MAIL_FROM), nothing_live(MAIL_FROM), view)

    assert Code.DNS_NOT_PROPAGATED not in codes(findings)
    for code in (Code.DMARC_MISSING, Code.DKIM_RECORD_MISSING, Code.MAIL_FROM_MX_MISSING):
        missing = only(findings, code)
        assert missing.severity.value == "HIGH"
        assert not missing.fixable
        assert "ns1.old-provider.example.org" in missing.message
    zone = only(findings, Code.ZONE_NOT_DELEGATED)
    assert "writes nothing into it" in zone.message
    assert zone.records == (
        Record("example.com", "NS", ("ns1.old-provider.example.org", "ns2.old-provider.example.org"), "found"),
        Record("example.com", "NS", ROUTE53_NS),
    )


def test_given_two_identities_of_one_undelegated_zone_then_one_finding_with_one_message() -> None:
    view = elsewhere(ZONE)
    other = Identity("shop.example.com", "eu-west-1", "DOMAIN", "SUCCESS")

    [one] = check_zone(identity(), view, [])
    [two] = check_zone(other, view, [])

    assert one.id == two.id
    assert one.message == two.message  # merged, the message does not grow with the zone's identities


def test_given_the_live_ns_could_not_be_read_then_check_failed_and_nothing_is_fixable() -> None:
    findings = evaluate_domain(identity(MAIL_FROM), nothing_live(MAIL_FROM), ns_unread(ZONE))

    failed = only(findings, Code.CHECK_FAILED)
    assert "timeout" in failed.message
    assert failed.subject == "example.com"
    assert not any(f.fixable for f in findings)
    assert Code.ZONE_NOT_DELEGATED not in codes(findings)


def test_given_a_zone_that_could_not_be_read_then_findings_say_so_with_the_error_never_that_it_is_missing() -> None:
    findings = evaluate_domain(identity(MAIL_FROM), nothing_live(MAIL_FROM), unread(ZONE))

    assert Code.ZONE_NOT_FOUND not in codes(findings)
    assert not any("no public Route 53 hosted zone" in f.message for f in findings)
    mx = only(findings, Code.MAIL_FROM_MX_MISSING)
    assert not mx.fixable
    assert f"the Route 53 zone example.com ({ZONE.id}) could not be read" in mx.message
    assert "AccessDenied" in mx.message
    failed = only(findings, Code.CHECK_FAILED)
    assert "AccessDenied" in failed.message
    assert failed.subject == "example.com"


def test_given_route53_zones_that_could_not_be_listed_then_findings_say_route53_could_not_be_read() -> None:
    view = ZoneView(zone=None, unread="route53 ListHostedZones failed: Throttling: Rate exceeded")

    findings = evaluate_domain(identity(), nothing_live(), view)

    assert Code.ZONE_NOT_FOUND not in codes(findings)
    assert not any("no public Route 53 hosted zone" in f.message for f in findings)
    assert "Route 53 could not be read (route53 ListHostedZones failed" in only(findings, Code.CHECK_FAILED).message
    assert "Route 53 could not be read" in only(findings, Code.DKIM_RECORD_MISSING).message


@pytest.mark.parametrize("view", [elsewhere(ZONE), ns_unread(ZONE), unread(ZONE)], ids=["elsewhere", "ns", "unread"])
def test_given_a_zone_receivers_may_not_see_then_no_missing_record_is_fixable(view: ZoneView) -> None:
    findings = [
        *check_dkim(identity(), nothing_live(), view),
        *check_mail_from(identity(MAIL_FROM), nothing_live(MAIL_FROM), view),
    ]
    assert findings
    assert not any(f.fixable for f in findings)


def test_given_a_zone_whose_ns_were_never_looked_up_then_check_failed_and_nothing_is_fixable() -> None:
    view = ZoneView(ZONE, ROUTE53_NS)

    findings = evaluate_domain(identity(), nothing_live(), view)

    assert not any(f.fixable for f in findings)
    assert "not looked up" in only(findings, Code.DKIM_RECORD_MISSING).message
    assert "not looked up" in only(findings, Code.CHECK_FAILED).message
    assert Code.ZONE_NOT_DELEGATED not in codes(findings)


# --- the same zone across runs, one of which could not tell who serves it ----------------------------------------

HIGH_MISSING = {Code.DMARC_MISSING, Code.DKIM_RECORD_MISSING, Code.MAIL_FROM_MX_MISSING}
TIMES = ("2026-01-01T00:00:00+00:00", "2026-01-01T00:10:00+00:00", "2026-01-01T00:20:00+00:00")


def runs(*views: ZoneView) -> list[Recall]:
    """One audit of the identity per view, each remembering the last, every finding reported when made."""
    state, recalled = State(), []
    for view, now in zip(views, TIMES, strict=True):
        result = recall(evaluate_domain(identity(MAIL_FROM), nothing_live(MAIL_FROM), view), state, now)
        state = notified(result.state, [f.id for f in result.findings], now, digest=False)
        recalled.append(result)
    return recalled


def test_given_an_undelegated_zone_holding_the_records_when_its_ns_time_out_then_nothing_pending_or_missing() -> None:
    findings = evaluate_domain(identity(MAIL_FROM), nothing_live(MAIL_FROM), ns_unread(ZONE, RECORDS))

    assert codes(findings) == [Code.CHECK_FAILED]
    assert "timeout" in only(findings, Code.CHECK_FAILED).message


def test_given_an_undelegated_zone_holding_the_records_when_one_run_in_between_times_out_then_nothing_flips() -> None:
    first, failing, third = runs(elsewhere(ZONE, RECORDS), ns_unread(ZONE, RECORDS), elsewhere(ZONE, RECORDS))

    assert HIGH_MISSING | {Code.ZONE_NOT_DELEGATED} <= set(codes(first.findings))
    assert [(f.code, f.status) for f in failing.findings] == [(Code.CHECK_FAILED, "new")]
    assert failing.resolved == []
    assert set(failing.state.entries) >= {f.id for f in first.findings}
    assert [(f.code, f.status) for f in third.findings] == [(f.code, "open") for f in first.findings]
    assert [r.code for r in third.resolved] == [Code.CHECK_FAILED]


def test_given_a_zone_whose_ns_time_out_when_route53_lacks_a_record_then_that_record_is_still_missing() -> None:
    findings = evaluate_domain(identity(MAIL_FROM), nothing_live(MAIL_FROM), ns_unread(ZONE, held(CNAME_HELD)))

    # Route 53 read, the record not there: missing wherever receivers look, so no run can tell otherwise
    assert {Code.DMARC_MISSING, Code.MAIL_FROM_MX_MISSING} <= set(codes(findings))
    assert Code.DKIM_RECORD_MISSING not in codes(findings)
    assert Code.DNS_NOT_PROPAGATED not in codes(findings)
