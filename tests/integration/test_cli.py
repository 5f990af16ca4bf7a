"""`ses-guard audit` runs the same path as the handler and prints it for people or machines."""

from __future__ import annotations

import json

import pytest

from handlers import cli
from tests import scenario


@pytest.fixture
def world(aws, dns_server, monkeypatch):
    monkeypatch.setenv("DNS_NAMESERVERS", dns_server.nameserver)
    monkeypatch.setenv("SES_MAX_RPS", "1000")
    return scenario.build(aws, dns_server)


def test_given_an_account_when_audited_with_json_then_the_summary_is_the_handlers_contract(world, capsys):
    status = cli.main(["audit", "--region", scenario.EU, "--region", scenario.US, "--json"])

    summary = json.loads(capsys.readouterr().out)
    assert status == 0
    assert set(summary) == {"run_id", "dry_run", "regions", "identities_audited", "findings", "changes", "errors"}
    found = {(f["identity"], f["region"], f["code"]) for f in summary["findings"]}
    expected = {(name, region, code) for (name, region), codes in scenario.EXPECTED.items() for code in codes}
    assert found == expected


def test_given_one_identity_when_audited_then_a_table_lists_its_findings_with_the_records(world, capsys):
    status = cli.main(["audit", "--region", scenario.EU, "--identity", "shop.example.com", "--fail-on", "HIGH"])

    out = capsys.readouterr().out
    assert status == 3  # MAIL FROM records are missing: HIGH
    assert "MAIL_FROM_MX_MISSING" in out
    assert f"bounce.shop.example.com MX 10 feedback-smtp.{scenario.EU}.amazonses.com" in out
    assert "CHANGES (planned; --apply writes them)" in out
    assert "1 identities in eu-west-1 (dry run)" in out
    assert "2 changes" in out


def test_given_apply_when_audited_then_the_records_are_created_and_shown_as_fixed(world, aws, capsys):
    status = cli.main(["audit", "--region", scenario.EU, "--identity", "shop.example.com", "--apply"])

    out = capsys.readouterr().out
    assert status == 0
    assert "CHANGES (applied)" in out
    assert "MAIL_FROM_MX_MISSING" in out
    assert "fixed" in out
    rrsets = world.records(world.zones["example.com"])
    assert ("bounce.shop.example.com.", "MX") in rrsets
    assert ("bounce.shop.example.com.", "TXT") in rrsets


def test_given_a_bad_region_when_audited_then_it_exits_2_naming_the_problem(world, capsys):
    status = cli.main(["audit", "--region", "moon-1"])

    assert status == 2
    assert "not an AWS region" in capsys.readouterr().err


def test_given_apply_fixes_every_high_finding_when_failing_on_high_then_the_exit_status_is_0(world, capsys):
    status = cli.main(
        ["audit", "--region", scenario.EU, "--identity", "shop.example.com", "--apply", "--fail-on", "HIGH"]
    )

    assert status == 0
    assert "fixed" in capsys.readouterr().out
