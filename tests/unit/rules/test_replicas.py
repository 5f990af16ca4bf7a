"""Telling Deterministic Easy DKIM parents from replicas with one GetEmailIdentity per replicated name."""

from __future__ import annotations

from dataclasses import replace

from core.kernel.models import DkimState, Identity
from core.rules.replicas import link_replicas, replica_candidates, settle_origins

TOKENS = ("a" * 32, "b" * 32, "c" * 32)


def easy(region: str, name: str = "example.com", tokens: tuple[str, ...] = TOKENS, origin: str = "") -> Identity:
    dkim = DkimState(True, "SUCCESS", tokens, f"dkim.{region}.test", origin)
    return Identity(name, region, "DOMAIN", "SUCCESS", dkim=dkim)


def test_given_namesakes_with_their_own_tokens_when_looking_for_candidates_then_there_are_none() -> None:
    identities = [easy("eu-west-1"), easy("us-east-1", tokens=("x" * 32, "y" * 32, "z" * 32))]

    assert replica_candidates(identities) == {}


def test_given_three_regions_sharing_tokens_when_looking_for_candidates_then_one_is_asked() -> None:
    identities = [easy("eu-west-1"), easy("us-east-1"), easy("ap-south-1"), easy("eu-west-1", "other.example.com")]

    candidates = replica_candidates(identities)

    assert sum(map(len, candidates.values())) == 1


def test_given_the_read_member_is_a_replica_when_settling_then_the_parent_and_siblings_follow() -> None:
    read = easy("us-east-1", origin="AWS_SES_EU_WEST_1")
    identities = [easy("eu-west-1"), read, easy("ap-south-1")]

    origins = {i.region: i.dkim.origin for i in settle_origins(identities) if i.dkim}

    assert origins == {"eu-west-1": "AWS_SES", "us-east-1": "AWS_SES_EU_WEST_1", "ap-south-1": "AWS_SES_EU_WEST_1"}


def test_given_the_read_member_is_the_parent_when_settling_then_the_others_copy_its_region() -> None:
    identities = [easy("eu-west-1", origin="AWS_SES"), easy("us-east-1")]

    origins = {i.region: i.dkim.origin for i in settle_origins(identities) if i.dkim}

    assert origins == {"eu-west-1": "AWS_SES", "us-east-1": "AWS_SES_EU_WEST_1"}


def test_given_a_replica_and_its_parent_when_linking_then_the_replica_takes_the_parents_zone() -> None:
    parent = easy("eu-west-1", origin="AWS_SES")
    child = replace(easy("us-east-1"), dkim=DkimState(True, "SUCCESS", TOKENS, "", "AWS_SES_EU_WEST_1"))

    linked = {i.region: i for i in link_replicas([parent, child])}

    assert linked["us-east-1"].dkim is not None
    assert linked["us-east-1"].dkim.signing_hosted_zone == "dkim.eu-west-1.test"
