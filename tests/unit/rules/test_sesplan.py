"""The opt-in SES fixes, planned from the audit and the answers to the plan's own questions, without I/O."""

from __future__ import annotations

import pytest

from core.kernel.models import (
    Code,
    DkimState,
    Finding,
    Identity,
    IdentityKey,
    MailFromState,
    Placement,
    Record,
    RecordSet,
    Zone,
)
from core.kernel.settings import Settings
from core.rules.sesplan import SesFacts, SesQuestions, Signing, plan_ses, questions
from tests.unit.views import delegated, elsewhere, ns_unread, unread

EU, US = "eu-west-1", "us-east-1"
ZONE = Zone("Z1", "example.com", private=False)
ON = Settings(regions=(EU,), configure_mail_from=True, upgrade_dkim_keys=True, mail_from_subdomain="bounce")


def identity(name: str = "shop.example.com", region: str = EU, status: str = "SUCCESS") -> Identity:
    dkim = DkimState(signing_enabled=True, status="SUCCESS", tokens=("t1", "t2", "t3"))
    return Identity(name, region, "DOMAIN", status, dkim=dkim, mail_from=MailFromState())


def no_mail_from(who: Identity) -> Finding:
    return Finding.about(IdentityKey(who.region, who.name), Code.MAIL_FROM_NOT_CONFIGURED, "No MAIL FROM.")


def weak(who: Identity) -> Finding:
    return Finding.about(IdentityKey(who.region, who.name), Code.DKIM_KEY_WEAK, "1024-bit key.")


def placed(*identities: Identity, records: dict[tuple[str, str], RecordSet] | None = None) -> Placement:
    return Placement({i.key: ZONE for i in identities}, {ZONE: delegated(ZONE, records)})


def test_given_a_verified_identity_in_our_zone_with_a_free_name_when_planned_then_ses_and_route53_get_the_fix():
    shop = identity()
    finding = no_mail_from(shop)

    plan = plan_ses([shop], [finding], placed(shop), ON, SesFacts())

    [action] = plan.actions
    assert (action.change.action, action.change.name, action.change.values) == (
        "SES_SET_MAIL_FROM", "shop.example.com", ("bounce.shop.example.com",),
    )  # fmt: skip
    assert action.change.applied is False
    assert action.finding == finding
    assert action.done.fixable
    assert action.done.records == (
        Record("bounce.shop.example.com", "MX", ("10 feedback-smtp.eu-west-1.amazonses.com",)),
        Record("bounce.shop.example.com", "TXT", ("v=spf1 include:amazonses.com ~all",)),
    )
    assert [w.record for w in action.wanted] == list(action.done.records)
    assert all(w.findings == (action.done,) for w in action.wanted)
    assert plan.findings == (finding,)


def test_given_the_name_held_in_route53_when_asked_and_planned_then_dns_is_not_asked_and_ses_is_left_alone():
    shop = identity()
    held = {("bounce.shop.example.com", "A"): RecordSet("bounce.shop.example.com", "A", 300, ("192.0.2.1",))}
    placement = placed(shop, records=held)

    asked = questions([shop], [no_mail_from(shop)], placement, ON)
    plan = plan_ses([shop], [no_mail_from(shop)], placement, ON, SesFacts())

    assert asked.names == ()
    assert plan.actions == ()
    assert "bounce.shop.example.com is already in use" in plan.findings[0].message


def test_given_the_name_answering_in_live_dns_when_planned_then_ses_is_left_alone():
    shop = identity()

    asked = questions([shop], [no_mail_from(shop)], placed(shop), ON)
    plan = plan_ses([shop], [no_mail_from(shop)], placed(shop), ON, SesFacts(in_use=frozenset(asked.names)))

    assert asked == SesQuestions(names=("bounce.shop.example.com",))
    assert plan.actions == ()
    assert "already in use" in plan.findings[0].message


def test_given_one_domain_in_two_regions_when_planned_then_neither_gets_the_shared_name():
    eu, us = identity(region=EU), identity(region=US)
    findings = [no_mail_from(eu), no_mail_from(us)]

    plan = plan_ses([eu, us], findings, placed(eu, us), ON, SesFacts())

    assert plan.actions == ()
    assert all("in another region too" in f.message for f in plan.findings)


def test_given_an_unverified_identity_or_one_without_our_zone_when_planned_then_the_finding_stays_as_it_was():
    unverified, elsewhere = identity("new.example.com", status="PENDING"), identity("other.example.org")
    findings = [no_mail_from(unverified), no_mail_from(elsewhere)]
    placement = Placement({unverified.key: ZONE, elsewhere.key: None}, {ZONE: delegated(ZONE)})

    plan = plan_ses([unverified, elsewhere], findings, placement, ON, SesFacts())

    assert plan.actions == ()
    assert plan.findings == tuple(findings)
    assert questions([unverified, elsewhere], findings, placement, ON) == SesQuestions()


def test_given_an_easy_dkim_1024_bit_key_when_planned_then_ses_is_asked_for_2048_bit_keys():
    shop = identity()

    asked = questions([shop], [weak(shop)], placed(shop), ON)
    facts = SesFacts(signing={shop.key: Signing("AWS_SES", "RSA_1024_BIT")})
    [action] = plan_ses([shop], [weak(shop)], placed(shop), ON, facts).actions

    assert asked.signing == (shop.key,)
    assert (action.change.action, action.change.values) == ("SES_DKIM_2048", ("RSA_2048_BIT",))
    assert action.planned.message.endswith("A live run would ask SES for 2048-bit keys from the next rotation.")
    assert action.done.message.endswith("SES was asked for 2048-bit keys from the next rotation.")
    assert action.failure == "Asking SES for 2048-bit keys failed"


def test_given_keys_that_are_not_ses_own_or_already_moving_when_planned_then_no_action_and_the_finding_says_why():
    shop = identity()
    cases = {
        Signing("EXTERNAL", "RSA_1024_BIT"): "1024-bit key.",
        Signing("AWS_SES_US_EAST_1", "RSA_1024_BIT"): "1024-bit key.",
        Signing("AWS_SES", "RSA_2048_BIT"): "1024-bit key. SES moves to 2048-bit keys at its next rotation.",
        Signing(error="throttled"): "1024-bit key. Asking SES for 2048-bit keys failed: throttled.",
    }
    for signing, message in cases.items():
        plan = plan_ses([shop], [weak(shop)], placed(shop), ON, SesFacts(signing={shop.key: signing}))

        assert plan.actions == ()
        assert [f.message for f in plan.findings] == [message]


def test_given_the_fixes_turned_off_when_planned_then_nothing_is_asked_or_planned():
    shop = identity()
    findings = [no_mail_from(shop), weak(shop)]
    off = Settings(regions=(EU,))

    assert questions([shop], findings, placed(shop), off) == SesQuestions()
    assert plan_ses([shop], findings, placed(shop), off, SesFacts()).findings == tuple(findings)


@pytest.mark.parametrize(
    ("view", "why"),
    [
        (elsewhere(ZONE), "live DNS delegates example.com to ns1.old-provider.example.org"),
        (ns_unread(ZONE), "the live NS of example.com could not be read (timeout)"),
        (unread(ZONE), "the Route 53 zone example.com (Z1) could not be read (route53 ListResourceRecordSets"),
    ],
    ids=["not-delegated", "ns-unread", "zone-unread"],
)
def test_given_a_zone_receivers_may_not_see_when_planned_then_no_mail_from_name_is_picked_and_the_finding_says_why(
    view, why
):
    shop = identity()
    placement = Placement({shop.key: ZONE}, {ZONE: view})

    asked = questions([shop], [no_mail_from(shop)], placement, ON)
    plan = plan_ses([shop], [no_mail_from(shop)], placement, ON, SesFacts())

    assert asked.names == ()
    assert plan.actions == ()
    assert "ses-guard did not set bounce.shop.example.com as its MAIL FROM domain" in plan.findings[0].message
    assert why in plan.findings[0].message
