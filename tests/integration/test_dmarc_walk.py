"""The RFC 9989 DMARC walk through the real handler: records receivers discard at an identity's own `_dmarc` name
make the walk go on, and the findings name the policy that applies instead."""

from __future__ import annotations

from typing import Any

import pytest

from tests import scenario
from tests.fidelity import seed_identity
from tests.scenario import EU, quoted


def by_code(summary: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [f for f in summary["findings"] if f["code"] == code]


@pytest.mark.parametrize(
    ("own", "reason"),
    [
        (("v=DMARC1; p=none", "v=DMARC1; p=quarantine"), "holds 2 DMARC records; receivers ignore both"),
        # Before RFC 9989 handling, a leading blank was stripped and the record ended the walk as p=none.
        ((" v=DMARC1; p=none",), "not with whitespace"),
    ],
    ids=["two-records", "leading-blank"],
)
def test_given_a_discarded_own_record_and_an_enforcing_parent_when_audited_then_invalid_names_the_inherited_policy(
    aws, dns_server, run, own: tuple[str, ...], reason: str
):
    # Given shop.example.com's own _dmarc holds records receivers discard, and example.com publishes p=reject
    world = scenario.World(aws, dns_server)
    world.zone("example.com")
    world.r53("example.com", "_dmarc.shop.example.com", "TXT", *(quoted(value) for value in own))
    world.r53("example.com", "_dmarc.example.com", "TXT", quoted("v=DMARC1; p=reject; rua=mailto:d@example.com"))
    tokens = seed_identity(aws, EU, "shop.example.com").tokens
    world.keys(tokens)
    world.dkim("example.com", "shop.example.com", tokens)
    world.sync("example.com")

    # When the real handler audits the account
    summary = run({"dry_run": True})

    # Then one DMARC_INVALID about the broken name, naming the policy the walk found at the parent ...
    [invalid] = by_code(summary, "DMARC_INVALID")
    assert invalid["subject"] == "_dmarc.shop.example.com"
    assert reason in invalid["message"]
    assert "the policy that applies is the one at _dmarc.example.com: p=reject" in invalid["message"]
    # ... because the walk went on past the own name instead of stopping there
    assert "_dmarc.example.com" in [q.name for q in dns_server.query_log]
    # ... and that policy enforces: nothing is missing and no policy finding is raised
    assert by_code(summary, "DMARC_MISSING") == []
    assert by_code(summary, "DMARC_POLICY_NONE") == []
