"""Deterministic Easy DKIM replicas through the handler: their records are the parent's, checked but never created
for the replica, and a failed copy is reported."""

from __future__ import annotations

from typing import Any

import pytest

from tests import scenario
from tests.fidelity import seed_identity

EU, US = scenario.EU, scenario.US
DOMAIN = "replicated.example.com"
DKIM_CODES = {"DKIM_RECORD_MISSING", "DKIM_RECORD_CONFLICT", "DKIM_KEY_WEAK", "IDENTITY_NOT_VERIFIED"}


@pytest.fixture
def world(aws: Any, dns_server: Any, monkeypatch: pytest.MonkeyPatch) -> scenario.World:
    monkeypatch.setenv("DRY_RUN", "true")
    world = scenario.World(aws, dns_server)
    world.zone("example.com")
    return world


def findings_of(summary: dict[str, Any], name: str, region: str) -> dict[str, dict[str, Any]]:
    return {
        f["code"]: f
        for f in summary["findings"]
        if any((i["identity"], i["region"]) == (name, region) for i in f["identities"])
    }


def test_given_a_replica_whose_parents_cnames_exist_when_auditing_then_its_dkim_is_clean(world, aws, run) -> None:
    parent = seed_identity(aws, EU, DOMAIN)
    seed_identity(aws, US, DOMAIN, origin="AWS_SES_EU_WEST_1", tokens=parent.tokens)
    for i in range(3):  # ordinary identities in both regions, that must not cost a GetEmailIdentity each
        seed_identity(aws, EU, f"own{i}.example.com")
        seed_identity(aws, US, f"own{i}.example.com")
    world.dkim("example.com", DOMAIN, parent.tokens)
    world.keys(parent.tokens)
    world.sync("example.com")

    summary = run()

    assert DKIM_CODES.isdisjoint(findings_of(summary, DOMAIN, US))
    assert DKIM_CODES.isdisjoint(findings_of(summary, DOMAIN, EU))
    # Per region at most the signing-zone probe and the one replica candidate (none when the probe read it): the
    # three ordinary identities of each region cost nothing.
    assert aws.calls.count(operation="GetEmailIdentity", region=EU) <= 2
    assert aws.calls.count(operation="GetEmailIdentity", region=US) <= 2
    assert not [e for e in summary["errors"] if "GetEmailIdentity" in e["message"]]


def test_given_a_replica_with_missing_records_when_auditing_then_only_its_parent_gets_them_planned(
    world, aws, run
) -> None:
    parent = seed_identity(aws, EU, DOMAIN)
    seed_identity(aws, US, DOMAIN, origin="AWS_SES_EU_WEST_1", tokens=parent.tokens)
    world.sync("example.com")

    summary = run()

    replica = findings_of(summary, DOMAIN, US)["DKIM_RECORD_MISSING"]
    assert replica["fixable"] is False
    assert f"copies its DKIM from {DOMAIN} in {EU}" in replica["message"]
    assert findings_of(summary, DOMAIN, EU)["DKIM_RECORD_MISSING"]["fixable"] is True
    planned = [c for c in summary["changes"] if "_domainkey" in c["name"]]
    # Exactly the parent's three CNAMEs, once each: the replica adds no change of its own.
    assert sorted(c["name"] for c in planned) == sorted(f"{t}._domainkey.{DOMAIN}" for t in parent.tokens)
    assert {c["action"] for c in planned} == {"CREATE"}


def test_given_a_failed_replication_when_auditing_then_it_is_reported_and_nothing_is_planned(world, aws, run) -> None:
    seed_identity(
        aws,
        US,
        DOMAIN,
        origin="AWS_SES_EU_WEST_1",
        verification="FAILED",
        dkim_status="FAILED",
        error_type="REPLICATION_PRIMARY_NOT_FOUND",
    )
    world.sync("example.com")

    summary = run()

    found = findings_of(summary, DOMAIN, US)
    assert "REPLICATION_PRIMARY_NOT_FOUND" in found["IDENTITY_NOT_VERIFIED"]["message"]
    assert f"{DOMAIN} in {EU}" in found["IDENTITY_NOT_VERIFIED"]["message"]
    assert found["IDENTITY_NOT_VERIFIED"]["fixable"] is False
    assert found["DKIM_RECORD_MISSING"]["fixable"] is False
    assert not [c for c in summary["changes"] if "_domainkey" in c["name"]]
