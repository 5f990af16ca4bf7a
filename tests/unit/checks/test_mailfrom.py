"""Custom MAIL FROM findings: SES's status, the MX and the SPF record at the MAIL FROM domain, Route 53's view."""

from __future__ import annotations

import pytest

from core.checks.mailfrom import check_mail_from
from core.kernel.models import (
    Answer,
    AnswerStatus,
    Code,
    DomainObservation,
    Identity,
    MailFromState,
    Record,
    RecordSet,
)
from core.rules.safety import blocker
from tests.unit.checks.helpers import codes, only, view

MAIL_FROM = "bounce.example.com"
MX = "10 feedback-smtp.eu-west-1.amazonses.com"
SPF = "v=spf1 include:amazonses.com ~all"


def identity(mail_from: str = MAIL_FROM, status: str = "SUCCESS", behavior: str = "USE_DEFAULT_VALUE") -> Identity:
    state = MailFromState(mail_from, status, behavior) if mail_from else None
    return Identity("example.com", "eu-west-1", "DOMAIN", "SUCCESS", mail_from=state)


def mx(*values: str, status: AnswerStatus = "OK", error: str = "") -> Answer:
    return Answer(MAIL_FROM, "MX", status if values or status != "OK" else "NODATA", values, error=error)


def txt(*values: str, status: AnswerStatus = "OK", error: str = "") -> Answer:
    return Answer(MAIL_FROM, "TXT", status if values or status != "OK" else "NODATA", values, error=error)


def tree(records: dict[str, str]) -> tuple[Answer, ...]:
    """The answers an SPF walk gathered: one TXT record per name."""
    return tuple(Answer(name, "TXT", "OK", (value,)) for name, value in records.items())


def observe(
    mx_answer: Answer | None = None, txt_answer: Answer | None = None, spf_tree: tuple[Answer, ...] = ()
) -> DomainObservation:
    return DomainObservation(
        domain="example.com",
        mail_from_mx=mx_answer or mx(MX),
        mail_from_txt=txt_answer or txt(SPF),
        mail_from_spf=spf_tree,
    )


def test_given_the_records_ses_documents_when_checked_then_nothing_is_found() -> None:
    assert check_mail_from(identity(), observe(), view()) == []


def test_given_no_custom_mail_from_when_checked_then_not_configured() -> None:
    findings = check_mail_from(identity(mail_from=""), DomainObservation(domain="example.com"), view())
    assert codes(findings) == [Code.MAIL_FROM_NOT_CONFIGURED]
    assert "example.com" in findings[0].message
    assert not findings[0].fixable


@pytest.mark.parametrize("status", ["PENDING", "FAILED", "TEMPORARY_FAILURE"])
def test_given_ses_has_not_verified_the_mail_from_when_checked_then_not_verified(status: str) -> None:
    finding = only(check_mail_from(identity(status=status), observe(), view()), Code.MAIL_FROM_NOT_VERIFIED)
    assert status in finding.message
    assert "amazonses.com" in finding.message  # USE_DEFAULT_VALUE falls back to SES's own MAIL FROM


def test_given_reject_on_mx_failure_when_not_verified_then_the_message_says_mail_is_rejected() -> None:
    finding = only(
        check_mail_from(identity(status="PENDING", behavior="REJECT_MESSAGE"), observe(), view()),
        Code.MAIL_FROM_NOT_VERIFIED,
    )
    assert "rejects" in finding.message


def test_given_no_mx_when_checked_then_mx_missing_lists_the_record_and_is_fixable() -> None:
    findings = check_mail_from(identity(), observe(mx(status="NXDOMAIN")), view())
    missing = only(findings, Code.MAIL_FROM_MX_MISSING)
    assert codes(findings) == [Code.MAIL_FROM_MX_MISSING]
    assert missing.records == (Record(MAIL_FROM, "MX", (MX,)),)
    assert missing.fixable


def test_given_no_mx_and_a_foreign_mx_in_route53_when_checked_then_not_fixable() -> None:
    held = RecordSet(MAIL_FROM, "MX", 300, ("10 inbound-smtp.eu-west-1.amazonaws.com",))
    missing = only(check_mail_from(identity(), observe(mx()), view(held)), Code.MAIL_FROM_MX_MISSING)
    assert not missing.fixable
    assert "inbound-smtp" in missing.message


def test_given_route53_holds_the_mx_when_live_dns_lacks_it_then_not_propagated() -> None:
    held = RecordSet(MAIL_FROM, "MX", 1800, ("10 FEEDBACK-SMTP.eu-west-1.amazonses.com.",))
    findings = check_mail_from(identity(), observe(mx(status="NXDOMAIN")), view(held))
    assert codes(findings) == [Code.DNS_NOT_PROPAGATED]
    assert findings[0].records == (Record(MAIL_FROM, "MX", (MX,), "found"),)


def test_given_an_mx_with_upper_case_and_a_trailing_dot_when_checked_then_it_matches() -> None:
    assert check_mail_from(identity(), observe(mx("10 Feedback-SMTP.eu-west-1.AmazonSES.com.")), view()) == []


@pytest.mark.parametrize(
    "values",
    [
        ("10 feedback-smtp.us-east-1.amazonses.com",),  # another region
        ("20 feedback-smtp.eu-west-1.amazonses.com",),  # SES publishes preference 10
        (MX, "20 mx.example.net"),  # a second MX
        ("10 mail.example.com",),
    ],
)
def test_given_anything_but_exactly_the_ses_mx_when_checked_then_invalid_shows_what_is_there(
    values: tuple[str, ...],
) -> None:
    invalid = only(check_mail_from(identity(), observe(mx(*values)), view()), Code.MAIL_FROM_MX_INVALID)
    assert invalid.records == (Record(MAIL_FROM, "MX", values, "found"), Record(MAIL_FROM, "MX", (MX,), "required"))
    assert MX in invalid.message
    assert not invalid.fixable


def test_given_only_other_txt_records_when_checked_then_spf_missing_and_fixable_beside_them() -> None:
    held = RecordSet(MAIL_FROM, "TXT", 300, ('"google-site-verification=abc"',))
    findings = check_mail_from(identity(), observe(txt_answer=txt("google-site-verification=abc")), view(held))
    missing = only(findings, Code.MAIL_FROM_SPF_MISSING)
    assert missing.records == (Record(MAIL_FROM, "TXT", (SPF,)),)
    assert missing.fixable


def test_given_no_spf_live_and_another_spf_in_route53_when_checked_then_missing_but_not_fixable() -> None:
    held = RecordSet(MAIL_FROM, "TXT", 300, ('"v=spf1 include:_spf.google.com -all"',))
    missing = only(check_mail_from(identity(), observe(txt_answer=txt()), view(held)), Code.MAIL_FROM_SPF_MISSING)
    assert not missing.fixable
    assert "SPF record" in missing.message


def test_given_route53_holds_a_split_spf_record_when_live_dns_lacks_it_then_not_propagated() -> None:
    held = RecordSet(MAIL_FROM, "TXT", 300, ('"v=spf1 include:amazon" "ses.com ~all"',))
    findings = check_mail_from(identity(), observe(txt_answer=txt(status="NXDOMAIN")), view(held))
    assert codes(findings) == [Code.DNS_NOT_PROPAGATED]
    assert findings[0].records == (Record(MAIL_FROM, "TXT", (SPF,), "found"),)


def test_given_a_cname_at_the_mail_from_name_in_route53_when_records_are_missing_then_not_fixable() -> None:
    held = RecordSet(MAIL_FROM, "CNAME", 300, ("elsewhere.example.net",))
    findings = check_mail_from(identity(), observe(mx(), txt()), view(held))
    assert codes(findings) == sorted([Code.MAIL_FROM_MX_MISSING, Code.MAIL_FROM_SPF_MISSING])
    assert not any(f.fixable for f in findings)


def test_given_two_spf_records_when_checked_then_invalid_lists_both() -> None:
    values = (SPF, "v=spf1 include:_spf.google.com ~all")
    invalid = only(check_mail_from(identity(), observe(txt_answer=txt(*values)), view()), Code.MAIL_FROM_SPF_INVALID)
    assert (
        invalid.message == f"{MAIL_FROM} holds 2 SPF records; receivers treat that as a permanent error and SPF fails."
    )
    assert invalid.records == (Record(MAIL_FROM, "TXT", values, "found"),)
    assert invalid.subject == MAIL_FROM


GOOGLE = {"_spf.google.com": "v=spf1 include:_netblocks.google.com ~all", "_netblocks.google.com": "v=spf1 -all"}
TEN = {f"s{i}.example.net": "v=spf1 ip4:192.0.2.1 -all" for i in range(10)}


@pytest.mark.parametrize(
    ("record", "gathered", "fragment"),
    [
        ("v=spf1 include:_spf.google.com ~all", GOOGLE, "include:amazonses.com"),
        ("v=spf1 -all include:amazonses.com", {}, "include:amazonses.com"),
        ("v=spf1 " + " ".join(f"include:s{i}.example.net" for i in range(10)) + " include:amazonses.com ~all", TEN,
         "'include:amazonses.com' would be DNS lookup 11"),
        ("v=spf1 include:amazonses.com ip4:192.0.2.300 ~all", {}, "IPv4"),
    ],
)  # fmt: skip
def test_given_a_bad_or_insufficient_spf_record_when_checked_then_invalid_says_why(
    record: str, gathered: dict[str, str], fragment: str
) -> None:
    obs = observe(txt_answer=txt(record), spf_tree=tree(gathered))
    invalid = only(check_mail_from(identity(), obs, view()), Code.MAIL_FROM_SPF_INVALID)
    assert fragment in invalid.message
    assert invalid.records == (Record(MAIL_FROM, "TXT", (record,), "found"),)


def test_given_ses_authorised_one_include_down_when_checked_then_nothing_is_found() -> None:
    # The reported false alarm: receivers follow the include and find amazonses.com there.
    record = "v=spf1 include:_spf.example.com ~all"
    gathered = tree({"_spf.example.com": "v=spf1 include:amazonses.com ~all"})
    assert check_mail_from(identity(), observe(txt_answer=txt(record), spf_tree=gathered), view()) == []


def test_given_a_broken_include_deep_in_the_tree_when_checked_then_invalid_names_path_count_term_and_records() -> None:
    record = "v=spf1 include:amazonses.com include:_spf.example.com ~all"
    inner = "v=spf1 include:_spf.partner.example ~all"
    gathered = (*tree({"_spf.example.com": inner}), Answer("_spf.partner.example", "TXT", "NXDOMAIN"))
    obs = observe(txt_answer=txt(record), spf_tree=gathered)
    invalid = only(check_mail_from(identity(), obs, view()), Code.MAIL_FROM_SPF_INVALID)
    assert invalid.message == (
        f"The SPF record of {MAIL_FROM} fails as receivers evaluate it (3 DNS lookups counted): "
        f"{MAIL_FROM} → _spf.example.com: 'include:_spf.partner.example' points to _spf.partner.example, which has "
        "no SPF record (permerror)."
    )
    assert invalid.subject == MAIL_FROM
    assert invalid.records == (
        Record(MAIL_FROM, "TXT", (record,), "found"),
        Record("_spf.example.com", "TXT", (inner,), "found"),
    )


def test_given_an_include_that_could_not_be_read_when_checked_then_check_failed_on_that_name() -> None:
    record = "v=spf1 include:_spf.example.com ~all"
    gathered = (Answer("_spf.example.com", "TXT", "FAILED", error="timeout after 5s"),)
    findings = check_mail_from(identity(), observe(txt_answer=txt(record), spf_tree=gathered), view())
    failed = only(findings, Code.CHECK_FAILED)
    assert codes(findings) == [Code.CHECK_FAILED]
    assert failed.subject == "_spf.example.com"
    assert "timeout after 5s" in failed.message
    assert "'include:_spf.example.com'" in failed.message


def test_given_only_ip_ranges_covering_ses_when_checked_then_valid_with_a_low_warning() -> None:
    # Valid today; AWS documents only the include, and SES adds ranges.
    record = "v=spf1 ip4:54.240.0.0/18 -all"
    gathered = tree({"amazonses.com": "v=spf1 ip4:54.240.0.0/18 -all"})
    findings = check_mail_from(identity(), observe(txt_answer=txt(record), spf_tree=gathered), view())
    fragile = only(findings, Code.MAIL_FROM_SPF_FRAGILE)
    assert codes(findings) == [Code.MAIL_FROM_SPF_FRAGILE]
    assert fragile.severity.value == "LOW"
    assert fragile.subject == MAIL_FROM
    assert fragile.records == (Record(MAIL_FROM, "TXT", (record,), "found"),)


def test_given_the_plain_include_when_checked_then_nothing_is_reported() -> None:
    record = "v=spf1 include:amazonses.com ~all"
    gathered = tree({"amazonses.com": "v=spf1 ip4:54.240.0.0/18 -all"})
    assert check_mail_from(identity(), observe(txt_answer=txt(record), spf_tree=gathered), view()) == []


def test_given_both_queries_failed_when_checked_then_one_check_failed_lists_both() -> None:
    obs = observe(mx(status="FAILED", error="timeout after 5s"), txt(status="FAILED", error="REFUSED"))
    findings = check_mail_from(identity(), obs, view())
    failed = only(findings, Code.CHECK_FAILED)
    assert codes(findings) == [Code.CHECK_FAILED]
    assert failed.records == (Record(MAIL_FROM, "MX", (), "found"), Record(MAIL_FROM, "TXT", (), "found"))
    assert failed.subject == MAIL_FROM
    assert "timeout after 5s" in failed.message
    assert "REFUSED" in failed.message


def test_given_an_address_identity_when_checked_then_nothing_is_judged_here() -> None:
    address = Identity("ops@example.com", "eu-west-1", "EMAIL_ADDRESS", "SUCCESS")
    assert check_mail_from(address, DomainObservation(domain="example.com"), view()) == []


def test_given_a_delegated_mail_from_name_when_asked_to_create_then_refused() -> None:
    held = RecordSet(MAIL_FROM, "NS", 300, ("ns1.example.net.",))
    assert "delegated" in blocker(view(held), Record(MAIL_FROM, "MX", (MX,)))


def test_given_a_malformed_spf_in_route53_when_asked_to_create_another_then_refused() -> None:
    held = RecordSet(MAIL_FROM, "TXT", 300, ('"v=SPF1  include:amazonses.com"', '"other"'))
    assert "SPF" in blocker(view(held), Record(MAIL_FROM, "TXT", (SPF,)))


def test_given_the_same_mx_already_in_route53_when_asked_to_create_then_not_blocked() -> None:
    held = RecordSet(MAIL_FROM, "MX", 300, ("10 feedback-smtp.eu-west-1.amazonses.com.",))
    assert blocker(view(held), Record(MAIL_FROM, "MX", (MX,))) == ""


def test_given_route53_holds_nothing_at_the_name_when_asked_whether_it_can_create_then_yes() -> None:
    assert blocker(view(), Record(MAIL_FROM, "TXT", (SPF,))) == ""
    assert blocker(view(zone=None), Record(MAIL_FROM, "TXT", (SPF,))) != ""
