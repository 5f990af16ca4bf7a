"""Which regions a run audits, decided from what botocore offers SES in and what account:ListRegions says."""

from __future__ import annotations

import pytest

from core.kernel.models import RunError, SkippedRegion
from core.run.regions import ALWAYS_ENABLED, choose, unverified

OFFERED = ["af-south-1", "ap-southeast-3", "eu-south-2", "eu-west-1", "me-central-1", "us-east-1"]
STATUS = {
    "af-south-1": "DISABLED",
    "ap-east-1": "ENABLED",  # enabled, but not among the regions SES is offered in: `all` leaves it out
    "ap-southeast-3": "ENABLED",
    "eu-south-2": "ENABLING",
    "eu-west-1": "ENABLED_BY_DEFAULT",
    "me-central-1": "DISABLING",
    "us-east-1": "ENABLED_BY_DEFAULT",
}


def test_given_all_when_chosen_then_the_offered_regions_the_account_can_use_are_audited_and_the_rest_skipped():
    regions = choose(["all"], OFFERED, STATUS)

    assert regions.audit == ["ap-southeast-3", "eu-west-1", "us-east-1"]
    assert regions.skipped == [
        SkippedRegion("af-south-1", "DISABLED"),
        SkippedRegion("eu-south-2", "ENABLING"),
        SkippedRegion("me-central-1", "DISABLING"),
    ]
    assert regions.errors == []
    assert regions.unseen == {"af-south-1", "eu-south-2", "me-central-1"}


def test_given_all_when_botocore_offers_a_region_the_account_does_not_list_then_it_is_left_out_silently():
    regions = choose(["all"], [*OFFERED, "xx-new-1"], STATUS)

    assert "xx-new-1" not in regions.audit
    assert "xx-new-1" not in {s.region for s in regions.skipped}
    assert regions.errors == []


def test_given_named_regions_when_chosen_then_order_is_kept_and_those_not_enabled_are_skipped_not_errors():
    regions = choose(["us-east-1", "eu-south-2", "ap-southeast-3", "af-south-1"], OFFERED, STATUS)

    assert regions.audit == ["us-east-1", "ap-southeast-3"]
    assert regions.skipped == [SkippedRegion("eu-south-2", "ENABLING"), SkippedRegion("af-south-1", "DISABLED")]
    assert regions.errors == []


def test_given_a_named_region_listregions_does_not_list_when_chosen_then_it_is_an_error_of_that_region():
    regions = choose(["eu-west-1", "eu-west-9"], [], STATUS)

    assert regions.audit == ["eu-west-1"]
    assert regions.skipped == []
    [error] = regions.errors
    assert (error.scope, error.subject) == ("region", "eu-west-9")


def test_given_no_opt_in_status_when_all_is_asked_then_regions_every_account_has_are_audited_and_one_error_says_so():
    regions = unverified(["all"], OFFERED, "account ListRegions failed: AccessDeniedException: denied")

    assert regions.audit == ["eu-west-1", "us-east-1"]
    assert regions.unknown == ["af-south-1", "ap-southeast-3", "eu-south-2", "me-central-1"]
    assert regions.unseen == set(regions.unknown)
    assert regions.skipped == []
    [error] = regions.errors
    assert isinstance(error, RunError)
    assert (error.scope, error.subject) == ("run", "regions")
    assert error.message.startswith("account ListRegions failed: AccessDeniedException: denied; audited only the 2 ")
    assert "4 opt-in SES regions (af-south-1, ap-southeast-3, eu-south-2, me-central-1)" in error.message


@pytest.mark.parametrize("requested", [["eu-west-1", "ap-southeast-3"], ["me-central-1"]])
def test_given_no_opt_in_status_when_regions_are_named_then_they_are_audited_as_named(requested):
    regions = unverified(requested, [], "account ListRegions failed: AccessDeniedException: denied")

    assert (regions.audit, regions.skipped, regions.errors, regions.unknown) == (requested, [], [], [])


def test_given_the_regions_every_account_has_when_listed_then_they_are_the_seventeen_launched_before_march_2019():
    # The list is history: regions launched since are opt-in, so it never grows.
    assert len(ALWAYS_ENABLED) == 17
    assert {"us-east-1", "eu-west-1", "ap-northeast-3", "sa-east-1"} <= ALWAYS_ENABLED
    assert not {"af-south-1", "ap-east-1", "eu-south-1", "me-south-1", "ap-southeast-3"} & ALWAYS_ENABLED
