"""Property: over generated zones, a plan never loses or alters a value, never doubles SPF or DMARC, never puts a
CNAME beside other data, and a second plan over the result is empty."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.kernel.models import (
    Change,
    Code,
    DkimState,
    Finding,
    Identity,
    IdentityKey,
    MailFromState,
    RecordSet,
    Zone,
)
from core.rules.dmarcrecord import looks_like_dmarc
from core.rules.plan import Wanted, plan_zone
from core.rules.records import route53_txt, route53_txt_value
from core.rules.required import required_records
from core.rules.spf import looks_like_spf
from tests.unit.views import delegated

ZONE = Zone("Z1", "example.com", private=False)
TOKENS = ("tok0aaaaaaaaaaaaaaaaaaaaaaaaaaaa", "tok1bbbbbbbbbbbbbbbbbbbbbbbbbbbb", "tok2cccccccccccccccccccccccccccc")
IDENTITY = Identity(
    "shop.example.com",
    "eu-west-1",
    "DOMAIN",
    "SUCCESS",
    dkim=DkimState(True, "SUCCESS", TOKENS, "dkim.amazonses.com"),
    mail_from=MailFromState("bounce.shop.example.com", "SUCCESS"),
)
REQUIRED = required_records(IDENTITY, "quarantine", "dmarc@example.com")
NAMES = sorted({r.record.name for r in REQUIRED})

text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300)
txt_value = st.one_of(
    text.map(route53_txt_value),
    st.sampled_from(
        [
            '"v=spf1 include:_spf.example.net ~all"',
            '"v=spf1 include:amazonses.com ~all"',
            '"v=spf1 " "include:amazonses.com -all"',
            '"v=DMARC1; p=reject; rua=mailto:x@example.org"',
            '"v=DMARC1; p=none"',
            '"google-site-verification=Ab\\"c\\\\d"',
            '"' + "a" * 255 + '" "' + "b" * 40 + '"',
            '"\\303\\274nicode"',
        ]
    ),
)
cname_value = st.sampled_from(["elsewhere.example.org", *(f"{t}.dkim.amazonses.com" for t in TOKENS)])
mx_value = st.sampled_from(["10 feedback-smtp.eu-west-1.amazonses.com", "10 mx.other.example", "20 mx2.other.example"])
ttl = st.sampled_from([60, 300, 3600])


@st.composite
def record_sets_at(draw: st.DrawFn, name: str) -> list[RecordSet]:
    """What may already stand at a name: nothing, a CNAME alone (Route 53 allows nothing beside it), or TXT/MX."""
    kind = draw(st.sampled_from(["none", "cname", "other", "alias"]))
    if kind == "none":
        return []
    if kind == "alias":  # an alias to, say, a load balancer: no values, but a record set all the same
        return [RecordSet(name, draw(st.sampled_from(["TXT", "MX", "A", "CNAME"])), None, (), alias=True)]
    if kind == "cname":
        return [RecordSet(name, "CNAME", draw(ttl), (draw(cname_value),))]
    sets = []
    if draw(st.booleans()):
        sets.append(RecordSet(name, "TXT", draw(ttl), tuple(draw(st.lists(txt_value, min_size=1, max_size=4)))))
    if draw(st.booleans()):
        sets.append(
            RecordSet(name, "MX", draw(ttl), tuple(draw(st.lists(mx_value, min_size=1, max_size=2, unique=True))))
        )
    return sets


@st.composite
def zones(draw: st.DrawFn) -> dict[tuple[str, str], RecordSet]:
    held: dict[tuple[str, str], RecordSet] = {}
    for name in NAMES:
        for record_set in draw(record_sets_at(name)):
            held[(name, record_set.type)] = record_set
    return held


def apply_like_route53(
    held: dict[tuple[str, str], RecordSet], changes: list[Change]
) -> dict[tuple[str, str], RecordSet]:
    result = dict(held)
    for change in changes:
        key = (change.name, change.type)
        assert change.action in ("CREATE", "UPSERT")
        if change.action == "CREATE":
            assert key not in result, f"CREATE over an existing {key}"
        result[key] = RecordSet(change.name, change.type, change.ttl, change.values)
    return result


def wanted() -> list[Wanted]:
    return [
        Wanted(
            r.record, (Finding.about(IdentityKey(IDENTITY.region, IDENTITY.name), r.reason, "missing", fixable=True),)
        )
        for r in REQUIRED
    ]


def count(values: tuple[str, ...], test) -> int:
    return sum(1 for v in values if test(route53_txt(v)))


@settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(held=zones())
def test_given_any_zone_when_the_plan_is_applied_then_nothing_is_lost_or_doubled_and_replanning_is_empty(held):
    changes, _ = plan_zone(ZONE, delegated(ZONE, held), wanted(), ttl=1800)
    after = apply_like_route53(held, changes)

    for key, before in held.items():
        now = after[key]
        assert now.values[: len(before.values)] == before.values, f"{key} lost or altered a value"
        assert now.ttl == before.ttl
        if key[1] in ("CNAME", "MX") or before.alias:
            assert now == before, f"{key} was replaced"
    for name in NAMES:
        types = {t for (n, t) in after if n == name}
        if "CNAME" in types:
            assert types == {"CNAME"}, f"a CNAME beside other data at {name}"
        old = held.get((name, "TXT"))
        new = after.get((name, "TXT"))
        for kind, test in (("SPF", looks_like_spf), ("DMARC", looks_like_dmarc)):
            had, has = count(old.values if old else (), test), count(new.values if new else (), test)
            # A record of a kind is only ever added where there was none of that kind.
            assert has == had or (had == 0 and has == 1), f"{kind} records at {name}: {had} -> {has}"
    replanned, _ = plan_zone(ZONE, delegated(ZONE, after), wanted(), ttl=1800)
    assert replanned == []


def test_given_an_empty_zone_when_planned_then_every_record_is_created_once():
    changes, skipped = plan_zone(ZONE, delegated(ZONE), wanted(), ttl=1800)

    assert skipped == []
    assert sorted((c.action, c.name, c.type) for c in changes) == sorted(
        ("CREATE", r.record.name, r.record.type) for r in REQUIRED
    )
    dmarc = next(c for c in changes if c.reason is Code.DMARC_MISSING)
    assert dmarc.values == ('"v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com"',)
