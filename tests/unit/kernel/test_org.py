"""Organisation mode's event shapes and settings, validated before any work: a bad target never reaches AWS."""

from __future__ import annotations

import pytest

from core.kernel.errors import ConfigError, EventError
from core.kernel.events import parse_event
from core.kernel.org import Target, TargetResult
from core.kernel.settings import Settings

ACCOUNT = "123456789012"
CONFIGURED = ("eu-west-1", "us-east-1")


def test_given_a_target_dict_when_parsed_then_it_round_trips():
    target = Target.from_dict({"account": ACCOUNT, "region": "eu-west-1"})

    assert target == Target(ACCOUNT, "eu-west-1")
    assert Target.from_dict(target.to_dict()) == target


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("123456789012/eu-west-1", "target must be a JSON object"),
        ({"account": 123456789012, "region": "eu-west-1"}, "target.account must be a 12-digit"),
        ({"account": "12345678901", "region": "eu-west-1"}, "target.account must be a 12-digit"),
        ({"account": "1234567890123", "region": "eu-west-1"}, "target.account must be a 12-digit"),
        ({"account": "12345678901a", "region": "eu-west-1"}, "target.account must be a 12-digit"),
        ({"region": "eu-west-1"}, "target.account"),
        ({"account": ACCOUNT}, "target.region must be one AWS region"),
        ({"account": ACCOUNT, "region": "all"}, "target.region must be one AWS region"),
        ({"account": ACCOUNT, "region": "eu-west-1,us-east-1"}, "target.region"),
        ({"account": ACCOUNT, "region": "Ireland"}, "not an AWS region name"),
        ({"account": ACCOUNT, "region": "eu-west-1", "role": "admin"}, "unknown keys role"),
    ],
)
def test_given_a_bad_target_when_parsed_then_event_error_names_the_field(data, message):
    with pytest.raises(EventError, match=message):
        Target.from_dict(data)


def test_given_a_target_event_in_org_mode_when_parsed_then_the_request_carries_target_and_run():
    request = parse_event(
        {"target": {"account": ACCOUNT, "region": "us-east-1"}, "org_run": "exec-1"},
        configured_regions=CONFIGURED,
        org_mode=True,
    )

    assert request.target == Target(ACCOUNT, "us-east-1")
    assert request.org_run == "exec-1"
    assert request.regions is None


@pytest.mark.parametrize(
    ("event", "org_mode", "message"),
    [
        ({"target": {"account": ACCOUNT, "region": "eu-west-1"}}, False, "MEMBER_ROLE_NAME is not set"),
        ({"org_run": "exec-1"}, False, "MEMBER_ROLE_NAME is not set"),
        ({"org_run": "exec-1"}, True, "org_run needs a target"),
        ({"target": {"account": ACCOUNT, "region": "ap-south-1"}}, True, "regions ap-south-1 refused"),
        ({"target": {"account": ACCOUNT, "region": "eu-west-1"}, "regions": ["eu-west-1"]}, True, "not allowed"),
        ({"target": {"account": ACCOUNT, "region": "eu-west-1"}, "org_run": ""}, True, "org_run must be"),
        ({"target": {"account": ACCOUNT, "region": "eu-west-1"}, "org_run": "a b"}, True, "org_run must be"),
        ({"target": {"account": ACCOUNT, "region": "eu-west-1"}, "org_run": "x" * 81}, True, "org_run must be"),
        ({"target": {"account": ACCOUNT, "region": "eu-west-1"}, "org_run": 7}, True, "org_run must be"),
    ],
)
def test_given_a_bad_target_event_when_parsed_then_it_is_refused(event, org_mode, message):
    with pytest.raises(EventError, match=message):
        parse_event(event, configured_regions=CONFIGURED, org_mode=org_mode)


def test_given_a_target_event_on_a_plan_only_stack_when_it_asks_to_write_then_it_is_refused():
    with pytest.raises(EventError, match="dry_run false refused"):
        parse_event(
            {"target": {"account": ACCOUNT, "region": "eu-west-1"}, "dry_run": False},
            writes_allowed=False,
            configured_regions=CONFIGURED,
            org_mode=True,
        )


def test_given_a_target_result_when_serialised_then_it_round_trips():
    result = TargetResult(
        ACCOUNT,
        "eu-west-1",
        identities_audited=3,
        counts={"findings": 4, "by_severity": {"HIGH": 1, "MEDIUM": 2, "LOW": 1}},
        unfixed={"HIGH": 1, "MEDIUM": 2, "LOW": 1},
        new=2,
        resolved=1,
        new_by_severity={"HIGH": 1, "MEDIUM": 0, "LOW": 1},
        resolved_by_severity={"HIGH": 0, "MEDIUM": 1, "LOW": 0},
        report="s3://bucket/reports/x/report.json",
        errors=["zone example.com: AccessDenied"],
        error_count=1,
    )

    assert TargetResult.from_dict(result.to_dict()) == result
    assert result.severity("MEDIUM") == 2


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {"account": ACCOUNT},
        {"account": "1", "region": "eu-west-1"},
        {"account": ACCOUNT, "region": "eu-west-1", "status": "maybe"},
        {"account": ACCOUNT, "region": "eu-west-1", "errors": "boom"},
        {"account": ACCOUNT, "region": "eu-west-1", "new": "several"},
        {"account": ACCOUNT, "region": "eu-west-1", "new_by_severity": [1, 0, 0]},
        {"account": ACCOUNT, "region": "eu-west-1", "resolved_by_severity": {"HIGH": "one"}},
    ],
)
def test_given_something_else_when_read_as_a_target_result_then_value_error(data):
    with pytest.raises(ValueError, match="target result"):
        TargetResult.from_dict(data)


def test_given_many_errors_when_a_failure_is_built_then_it_keeps_five_and_counts_all():
    failure = TargetResult.failure(Target(ACCOUNT, "eu-west-1"), *(f"error {i}" for i in range(12)))

    assert failure.status == "failed"
    assert failure.errors == [f"error {i}" for i in range(5)]
    assert failure.error_count == 12


ENV = {"AWS_REGION": "eu-west-1", "AUDIT_REGIONS": "eu-west-1,us-east-1"}


def test_given_no_member_role_when_settings_load_then_org_mode_is_off():
    settings = Settings.from_env(ENV)

    assert not settings.org_mode
    assert (settings.member_role_name, settings.org_accounts, settings.org_concurrency) == ("", (), 4)


def test_given_org_settings_when_loaded_then_they_are_parsed():
    settings = Settings.from_env(
        {**ENV, "MEMBER_ROLE_NAME": "ses-guard-member", "ORG_ACCOUNTS": f"{ACCOUNT}, 210987654321,{ACCOUNT}",
         "ORG_CONCURRENCY": "16"}
    )  # fmt: skip

    assert settings.org_mode
    assert settings.org_accounts == (ACCOUNT, "210987654321")
    assert settings.org_concurrency == 16


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MEMBER_ROLE_NAME": "role/with/slashes"}, "MEMBER_ROLE_NAME"),
        ({"MEMBER_ROLE_NAME": "x" * 65}, "MEMBER_ROLE_NAME"),
        ({"ORG_ACCOUNTS": "12345"}, "ORG_ACCOUNTS"),
        ({"ORG_CONCURRENCY": "0"}, "ORG_CONCURRENCY"),
        ({"ORG_CONCURRENCY": "65"}, "ORG_CONCURRENCY"),
        ({"MEMBER_ROLE_NAME": "ses-guard-member", "AUDIT_REGIONS": "all"}, "'all' is not allowed in organisation"),
    ],
)
def test_given_bad_org_settings_when_loaded_then_config_error_names_the_variable(env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({**ENV, **env})
