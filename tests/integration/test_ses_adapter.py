"""SesRegion against moto's server on loopback: what it reads, and how many SES calls it spends doing so."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from core.adapters.aws import Clients, boto_config, ses_regions
from core.adapters.ses import Pacer, SesRegion
from core.kernel.errors import AwsError
from core.kernel.models import AccountState, DkimState, IdentityKey, MailFromState
from core.rules.replicas import replica_candidates, settle_origins
from tests.fake_clock import FakeClock
from tests.fidelity import seed_identity
from tests.fixtures_aws import REGION, LocalAws

BUDGET = 0.035  # SES calls per identity at 1,000+ identities


def reader(aws: LocalAws, *, max_rps: float = 1.0, max_attempts: int = 10) -> tuple[SesRegion, FakeClock]:
    clock = FakeClock()
    clients = Clients.for_region(aws.session(), REGION, boto_config(max_attempts=max_attempts))
    pacer = Pacer(max_rps, clock=clock, sleep=clock.sleep)
    return SesRegion(clients.sesv2, clients.ses, REGION, pacer=pacer), clock


def ses_calls(aws: LocalAws) -> int:
    return aws.calls.count(service="ses", region=REGION)


def test_given_1000_domains_and_200_addresses_when_reading_then_ses_calls_stay_within_budget_and_pace(
    aws: LocalAws,
) -> None:
    for i in range(1000):
        mail_from = f"bounce.d{i}.example.com" if i % 2 else None
        seed_identity(aws, REGION, f"d{i}.example.com", mail_from=mail_from, through_api=False)
    for i in range(200):
        seed_identity(aws, REGION, f"user{i}@example.net", through_api=False)
    ses, clock = reader(aws, max_rps=1.0)

    identities = ses.read_identities()
    account = ses.read_account()  # the audit's one call per region for the account's state

    assert len(identities) == 1200
    assert account == AccountState(REGION)  # the fidelity layer's default: healthy, in production, sending
    calls = ses_calls(aws)
    assert calls == ses.calls_made
    assert calls / len(identities) <= BUDGET
    assert aws.calls.count(operation="ListEmailIdentities") == 2  # 1,000 per page
    assert aws.calls.count(operation="GetIdentityDkimAttributes") == 10  # 100 per call, domains only
    assert aws.calls.count(operation="GetIdentityMailFromDomainAttributes") == 10
    assert aws.calls.count(operation="GetEmailIdentity") == 1  # the region's signing zone
    assert aws.calls.count(operation="GetIdentityVerificationAttributes") == 0
    assert aws.calls.count(operation="GetAccount") == 1
    # Every call but the first waited for its slot, and the slots never ran faster than max_rps.
    assert len(clock.sleeps) == calls - 1
    assert (calls - 1) / sum(clock.sleeps) <= 1.0


def test_given_a_faster_pace_when_reading_then_the_paced_rate_follows_max_rps(aws: LocalAws) -> None:
    for i in range(150):
        seed_identity(aws, REGION, f"d{i}.example.org", through_api=False)
    ses, clock = reader(aws, max_rps=4.0)

    ses.read_identities()

    calls = ses_calls(aws)
    assert calls == 6  # list, 2 DKIM batches, 2 MAIL FROM batches, 1 signing-zone probe
    assert sum(clock.sleeps) == pytest.approx((calls - 1) / 4.0)


def test_given_identities_in_every_state_when_reading_then_each_comes_back_with_its_own_state(aws: LocalAws) -> None:
    zone = "dkim.eu-west-1.example-ses.test"
    good = seed_identity(
        aws,
        REGION,
        "good.example.com",
        mail_from="bounce.good.example.com",
        signing_hosted_zone=zone,
    )
    pending = seed_identity(
        aws,
        REGION,
        "pending.example.com",
        verification="PENDING",
        dkim_status="PENDING",
        mail_from="mf.pending.example.com",
        mail_from_status="PENDING",
        behavior="REJECT_MESSAGE",
        signing_hosted_zone=zone,
    )
    failing = seed_identity(
        aws,
        REGION,
        "failing.example.com",
        verification="FAILED",
        dkim_status="TEMPORARY_FAILURE",
        mail_from="mf.failing.example.com",
        mail_from_status="FAILED",
        signing_hosted_zone=zone,
    )
    disabled = seed_identity(
        aws, REGION, "nodkim.example.com", dkim_enabled=False, dkim_status="NOT_STARTED", signing_hosted_zone=zone
    )
    managed = seed_identity(aws, REGION, "managed.example.com", kind="MANAGED_DOMAIN", signing_hosted_zone=zone)
    seed_identity(aws, REGION, "Someone@Example.COM", verification="PENDING")
    ses, _ = reader(aws)

    by_name = {identity.name: identity for identity in ses.read_identities()}

    assert set(by_name) == {
        "good.example.com",
        "pending.example.com",
        "failing.example.com",
        "nodkim.example.com",
        "managed.example.com",
        "someone@example.com",
    }
    assert by_name["good.example.com"].verification_status == "SUCCESS"
    assert by_name["good.example.com"].dkim == DkimState(True, "SUCCESS", good.tokens, zone)
    assert by_name["good.example.com"].mail_from == MailFromState("bounce.good.example.com", "SUCCESS")
    assert by_name["pending.example.com"].verification_status == "PENDING"
    assert by_name["pending.example.com"].dkim == DkimState(True, "PENDING", pending.tokens, zone)
    assert by_name["pending.example.com"].mail_from == MailFromState(
        "mf.pending.example.com", "PENDING", "REJECT_MESSAGE"
    )
    assert by_name["failing.example.com"].verification_status == "FAILED"
    # Its failed verification is read with GetEmailIdentity (a failed DKIM copy shows nowhere else), which also
    # gives the region's signing zone, so no other identity is probed for it.
    assert by_name["failing.example.com"].dkim == DkimState(True, "TEMPORARY_FAILURE", failing.tokens, zone, "AWS_SES")
    assert by_name["failing.example.com"].mail_from == MailFromState("mf.failing.example.com", "FAILED")
    assert by_name["nodkim.example.com"].dkim == DkimState(False, "NOT_STARTED", disabled.tokens, zone)
    assert by_name["nodkim.example.com"].mail_from == MailFromState()
    assert by_name["managed.example.com"].kind == "MANAGED_DOMAIN"
    assert by_name["managed.example.com"].dkim == DkimState(True, "SUCCESS", managed.tokens, zone)
    address = by_name["someone@example.com"]
    assert (address.kind, address.verification_status, address.dkim, address.mail_from) == (
        "EMAIL_ADDRESS",
        "PENDING",
        None,
        None,
    )
    tokens = [token for identity in by_name.values() if identity.dkim for token in identity.dkim.tokens]
    assert len(set(tokens)) == len(tokens) == 15


def test_given_byodkim_identities_when_reading_then_each_costs_exactly_one_get_email_identity(aws: LocalAws) -> None:
    for i in range(3):
        seed_identity(aws, REGION, f"easy{i}.example.com", through_api=False)
    seed_identity(aws, REGION, "byo1.example.com", origin="EXTERNAL", tokens=("sel1",), through_api=False)
    ses, _ = reader(aws)

    first = {identity.name: identity for identity in ses.read_identities()}
    one_byodkim = aws.calls.count(operation="GetEmailIdentity")
    seed_identity(aws, REGION, "byo2.example.com", origin="EXTERNAL", tokens=("sel2",), through_api=False)
    aws.calls.clear()
    second = {identity.name: identity for identity in ses.read_identities()}

    assert one_byodkim == 2  # the BYODKIM identity and the region's signing-zone probe
    assert aws.calls.count(operation="GetEmailIdentity") == 3
    assert first["byo1.example.com"].dkim == DkimState(True, "SUCCESS", ("sel1",), "dkim.amazonses.com", "EXTERNAL")
    assert second["byo2.example.com"].dkim is not None
    assert second["byo2.example.com"].dkim.origin == "EXTERNAL"
    assert second["easy0.example.com"].dkim is not None
    assert second["easy0.example.com"].dkim.origin == "AWS_SES"
    assert len(second["easy0.example.com"].dkim.tokens) == 3


def test_given_names_when_reading_then_only_those_identities_are_read_and_batched(aws: LocalAws) -> None:
    for i in range(250):
        seed_identity(aws, REGION, f"d{i}.example.com", through_api=False)
    seed_identity(aws, REGION, "ops@example.com", through_api=False)
    ses, _ = reader(aws)

    identities = ses.read_identities(["D7.Example.com.", "OPS@example.com", "absent.example.com"])

    assert sorted(identity.name for identity in identities) == ["d7.example.com", "ops@example.com"]
    assert aws.calls.count(operation="GetIdentityDkimAttributes") == 1
    assert aws.calls.count(operation="GetIdentityMailFromDomainAttributes") == 1


def test_given_no_identities_when_reading_then_only_the_listing_is_spent(aws: LocalAws) -> None:
    ses, _ = reader(aws)

    assert ses.read_identities() == []
    assert ses_calls(aws) == 1


def test_given_the_region_keeps_throttling_when_reading_then_aws_error_names_the_operation(aws: LocalAws) -> None:
    seed_identity(aws, REGION, "example.com")
    aws.fail("GetIdentityDkimAttributes", "Throttling", "Rate exceeded")
    ses, _ = reader(aws, max_attempts=1)

    with pytest.raises(AwsError) as raised:
        ses.read_identities()

    assert (raised.value.service, raised.value.operation, raised.value.code) == (
        "ses",
        "GetIdentityDkimAttributes",
        "Throttling",
    )
    assert aws.calls.count(operation="GetIdentityDkimAttributes") == 2  # the first attempt and one retry


def test_given_one_throttled_answer_when_reading_then_botocore_retries_and_the_read_succeeds(aws: LocalAws) -> None:
    seed_identity(aws, REGION, "example.com")
    aws.fail("ListEmailIdentities", "TooManyRequestsException", "Too many requests", status=429, times=1)
    ses, _ = reader(aws, max_attempts=3)

    identities = ses.read_identities()

    assert [identity.name for identity in identities] == ["example.com"]
    assert aws.calls.count(operation="ListEmailIdentities") == 2


def test_given_botocore_endpoint_data_when_listing_ses_regions_then_known_regions_are_offered(aws: LocalAws) -> None:
    regions = ses_regions(aws.session())

    assert {"eu-west-1", "us-east-1", "ap-southeast-2"} <= set(regions)
    assert len(regions) == len(set(regions))
    assert all(not region.startswith("cn-") for region in regions)


def test_given_an_endpoint_nobody_answers_when_reading_then_aws_error_names_the_call(aws: LocalAws) -> None:
    """Not an AWS error response but no response at all: the run must still get an AwsError it can record."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens here now
    config = boto_config(max_attempts=0)
    session = aws.session()
    sesv2 = session.client("sesv2", region_name=REGION, endpoint_url=f"http://127.0.0.1:{port}", config=config)
    reader = SesRegion(sesv2, Clients.for_region(session, REGION).ses, REGION, pacer=Pacer(1000))

    with pytest.raises(AwsError) as error:
        reader.read_identities()

    assert (error.value.service, error.value.operation, error.value.code) == (
        "sesv2",
        "ListEmailIdentities",
        "EndpointConnectionError",
    )


def test_given_replicas_and_failed_copies_among_1200_identities_when_reading_origins_then_the_budget_holds(
    aws: LocalAws,
) -> None:
    """Given: 1,000 ordinary domains and 200 addresses, 8 replicas of parents in another audited region, 3 failed
    copies. When: both regions are read and the candidates' origins asked. Then: each region stays in budget."""
    parent_region = "us-east-1"
    for i in range(1000):
        seed_identity(aws, REGION, f"d{i}.example.com", through_api=False)
    for i in range(200):
        seed_identity(aws, REGION, f"user{i}@example.net", through_api=False)
    for i in range(8):  # replicas in REGION, with the tokens of their parents in the other region
        seeded = seed_identity(aws, parent_region, f"r{i}.example.com", through_api=False)
        origin = "AWS_SES_US_EAST_1"
        seed_identity(aws, REGION, f"r{i}.example.com", origin=origin, tokens=seeded.tokens, through_api=False)
    for i in range(3):
        seed_identity(
            aws,
            REGION,
            f"f{i}.example.com",
            origin="AWS_SES_US_EAST_1",
            verification="FAILED",
            dkim_status="FAILED",
            error_type="REPLICATION_PRIMARY_NOT_FOUND",
            through_api=False,
        )
    ses, _ = reader(aws)
    others = SesRegion(*_clients(aws, parent_region), parent_region, pacer=Pacer(1000))

    identities = [*ses.read_identities(), *others.read_identities()]
    candidates = replica_candidates(identities)
    reread = {i.key: i for region, ses_of in ((REGION, ses), (parent_region, others))
              for i in ses_of.read_origins(candidates.get(region, []))}  # fmt: skip
    settled = {i.key: i for i in settle_origins([reread.get(i.key, i) for i in identities])}

    local = [i for i in identities if i.region == REGION]
    assert len(local) == 1211
    assert ses.calls_made == ses_calls(aws)
    assert ses.calls_made / len(local) <= BUDGET
    # At most one GetEmailIdentity per replicated name settles both members (none when the region's signing-zone
    # probe happened to read one of them).
    assert 7 <= sum(len(picked) for picked in candidates.values()) <= 8
    for i in range(8):
        name = f"r{i}.example.com"
        replica, parent = settled[IdentityKey(REGION, name)], settled[IdentityKey(parent_region, name)]
        assert (replica.dkim and replica.dkim.origin, parent.dkim and parent.dkim.origin) == (
            "AWS_SES_US_EAST_1",
            "AWS_SES",
        )
    failed = [settled[IdentityKey(REGION, f"f{i}.example.com")] for i in range(3)]
    assert {i.verification_error for i in failed} == {"REPLICATION_PRIMARY_NOT_FOUND"}
    assert {i.dkim.origin for i in failed if i.dkim} == {"AWS_SES_US_EAST_1"}
    assert settled[IdentityKey(REGION, "d7.example.com")].dkim.origin == ""  # type: ignore[union-attr]


def _clients(aws: LocalAws, region: str) -> tuple[Any, Any]:
    clients = Clients.for_region(aws.session(), region, boto_config())
    return clients.sesv2, clients.ses
