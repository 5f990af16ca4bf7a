"""Settings are validated once; a bad value names its variable."""

from __future__ import annotations

import pytest

from core.kernel.errors import ConfigError
from core.kernel.models import Severity
from core.kernel.settings import Nameserver, Settings, parse_nameservers


def test_given_only_a_region_when_settings_load_then_defaults_apply():
    settings = Settings.from_env({"AWS_REGION": "eu-west-1"})

    assert settings.regions == ("eu-west-1",)
    assert settings.nameservers == ()
    assert (settings.dry_run, settings.dmarc_policy, settings.record_ttl) == (False, "none", 1800)
    assert settings.mail_from_subdomain == "bounce"
    assert settings.notify_min_severity is Severity.LOW
    assert settings.ses_max_rps == 1.0


def test_given_every_setting_when_settings_load_then_each_is_parsed():
    env = {
        "AUDIT_REGIONS": "eu-west-1, US-EAST-1,eu-west-1",
        "FINDINGS_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:ses-guard",
        "DNS_NAMESERVERS": "127.0.0.1:5353,[::1]:53,::1,10.0.0.2",
        "EXCLUDE_IDENTITIES": "test-*.example.com, *@example.org",
        "DRY_RUN": "yes",
        "DMARC_POLICY": "quarantine",
        "DMARC_RUA": "dmarc@example.com",
        "RECORD_TTL": "300",
        "MAIL_FROM_SUBDOMAIN": "Mail",
        "CONFIGURE_MAIL_FROM": "true",
        "UPGRADE_DKIM_KEYS": "1",
        "NOTIFY_MIN_SEVERITY": "medium",
        "NOTIFY_ALWAYS": "on",
        "SES_MAX_RPS": "0.5",
        "DNS_TIMEOUT": "2.5",
        "DNS_CONCURRENCY": "8",
        "TIME_MARGIN_SECONDS": "45",
    }

    settings = Settings.from_env(env)

    assert settings.regions == ("eu-west-1", "us-east-1")
    assert settings.nameservers == (
        Nameserver("127.0.0.1", 5353),
        Nameserver("::1", 53),
        Nameserver("::1", 53),
        Nameserver("10.0.0.2", 53),
    )
    assert settings.exclude_identities == ("test-*.example.com", "*@example.org")
    assert settings.dry_run
    assert settings.configure_mail_from
    assert settings.upgrade_dkim_keys
    assert settings.notify_always
    assert (settings.dmarc_policy, settings.dmarc_rua, settings.record_ttl) == ("quarantine", "dmarc@example.com", 300)
    assert settings.mail_from_subdomain == "mail"
    assert settings.notify_min_severity is Severity.MEDIUM
    assert (settings.ses_max_rps, settings.dns_timeout, settings.dns_concurrency) == (0.5, 2.5, 8)
    assert settings.time_margin_seconds == 45


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("AUDIT_REGIONS", "eu-west-1,all", "'all' cannot be combined"),
        ("AUDIT_REGIONS", "europe", "not an AWS region"),
        ("FINDINGS_TOPIC_ARN", "arn:aws:sqs:eu-west-1:123456789012:q", "not an SNS topic ARN"),
        ("DNS_NAMESERVERS", "dns.example.com", "not an IP address"),
        ("DNS_NAMESERVERS", "127.0.0.1:99999", "not a port"),
        ("DNS_NAMESERVERS", "[::1]x", "not [address]:port"),
        ("DRY_RUN", "maybe", "not true or false"),
        ("DMARC_POLICY", "block", "not one of none, quarantine, reject"),
        ("DMARC_RUA", "mailto:dmarc@example.com", "not an email address"),
        ("RECORD_TTL", "10", "outside 60..172800"),
        ("RECORD_TTL", "1h", "not a number"),
        ("MAIL_FROM_SUBDOMAIN", "bounce_", "not a DNS label"),
        ("NOTIFY_MIN_SEVERITY", "CRITICAL", "not one of LOW, MEDIUM, HIGH"),
        ("SES_MAX_RPS", "0", "outside"),
    ],
)
def test_given_a_bad_value_when_settings_load_then_the_error_names_the_variable(variable, value, words):
    with pytest.raises(ConfigError) as error:
        Settings.from_env({"AWS_REGION": "eu-west-1", variable: value})

    assert str(error.value).startswith(variable)
    assert words in str(error.value)


def test_given_no_region_anywhere_when_settings_load_then_it_asks_for_one():
    with pytest.raises(ConfigError, match="AUDIT_REGIONS is empty and no AWS_REGION"):
        Settings.from_env({})


def test_given_all_when_settings_load_then_all_is_kept_for_the_run_to_expand():
    assert Settings.from_env({"AUDIT_REGIONS": "ALL"}).regions == ("all",)


def test_given_an_empty_nameserver_list_when_parsed_then_the_system_resolver_is_meant():
    assert parse_nameservers(" , ") == ()


def test_given_a_margin_shorter_than_one_dns_timeout_when_settings_load_then_it_is_refused():
    with pytest.raises(ConfigError, match=r"TIME_MARGIN_SECONDS \(3\) must be at least DNS_TIMEOUT \(5\)"):
        Settings.from_env({"AWS_REGION": "eu-west-1", "TIME_MARGIN_SECONDS": "3"})
