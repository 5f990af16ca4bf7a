"""The settings of the DMARC reports inbox and window: a prefix in the report bucket, a window of days."""

from __future__ import annotations

import pytest

from core.kernel.errors import ConfigError
from core.kernel.settings import Settings

BASE = {"AWS_REGION": "eu-west-1", "REPORT_BUCKET": "ses-guard-reports"}


def test_given_no_inbox_setting_when_settings_load_then_there_is_no_inbox_and_a_thirty_day_window():
    settings = Settings.from_env(BASE)

    assert (settings.reports_inbox, settings.dmarc_window_days) == ("", 30)


@pytest.mark.parametrize(
    ("raw", "inbox", "bucket", "prefix"),
    [
        ("s3://ses-guard-reports/inbox/", "s3://ses-guard-reports/inbox/", "ses-guard-reports", "inbox/"),
        (" s3://dmarc-mail/in ", "s3://dmarc-mail/in/", "dmarc-mail", "in/"),
        ("s3://dmarc-mail/mail/dmarc-rua//", "s3://dmarc-mail/mail/dmarc-rua/", "dmarc-mail", "mail/dmarc-rua/"),
    ],
)
def test_given_an_inbox_uri_when_settings_load_then_its_bucket_and_prefix_are_kept(raw, inbox, bucket, prefix):
    settings = Settings.from_env({**BASE, "REPORTS_INBOX": raw})

    assert (settings.reports_inbox, settings.inbox_bucket, settings.inbox_prefix) == (inbox, bucket, prefix)


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("inbox/", "is not s3://bucket/prefix/"),
        ("s3://Not_A_Bucket/inbox/", "is not s3://bucket/prefix/"),
        ("s3://ses-guard-reports", "needs a prefix after the bucket"),
        ("s3://ses-guard-reports/", "needs a prefix after the bucket"),
        ("s3://ses-guard-reports//inbox/", "needs a prefix after the bucket"),
        ("s3://ses-guard-reports/mail//dmarc/", "needs a prefix after the bucket"),
        ("s3://ses-guard-reports/in box/", "needs a prefix after the bucket"),
        ("s3://ses-guard-reports/../inbox/", "needs a prefix after the bucket"),
        ("s3://ses-guard-reports/rejected/", "under rejected/, where ses-guard writes its own objects"),
        ("s3://ses-guard-reports/dmarc/new/", "under dmarc/"),
        ("s3://ses-guard-reports/reports", "under reports/"),
        ("s3://other-bucket/state/x/", "under state/"),
    ],
)
def test_given_a_bad_inbox_when_settings_load_then_the_error_names_reports_inbox(raw, words):
    with pytest.raises(ConfigError, match="REPORTS_INBOX") as raised:
        Settings.from_env({**BASE, "REPORTS_INBOX": raw})

    assert words in str(raised.value)


def test_given_an_inbox_without_a_report_bucket_when_settings_load_then_it_is_refused():
    with pytest.raises(ConfigError, match=r"REPORTS_INBOX \(s3://mail/in/\) needs REPORT_BUCKET"):
        Settings.from_env({"AWS_REGION": "eu-west-1", "REPORTS_INBOX": "s3://mail/in"})


@pytest.mark.parametrize(("raw", "days"), [("7", 7), ("90", 90), ("366", 366), ("", 30)])
def test_given_a_window_when_settings_load_then_it_is_kept(raw, days):
    assert Settings.from_env({**BASE, "DMARC_WINDOW_DAYS": raw}).dmarc_window_days == days


@pytest.mark.parametrize(
    ("raw", "words"), [("6", "outside 7..366"), ("367", "outside 7..366"), ("7.5", "not a number")]
)
def test_given_a_bad_window_when_settings_load_then_the_error_names_dmarc_window_days(raw, words):
    with pytest.raises(ConfigError, match=f"DMARC_WINDOW_DAYS: .*{words}"):
        Settings.from_env({**BASE, "DMARC_WINDOW_DAYS": raw})
