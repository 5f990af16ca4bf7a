"""Findings through the real handler: one per root cause, with stable ids, and records whose roles say truly what
DNS holds and what it needs."""

from __future__ import annotations

import re
from typing import Any

from tests import scenario
from tests.fidelity import seed_identity
from tests.scenario import EU, US, quoted


def shared_dmarc_world(aws, dns_server, domains: list[tuple[str, str]]) -> scenario.World:
    world = scenario.World(aws, dns_server)
    world.zone("example.com")
    world.r53("example.com", "_dmarc.example.com", "TXT", quoted("v=DMARC1; p=none"))
    for region, name in domains:
        add_identity(world, region, name)
    world.sync("example.com")
    return world


def add_identity(world: scenario.World, region: str, name: str) -> None:
    tokens = seed_identity(world.aws, region, name, mail_from=f"bounce.{name}").tokens
    world.keys(tokens)
    if not any(key[0] == name for key in world.tokens):  # one domain in two regions: the first region's tokens
        world.dkim("example.com", name, tokens)
    world.tokens[(name, region)] = tokens


def by_code(summary, code: str) -> list[dict[str, Any]]:
    return [f for f in summary["findings"] if f["code"] == code]


def test_given_one_dmarc_record_shared_by_many_identities_when_audited_then_each_problem_is_one_finding(
    aws, dns_server, run
):
    domains = [(EU, "a.example.com"), (EU, "b.example.com"), (EU, "c.example.com"), (US, "a.example.com")]
    shared_dmarc_world(aws, dns_server, domains)

    summary = run({"dry_run": True})

    [none] = by_code(summary, "DMARC_POLICY_NONE")
    [no_reports] = by_code(summary, "DMARC_NO_REPORTING")
    assert none["subject"] == no_reports["subject"] == "_dmarc.example.com"
    assert {(i["region"], i["identity"]) for i in none["identities"]} == set(domains)
    assert none["records"] == [
        {"name": "_dmarc.example.com", "type": "TXT", "values": ["v=DMARC1; p=none"], "role": "found"}
    ]
    assert none["id"] != no_reports["id"]


def test_given_a_shared_finding_when_identities_join_then_its_id_stays_the_same(aws, dns_server, run):
    world = shared_dmarc_world(aws, dns_server, [(EU, "a.example.com")])
    first = run({"dry_run": True})

    add_identity(world, EU, "b.example.com")
    add_identity(world, US, "c.example.com")
    world.sync("example.com")
    second = run({"dry_run": True})

    [before], [after] = by_code(first, "DMARC_POLICY_NONE"), by_code(second, "DMARC_POLICY_NONE")
    assert before["id"] == after["id"]
    assert len(after["identities"]) == 3
    assert {f["id"] for f in first["findings"]} <= {f["id"] for f in second["findings"]}


def test_given_domains_of_one_organisation_without_dmarc_when_audited_then_the_findings_name_the_one_record(
    aws, dns_server, run
):
    world = scenario.World(aws, dns_server)
    world.zone("example.com")
    for name in ("a.example.com", "b.example.com"):
        add_identity(world, EU, name)
    world.sync("example.com")

    summary = run({"dry_run": True})

    missing = by_code(summary, "DMARC_MISSING")
    assert {f["subject"] for f in missing} == {"_dmarc.a.example.com", "_dmarc.b.example.com"}
    assert all("One record at _dmarc.example.com would give all 2 domains" in f["message"] for f in missing)


def test_given_records_at_the_organisation_asked_for_when_run_live_then_one_record_covers_every_domain(
    aws, dns_server, run, monkeypatch
):
    world = scenario.World(aws, dns_server)
    world.zone("example.com")
    for name in ("a.example.com", "b.example.com"):
        add_identity(world, EU, name)
    world.sync("example.com")
    monkeypatch.setenv("DMARC_RECORD_AT", "organisation")

    summary = run({"dry_run": False})

    [one] = by_code(summary, "DMARC_MISSING")
    assert (one["subject"], one["fixed"], len(one["identities"])) == ("_dmarc.example.com", True, 2)
    dmarc = [c for c in summary["changes"] if c["reason"] == "DMARC_MISSING"]
    assert [(c["name"], c["applied"]) for c in dmarc] == [("_dmarc.example.com", True)]
    assert world.records(world.zones["example.com"])[("_dmarc.example.com.", "TXT")][1] == ('"v=DMARC1; p=none"',)


def test_given_the_demo_account_when_audited_then_found_records_are_held_and_missing_required_ones_are_not(
    aws, dns_server, run
):
    world = scenario.build(aws, dns_server)

    summary = run({"dry_run": True})

    route53 = {key: values for zone in world.zones.values() for key, (_, values) in world.records(zone).items()}

    def held(name: str, rtype: str) -> set[str]:
        live = dns_server.records(name, rtype)
        return {_plain(rtype, v) for v in (*live, *route53.get((f"{name}.", rtype), ()))}

    checked = 0
    for finding in summary["findings"]:
        for record in finding["records"]:
            there = held(record["name"], record["type"])
            if record["role"] == "found" and record["values"]:
                assert {_plain(record["type"], v, quoted=False) for v in record["values"]} <= there, finding
                checked += 1
            if record["role"] == "required" and finding["code"].endswith("_MISSING"):
                live = {_plain(record["type"], v) for v in dns_server.records(record["name"], record["type"])}
                assert not {_plain(record["type"], v, quoted=False) for v in record["values"]} & live, finding
                checked += 1
    assert checked >= 20


def _plain(rtype: str, value: str, *, quoted: bool = True) -> str:
    """A value in one comparable form: TXT strings joined and unquoted, names lower case without the dot."""
    if rtype == "TXT":
        return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', value)) if quoted else value
    return value.lower().rstrip(".")
