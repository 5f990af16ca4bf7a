"""The MX SES receiving needs at the reports address's domain: missing, present, someone else's, not yet live."""

from __future__ import annotations

from core.checks.inbox import check_receiving
from core.kernel.models import Answer, AnswerStatus, Code, DomainObservation, Identity, Record, RecordSet
from tests.unit.checks.helpers import ZONE, codes, only, view
from tests.unit.views import ns_unread

ADDRESS = "dmarc-reports@example.com"
INBOUND = "10 inbound-smtp.eu-west-1.amazonaws.com"
EXAMPLE = Identity("example.com", "eu-west-1", "DOMAIN", "SUCCESS")


def mx(*values: str, status: AnswerStatus = "OK", error: str = "") -> Answer:
    return Answer("example.com", "MX", status if values or status != "OK" else "NODATA", values, error=error)


def check(answer: Answer | None, identity: Identity = EXAMPLE, *records: RecordSet, address: str = ADDRESS):
    obs = DomainObservation(domain=identity.domain, receiving_mx=answer)
    return check_receiving(identity, obs, view(*records), address=address, region="eu-west-1")


def test_given_the_inbound_mx_when_checked_then_nothing_is_found() -> None:
    assert check(mx(INBOUND)) == []
    # Beside other preferences of SES's own endpoint, still received by SES
    assert check(mx("10 INBOUND-SMTP.eu-west-1.amazonaws.com.")) == []


def test_given_no_mx_when_checked_then_the_record_is_required_and_fixable() -> None:
    finding = only(check(mx()), Code.REPORTS_MX_MISSING)

    assert finding.fixable
    assert finding.records == (Record("example.com", "MX", (INBOUND,)),)
    assert ADDRESS in finding.message
    assert "eu-west-1" in finding.message


def test_given_someone_elses_mx_when_checked_then_a_conflict_for_a_person_and_nothing_planned() -> None:
    finding = only(check(mx("1 aspmx.l.google.com")), Code.REPORTS_MX_CONFLICT)

    assert not finding.fixable
    assert finding.records == (Record("example.com", "MX", ("1 aspmx.l.google.com",), "found"),)
    assert "aspmx.l.google.com" in finding.message


def test_given_the_mx_in_route53_not_yet_live_when_checked_then_not_propagated() -> None:
    held = RecordSet("example.com", "MX", 300, (INBOUND,))

    finding = only(check(mx(), EXAMPLE, held), Code.DNS_NOT_PROPAGATED)

    assert finding.ttl == 300


HELD_MX = RecordSet("example.com", "MX", 300, (INBOUND,))


def test_given_the_mx_in_route53_when_the_delegation_is_unknown_then_neither_pending_nor_missing() -> None:
    zone = ns_unread(ZONE, {("example.com", "MX"): HELD_MX})
    obs = DomainObservation(domain="example.com", receiving_mx=mx())

    # the zone check's CHECK_FAILED stands for it, keeping the earlier finding until the delegation is seen
    assert check_receiving(EXAMPLE, obs, zone, address=ADDRESS, region="eu-west-1") == []


def test_given_a_failed_lookup_when_checked_then_the_check_failed_never_missing() -> None:
    assert codes(check(mx(status="FAILED", error="SERVFAIL"))) == [Code.CHECK_FAILED]


def test_given_another_identity_or_no_address_when_checked_then_nothing_is_asked() -> None:
    other = Identity("shop.example.com", "eu-west-1", "DOMAIN", "SUCCESS")
    elsewhere = Identity("example.com", "us-east-1", "DOMAIN", "SUCCESS")

    assert check(mx(), other) == []
    assert check(mx(), elsewhere) == []
    assert check(mx(), address="") == []
    assert check(None) == []
