"""Account findings: the SES account's state in one region (GetAccount), and how every report shows them."""

from __future__ import annotations

from typing import Any

import pytest

from core.checks.account import check_account
from core.kernel.models import AccountState, Code, IdentityKey, RunSummary, Severity
from core.report.html import render_html
from core.report.matrix import matrix
from core.report.notify import render
from core.report.table import render_table
from tests.unit.checks.helpers import codes, only

EU, US = "eu-west-1", "us-east-1"
EU_KEYS = (IdentityKey(EU, "example.com"), IdentityKey(EU, "ops@example.com"))
EVERYONE = (*EU_KEYS, IdentityKey(US, "example.com"))
DASHBOARD = f"https://console.aws.amazon.com/ses/home?region={EU}#/account"


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ({}, []),
        ({"production_access_enabled": False}, [Code.ACCOUNT_SANDBOX]),
        ({"enforcement_status": "PROBATION"}, [Code.ACCOUNT_PROBATION]),
        ({"sending_enabled": False}, [Code.ACCOUNT_SENDING_PAUSED]),
        # SES pausing the account turns sending off: one root cause, so no second finding for SendingEnabled.
        ({"enforcement_status": "SHUTDOWN", "sending_enabled": False}, [Code.ACCOUNT_SHUTDOWN]),
        (
            {"enforcement_status": "PROBATION", "sending_enabled": False, "production_access_enabled": False},
            [Code.ACCOUNT_SANDBOX, Code.ACCOUNT_SENDING_PAUSED, Code.ACCOUNT_PROBATION],
        ),
    ],
)
def test_given_an_account_state_when_checked_then_each_problem_is_one_finding(state, expected):
    # Given the account in eu-west-1 in that state
    account = AccountState(EU, **state)

    # When it is checked
    findings = check_account(account, EVERYONE)

    # Then exactly those codes come back
    assert codes(findings) == sorted(expected)


@pytest.mark.parametrize(
    ("state", "code", "words"),
    [
        ({"production_access_enabled": False}, Code.ACCOUNT_SANDBOX, "Request production access"),
        ({"enforcement_status": "PROBATION"}, Code.ACCOUNT_PROBATION, "PROBATION"),
        ({"sending_enabled": False}, Code.ACCOUNT_SENDING_PAUSED, "SendingEnabled false"),
        ({"enforcement_status": "SHUTDOWN", "sending_enabled": False}, Code.ACCOUNT_SHUTDOWN, "SHUTDOWN"),
    ],
)
def test_given_a_problem_when_checked_then_the_finding_is_shared_by_the_regions_identities_and_names_the_page(
    state, code, words
):
    # Given an account problem in eu-west-1, with identities audited there and in us-east-1
    account = AccountState(EU, **state)

    # When it is checked
    finding = only(check_account(account, EVERYONE), code)

    # Then it is one shared finding about the account in that region, affecting that region's identities only,
    # and it says what is wrong, where, and which console page fixes it
    assert finding.subject == f"SES account in {EU}"
    assert finding.identities == EU_KEYS
    assert EU in finding.message
    assert words in finding.message
    assert DASHBOARD in finding.message
    assert not finding.fixable
    assert not finding.records


STATES: dict[Code, dict[str, Any]] = {
    Code.ACCOUNT_SHUTDOWN: {"enforcement_status": "SHUTDOWN", "sending_enabled": False},
    Code.ACCOUNT_SENDING_PAUSED: {"sending_enabled": False},
    Code.ACCOUNT_PROBATION: {"enforcement_status": "PROBATION"},
    Code.ACCOUNT_SANDBOX: {"production_access_enabled": False},
}


def test_given_severities_when_the_catalogue_is_read_then_lost_sending_is_high_and_the_sandbox_medium():
    # Given / When the account codes' catalogue severities
    severities = {c: only(check_account(AccountState(EU, **s), EU_KEYS), c).severity for c, s in STATES.items()}

    # Then stopped or threatened sending is HIGH; the sandbox, which limits but does not stop mail, is MEDIUM
    assert severities == {
        Code.ACCOUNT_SHUTDOWN: Severity.HIGH,
        Code.ACCOUNT_SENDING_PAUSED: Severity.HIGH,
        Code.ACCOUNT_PROBATION: Severity.HIGH,
        Code.ACCOUNT_SANDBOX: Severity.MEDIUM,
    }


def test_given_a_region_without_audited_identities_when_checked_then_no_finding_is_made():
    # Given a paused account in a region where nothing is audited (SES sends only from verified identities)
    account = AccountState(US, enforcement_status="SHUTDOWN", sending_enabled=False)

    # When it is checked
    findings = check_account(account, EU_KEYS)

    # Then there is nobody to name as affected, and no finding
    assert findings == []


def summary_with_account_findings() -> RunSummary:
    account = AccountState(EU, enforcement_status="PROBATION", production_access_enabled=False)
    findings = check_account(account, EU_KEYS)
    return RunSummary(
        run_id="run-1",
        dry_run=True,
        regions=[EU],
        identities_audited=len(EU_KEYS),
        identities=list(EU_KEYS),
        findings=findings,
    )


def test_given_account_findings_when_the_matrix_is_drawn_then_no_protocol_column_changes():
    # Given a run whose only findings are about the account
    summary = summary_with_account_findings()

    # When the identity matrix is drawn
    rows = matrix(summary.identities, summary.findings)

    # Then the account's state fails no protocol: DKIM, SPF and DMARC still pass (addresses have only DKIM)
    assert {row.identity: row.cells for row in rows} == {
        IdentityKey(EU, "example.com"): ("pass", "pass", "pass"),
        IdentityKey(EU, "ops@example.com"): ("pass", "n/a", "n/a"),
    }


def test_given_account_findings_when_rendered_then_the_table_the_notification_and_the_html_show_them():
    # Given a run with the account under review and in the sandbox in eu-west-1
    summary = summary_with_account_findings()

    # When it is rendered for the CLI, for email subscribers and as the HTML report
    table = render_table(summary)
    [note] = render(summary, min_severity=Severity.LOW, always=False)
    html = render_html(summary)

    # Then each names both codes, the account in its region and the console page
    for text in (table, note.message, html):
        assert "ACCOUNT_PROBATION" in text
        assert "ACCOUNT_SANDBOX" in text
        assert f"SES account in {EU}" in text
        assert DASHBOARD in text.replace("&amp;", "&")
