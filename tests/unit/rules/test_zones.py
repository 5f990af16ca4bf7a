"""pick_zone: the most specific public Route 53 zone that contains a name."""

from dataclasses import replace

from core.kernel.models import Answer, Zone, ZoneView
from core.rules.zones import not_delegated, pick_zone, seen_delegated, undetermined, unseen
from tests.unit.views import ROUTE53_NS, delegated, elsewhere, ns_unread, unread

PARENT = Zone(id="Z1", name="example.com", private=False)
PRIVATE_SAME = Zone(id="Z2", name="example.com", private=True)
DELEGATED = Zone(id="Z3", name="mail.example.com", private=False)
PRIVATE_DEEPER = Zone(id="Z4", name="bounce.mail.example.com", private=True)
LOOKALIKE = Zone(id="Z5", name="ample.com", private=False)


def test_given_parent_and_delegated_subzone_when_picking_a_name_below_both_then_the_subzone_wins() -> None:
    assert pick_zone("bounce.mail.example.com", [PARENT, DELEGATED]) == DELEGATED
    assert pick_zone("bounce.mail.example.com", [DELEGATED, PARENT]) == DELEGATED


def test_given_parent_and_subzone_when_picking_a_sibling_of_the_subzone_then_the_parent_answers() -> None:
    assert pick_zone("_dmarc.example.com", [PARENT, DELEGATED]) == PARENT


def test_given_a_private_zone_with_the_same_name_when_picking_then_only_the_public_zone_is_a_candidate() -> None:
    assert pick_zone("example.com", [PRIVATE_SAME, PARENT]) == PARENT
    assert pick_zone("x.example.com", [PARENT, PRIVATE_SAME]) == PARENT


def test_given_only_private_zones_when_picking_then_there_is_no_zone() -> None:
    assert pick_zone("a.bounce.mail.example.com", [PRIVATE_SAME, PRIVATE_DEEPER]) is None


def test_given_a_more_specific_private_zone_when_picking_then_the_public_parent_still_answers() -> None:
    assert pick_zone("bounce.mail.example.com", [PARENT, DELEGATED, PRIVATE_DEEPER]) == DELEGATED


def test_given_no_containing_zone_when_picking_then_there_is_no_zone() -> None:
    assert pick_zone("example.org", [PARENT, DELEGATED]) is None
    assert pick_zone("com", [PARENT]) is None
    assert pick_zone("example.com", []) is None


def test_given_a_zone_named_like_a_suffix_when_picking_then_it_is_not_a_parent() -> None:
    assert pick_zone("example.com", [LOOKALIKE]) is None
    assert pick_zone("www.example.com", [LOOKALIKE, PARENT]) == PARENT


def test_given_mixed_case_and_trailing_dots_when_picking_then_names_compare_as_dns_does() -> None:
    shouting = Zone(id="Z6", name="Mail.Example.COM.", private=False)
    assert pick_zone("BOUNCE.mail.example.com.", [PARENT, shouting]) == shouting
    assert pick_zone("Example.Com.", [PARENT]) == PARENT


def test_given_an_idn_zone_when_picking_a_unicode_name_then_it_matches_the_a_label_zone() -> None:
    idn = Zone(id="Z7", name="xn--bcher-kva.example", private=False)
    assert pick_zone("mail.bücher.example", [idn]) == idn


# --- does the world see the zone? ---------------------------------------------------------------------------------

SEEN = Zone("Z1", "example.com", False)


def test_given_live_ns_equal_to_route53_s_in_any_case_or_order_when_judged_then_the_zone_is_seen() -> None:
    upper = tuple(reversed([ns.upper() + "." for ns in ROUTE53_NS]))
    view = replace(delegated(SEEN), name_servers=upper)

    assert unseen(view) == ""
    assert not_delegated(view) == ""


def test_given_live_ns_of_another_provider_when_judged_then_not_delegated_names_both_sets() -> None:
    why = not_delegated(elsewhere(SEEN))

    assert "ns1.old-provider.example.org" in why
    assert ROUTE53_NS[0] in why
    assert unseen(elsewhere(SEEN)) == why


def test_given_only_some_of_route53_s_servers_live_when_judged_then_not_delegated() -> None:
    view = replace(delegated(SEEN), live_ns=Answer("example.com", "NS", "OK", ROUTE53_NS[:1]))

    assert not_delegated(view)


def test_given_no_ns_at_all_live_when_judged_then_not_delegated_says_so() -> None:
    view = replace(delegated(SEEN), live_ns=Answer("example.com", "NS", "NXDOMAIN"))

    assert "no name servers" in not_delegated(view)


def test_given_a_failed_or_missing_ns_lookup_when_judged_then_unknown_is_unseen_but_not_undelegated() -> None:
    for view in (ns_unread(SEEN), replace(delegated(SEEN), live_ns=None)):
        assert not_delegated(view) == ""
        assert unseen(view)


def test_given_no_zone_when_judged_then_nothing_to_see() -> None:
    assert unseen(ZoneView(zone=None)) == not_delegated(ZoneView(zone=None)) == ""


def test_given_each_delegation_when_judged_then_only_a_seen_one_is_delegated_and_only_a_fault_undetermined() -> None:
    judged = {
        name: (seen_delegated(view), bool(undetermined(view)))
        for name, view in {
            "delegated": delegated(PARENT),
            "elsewhere": elsewhere(PARENT),
            "ns failed": ns_unread(PARENT),
            "ns not looked up": ZoneView(PARENT, ROUTE53_NS),
            "zone unread": unread(PARENT),
            "zones unread": ZoneView(None, unread="ListHostedZones failed"),
            "no zone": ZoneView(None),
        }.items()
    }

    assert judged == {
        "delegated": (True, False),
        "elsewhere": (False, False),
        "ns failed": (False, True),
        "ns not looked up": (False, True),
        "zone unread": (False, True),
        "zones unread": (False, True),
        "no zone": (False, False),
    }
    assert "timeout" in undetermined(ns_unread(PARENT))
