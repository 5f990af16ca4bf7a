"""The SES account's health per region (sesv2 GetAccount, through the fidelity layer) as the real handler reports it."""

from __future__ import annotations

import pytest

from tests import scenario
from tests.fidelity import seed_identity, set_account

ACCOUNT_CODES = {"ACCOUNT_SHUTDOWN", "ACCOUNT_SENDING_PAUSED", "ACCOUNT_PROBATION", "ACCOUNT_SANDBOX"}


def account_findings(summary):
    return {(f["code"], f["subject"]): f for f in summary["findings"] if f["code"] in ACCOUNT_CODES}


def audited_in(region):
    return {key for key in scenario.EXPECTED if key[1] == region}


@pytest.mark.parametrize(
    ("state", "code", "severity"),
    [
        ({"production_access_enabled": False}, "ACCOUNT_SANDBOX", "MEDIUM"),
        ({"enforcement_status": "PROBATION"}, "ACCOUNT_PROBATION", "HIGH"),
        ({"sending_enabled": False}, "ACCOUNT_SENDING_PAUSED", "HIGH"),
        ({"enforcement_status": "SHUTDOWN", "sending_enabled": False}, "ACCOUNT_SHUTDOWN", "HIGH"),
    ],
)
def test_given_one_region_in_a_bad_state_when_the_handler_runs_then_one_account_finding_covers_its_identities(
    aws, dns_server, run, state, code, severity
):
    # Given the demo account, with the SES account in eu-west-1 in that state and us-east-1 healthy
    scenario.build(aws, dns_server)
    set_account(scenario.EU, **state)

    # When the handler runs
    summary = run({"dry_run": True})

    # Then one finding about the eu-west-1 account covers every identity audited there, and nothing else changed
    [(found_code, subject)] = account_findings(summary)
    finding = account_findings(summary)[(found_code, subject)]
    assert (found_code, subject, finding["severity"]) == (code, f"SES account in {scenario.EU}", severity)
    assert {(i["identity"], i["region"]) for i in finding["identities"]} == audited_in(scenario.EU)
    assert f"https://console.aws.amazon.com/ses/home?region={scenario.EU}#/account" in finding["message"]
    assert summary["errors"] == []
    # GetAccount costs one call per region, and only in regions with identities
    assert aws.calls.count(operation="GetAccount", region=scenario.EU) == 1
    assert aws.calls.count(operation="GetAccount", region=scenario.US) == 1


def test_given_healthy_production_accounts_when_the_handler_runs_then_there_is_no_account_finding(aws, dns_server, run):
    # Given the demo account with the fidelity layer's default: healthy, in production, sending
    scenario.build(aws, dns_server)

    # When the handler runs
    summary = run({"dry_run": True})

    # Then no account finding appears, though each region's account was read
    assert account_findings(summary) == {}
    assert summary["errors"] == []
    assert aws.calls.count(operation="GetAccount") == 2


def test_given_get_account_refused_when_the_handler_runs_then_it_is_a_region_error_and_the_identities_are_audited(
    aws, dns_server, run
):
    # Given us-east-1 refuses GetAccount (a policy without ses:GetAccount, say)
    scenario.build(aws, dns_server)
    aws.fail("GetAccount", "AccessDeniedException", "not authorized", status=403, region=scenario.US)

    # When the handler runs
    summary = run({"dry_run": True})

    # Then the refusal is an error of the region, and its identities are still audited as before
    [error] = summary["errors"]
    assert (error["scope"], error["subject"]) == ("region", scenario.US)
    assert "GetAccount" in error["message"]
    assert "AccessDeniedException" in error["message"]
    expected = {key: codes for key, codes in scenario.EXPECTED.items() if codes}
    assert scenario.codes_by_identity(summary) == expected


def test_given_a_paused_region_without_identities_when_the_handler_runs_then_it_costs_no_call_and_no_finding(
    aws, dns_server, run, monkeypatch
):
    # Given identities only in eu-west-1, and a shut-down account in us-east-1 where there are none
    seed_identity(aws, scenario.EU, "alerts@example.com")
    set_account(scenario.US, enforcement_status="SHUTDOWN", sending_enabled=False)

    # When the handler runs over both regions
    summary = run({"dry_run": True})

    # Then nothing can be sent from us-east-1 anyway: no GetAccount there, no finding without someone affected
    assert account_findings(summary) == {}
    assert summary["errors"] == []
    assert aws.calls.count(operation="GetAccount", region=scenario.US) == 0
    assert aws.calls.count(operation="GetAccount", region=scenario.EU) == 1
