"""Easy DKIM findings from SES's state, live DNS at the token names and Route 53's view of them."""

from __future__ import annotations

import pytest

from core.checks.dkim import check_dkim
from core.kernel.models import (
    Answer,
    AnswerStatus,
    Code,
    DkimObservation,
    DkimState,
    DomainObservation,
    Identity,
    Record,
    RecordSet,
    Zone,
)
from core.rules.safety import blocker
from tests.keys import RSA_1024_SPKI, RSA_2048_SPKI
from tests.unit.checks.helpers import codes, only, view

SIGNING_ZONE = "dkim.amazonses.com"
TOKENS = ("t0kenaaaaaaaaaaaaaaaaaaaaaaaaaaa", "t0kenbbbbbbbbbbbbbbbbbbbbbbbbbbb", "t0kenccccccccccccccccccccccccccc")
KEY_2048 = f"v=DKIM1; k=rsa; p={RSA_2048_SPKI}"
KEY_1024 = f"v=DKIM1; k=rsa; p={RSA_1024_SPKI}"


def identity(
    domain: str = "example.com", *, verified: str = "SUCCESS", signing: bool = True, zone: str = SIGNING_ZONE
) -> Identity:
    dkim = DkimState(signing_enabled=signing, status="SUCCESS", tokens=TOKENS, signing_hosted_zone=zone)
    return Identity(domain, "eu-west-1", "DOMAIN", verified, dkim=dkim)


def name_of(token: str, domain: str = "example.com") -> str:
    return f"{token}._domainkey.{domain}"


def target_of(token: str) -> str:
    return f"{token}.{SIGNING_ZONE}"


def good(token: str, key: str = KEY_2048, domain: str = "example.com") -> DkimObservation:
    name = name_of(token, domain)
    return DkimObservation(token, name, target_of(token), Answer(name, "TXT", "OK", (key,), cname=target_of(token)))


def absent(token: str, status: AnswerStatus = "NXDOMAIN") -> DkimObservation:
    """No CNAME at the name: it does not exist (NXDOMAIN) or holds neither a CNAME nor a TXT (NODATA)."""
    name = name_of(token)
    return DkimObservation(token, name, target_of(token), Answer(name, "TXT", status))


def observe(*tokens: DkimObservation, domain: str = "example.com") -> DomainObservation:
    return DomainObservation(domain=domain, dkim=tokens)


def test_given_three_good_cnames_and_2048_bit_keys_when_checked_then_nothing_is_found() -> None:
    assert check_dkim(identity(), observe(*(good(t) for t in TOKENS)), view()) == []


def test_given_signing_disabled_when_checked_then_signing_disabled() -> None:
    findings = check_dkim(identity(signing=False), observe(*(good(t) for t in TOKENS)), view())
    assert codes(findings) == [Code.DKIM_SIGNING_DISABLED]
    assert not findings[0].fixable


def test_given_two_tokens_missing_when_checked_then_one_finding_lists_both_records_to_create() -> None:
    obs = observe(good(TOKENS[0]), absent(TOKENS[1]), absent(TOKENS[2], "NODATA"))
    findings = check_dkim(identity(), obs, view())
    missing = only(findings, Code.DKIM_RECORD_MISSING)
    assert codes(findings) == [Code.DKIM_RECORD_MISSING]
    assert missing.records == (
        Record(name_of(TOKENS[1]), "CNAME", (target_of(TOKENS[1]),)),
        Record(name_of(TOKENS[2]), "CNAME", (target_of(TOKENS[2]),)),
    )
    assert missing.fixable
    assert name_of(TOKENS[1]) in missing.message


def test_given_a_regional_signing_zone_when_a_token_is_missing_then_the_record_points_into_that_zone() -> None:
    name = name_of(TOKENS[0])
    regional = f"{TOKENS[0]}.dkim.eu-south-2.amazonses.com"
    obs = observe(DkimObservation(TOKENS[0], name, regional, Answer(name, "TXT", "NXDOMAIN")))
    missing = only(check_dkim(identity(zone="dkim.eu-south-2.amazonses.com"), obs, view()), Code.DKIM_RECORD_MISSING)
    assert missing.records == (Record(name, "CNAME", (regional,)),)


def test_given_no_route53_zone_when_tokens_are_missing_then_not_fixable() -> None:
    missing = only(check_dkim(identity(), observe(absent(TOKENS[0])), view(zone=None)), Code.DKIM_RECORD_MISSING)
    assert not missing.fixable
    assert "no public Route 53 hosted zone" in missing.message


def test_given_route53_holds_a_txt_at_the_token_name_when_the_cname_is_missing_then_not_fixable() -> None:
    held = RecordSet(name_of(TOKENS[0]), "TXT", 300, ('"v=DKIM1; p=old"',))
    missing = only(check_dkim(identity(), observe(absent(TOKENS[0])), view(held)), Code.DKIM_RECORD_MISSING)
    assert not missing.fixable
    assert "TXT" in missing.message


def test_given_route53_already_holds_the_cname_when_live_dns_lacks_it_then_not_propagated() -> None:
    held = RecordSet(name_of(TOKENS[0]), "CNAME", 1800, (target_of(TOKENS[0]).upper() + ".",))
    findings = check_dkim(identity(), observe(absent(TOKENS[0]), good(TOKENS[1]), good(TOKENS[2])), view(held))
    assert codes(findings) == [Code.DNS_NOT_PROPAGATED]
    assert findings[0].records == (Record(name_of(TOKENS[0]), "CNAME", (target_of(TOKENS[0]),), "found"),)


def test_given_a_cname_to_another_target_when_checked_then_conflict_shows_what_is_there() -> None:
    name = name_of(TOKENS[0])
    other = DkimObservation(
        TOKENS[0],
        name,
        target_of(TOKENS[0]),
        Answer(name, "TXT", "OK", (KEY_1024,), cname="selector1.mailprovider.example"),
    )
    findings = check_dkim(identity(), observe(other, good(TOKENS[1]), good(TOKENS[2])), view())
    conflict = only(findings, Code.DKIM_RECORD_CONFLICT)
    assert codes(findings) == [Code.DKIM_RECORD_CONFLICT]  # someone else's weak key is not ours to judge
    assert conflict.records == (
        Record(name, "CNAME", ("selector1.mailprovider.example",), "found"),
        Record(name, "CNAME", (target_of(TOKENS[0]),), "required"),
    )
    assert not conflict.fixable


def test_given_a_txt_key_instead_of_the_cname_when_checked_then_conflict_shows_the_txt() -> None:
    name = name_of(TOKENS[0])
    txt_only = DkimObservation(TOKENS[0], name, target_of(TOKENS[0]), Answer(name, "TXT", "OK", (KEY_2048,)))
    conflict = only(check_dkim(identity(), observe(txt_only), view()), Code.DKIM_RECORD_CONFLICT)
    assert conflict.records == (
        Record(name, "TXT", (KEY_2048,), "found"),
        Record(name, "CNAME", (target_of(TOKENS[0]),), "required"),
    )


def test_given_1024_bit_keys_when_checked_then_one_weak_key_finding_names_the_keys() -> None:
    obs = observe(good(TOKENS[0], KEY_1024), good(TOKENS[1], KEY_1024), good(TOKENS[2]))
    weak = only(check_dkim(identity(), obs, view()), Code.DKIM_KEY_WEAK)
    assert "1024-bit" in weak.message
    assert [r.name for r in weak.records] == [target_of(TOKENS[0]), target_of(TOKENS[1])]
    assert not weak.fixable


def test_given_an_idn_domain_when_checked_then_its_a_label_names_are_used() -> None:
    domain = "xn--bcher-kva.example"
    obs = observe(good(TOKENS[0], domain=domain), domain=domain)
    assert check_dkim(identity(domain), obs, view(zone=Zone("/hostedzone/Z2", domain, private=False))) == []


def test_given_the_cname_query_failed_when_checked_then_check_failed_names_the_name_and_reason() -> None:
    name = name_of(TOKENS[0])
    failed = DkimObservation(
        TOKENS[0],
        name,
        target_of(TOKENS[0]),
        Answer(name, "TXT", "FAILED", error="timeout after 5s"),
        cname_query=Answer(name, "CNAME", "FAILED", error="timeout after 5s"),
    )
    findings = check_dkim(identity(), observe(failed, good(TOKENS[1])), view())
    assert codes(findings) == [Code.CHECK_FAILED]
    assert name in findings[0].message
    assert "timeout after 5s" in findings[0].message


def test_given_the_key_query_failed_behind_a_good_cname_when_checked_then_check_failed() -> None:
    name = name_of(TOKENS[0])
    failed_key = DkimObservation(
        TOKENS[0],
        name,
        target_of(TOKENS[0]),
        Answer(name, "TXT", "FAILED", error="SERVFAIL from 192.0.2.53:53"),
        cname_query=Answer(name, "CNAME", "OK", (target_of(TOKENS[0]),)),
    )
    findings = check_dkim(identity(), observe(failed_key), view())
    assert codes(findings) == [Code.CHECK_FAILED]
    assert "SERVFAIL" in findings[0].message


def test_given_an_unverified_domain_with_missing_records_when_checked_then_verification_is_fixable() -> None:
    findings = check_dkim(identity(verified="PENDING"), observe(*(absent(t) for t in TOKENS)), view())
    unverified = only(findings, Code.IDENTITY_NOT_VERIFIED)
    assert codes(findings) == sorted([Code.DKIM_RECORD_MISSING, Code.IDENTITY_NOT_VERIFIED])
    assert unverified.fixable
    assert "DKIM" in unverified.message
    assert len(unverified.records) == 3


def test_given_an_unverified_domain_whose_records_are_in_place_when_checked_then_not_fixable() -> None:
    findings = check_dkim(identity(verified="FAILED"), observe(*(good(t) for t in TOKENS)), view())
    unverified = only(findings, Code.IDENTITY_NOT_VERIFIED)
    assert not unverified.fixable
    assert unverified.records == ()


def test_given_byodkim_when_checked_then_only_ses_state_is_judged() -> None:
    dkim = DkimState(signing_enabled=True, status="SUCCESS", tokens=("selector1",), origin="EXTERNAL")
    byodkim = Identity("example.com", "eu-west-1", "DOMAIN", "PENDING", dkim=dkim)
    findings = check_dkim(byodkim, observe(), view())
    assert codes(findings) == [Code.IDENTITY_NOT_VERIFIED]
    assert "BYODKIM" in findings[0].message


def test_given_an_address_identity_when_checked_then_nothing_is_judged_here() -> None:
    address = Identity("ops@example.com", "eu-west-1", "EMAIL_ADDRESS", "PENDING")
    assert check_dkim(address, observe(), view()) == []


@pytest.mark.parametrize(
    ("held", "fragment"),
    [
        (RecordSet("x._domainkey.example.com", "CNAME", 300, ("elsewhere.example.net",)), "CNAME"),
        (RecordSet("x._domainkey.example.com", "A", 300, ("192.0.2.1",)), "A"),
        (RecordSet("x._domainkey.example.com", "NS", 300, ("ns1.example.net",)), "delegated"),
    ],
)
def test_given_any_record_at_a_dkim_name_when_asked_to_create_the_cname_then_refused(
    held: RecordSet, fragment: str
) -> None:
    reason = blocker(view(held), Record("x._domainkey.example.com", "CNAME", ("x.dkim.amazonses.com",)))
    assert fragment in reason


def test_given_a_name_outside_the_zone_when_asked_to_create_then_refused() -> None:
    reason = blocker(view(), Record("x._domainkey.example.org", "CNAME", ("x.dkim.amazonses.com",)))
    assert "outside the hosted zone" in reason


def test_given_a_cname_into_another_ses_signing_zone_when_checked_then_it_is_accepted() -> None:
    token = TOKENS[0]
    other = DkimObservation(
        token=token,
        name=f"{token}._domainkey.example.com",
        expected_target=f"{token}.dkim.amazonses.com",
        txt=Answer(
            f"{token}._domainkey.example.com",
            "TXT",
            "OK",
            (KEY_2048,),
            cname=f"{token}.dkim.eu-central-1.amazonses.com",
        ),
    )

    findings = check_dkim(identity(), observe(other, *(good(t) for t in TOKENS[1:])), view())

    assert findings == []


def replica(verified: str = "SUCCESS", error: str = "") -> Identity:
    dkim = DkimState(True, "SUCCESS", TOKENS, SIGNING_ZONE, origin="AWS_SES_EU_WEST_1")
    return Identity("example.com", "us-east-1", "DOMAIN", verified, dkim=dkim, verification_error=error)


def test_given_a_replica_whose_parents_cnames_resolve_when_checking_then_nothing_is_found() -> None:
    obs = DomainObservation("example.com", dkim=tuple(good(t) for t in TOKENS))

    assert check_dkim(replica(), obs, view()) == []


def test_given_a_replica_with_missing_cnames_when_checking_then_the_finding_points_at_the_parent_unfixable() -> None:
    obs = DomainObservation("example.com", dkim=(good(TOKENS[0]), absent(TOKENS[1]), absent(TOKENS[2])))

    found = check_dkim(replica(verified="PENDING"), obs, view())

    missing = only(found, Code.DKIM_RECORD_MISSING)
    assert missing.fixable is False
    assert "copies its DKIM from example.com in eu-west-1" in missing.message
    assert [r.name for r in missing.records] == [name_of(TOKENS[1]), name_of(TOKENS[2])]
    not_verified = only(found, Code.IDENTITY_NOT_VERIFIED)
    assert not_verified.fixable is False
    assert "example.com in eu-west-1" in not_verified.message


def test_given_a_failed_replication_when_checking_then_identity_not_verified_names_it() -> None:
    obs = DomainObservation("example.com", dkim=tuple(good(t) for t in TOKENS))

    found = check_dkim(replica(verified="FAILED", error="REPLICATION_PRIMARY_BYO_DKIM_NOT_SUPPORTED"), obs, view())

    assert codes(found) == [Code.IDENTITY_NOT_VERIFIED]
    assert "REPLICATION_PRIMARY_BYO_DKIM_NOT_SUPPORTED" in found[0].message
    assert "from example.com in eu-west-1" in found[0].message
    assert found[0].fixable is False


def test_given_an_own_easy_dkim_identity_with_missing_cnames_when_checking_then_it_stays_fixable() -> None:
    obs = DomainObservation("example.com", dkim=(absent(TOKENS[0]), good(TOKENS[1]), good(TOKENS[2])))

    assert only(check_dkim(identity(), obs, view()), Code.DKIM_RECORD_MISSING).fixable is True


# -- the CNAME as the one TXT answer shows it ------------------------------------------------------------------


def txt_answer(token: str, status: AnswerStatus, *values: str, cname: str = "", error: str = "") -> DkimObservation:
    name = name_of(token)
    return DkimObservation(token, name, target_of(token), Answer(name, "TXT", status, values, cname, error))


@pytest.mark.parametrize("status", ["NXDOMAIN", "NODATA"])
def test_given_the_right_cname_to_a_target_without_key_when_checked_then_nothing_is_found(status) -> None:
    # The chain's end holds no key (NODATA) or does not exist (NXDOMAIN): the CNAME SES checks is in place.
    obs = observe(txt_answer(TOKENS[0], status, cname=target_of(TOKENS[0])), good(TOKENS[1]), good(TOKENS[2]))

    assert check_dkim(identity(), obs, view()) == []


def test_given_a_name_holding_other_data_but_no_cname_or_txt_when_checked_then_the_cname_is_missing() -> None:
    missing = only(check_dkim(identity(), observe(txt_answer(TOKENS[0], "NODATA")), view()), Code.DKIM_RECORD_MISSING)

    assert missing.records == (Record(name_of(TOKENS[0]), "CNAME", (target_of(TOKENS[0]),)),)


def test_given_a_chain_whose_first_hop_is_not_ses_when_checked_then_the_conflict_names_the_first_hop() -> None:
    # Two hops, the owner's own name first: a key at the end does not make the CNAME SES checks right.
    chained = txt_answer(TOKENS[0], "OK", KEY_2048, cname="dkim1.example.com")

    conflict = only(check_dkim(identity(), observe(chained), view()), Code.DKIM_RECORD_CONFLICT)

    assert conflict.records[0] == Record(name_of(TOKENS[0]), "CNAME", ("dkim1.example.com",), "found")


def test_given_a_failed_txt_query_and_a_wrong_cname_when_checked_then_conflict_not_check_failed() -> None:
    name = name_of(TOKENS[0])
    failed_behind = DkimObservation(
        TOKENS[0],
        name,
        target_of(TOKENS[0]),
        Answer(name, "TXT", "FAILED", error="SERVFAIL from 192.0.2.53:53"),
        cname_query=Answer(name, "CNAME", "OK", ("broken.mailprovider.example",)),
    )

    assert codes(check_dkim(identity(), observe(failed_behind), view())) == [Code.DKIM_RECORD_CONFLICT]


@pytest.mark.parametrize("status", ["NXDOMAIN", "NODATA"])
def test_given_a_failed_txt_query_and_no_cname_when_checked_then_the_cname_is_missing(status) -> None:
    name = name_of(TOKENS[0])
    no_cname = DkimObservation(
        TOKENS[0],
        name,
        target_of(TOKENS[0]),
        Answer(name, "TXT", "FAILED", error="SERVFAIL from 192.0.2.53:53"),
        cname_query=Answer(name, "CNAME", status),
    )

    assert codes(check_dkim(identity(), observe(no_cname), view())) == [Code.DKIM_RECORD_MISSING]


def test_given_a_failed_txt_query_and_no_cname_query_when_checked_then_check_failed_never_missing() -> None:
    failed = txt_answer(TOKENS[0], "FAILED", error="time budget spent")

    findings = check_dkim(identity(), observe(failed), view())

    assert codes(findings) == [Code.CHECK_FAILED]
    assert f"the CNAME at {name_of(TOKENS[0])} (time budget spent)" in findings[0].message
