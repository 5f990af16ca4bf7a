"""The run's side of suppressions: a bad file is an error that suppresses nothing, expired rules are listed, and the
account is asked for only when a rule names one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from core.kernel.errors import SesGuardError
from core.kernel.models import Code, Finding, IdentityKey, RunError, Suppression
from core.run.suppressions import apply_suppressions

FILE = "s3://ses-guard-config/suppressions.yaml"
TODAY = date(2026, 12, 1)
FINDING = Finding.about(IdentityKey("eu-west-1", "shop.example.com"), Code.DKIM_KEY_WEAK, "1024-bit key")


@dataclass
class Text:
    """A SuppressionFile holding its text in memory; `account_id` None makes the account lookup fail."""

    text: str
    account_id: str | None = "123456789012"
    account_calls: int = 0
    target: str = FILE

    def read(self) -> str:
        return self.text

    def account(self) -> str:
        self.account_calls += 1
        if self.account_id is None:
            raise SesGuardError("sts GetCallerIdentity failed: AccessDenied: no")
        return self.account_id


class Unreadable:
    target = FILE

    def read(self) -> str:
        raise SesGuardError("s3 GetObject failed: NoSuchKey: The specified key does not exist.")

    def account(self) -> str:
        raise AssertionError("an unread file has no rule that could need the account")


def rules(*lines: str) -> str:
    return "suppressions:\n" + "".join(f"  - {line}\n" for line in lines)


def test_given_no_file_configured_when_applied_then_findings_pass_through_untouched():
    errors: list[RunError] = []

    assert apply_suppressions([FINDING], None, TODAY, errors) == ([FINDING], [])
    assert errors == []


def test_given_live_and_expired_rules_without_an_account_when_applied_then_no_account_lookup_is_made():
    source = Text(
        rules(
            "{code: DKIM_KEY_WEAK, identity: shop.example.com, reason: vendor key, expires: 2026-12-01}",
            "{code: DMARC_POLICY_NONE, identity: '*.example.com', reason: review, expires: 2026-11-30}",
        )
    )
    errors: list[RunError] = []

    [marked], expired = apply_suppressions([FINDING], source, TODAY, errors)

    assert marked.suppressed == Suppression("vendor key", "2026-12-01")
    assert expired == ["rule 2 (DMARC_POLICY_NONE, *.example.com) expired 2026-11-30"]
    assert (errors, source.account_calls) == ([], 0)


def test_given_a_malformed_rule_when_applied_then_it_is_an_error_naming_the_file_and_nothing_is_suppressed():
    source = Text(
        rules(
            "{code: DKIM_KEY_WEAK, reason: vendor key, expires: 2027-01-01}",
            "{code: DKIM_KEY_WEAK, reason: vendor key, expires: 2027-01-01, regoin: eu-west-1}",
        )
    )
    errors: list[RunError] = []

    findings, expired = apply_suppressions([FINDING], source, TODAY, errors)

    assert (findings, expired) == ([FINDING], [])
    assert errors == [
        RunError(
            "suppressions",
            FILE,
            "rule 2: unknown key 'regoin' (allowed: code, identity, region, account, reason, expires)",
        )
    ]


def test_given_an_unreadable_file_when_applied_then_the_error_says_why_and_nothing_is_suppressed():
    errors: list[RunError] = []

    assert apply_suppressions([FINDING], Unreadable(), TODAY, errors) == ([FINDING], [])
    assert errors == [
        RunError(
            "suppressions",
            FILE,
            "nothing suppressed: s3 GetObject failed: NoSuchKey: The specified key does not exist.",
        )
    ]


def test_given_a_rule_naming_an_account_when_the_account_cannot_be_read_then_that_rule_matches_nothing():
    source = Text(
        rules(
            "{code: DKIM_KEY_WEAK, account: '123456789012', reason: vendor key, expires: 2027-01-01}",
            "{code: DKIM_KEY_WEAK, identity: other.example.com, reason: other, expires: 2027-01-01}",
        ),
        account_id=None,
    )
    errors: list[RunError] = []

    [marked], _ = apply_suppressions([FINDING], source, TODAY, errors)

    assert marked.suppressed is None
    assert source.account_calls == 1
    [error] = errors
    assert (error.scope, error.subject) == ("suppressions", FILE)
    assert error.message.startswith("rules naming an account match nothing: sts GetCallerIdentity failed")


def test_given_a_rule_naming_the_runs_account_when_applied_then_the_account_is_read_once_and_it_matches():
    source = Text(rules("{code: DKIM_KEY_WEAK, account: 123456789012, reason: vendor key, expires: 2027-01-01}"))
    errors: list[RunError] = []

    [marked], _ = apply_suppressions([FINDING], source, TODAY, errors)

    assert marked.suppressed == Suppression("vendor key", "2027-01-01")
    assert (errors, source.account_calls) == ([], 1)
