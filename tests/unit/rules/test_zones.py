"""pick_zone: the most specific public Route 53 zone that contains a name."""

from core.kernel.models import Zone
from core.rules.zones import pick_zone

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
