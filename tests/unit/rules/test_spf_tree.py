"""SPF evaluated as receivers evaluate it: include/redirect trees, the 10-lookup and void limits, loops, macros, and
how SES is authorised. DNS is a dict of published records, shaped like real providers' trees."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from core.kernel.models import Answer
from core.rules.spftree import SpfEvaluation, evaluate_spf, replay

MAIL_FROM = "bounce.example.com"
# amazonses.com's record as published in 2025 (abridged to three ranges).
SES_TXT = "v=spf1 ip4:199.255.192.0/22 ip4:54.240.0.0/18 ip6:2a01:111:f400::/48 -all"
GOOGLE = {
    "_spf.google.com": "v=spf1 include:_netblocks.google.com include:_netblocks2.google.com "
    "include:_netblocks3.google.com ~all",
    "_netblocks.google.com": "v=spf1 ip4:35.190.247.0/24 ip4:64.233.160.0/19 ~all",
    "_netblocks2.google.com": "v=spf1 ip6:2001:4860:4000::/36 ~all",
    "_netblocks3.google.com": "v=spf1 ip4:35.191.0.0/16 ~all",
}
MICROSOFT = {
    "spf.protection.outlook.com": "v=spf1 include:spfa.protection.outlook.com -all",
    "spfa.protection.outlook.com": "v=spf1 ip4:40.92.0.0/15 ip4:52.100.0.0/15 ip6:2a01:111:f400::/48 -all",
}

Zone = Mapping[tuple[str, str], tuple[str, ...] | str]


def dns(zone: Zone) -> dict[tuple[str, str], Answer]:
    """Answers for the given (name, type) -> values; a value "NXDOMAIN"/"NODATA"/"FAILED" is that outcome."""
    answers = {}
    for (name, rdtype), values in zone.items():
        if isinstance(values, str):
            answers[(name, rdtype)] = Answer(name, rdtype, values, error="timeout after 5s")  # type: ignore[arg-type]
        else:
            answers[(name, rdtype)] = Answer(name, rdtype, "OK", values)
    return answers


def txt(records: Mapping[str, str]) -> dict[tuple[str, str], tuple[str, ...] | str]:
    return {(name, "TXT"): (value,) for name, value in records.items()}


def evaluate(record: str, zone: Zone, *, ses: bool = True) -> tuple[SpfEvaluation, list[tuple[str, str]]]:
    """Evaluate `record` at MAIL_FROM over `zone` (plus amazonses.com's record); also the queries it made, in order."""
    published = dict(zone)
    if ses:
        published[("amazonses.com", "TXT")] = (SES_TXT,)
    answers = dns(published)
    asked: list[tuple[str, str]] = []

    def lookup(name: str, rdtype: str) -> Answer:
        asked.append((name, rdtype))
        return answers.get((name, rdtype), Answer(name, rdtype, "NXDOMAIN"))

    return evaluate_spf(MAIL_FROM, record, lookup), asked


def test_given_spf_under_an_include_that_includes_amazonses_when_evaluated_then_ses_is_authorised() -> None:
    # The reported false alarm: SES is authorised one level down, which receivers follow.
    zone = txt({"_spf.example.com": "v=spf1 include:amazonses.com include:_spf.google.com ~all", **GOOGLE})
    result, _ = evaluate("v=spf1 include:_spf.example.com ~all", zone)
    assert result.errors == ()
    assert result.authorises_ses
    assert not result.ses_by_ip_ranges
    assert result.lookups == 6  # _spf.example.com, amazonses.com, _spf.google.com and its three netblocks


def test_given_the_record_ses_documents_when_evaluated_then_only_amazonses_is_queried() -> None:
    result, asked = evaluate("v=spf1 include:amazonses.com ~all", {})
    assert result.authorises_ses
    assert result.lookups == 1
    assert asked == [("amazonses.com", "TXT")]


def test_given_an_include_after_all_when_evaluated_then_it_is_never_reached() -> None:
    zone = txt({"_spf.example.com": "v=spf1 -all include:amazonses.com"})
    result, asked = evaluate("v=spf1 include:_spf.example.com ~all", zone)
    assert not result.authorises_ses
    assert ("amazonses.com", "TXT") not in asked


def test_given_amazonses_under_a_softfail_include_when_evaluated_then_ses_only_softfails() -> None:
    # ~include: turns the inner pass into softfail: SES mail would not pass SPF.
    zone = txt({"_spf.example.com": "v=spf1 include:amazonses.com -all"})
    result, _ = evaluate("v=spf1 ~include:_spf.example.com -all", zone)
    assert not result.authorises_ses


def test_given_a_redirect_to_a_record_including_amazonses_when_evaluated_then_ses_is_authorised() -> None:
    zone = txt({"_spf.example.com": "v=spf1 include:amazonses.com -all"})
    result, _ = evaluate("v=spf1 redirect=_spf.example.com", zone)
    assert result.errors == ()
    assert result.authorises_ses
    assert result.lookups == 2


def test_given_google_and_microsoft_nested_includes_beyond_ten_lookups_when_evaluated_then_permerror_names_path() -> (
    None
):
    # 1 + 4 (Google) + 2 (Microsoft) + 3 here = 10; the include under _spf2 is the 11th lookup.
    zone = txt(
        {
            "_spf.example.com": "v=spf1 include:_spf.google.com include:spf.protection.outlook.com "
            "include:_spf2.example.com ~all",
            "_spf2.example.com": "v=spf1 a:mail.example.com include:_spf3.example.com ~all",
            "_spf3.example.com": "v=spf1 ip4:192.0.2.0/24 ~all",
            **GOOGLE,
            **MICROSOFT,
        }
    )
    zone[("mail.example.com", "A")] = ("192.0.2.10",)
    result, asked = evaluate("v=spf1 include:amazonses.com include:_spf.example.com ~all", zone)
    [error] = result.errors
    assert error.path == (MAIL_FROM, "_spf.example.com", "_spf2.example.com")
    assert error.term == "include:_spf3.example.com"
    assert "would be DNS lookup 11" in error.message
    assert result.lookups == 10
    assert ("_spf3.example.com", "TXT") not in asked  # receivers stop there, so does the walk
    assert error.describe().startswith("bounce.example.com → _spf.example.com → _spf2.example.com: ")


def test_given_exactly_ten_lookups_over_the_tree_when_evaluated_then_valid() -> None:
    zone = txt({f"s{i}.example.net": "v=spf1 ip4:192.0.2.1 ~all" for i in range(9)})
    record = "v=spf1 " + " ".join(f"include:s{i}.example.net" for i in range(9)) + " include:amazonses.com ~all"
    result, _ = evaluate(record, zone)
    assert result.errors == ()
    assert result.lookups == 10


def test_given_an_include_loop_when_evaluated_then_permerror_names_the_loop() -> None:
    zone = txt(
        {
            "_spf.example.com": "v=spf1 include:_spf2.example.com ~all",
            "_spf2.example.com": "v=spf1 include:_SPF.example.com. ~all",
        }
    )
    result, _ = evaluate("v=spf1 include:amazonses.com include:_spf.example.com ~all", zone)
    [error] = result.errors
    assert error.path == (MAIL_FROM, "_spf.example.com", "_spf2.example.com")
    assert error.term == "include:_SPF.example.com."
    assert "loops back to _spf.example.com" in error.message


def test_given_three_void_lookups_when_evaluated_then_the_third_is_a_permerror() -> None:
    zone: dict[tuple[str, str], tuple[str, ...] | str] = {("gone2.example.com", "A"): ()}
    record = "v=spf1 include:amazonses.com a:gone1.example.com a:gone2.example.com mx:gone3.example.com ~all"
    result, _ = evaluate(record, zone)
    [error] = result.errors
    assert error.term == "mx:gone3.example.com"
    assert "void lookup 3 (MX gone3.example.com: NXDOMAIN)" in error.message
    assert result.void_lookups == 3


def test_given_two_void_lookups_when_evaluated_then_still_valid() -> None:
    result, _ = evaluate("v=spf1 a:gone1.example.com exists:gone2.example.com include:amazonses.com ~all", {})
    assert result.errors == ()
    assert result.void_lookups == 2


@pytest.mark.parametrize(
    ("published", "fragment"),
    [
        ({}, "points to _spf.partner.example, which has no SPF record"),
        ({("_spf.partner.example", "TXT"): ("google-site-verification=abc",)}, "which has no SPF record"),
        (
            {("_spf.partner.example", "TXT"): ("v=spf1 ip4:192.0.2.1 ~all", "v=spf1 ip4:192.0.2.2 ~all")},
            "which holds 2 SPF records",
        ),
    ],
)
def test_given_an_include_target_without_exactly_one_spf_record_when_evaluated_then_permerror(
    published: Zone, fragment: str
) -> None:
    result, _ = evaluate("v=spf1 include:amazonses.com include:_spf.partner.example ~all", published)
    [error] = result.errors
    assert error.term == "include:_spf.partner.example"
    assert fragment in error.message
    assert "permerror" in error.message


def test_given_mx_with_eleven_names_when_evaluated_then_permerror() -> None:
    names = tuple(f"10 mx{i}.example.com" for i in range(11))
    result, _ = evaluate("v=spf1 include:amazonses.com mx ~all", {(MAIL_FROM, "MX"): names})
    [error] = result.errors
    assert error.term == "mx"
    assert "finds 11 MX names at bounce.example.com" in error.message


def test_given_a_macro_needing_the_message_when_evaluated_then_lookup_counted_not_followed_and_warned() -> None:
    result, asked = evaluate("v=spf1 exists:%{i}._spf.example.com include:amazonses.com ~all", {})
    assert result.errors == ()
    assert result.lookups == 2
    assert asked == [("amazonses.com", "TXT")]
    [warning] = result.warnings
    assert warning.term == "exists:%{i}._spf.example.com"
    assert "needs the message" in warning.message


def test_given_a_domain_macro_when_evaluated_then_it_is_expanded_and_followed() -> None:
    zone = txt({"_spf.bounce.example.com": "v=spf1 include:amazonses.com -all"})
    result, _ = evaluate("v=spf1 include:_spf.%{d} ~all", zone)
    assert result.authorises_ses
    assert result.warnings == ()


def test_given_ip4_and_ip6_covering_ses_ranges_when_evaluated_then_authorised_with_a_warning() -> None:
    zone = txt({"_spf.example.com": "v=spf1 ip4:54.240.0.0/19 ip4:54.240.32.0/19 ip6:2a01:111::/32 -all"})
    result, _ = evaluate("v=spf1 ip4:199.255.192.0/21 include:_spf.example.com ~all", zone)
    assert result.errors == ()
    assert result.authorises_ses
    assert result.ses_by_ip_ranges
    [warning] = result.warnings
    assert "SES adds sending ranges" in warning.message


def test_given_ip4_missing_one_ses_range_when_evaluated_then_not_authorised() -> None:
    result, _ = evaluate("v=spf1 ip4:199.255.192.0/22 ip6:2a01:111:f400::/48 ~all", {})
    assert not result.authorises_ses


def test_given_ses_ranges_after_all_or_with_a_fail_qualifier_when_evaluated_then_they_do_not_count() -> None:
    covering = "ip4:199.255.192.0/22 ip4:54.240.0.0/18 ip6:2a01:111:f400::/48"
    assert not evaluate(f"v=spf1 ~all {covering}", {})[0].authorises_ses
    assert not evaluate(f"v=spf1 {covering.replace('ip', '-ip')} ~all", {})[0].authorises_ses


def test_given_a_failed_include_lookup_when_evaluated_then_the_tree_is_unjudged_not_broken() -> None:
    result, _ = evaluate("v=spf1 include:_spf.example.com ~all", {("_spf.example.com", "TXT"): "FAILED"})
    assert result.errors == ()
    assert result.failed is not None
    assert result.failed.name == "_spf.example.com"
    assert result.failed_at is not None
    assert result.failed_at.term == "include:_spf.example.com"


def test_given_gathered_answers_when_replayed_then_the_evaluation_is_the_same() -> None:
    zone = txt({"_spf.example.com": "v=spf1 include:amazonses.com include:_spf.google.com ~all", **GOOGLE})
    first, asked = evaluate("v=spf1 include:_spf.example.com ~all", zone)
    published = dns({**zone, ("amazonses.com", "TXT"): (SES_TXT,)})
    gathered = [published.get(key, Answer(key[0], key[1], "NXDOMAIN")) for key in asked]
    assert evaluate_spf(MAIL_FROM, "v=spf1 include:_spf.example.com ~all", replay(gathered)) == first


def test_given_nothing_gathered_when_replayed_then_a_name_reads_as_failed_not_absent() -> None:
    # A missing answer must never be mistaken for "no SPF record there" (a false permerror).
    assert replay([])("_spf.example.com", "TXT").failed
