"""Suppression rules: parsed strictly (a typo must not silently widen or narrow a rule), matched only where a rule
covers the whole finding, and dropped on the day after they expire."""

from __future__ import annotations

from datetime import date

import pytest

from core.kernel.models import Code, Finding, IdentityKey, Suppression
from core.rules.suppress import Rule, expiry_notice, live, parse, suppress

EU, US = "eu-west-1", "us-east-1"
ACCOUNT = "123456789012"
NOT_AN_ACCOUNT = 'is not a 12-digit AWS account id (quote it: "012345678901")'


def rule(number: int = 1, code: Code = Code.DMARC_POLICY_NONE, **fields: str) -> Rule:
    return Rule(number, code, "accepted", date(2026, 11, 30), **fields)


def per_identity(name: str, region: str = EU, code: Code = Code.MAIL_FROM_NOT_CONFIGURED) -> Finding:
    return Finding.about(IdentityKey(region, name), code, "no MAIL FROM")


def shared(*keys: tuple[str, str], subject: str = "_dmarc.example.com") -> Finding:
    identities = tuple(IdentityKey(region, name) for name, region in keys)
    return Finding(Code.DMARC_POLICY_NONE, identities, "p=none", subject=subject)


# --- parsing ---------------------------------------------------------------------------------------------------------


def test_given_a_rule_with_every_key_when_parsed_then_each_value_is_kept_in_comparable_form():
    text = """
suppressions:
  - code: DMARC_POLICY_NONE
    identity: "*.Example.COM."
    region: EU-West-1
    account: "012345678901"
    reason: "  moving to quarantine in Q4 "
    expires: 2026-11-30
"""

    parsed = parse(text)

    assert parsed.problems == []
    assert parsed.rules == [
        Rule(1, Code.DMARC_POLICY_NONE, "moving to quarantine in Q4", date(2026, 11, 30), "*.example.com",
             "eu-west-1", "012345678901")
    ]  # fmt: skip


def test_given_only_the_required_keys_when_parsed_then_identity_and_region_match_everything():
    text = "suppressions:\n  - {code: DKIM_KEY_WEAK, reason: vendor key, expires: '2027-01-15'}\n"

    [parsed] = parse(text).rules

    assert (parsed.identity, parsed.region, parsed.account) == ("*", "*", "")
    assert parsed.expires == date(2027, 1, 15)  # an ISO string reads like a YAML date


def test_given_an_unquoted_twelve_digit_account_when_parsed_then_it_is_taken_as_written():
    text = "suppressions:\n  - {code: DKIM_KEY_WEAK, account: 123456789012, reason: r, expires: 2027-01-15}\n"

    assert parse(text).rules[0].account == ACCOUNT


@pytest.mark.parametrize("text", ["", "# nothing accepted yet\n", "suppressions:\n", "suppressions: []\n"])
def test_given_a_file_without_rules_when_parsed_then_nothing_is_wrong_and_nothing_matches(text):
    assert (parse(text).rules, parse(text).problems) == ([], [])


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("suppressions: [\n", "not YAML: "),
        ("- code: DKIM_KEY_WEAK\n", "the file must be a mapping with the key `suppressions`"),
        ("suppressions: []\nrules: []\n", "unknown top-level key 'rules' (only `suppressions`)"),
        ("suppressions: {code: DKIM_KEY_WEAK}\n", "`suppressions` must be a list of rules"),
    ],
    ids=["not-yaml", "a-bare-list", "an-extra-key", "not-a-list"],
)
def test_given_a_malformed_file_when_parsed_then_the_problem_names_what_is_wrong(text, problem):
    parsed = parse(text)

    [found] = parsed.problems
    assert found.startswith(problem)
    assert parsed.rules == []


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        (
            "identiy: shop.example.com",
            "unknown key 'identiy' (allowed: code, identity, region, account, reason, expires)",
        ),
        ("code: DMARC_NONE", "code 'DMARC_NONE' is not a finding code"),
        ("account: 012345670123", f"account 1402433619 {NOT_AN_ACCOUNT}"),  # YAML 1.1 reads octal
        ("account: '1234'", f"account '1234' {NOT_AN_ACCOUNT}"),
        ("expires: 2026-11-30T12:00:00Z", "expires '2026-11-30 12:00:00+00:00' is not a date (YYYY-MM-DD)"),
        ("expires: next year", "expires 'next year' is not a date (YYYY-MM-DD)"),
        ("reason: ''", "reason must be some text"),
        ("identity: ''", "identity must be a name or glob"),
        ("region: [eu-west-1]", "region must be a name or glob"),
        ("identity: '[a-z.example.com'", "identity '[a-z.example.com' has an unclosed [ ] in its glob"),
    ],
)
def test_given_one_wrong_field_when_parsed_then_the_problem_names_the_rule_and_the_field(fields, problem):
    # Rule 1 is good: a single bad rule still leaves the whole file unapplied.
    text = f"""
suppressions:
  - {{code: DKIM_KEY_WEAK, reason: vendor key, expires: 2027-01-15}}
  - code: DMARC_POLICY_NONE
    reason: review pending
    expires: 2027-01-15
    {fields}
"""

    parsed = parse(text)

    assert parsed.problems == [f"rule 2: {problem}"]
    assert parsed.rules == []


def test_given_rules_missing_required_keys_or_not_mappings_when_parsed_then_each_is_named():
    text = "suppressions:\n  - {identity: shop.example.com}\n  - DMARC_POLICY_NONE\n"

    assert parse(text).problems == [
        "rule 1: code is required",
        "rule 1: reason is required",
        "rule 1: expires is required",
        "rule 2: not a mapping of code, identity, region, account, reason, expires",
    ]


# --- matching --------------------------------------------------------------------------------------------------------


def test_given_an_identity_glob_and_a_region_when_suppressed_then_exactly_those_findings_are_marked():
    inside = per_identity("shop.example.com")
    apex = per_identity("example.com")  # `*.example.com` names subdomains only, as fnmatch does
    elsewhere = per_identity("shop.example.com", US)
    other_code = per_identity("shop.example.com", code=Code.DKIM_KEY_WEAK)
    rules = [rule(code=Code.MAIL_FROM_NOT_CONFIGURED, identity="*.example.com", region=EU)]

    marked = suppress([inside, apex, elsewhere, other_code], rules, ACCOUNT)

    assert [f.suppressed for f in marked] == [Suppression("accepted", "2026-11-30"), None, None, None]
    assert [f.id for f in marked] == [f.id for f in (inside, apex, elsewhere, other_code)]


def test_given_a_shared_finding_when_a_rule_covers_only_some_of_its_identities_then_it_stays_unsuppressed():
    finding = shared(("example.com", EU), ("shop.example.com", EU))

    assert suppress([finding], [rule(identity="shop.example.com")], ACCOUNT)[0].suppressed is None
    assert suppress([finding], [rule(identity="*example.com")], ACCOUNT)[0].suppressed is not None


def test_given_a_rule_naming_the_shared_subject_when_suppressed_then_the_finding_is_marked_in_every_region():
    finding = shared(("example.com", EU), ("example.com", US))

    assert suppress([finding], [rule(identity="_dmarc.example.com")], ACCOUNT)[0].suppressed is not None
    # The region still has to cover every identity the finding affects.
    assert suppress([finding], [rule(identity="_dmarc.example.com", region=EU)], ACCOUNT)[0].suppressed is None


def test_given_a_rule_for_another_account_when_suppressed_then_it_matches_nothing():
    finding = per_identity("shop.example.com", code=Code.DMARC_POLICY_NONE)

    assert suppress([finding], [rule(account="999999999999")], ACCOUNT)[0].suppressed is None
    assert suppress([finding], [rule(account=ACCOUNT)], ACCOUNT)[0].suppressed is not None


def test_given_two_matching_rules_when_suppressed_then_the_first_in_the_file_gives_the_reason():
    finding = per_identity("shop.example.com", code=Code.DMARC_POLICY_NONE)
    first = Rule(1, Code.DMARC_POLICY_NONE, "first", date(2026, 1, 1), "shop.example.com")
    second = Rule(2, Code.DMARC_POLICY_NONE, "second", date(2027, 1, 1))

    assert suppress([finding], [first, second], ACCOUNT)[0].suppressed == Suppression("first", "2026-01-01")


# --- expiry ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "in_force"),
    [(date(2026, 11, 29), True), (date(2026, 11, 30), True), (date(2026, 12, 1), False)],
    ids=["before", "on-the-day", "the-day-after"],
)
def test_given_a_rule_when_its_date_comes_then_it_holds_through_that_day_and_no_longer(today, in_force):
    kept, expired = live([rule()], today)

    assert (kept, expired) == (([rule()], []) if in_force else ([], [rule()]))


def test_given_an_expired_rule_when_described_then_the_notice_names_its_number_code_identity_and_date():
    expired = rule(2, identity="*.example.com")

    assert expiry_notice(expired) == "rule 2 (DMARC_POLICY_NONE, *.example.com) expired 2026-11-30"
