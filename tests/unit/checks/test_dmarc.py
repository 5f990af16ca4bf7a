"""DMARC (RFC 9989): record parsing, the DNS tree walk, policy discovery and every DMARC finding."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.checks.dmarc import (
    check_dmarc,
    discover,
    is_dmarc_record,
    is_external,
    parse_record,
    report_auth_name,
    report_destinations,
    walk_names,
)
from core.kernel.models import (
    Answer,
    Code,
    DomainObservation,
    Identity,
    MailFromState,
    Record,
    RecordSet,
)
from core.rules.dmarcrecord import looks_like_dmarc
from tests.unit.checks.helpers import codes, only, view


def identity(name: str = "example.com", mail_from: str = "") -> Identity:
    state = MailFromState(mail_from, "SUCCESS") if mail_from else None
    return Identity(name, "eu-west-1", "DOMAIN", "SUCCESS", mail_from=state)


def txt(name: str, *values: str) -> Answer:
    return Answer(name, "TXT", "OK", values) if values else Answer(name, "TXT", "NXDOMAIN")


def observe(*answers: Answer, report_auth: tuple[Answer, ...] = ()) -> DomainObservation:
    return DomainObservation(domain=answers[0].name.removeprefix("_dmarc."), dmarc=answers, report_auth=report_auth)


# --- the record -------------------------------------------------------------------------------------------------


def test_given_upper_case_tag_names_and_values_when_parsed_then_valid_and_the_policy_applies() -> None:
    # RFC 9989 §4.8: only the *value* of v= is case-sensitive (%s"DMARC1"); other literals are case-insensitive.
    record = parse_record("V=DMARC1; P=Reject; ADKIM=S; RUA=mailto:dmarc@example.com")
    assert record.valid
    assert record.policy == "reject"
    assert record.value("adkim") == "s"


@pytest.mark.parametrize(
    "txt_value",
    [
        "v=dmarc1; p=reject",
        "v=DMARc1; p=reject",
        "p=reject; v=DMARC1",
        "v=DMARC10",
        " v=DMARC1; p=reject",  # RFC 9989: no leading whitespace (a common copy-paste result)
        "\tv=DMARC1; p=none",
        "v=DMARC1 p=reject",  # the ";" after the version is missing
    ],
)
def test_given_a_wrong_version_when_classified_then_it_is_no_dmarc_record(txt_value: str) -> None:
    assert not is_dmarc_record(txt_value)


def test_given_legacy_pct_rf_ri_when_parsed_then_they_are_accepted() -> None:
    record = parse_record("v=DMARC1; p=quarantine; pct=50; rf=afrf; ri=86400; rua=mailto:d@example.com")
    assert record.valid
    assert record.policy == "quarantine"


@pytest.mark.parametrize(
    ("txt_value", "tag"),
    [
        ("v=DMARC1; p=reject; pct=150; rua=mailto:d@example.com", "pct"),
        ("v=DMARC1; p=reject; pct=fifty", "pct"),
        ("v=DMARC1; p=none; rf=iodef", "rf"),
        ("v=DMARC1; p=quarantine; ri=-1", "ri"),
    ],
)
def test_given_a_removed_tag_with_a_value_7489_forbade_when_parsed_then_valid_with_a_warning(
    txt_value: str, tag: str
) -> None:
    # RFC 9989 removed pct, rf and ri: receivers ignore them, so no value can make the record invalid.
    record = parse_record(txt_value)
    assert record.valid
    assert len(record.warnings) == 1
    assert record.warnings[0].startswith(f"{tag}=")


@pytest.mark.parametrize("txt_value", ["v = DMARC1; p = reject", "v =DMARC1;p=reject", "v=\tDMARC1 ;p=reject"])
def test_given_blanks_around_the_version_equals_when_parsed_then_a_valid_record(txt_value: str) -> None:
    # The ABNF allows *WSP around "=" and before ";": these records are applied, not discarded.
    assert is_dmarc_record(txt_value)
    assert parse_record(txt_value).policy == "reject"


@pytest.mark.parametrize(
    ("txt_value", "meant_as_dmarc"),
    [
        (" v=DMARC1; p=reject", True),
        ("p=reject; v=DMARC1", True),
        ("p=quarantine; rua=mailto:d@example.com", True),  # the version forgotten altogether
        ("v=DMARC1; p=none", True),
        ("google-site-verification=abc123", False),
        ("v=spf1 -all", False),
    ],
)
def test_given_txt_at_a_dmarc_name_when_classified_then_text_meant_as_dmarc_is_recognised(
    txt_value: str, meant_as_dmarc: bool
) -> None:
    # What looks like DMARC is reported when discarded and blocks creating a second record next to it.
    assert looks_like_dmarc(txt_value) is meant_as_dmarc


def test_given_rua_with_two_destinations_and_a_size_limit_when_parsed_then_both_domains_are_destinations() -> None:
    record = parse_record("v=DMARC1; p=none; rua=mailto:a@x.com,mailto:b@y.org!10m")
    assert record.valid
    assert record.rua == ("mailto:a@x.com", "mailto:b@y.org")
    assert report_destinations(record) == ["x.com", "y.org"]


def test_given_rua_with_spaces_upper_case_and_a_trailing_dot_when_read_then_domains_are_normalised() -> None:
    record = parse_record("v=DMARC1; p=none; rua = mailto:A@Reports.Example.NET. , MAILTO:b@reports.example.net")
    assert report_destinations(record) == ["reports.example.net"]


def test_given_an_unknown_tag_when_parsed_then_it_is_ignored() -> None:
    assert parse_record("v=DMARC1; p=reject; foo=bar; bimi=x").valid


@pytest.mark.parametrize(
    ("txt_value", "fragment"),
    [
        ("v=DMARC1; p=foo; rua=mailto:d@example.com", "p=foo"),
        ("v=DMARC1; p=reject; adkim=x", "adkim=x"),
        ("v=DMARC1; p=reject; aspf=relaxed", "aspf=relaxed"),
        ("v=DMARC1; p=reject; sp=block", "sp=block"),
        ("v=DMARC1; p=reject; rua=dmarc@example.com", "is not a URI"),
        ("v=DMARC1; p=reject; rua=mailto:", "is not a URI"),
        ("v=DMARC1; p=reject; fo=2", "fo=2"),
        ("v=DMARC1; p=reject; p=none", "more than once"),
        ("v=DMARC1; p=reject; garbage", "not a tag=value pair"),
        ("v=DMARC1; rua=", "not a tag=value pair"),
    ],
)
def test_given_a_bad_tag_value_when_parsed_then_invalid_with_the_reason(txt_value: str, fragment: str) -> None:
    record = parse_record(txt_value)
    assert not record.valid
    assert any(fragment in error for error in record.errors), record.errors


def test_given_no_p_but_a_valid_rua_when_parsed_then_receivers_act_as_if_p_none() -> None:
    # RFC 9989, "DMARC Policy Discovery": no valid p but a syntactically valid rua -> act as if p=none.
    record = parse_record("v=DMARC1; rua=mailto:dmarc@example.com")
    assert record.valid
    assert record.policy == "none"


def test_given_neither_p_nor_rua_when_parsed_then_invalid_because_nothing_applies() -> None:
    record = parse_record("v=DMARC1; adkim=r")
    assert not record.valid
    assert not record.usable


@given(st.text())
def test_given_any_text_when_parsed_then_it_never_raises(text: str) -> None:
    record = parse_record(text)
    assert record.valid == (not record.errors)
    assert isinstance(report_destinations(record), list)


# --- the tree walk ----------------------------------------------------------------------------------------------


def test_given_the_rfc_example_of_thirteen_labels_when_walked_then_eight_queries_from_the_seven_label_suffix() -> None:
    assert walk_names("a.b.c.d.e.f.g.h.i.j.mail.example.com") == [
        "_dmarc.a.b.c.d.e.f.g.h.i.j.mail.example.com",
        "_dmarc.g.h.i.j.mail.example.com",
        "_dmarc.h.i.j.mail.example.com",
        "_dmarc.i.j.mail.example.com",
        "_dmarc.j.mail.example.com",
        "_dmarc.mail.example.com",
        "_dmarc.example.com",
        "_dmarc.com",
    ]


def test_given_eight_labels_when_walked_then_every_parent_is_queried() -> None:
    names = walk_names("a.b.c.d.e.f.example.com")
    assert len(names) == 8
    assert names[1] == "_dmarc.b.c.d.e.f.example.com"


def test_given_a_mixed_case_name_with_a_trailing_dot_when_walked_then_names_are_normalised() -> None:
    assert walk_names("Mail.Example.COM.") == ["_dmarc.mail.example.com", "_dmarc.example.com", "_dmarc.com"]


def test_given_an_idn_domain_when_walked_then_a_labels_are_queried() -> None:
    assert walk_names("bücher.example") == ["_dmarc.xn--bcher-kva.example", "_dmarc.example"]


@given(st.lists(st.from_regex(r"[a-z0-9]{1,10}", fullmatch=True), min_size=1, max_size=40))
def test_given_any_name_when_walked_then_at_most_eight_queries_ending_at_the_tld(labels: list[str]) -> None:
    names = walk_names(".".join(labels))
    assert 1 <= len(names) <= 8
    assert names[0] == "_dmarc." + ".".join(labels)
    assert names[-1] == "_dmarc." + labels[-1]


def test_given_a_policy_domain_and_destination_when_named_then_the_rfc_9990_authorisation_name() -> None:
    assert report_auth_name("Example.com.", "Reports.Vendor.NET") == "example.com._report._dmarc.reports.vendor.net"


@pytest.mark.parametrize(
    ("policy_domain", "destination", "external"),
    [
        ("example.com", "example.com", False),
        ("mail.example.com", "reports.example.com", False),
        ("example.co.uk", "dmarc.example.co.uk", False),
        ("example.co.uk", "other.co.uk", True),
        ("example.com", "rua.vendor.net", True),
        ("xn--bcher-kva.example", "bücher.example", False),
    ],
)
def test_given_two_domains_when_compared_then_external_means_another_organisational_domain(
    policy_domain: str, destination: str, external: bool
) -> None:
    assert is_external(policy_domain, destination) is external


# --- discovery --------------------------------------------------------------------------------------------------


def test_given_an_own_record_when_discovered_then_it_applies_with_p() -> None:
    walk = discover([txt("_dmarc.example.com", "v=DMARC1; p=reject; sp=none")])
    assert walk.policy_domain == "example.com"
    assert not walk.inherited
    assert walk.applied_policy() == "reject"


def test_given_an_org_record_with_sp_when_a_subdomain_discovers_then_sp_applies() -> None:
    walk = discover([txt("_dmarc.mail.example.com"), txt("_dmarc.example.com", "v=DMARC1; p=none; sp=reject")])
    assert walk.inherited
    assert walk.policy_domain == "example.com"
    assert walk.applied_policy() == "reject"


def test_given_a_full_walk_with_two_ancestor_records_when_discovered_then_the_shortest_is_the_org_domain() -> None:
    walk = discover(
        [
            txt("_dmarc.a.mail.example.com"),
            txt("_dmarc.mail.example.com", "v=DMARC1; p=none"),
            txt("_dmarc.example.com", "v=DMARC1; p=reject"),
            txt("_dmarc.com"),
        ]
    )
    assert walk.policy_domain == "example.com"


def test_given_psd_n_below_the_apex_when_discovered_then_that_record_is_the_org_domain() -> None:
    walk = discover(
        [
            txt("_dmarc.a.mail.example.com"),
            txt("_dmarc.mail.example.com", "v=DMARC1; p=quarantine; psd=n"),
            txt("_dmarc.example.com", "v=DMARC1; p=none"),
        ]
    )
    assert walk.policy_domain == "mail.example.com"
    assert walk.applied_policy() == "quarantine"


def test_given_only_a_psd_record_when_discovered_then_the_psd_policy_applies() -> None:
    walk = discover(
        [txt("_dmarc.mail.example.test"), txt("_dmarc.example.test"), txt("_dmarc.test", "v=DMARC1; p=reject; psd=y")]
    )
    assert walk.policy_domain == "test"
    assert walk.applied_policy() == "reject"


def test_given_a_failure_before_any_record_when_discovered_then_the_failure_is_reported() -> None:
    failed = Answer("_dmarc.example.com", "TXT", "FAILED", error="timeout after 5s")
    walk = discover([txt("_dmarc.mail.example.com"), failed])
    assert walk.failed == failed
    assert walk.record is None


# --- findings ---------------------------------------------------------------------------------------------------


def test_given_no_record_anywhere_when_checked_then_missing_lists_the_record_to_create_and_is_fixable() -> None:
    findings = check_dmarc(identity(), observe(txt("_dmarc.example.com"), txt("_dmarc.com")), view())
    missing = only(findings, Code.DMARC_MISSING)
    assert codes(findings) == [Code.DMARC_MISSING]
    assert missing.records == (Record("_dmarc.example.com", "TXT", ("v=DMARC1; p=none",)),)
    assert missing.fixable
    assert "_dmarc.com" in missing.message


def test_given_settings_for_the_new_record_when_missing_then_the_record_carries_them() -> None:
    findings = check_dmarc(
        identity(), observe(txt("_dmarc.example.com")), view(), policy="quarantine", rua="dmarc@example.com"
    )
    assert only(findings, Code.DMARC_MISSING).records[0].values == (
        "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com",
    )


def test_given_no_zone_when_missing_then_not_fixable_and_the_message_says_why() -> None:
    findings = check_dmarc(identity(), observe(txt("_dmarc.example.com")), view(zone=None))
    missing = only(findings, Code.DMARC_MISSING)
    assert not missing.fixable
    assert "no public Route 53 hosted zone" in missing.message


def test_given_route53_already_holds_the_record_when_live_dns_lacks_it_then_not_propagated_instead_of_missing() -> None:
    held = RecordSet("_dmarc.example.com", "TXT", 300, ('"v=DMARC1; p=none"',))
    findings = check_dmarc(identity(), observe(txt("_dmarc.example.com"), txt("_dmarc.com")), view(held))
    assert codes(findings) == [Code.DNS_NOT_PROPAGATED]
    assert only(findings, Code.DNS_NOT_PROPAGATED).records == (
        Record("_dmarc.example.com", "TXT", ("v=DMARC1; p=none",), "found"),
    )


def test_given_two_dmarc_records_at_the_name_when_checked_then_invalid_not_missing() -> None:
    answer = txt("_dmarc.example.com", "v=DMARC1; p=reject", "v=DMARC1; p=none", "unrelated")
    findings = check_dmarc(identity(), observe(answer), view())
    invalid = only(findings, Code.DMARC_INVALID)
    assert codes(findings) == [Code.DMARC_INVALID]
    # Nothing above example.com holds a record either, so the message says nothing applies.
    assert invalid.message == (
        "_dmarc.example.com holds 2 DMARC records; receivers ignore both, so no DMARC policy applies to example.com."
    )
    assert invalid.records == (
        Record("_dmarc.example.com", "TXT", ("v=DMARC1; p=reject", "v=DMARC1; p=none"), "found"),
    )
    assert invalid.subject == "_dmarc.example.com"


def test_given_a_lower_case_version_when_checked_then_invalid_because_receivers_ignore_it() -> None:
    findings = check_dmarc(
        identity(), observe(txt("_dmarc.example.com", "v=dmarc1; p=reject"), txt("_dmarc.com")), view()
    )
    assert codes(findings) == [Code.DMARC_INVALID]
    assert "case-sensitive" in only(findings, Code.DMARC_INVALID).message


def test_given_a_bad_policy_value_when_checked_then_invalid_names_the_record_and_the_value() -> None:
    record = "v=DMARC1; p=foo; rua=mailto:dmarc@example.com"
    findings = check_dmarc(identity(), observe(txt("_dmarc.example.com", record)), view())
    invalid = only(findings, Code.DMARC_INVALID)
    assert "_dmarc.example.com" in invalid.message
    assert "p=foo" in invalid.message
    assert invalid.records == (Record("_dmarc.example.com", "TXT", (record,), "found"),)
    assert Code.DMARC_POLICY_NONE in codes(findings)  # the rua makes receivers apply p=none


def test_given_p_none_without_rua_when_checked_then_policy_none_and_no_reporting() -> None:
    findings = check_dmarc(identity(), observe(txt("_dmarc.example.com", "v=DMARC1; p=none")), view())
    assert codes(findings) == sorted([Code.DMARC_POLICY_NONE, Code.DMARC_NO_REPORTING])
    assert not any(f.fixable for f in findings)


def test_given_an_enforcing_policy_with_internal_rua_when_checked_then_nothing_is_found() -> None:
    record = "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"
    assert check_dmarc(identity(), observe(txt("_dmarc.example.com", record)), view()) == []


def test_given_test_mode_with_quarantine_when_checked_then_policy_none() -> None:
    record = "v=DMARC1; p=quarantine; t=y; rua=mailto:dmarc@example.com"
    findings = check_dmarc(identity(), observe(txt("_dmarc.example.com", record)), view())
    assert "t=y" in only(findings, Code.DMARC_POLICY_NONE).message


def test_given_an_inherited_sp_reject_when_a_subdomain_is_checked_then_no_policy_finding() -> None:
    obs = observe(
        txt("_dmarc.mail.example.com"),
        txt("_dmarc.example.com", "v=DMARC1; p=none; sp=reject; rua=mailto:d@example.com"),
    )
    assert check_dmarc(identity("mail.example.com"), obs, view()) == []


def test_given_an_inherited_sp_none_when_a_subdomain_is_checked_then_policy_none_is_about_the_parent_record() -> None:
    obs = observe(
        txt("_dmarc.mail.example.com"),
        txt("_dmarc.example.com", "v=DMARC1; p=reject; sp=none; rua=mailto:d@example.com"),
    )
    finding = only(check_dmarc(identity("mail.example.com"), obs, view()), Code.DMARC_POLICY_NONE)
    assert finding.subject == "_dmarc.example.com"
    assert finding.identities == (identity("mail.example.com").key,)
    assert "applies sp=none to the subdomains below it" in finding.message


def test_given_a_failed_query_in_the_walk_when_checked_then_check_failed_and_not_missing() -> None:
    failed = Answer("_dmarc.example.com", "TXT", "FAILED", error="SERVFAIL from 192.0.2.53:53")
    findings = check_dmarc(identity("mail.example.com"), observe(txt("_dmarc.mail.example.com"), failed), view())
    assert codes(findings) == [Code.CHECK_FAILED]
    assert "_dmarc.example.com" in findings[0].message
    assert "SERVFAIL" in findings[0].message


def test_given_an_external_rua_without_authorisation_when_checked_then_the_record_to_publish_is_listed() -> None:
    record = "v=DMARC1; p=reject; rua=mailto:a@example.com,mailto:b@rua.vendor.net"
    auth = txt("example.com._report._dmarc.rua.vendor.net")
    findings = check_dmarc(identity(), observe(txt("_dmarc.example.com", record), report_auth=(auth,)), view())
    missing = only(findings, Code.DMARC_REPORT_AUTH_MISSING)
    assert missing.records == (Record("example.com._report._dmarc.rua.vendor.net", "TXT", ("v=DMARC1",)),)
    assert not missing.fixable


def test_given_an_external_rua_that_is_authorised_when_checked_then_nothing_is_found() -> None:
    record = "v=DMARC1; p=reject; rua=mailto:b@rua.vendor.net"
    auth = txt("example.com._report._dmarc.rua.vendor.net", "v=DMARC1")
    assert check_dmarc(identity(), observe(txt("_dmarc.example.com", record), report_auth=(auth,)), view()) == []


def test_given_an_inherited_policy_with_external_rua_when_checked_then_the_policy_domain_names_the_record() -> None:
    obs = observe(
        txt("_dmarc.mail.example.com"),
        txt("_dmarc.example.com", "v=DMARC1; p=reject; rua=mailto:b@rua.vendor.net"),
        report_auth=(txt("example.com._report._dmarc.rua.vendor.net", "some-other=value"),),
    )
    missing = only(check_dmarc(identity("mail.example.com"), obs, view()), Code.DMARC_REPORT_AUTH_MISSING)
    assert missing.records[0].name == "example.com._report._dmarc.rua.vendor.net"


def test_given_the_authorisation_query_failed_when_checked_then_check_failed() -> None:
    record = "v=DMARC1; p=reject; rua=mailto:b@rua.vendor.net"
    auth = Answer("example.com._report._dmarc.rua.vendor.net", "TXT", "FAILED", error="timeout after 5s")
    findings = check_dmarc(identity(), observe(txt("_dmarc.example.com", record), report_auth=(auth,)), view())
    assert codes(findings) == [Code.CHECK_FAILED]


def test_given_strict_spf_alignment_and_a_mail_from_subdomain_when_checked_then_strict_alignment_finding() -> None:
    record = "v=DMARC1; p=reject; aspf=s; rua=mailto:dmarc@example.com"
    obs = observe(txt("_dmarc.example.com", record))
    finding = only(check_dmarc(identity(mail_from="bounce.example.com"), obs, view()), Code.DMARC_STRICT_SPF_ALIGNMENT)
    assert finding.subject == "_dmarc.example.com"
    assert "aspf=s" in finding.message
    assert check_dmarc(identity(), obs, view()) == []  # without MAIL FROM there is nothing to misalign


def test_given_an_address_identity_when_checked_then_no_dmarc_findings_of_its_own() -> None:
    address = Identity("ops@example.com", "eu-west-1", "EMAIL_ADDRESS", "SUCCESS")
    assert check_dmarc(address, observe(txt("_dmarc.example.com")), view()) == []


def test_given_a_record_without_p_or_rua_when_checked_then_only_invalid_because_nothing_applies() -> None:
    findings = check_dmarc(identity(), observe(txt("_dmarc.example.com", "v=DMARC1; adkim=r")), view())
    assert codes(findings) == [Code.DMARC_INVALID]
    assert "no valid p=" in findings[0].message


def test_given_an_inherited_record_with_an_invalid_sp_when_checked_then_invalid_and_treated_as_none() -> None:
    obs = observe(
        txt("_dmarc.mail.example.com"),
        txt("_dmarc.example.com", "v=DMARC1; p=reject; sp=block; rua=mailto:d@example.com"),
    )
    findings = check_dmarc(identity("mail.example.com"), obs, view())
    assert codes(findings) == sorted([Code.DMARC_INVALID, Code.DMARC_POLICY_NONE])
    assert "invalid sp= or np=" in only(findings, Code.DMARC_POLICY_NONE).message


def test_given_an_own_record_with_an_invalid_np_when_parsed_then_the_whole_record_reads_as_p_none() -> None:
    # RFC 9989: an sp or np that is not valid has the same effect as an invalid p.
    assert parse_record("v=DMARC1; p=reject; np=maybe; rua=mailto:d@example.com").policy == "none"
    assert parse_record("v=DMARC1; p=reject; np=maybe").policy == ""


@pytest.mark.parametrize(
    "parent", [("v=DMARC1; p=reject", "v=DMARC1; p=none"), ("v=dmarc1; p=reject",)], ids=["duplicates", "mistyped"]
)
def test_given_a_broken_record_only_at_the_parent_when_checked_then_the_child_still_needs_a_policy(parent) -> None:
    child = Identity("shop.example.com", "eu-west-1", "DOMAIN", "SUCCESS")
    obs = DomainObservation(
        domain="shop.example.com",
        dmarc=(
            Answer("_dmarc.shop.example.com", "TXT", "NXDOMAIN"),
            Answer("_dmarc.example.com", "TXT", "OK", parent),
            Answer("_dmarc.com", "TXT", "NXDOMAIN"),
        ),
    )

    findings = check_dmarc(child, obs, view())

    assert codes(findings) == [Code.DMARC_INVALID, Code.DMARC_MISSING]
    assert only(findings, Code.DMARC_MISSING).fixable


# --- discarded records (RFC 9989: discarded, and the walk goes on) ----------------------------------------------


def test_given_two_records_at_the_own_name_and_a_parent_policy_when_checked_then_invalid_names_the_inherited_one() -> (
    None
):
    # Given shop.example.com holds two records (a typical leftover of a migration) and example.com rejects
    obs = observe(
        txt("_dmarc.shop.example.com", "v=DMARC1; p=none; rua=mailto:d@example.com", "v=DMARC1; p=quarantine"),
        txt("_dmarc.example.com", "v=DMARC1; p=reject; rua=mailto:d@example.com"),
        txt("_dmarc.com"),
    )

    # When checked
    findings = check_dmarc(identity("shop.example.com"), obs, view())

    # Then the broken name is invalid, the parent's policy is evaluated (it enforces), and nothing is missing
    assert codes(findings) == [Code.DMARC_INVALID]
    invalid = only(findings, Code.DMARC_INVALID)
    assert invalid.subject == "_dmarc.shop.example.com"
    assert invalid.message == (
        "_dmarc.shop.example.com holds 2 DMARC records; receivers ignore both, so for shop.example.com the policy "
        "that applies is the one at _dmarc.example.com: p=reject."
    )


@pytest.mark.parametrize(
    ("own", "reason"),
    [
        (" v=DMARC1; p=reject; rua=mailto:d@example.com", "not with whitespace"),
        ("p=reject; v=DMARC1; rua=mailto:d@example.com", "must start with v=DMARC1"),
        ("V=dmarc1; p=reject", "case-sensitive"),
    ],
)
def test_given_a_discarded_own_record_when_checked_then_invalid_and_the_inherited_sp_is_evaluated(
    own: str, reason: str
) -> None:
    # Given the own record is discarded and example.com publishes sp=none for its subdomains
    obs = observe(
        txt("_dmarc.shop.example.com", own),
        txt("_dmarc.example.com", "v=DMARC1; p=reject; sp=none; rua=mailto:d@example.com"),
        txt("_dmarc.com"),
    )

    # When checked
    findings = check_dmarc(identity("shop.example.com"), obs, view())

    # Then the discarded record is invalid, saying why, and the sp=none that receivers apply instead is reported
    assert codes(findings) == sorted([Code.DMARC_INVALID, Code.DMARC_POLICY_NONE])
    invalid = only(findings, Code.DMARC_INVALID)
    assert reason in invalid.message
    assert invalid.message.endswith("the policy that applies is the one at _dmarc.example.com: sp=none.")
    assert only(findings, Code.DMARC_POLICY_NONE).subject == "_dmarc.example.com"


def test_given_a_leading_blank_record_and_no_parent_policy_when_checked_then_invalid_says_none_applies() -> None:
    # Given the only record anywhere starts with a blank
    obs = observe(txt("_dmarc.example.com", " v=DMARC1; p=reject"), txt("_dmarc.com"))

    # When checked
    findings = check_dmarc(identity(), obs, view())

    # Then one DMARC_INVALID: fixing the record is the remedy, so no DMARC_MISSING asks for a second one
    assert codes(findings) == [Code.DMARC_INVALID]
    assert findings[0].message.endswith("so no DMARC policy applies to example.com.")


def test_given_duplicates_then_a_failed_parent_query_when_checked_then_the_applicable_policy_is_unknown() -> None:
    obs = observe(
        txt("_dmarc.shop.example.com", "v=DMARC1; p=reject", "v=DMARC1; p=reject"),
        Answer("_dmarc.example.com", "TXT", "FAILED", error="timeout after 5s"),
    )

    findings = check_dmarc(identity("shop.example.com"), obs, view())

    # The walk could not finish: claiming "no policy applies" would be wrong, so the message says it is unknown.
    assert codes(findings) == sorted([Code.CHECK_FAILED, Code.DMARC_INVALID])
    assert "is unknown until _dmarc.example.com can be read" in only(findings, Code.DMARC_INVALID).message


def test_given_an_unrelated_txt_at_the_dmarc_name_when_checked_then_it_is_not_reported() -> None:
    # Verification tokens do end up at _dmarc names; receivers skip them silently and so does the check.
    obs = observe(txt("_dmarc.example.com", "google-site-verification=abc123"), txt("_dmarc.com"))
    assert codes(check_dmarc(identity(), obs, view())) == [Code.DMARC_MISSING]


def test_given_pct_out_of_range_with_an_enforcing_policy_when_checked_then_nothing_is_found() -> None:
    # pct=150 was an error under RFC 7489; RFC 9989 receivers ignore pct, so the record enforces as written.
    record = "v=DMARC1; p=reject; pct=150; rua=mailto:dmarc@example.com"
    assert check_dmarc(identity(), observe(txt("_dmarc.example.com", record)), view()) == []


def test_given_p_none_with_pct_when_checked_then_the_policy_finding_warns_that_pct_is_ignored() -> None:
    record = "v=DMARC1; p=none; pct=0; ri=3600"
    findings = check_dmarc(identity(), observe(txt("_dmarc.example.com", record)), view())
    assert codes(findings) == sorted([Code.DMARC_POLICY_NONE, Code.DMARC_NO_REPORTING])
    for finding in findings:
        assert "pct=0 is ignored: RFC 9989 removed the pct tag" in finding.message
        assert "ri=3600 is ignored" in finding.message
