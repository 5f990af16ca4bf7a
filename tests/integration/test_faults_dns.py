"""Live DNS failing through the real handler: a SERVFAIL or a resolver that never answers is a check that could
not be made, never a record that is missing, and nothing is written on the strength of it."""

from __future__ import annotations

from typing import Any

import pytest

from tests import scenario
from tests.fidelity import seed_identity
from tests.scenario import EU

MISSING = {"DKIM_RECORD_MISSING", "MAIL_FROM_MX_MISSING", "MAIL_FROM_SPF_MISSING", "DMARC_MISSING"}
WHY = {"SERVFAIL": "SERVFAIL from 127.0.0.1:", "TIMEOUT": "timeout after 0.5s"}


def failing_world(aws: Any, dns_server: Any) -> tuple[scenario.World, list[str]]:
    """example.com, delegated and in sync, with two identities that have nothing in Route 53 or DNS yet:
    news.example.com, whose own names will fail to resolve, and calm.example.com, which resolves normally.
    Returns the world (its `tokens` hold both identities') and news.example.com's names."""
    world = scenario.World(aws, dns_server)
    world.zone("example.com")
    news = seed_identity(aws, EU, "news.example.com", mail_from="bounce.news.example.com").tokens
    calm = seed_identity(aws, EU, "calm.example.com").tokens
    world.keys(news + calm)
    world.tokens.update({("news.example.com", EU): news, ("calm.example.com", EU): calm})
    world.sync("example.com")
    names = [f"{t}._domainkey.news.example.com" for t in news]
    return world, [*names, "bounce.news.example.com", "_dmarc.news.example.com"]


def about(summary: dict[str, Any], identity: str) -> list[dict[str, Any]]:
    return [f for f in summary["findings"] if identity in {i["identity"] for i in f["identities"]}]


@pytest.mark.parametrize("mode", ["SERVFAIL", "TIMEOUT"])
def test_given_an_identitys_names_failing_in_dns_when_run_live_then_its_checks_failed_and_nothing_is_written_for_it(
    aws, dns_server, run, monkeypatch, mode
):
    # Given an identity whose DKIM, MAIL FROM and DMARC names all fail to resolve, beside one that resolves
    world, names = failing_world(aws, dns_server)
    for name in names:
        dns_server.fail(name, mode)
    monkeypatch.setenv("DNS_TIMEOUT", "0.5")
    before = world.records(world.zones["example.com"])

    # When a live run audits both
    summary = run({"regions": [EU]})

    # Then the failing identity's findings say its checks could not be made, and why
    news = about(summary, "news.example.com")
    failed = [f for f in news if f["code"] == "CHECK_FAILED"]
    assert failed
    assert all(WHY[mode] in f["message"] for f in failed)
    assert {f["code"] for f in news} & MISSING == set()
    assert "ZONE_NOT_DELEGATED" not in {f["code"] for f in news}
    # and no record was written for it, while the identity that resolves got its records
    assert not [c for c in summary["changes"] if c["name"].endswith("news.example.com")]
    after = world.records(world.zones["example.com"])
    assert {key for key in after if key not in before and "news.example.com" in key[0]} == set()
    written = {(c["name"], c["type"]) for c in summary["changes"] if c["applied"]}
    assert {(f"{t}._domainkey.calm.example.com", "CNAME") for t in world.tokens[("calm.example.com", EU)]} <= written
    assert summary["errors"] == []


@pytest.mark.parametrize("mode", ["SERVFAIL", "TIMEOUT"])
def test_given_the_dmarc_walk_failing_above_an_identity_when_run_live_then_no_dmarc_record_is_created_below_it(
    aws, dns_server, run, monkeypatch, mode
):
    # Given an identity with no DMARC record of its own, whose organisational domain's record cannot be read
    world, _ = failing_world(aws, dns_server)
    dns_server.fail("_dmarc.example.com", mode)
    monkeypatch.setenv("DNS_TIMEOUT", "0.5")

    # When a live run audits it
    summary = run({"regions": [EU], "identities": ["calm.example.com"]})

    # Then the policy that applies is unknown, not missing, and no record is created on that guess
    calm = about(summary, "calm.example.com")
    assert "DMARC_MISSING" not in {f["code"] for f in calm}
    [failed] = [f for f in calm if f["code"] == "CHECK_FAILED" and "_dmarc.example.com" in f["message"]]
    assert WHY[mode] in failed["message"]
    assert not [c for c in summary["changes"] if c["name"].startswith("_dmarc.")]
    assert ("_dmarc.calm.example.com.", "TXT") not in world.records(world.zones["example.com"])
