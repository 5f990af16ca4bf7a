"""The planner's rules on hand-picked zones; the property test covers generated ones."""

from __future__ import annotations

from typing import Literal

import pytest

from core.kernel.models import Change, Code, Finding, IdentityKey, Record, RecordSet, Zone
from core.rules.plan import MAX_CHARACTERS, MAX_RECORDS, Wanted, batches, plan_zone
from tests.unit.views import delegated, elsewhere, ns_unread, unread

ZONE = Zone("Z1", "example.com", private=False)


def wanted(name: str, rtype: str, value: str, reason: Code = Code.DMARC_MISSING, identity: str = "a.example.com"):
    return Wanted(
        Record(name, rtype, (value,)),
        (Finding.about(IdentityKey("eu-west-1", identity), reason, "missing", fixable=True),),
    )


def test_given_a_name_delegated_by_ns_on_a_parent_when_planned_then_nothing_is_written_there():
    held = {("sub.example.com", "NS"): RecordSet("sub.example.com", "NS", 300, ("ns1.elsewhere.example",))}

    changes, skipped = plan_zone(
        ZONE, delegated(ZONE, held), [wanted("_dmarc.a.sub.example.com", "TXT", "v=DMARC1; p=none")], 1800
    )

    assert changes == []
    assert "sub.example.com is delegated" in skipped[0].why


def test_given_one_mail_from_name_wanted_by_two_regions_when_planned_then_neither_mx_is_written():
    items = [
        wanted("bounce.example.com", "MX", "10 feedback-smtp.eu-west-1.amazonses.com", Code.MAIL_FROM_MX_MISSING),
        wanted("bounce.example.com", "MX", "10 feedback-smtp.us-east-1.amazonses.com", Code.MAIL_FROM_MX_MISSING),
    ]

    changes, skipped = plan_zone(ZONE, delegated(ZONE), items, 1800)

    assert changes == []
    assert len(skipped) == 2
    assert "several regions" in skipped[0].why


def test_given_two_identities_wanting_the_same_record_when_planned_then_it_is_created_once():
    items = [
        wanted("_dmarc.example.com", "TXT", "v=DMARC1; p=none", identity="example.com"),
        wanted("_dmarc.example.com", "TXT", "v=DMARC1; p=none", identity="ops@example.com"),
    ]

    changes, _ = plan_zone(ZONE, delegated(ZONE), items, 1800)

    assert [(c.action, c.name, c.values) for c in changes] == [
        ("CREATE", "_dmarc.example.com", ('"v=DMARC1; p=none"',))
    ]


def change(action: Literal["CREATE", "UPSERT"], values: int, size: int) -> Change:
    return Change(
        "Z1", "example.com", action, "n.example.com", "TXT", ("x" * size,) * values, 300, False, Code.DMARC_MISSING
    )


def test_given_many_changes_when_batched_then_no_batch_passes_route53_limits_and_upserts_count_twice():
    creates = [change("CREATE", 1, 10) for _ in range(999)]
    upsert = change("UPSERT", 1, 10)

    split = batches([*creates, upsert])

    assert [len(b) for b in split] == [999, 1]  # 999 + 2 for the UPSERT would pass 1,000
    big = [change("CREATE", 1, 4000) for _ in range(9)]
    assert [len(b) for b in batches(big)] == [8, 1]  # 9 x 4,000 characters would pass 32,000
    for batch in batches([*creates, upsert, *big]):
        weight = [2 if c.action == "UPSERT" else 1 for c in batch]
        assert sum(len(c.values) * w for c, w in zip(batch, weight, strict=True)) <= MAX_RECORDS
        assert sum(len(v) * w for c, w in zip(batch, weight, strict=True) for v in c.values) <= MAX_CHARACTERS


@pytest.mark.parametrize("view", [elsewhere(ZONE), ns_unread(ZONE), unread(ZONE)], ids=["elsewhere", "ns", "unread"])
def test_given_a_zone_receivers_may_not_see_when_planned_then_nothing_is_written_and_each_record_says_why(view):
    items = [
        wanted("_dmarc.a.example.com", "TXT", "v=DMARC1; p=none"),
        wanted("b._domainkey.a.example.com", "CNAME", "b.dkim.amazonses.com"),
    ]

    changes, skipped = plan_zone(ZONE, view, items, 1800)

    assert changes == []
    assert [s.wanted for s in skipped] == items
    assert all(
        "example.com" in s.why and ("receivers may not see" in s.why or "could not be read" in s.why) for s in skipped
    )
