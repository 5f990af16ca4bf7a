"""SPF records (RFC 7208) as published in the wild: finding them, their syntax, lookup counts, SES authorisation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.rules.records import route53_txt
from core.rules.spf import is_spf_record, looks_like_spf, parse_spf, spf_records

SES = "v=spf1 include:amazonses.com ~all"


def test_given_the_record_ses_documents_when_parsed_then_valid_and_ses_authorised() -> None:
    result = parse_spf(SES)
    assert result.valid
    assert result.errors == ()
    assert result.lookup_terms == 1
    assert result.authorises_ses


def test_given_a_busy_real_world_record_when_parsed_then_every_term_is_understood() -> None:
    record = (
        "v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.7 ip6:2001:db8::/32 a mx:mail.example.com/24//64 "
        "include:_spf.google.com include:spf.protection.outlook.com include:amazonses.com "
        "exists:%{i}._spf.example.com exp=explain._spf.%{d} -all"
    )
    result = parse_spf(record)
    assert result.errors == ()
    assert result.lookup_terms == 6  # a, mx, 3 includes, exists
    assert result.authorises_ses


def test_given_upper_case_names_and_qualifiers_when_parsed_then_they_count_like_lower_case() -> None:
    result = parse_spf("V=SPF1 +INCLUDE:AmazonSES.com. MX ?A -ALL")
    assert result.valid
    assert result.lookup_terms == 3
    assert result.authorises_ses


def test_given_eleven_includes_when_parsed_then_invalid_for_too_many_lookups() -> None:
    includes = " ".join(f"include:_spf{i}.example.net" for i in range(10))
    result = parse_spf(f"v=spf1 {includes} include:amazonses.com ~all")
    assert result.lookup_terms == 11
    assert not result.valid
    assert any("11 DNS-querying terms" in error for error in result.errors)


def test_given_exactly_ten_lookup_terms_when_parsed_then_valid() -> None:
    includes = " ".join(f"include:_spf{i}.example.net" for i in range(9))
    assert parse_spf(f"v=spf1 {includes} include:amazonses.com ~all").valid


def test_given_redirect_to_amazonses_when_parsed_then_ses_is_authorised_through_it() -> None:
    result = parse_spf("v=spf1 ip4:192.0.2.1 redirect=amazonses.com")
    assert result.valid
    assert result.lookup_terms == 1
    assert result.authorises_ses


def test_given_redirect_beside_all_when_parsed_then_the_redirect_is_ignored_and_costs_nothing() -> None:
    result = parse_spf("v=spf1 -all redirect=amazonses.com")
    assert result.lookup_terms == 0
    assert not result.authorises_ses


def test_given_redirect_elsewhere_when_parsed_then_ses_is_not_known_to_be_authorised() -> None:
    result = parse_spf("v=spf1 redirect=_spf.example.com")
    assert result.valid
    assert not result.authorises_ses


@pytest.mark.parametrize(
    "record",
    [
        "v=spf1 -all include:amazonses.com",  # unreachable after all
        "v=spf1 ~include:amazonses.com -all",  # softfail for SES
        "v=spf1 -include:amazonses.com ~all",
        "v=spf1 include:amazonses.com.evil.example ~all",
        "v=spf1 include:_spf.google.com ~all",
    ],
)
def test_given_no_reachable_pass_for_amazonses_when_parsed_then_ses_is_not_authorised(record: str) -> None:
    assert not parse_spf(record).authorises_ses


def test_given_ptr_when_parsed_then_valid_with_a_warning_and_a_lookup() -> None:
    result = parse_spf("v=spf1 ptr include:amazonses.com ~all")
    assert result.valid
    assert result.lookup_terms == 2
    assert any("ptr" in warning for warning in result.warnings)


@pytest.mark.parametrize(
    ("record", "fragment"),
    [
        ("v=spf1 ip4:192.0.2.0/33 ~all", "prefix length"),
        ("v=spf1 ip4:192.0.2.256 ~all", "IPv4"),
        ("v=spf1 ip4:2001:db8::1 ~all", "IPv4"),
        ("v=spf1 ip6:2001:db8::/129 ~all", "prefix length"),
        ("v=spf1 ip6:192.0.2.1 ~all", "IPv6"),
        ("v=spf1 ip4:192.0.2.0/08 ~all", "prefix length"),
        ("v=spf1 a/33 ~all", "prefix length"),
        ("v=spf1 mx//129 ~all", "prefix length"),
        ("v=spf1 include ~all", "valid domain"),
        ("v=spf1 include:localhost ~all", "valid domain"),
        ("v=spf1 include:example..com ~all", "valid domain"),
        ("v=spf1 exists ~all", "valid domain"),
        ("v=spf1 all:example.com", "no argument"),
        ("v=spf1 spf2.0/pra ~all", "not an SPF mechanism"),
        ("v=spf1 +redirect=example.com", "qualifier on a modifier"),
        ("v=spf1 redirect=a.example redirect=b.example", "more than once"),
        ("v=spf1 ip4:192.0.2.1 ~all \u00e9", "outside ASCII"),
    ],
)
def test_given_a_syntax_error_when_parsed_then_invalid_with_a_reason(record: str, fragment: str) -> None:
    result = parse_spf(record)
    assert not result.valid
    assert any(fragment in error for error in result.errors), result.errors


def test_given_an_unknown_modifier_when_parsed_then_it_is_allowed() -> None:
    assert parse_spf("v=spf1 include:amazonses.com foo=bar.%{d} ~all").valid


def test_given_double_spaces_and_a_trailing_space_when_parsed_then_valid() -> None:
    assert parse_spf("v=spf1  include:amazonses.com   ~all ").valid


@pytest.mark.parametrize(
    ("txt", "expected"),
    [
        ("v=spf1", True),
        ("v=spf1 -all", True),
        ("V=SPF1 ~all", True),
        ("v=spf10 ~all", False),
        ("v=spf1-all", False),
        (" v=spf1 ~all", False),
        ("spf2.0/pra include:x.example", False),
        ("google-site-verification=abc", False),
    ],
)
def test_given_a_txt_value_when_classified_then_only_v_spf1_followed_by_space_or_end_is_spf(
    txt: str, expected: bool
) -> None:
    assert is_spf_record(txt) is expected


def test_given_a_name_with_spf_and_other_txt_when_filtered_then_only_the_spf_records_remain() -> None:
    values = ["google-site-verification=abc", SES, "v=spf1 ip4:192.0.2.1 -all", "MS=ms123"]
    assert spf_records(values) == [SES, "v=spf1 ip4:192.0.2.1 -all"]


def test_given_a_malformed_version_when_asked_whether_it_looks_like_spf_then_yes() -> None:
    # Remediation must never add a second SPF record beside even a broken one.
    assert looks_like_spf(" v = SPF1 include:amazonses.com")
    assert not is_spf_record(" v = SPF1 include:amazonses.com")


def test_given_a_route53_value_split_into_quoted_strings_when_read_then_the_strings_join_without_spaces() -> None:
    includes = " ".join(f"include:_spf{i}.example.net" for i in range(12))
    record = f"v=spf1 {includes} ~all"
    raw = " ".join(f'"{record[i : i + 255]}"' for i in range(0, len(record), 255))
    assert raw.count('" "') == 1
    assert route53_txt(raw) == record
    assert parse_spf(route53_txt(raw)).lookup_terms == 12


def test_given_route53_escapes_when_read_then_quotes_backslashes_and_octal_bytes_are_restored() -> None:
    assert route53_txt(r'"say \"hi\" \\ ok\072"') == 'say "hi" \\ ok:'


@given(st.text())
def test_given_any_text_when_parsed_then_it_never_raises(text: str) -> None:
    result = parse_spf(text)
    assert result.valid == (not result.errors)


@given(st.lists(st.sampled_from(["include:amazonses.com", "a", "mx", "-all", "ip4:192.0.2.1", "ptr", "?all"])))
def test_given_any_term_sequence_when_parsed_then_lookups_count_the_querying_terms(terms: list[str]) -> None:
    result = parse_spf(" ".join(["v=spf1", *terms]))
    assert result.lookup_terms == sum(t in ("include:amazonses.com", "a", "mx", "ptr") for t in terms)


@pytest.mark.parametrize(
    ("record", "fragment"),
    [
        ("v=spf1 9foo=bar ~all", "invalid modifier name"),
        ("v=spf1 a:example ~all", "valid domain"),
        ("v=spf1 ip4 ~all", "needs an address"),
        ("v=spf1 a:example.com/24/ ~all", "prefix length"),
    ],
)
def test_given_more_malformed_terms_when_parsed_then_each_is_reported(record: str, fragment: str) -> None:
    assert any(fragment in error for error in parse_spf(record).errors)


def test_given_plus_all_when_parsed_then_valid_syntax_with_a_warning_and_no_explicit_ses_authorisation() -> None:
    result = parse_spf("v=spf1 +all")
    assert result.valid
    assert not result.authorises_ses
    assert any("+all" in warning for warning in result.warnings)
