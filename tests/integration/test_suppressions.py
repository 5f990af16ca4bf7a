"""Suppressions through the real handler and the CLI: a SUPPRESSIONS file in moto's S3 (or on disk) hides exactly
the findings its rules cover, an expired rule brings them back as new, a malformed file suppresses nothing."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from moto.core.models import DEFAULT_ACCOUNT_ID

from handlers import cli
from tests import scenario

CONFIG = "ses-guard-config"
KEY = "suppressions.yaml"
URI = f"s3://{CONFIG}/{KEY}"
REPORTS = "ses-guard-reports"
# Far from any day the suite runs on, so that which rule is live never depends on the clock.
LIVE, EXPIRED = "2999-12-31", "2000-01-01"
SUBDOMAINS = {("pending.example.com", scenario.EU), ("nodkim.example.com", scenario.EU),
              ("broken.example.com", scenario.EU)}  # fmt: skip

RULES = f"""
suppressions:
  # Per-identity findings: the EU subdomains of example.com, not the apex, not us-east-1.
  - code: MAIL_FROM_NOT_CONFIGURED
    identity: "*.example.com"
    region: eu-west-1
    reason: MAIL FROM rollout planned for Q1
    expires: {{expires}}
  # One shared finding, named by its subject: the _dmarc record every example.com domain inherits.
  - code: DMARC_POLICY_NONE
    identity: _dmarc.example.com
    account: "{DEFAULT_ACCOUNT_ID}"
    reason: DMARC reports under review
    expires: {LIVE}
  # Another account's rule must not reach this one.
  - code: DKIM_KEY_WEAK
    account: "999999999999"
    reason: not ours
    expires: {LIVE}
"""


@pytest.fixture
def suppressions(aws, monkeypatch):
    """Writes the SUPPRESSIONS object into a moto bucket and points the function at it."""
    aws.client("s3").create_bucket(Bucket=CONFIG, CreateBucketConfiguration={"LocationConstraint": scenario.EU})
    monkeypatch.setenv("SUPPRESSIONS", URI)

    def put(text: str) -> None:
        aws.client("s3").put_object(Bucket=CONFIG, Key=KEY, Body=text.encode())

    return put


@pytest.fixture
def reports(aws, monkeypatch):
    """A report bucket: the stored report lists expired rules, and the run's memory (new or open) lives there."""
    aws.client("s3").create_bucket(Bucket=REPORTS, CreateBucketConfiguration={"LocationConstraint": scenario.EU})
    monkeypatch.setenv("REPORT_BUCKET", REPORTS)


def stored(aws, uri: str) -> dict[str, Any]:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    report: dict[str, Any] = json.loads(aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    return report


def hidden(summary: dict[str, Any]) -> set[tuple[str, frozenset[tuple[str, str]]]]:
    """(code, identities) of each suppressed finding."""
    return {
        (f["code"], frozenset((i["identity"], i["region"]) for i in f["identities"]))
        for f in summary["findings"]
        if f["suppressed"] is not None
    }


def dmarc_none(summary: dict[str, Any]) -> frozenset[tuple[str, str]]:
    [finding] = [f for f in summary["findings"] if f["code"] == "DMARC_POLICY_NONE"]
    return frozenset((i["identity"], i["region"]) for i in finding["identities"])


def test_given_live_rules_when_the_handler_runs_then_exactly_their_findings_are_suppressed_and_counted(
    aws, dns_server, run, suppressions
):
    scenario.build(aws, dns_server)
    suppressions(RULES.format(expires=LIVE))

    summary = run()

    expected = {("MAIL_FROM_NOT_CONFIGURED", frozenset({key})) for key in SUBDOMAINS}
    expected.add(("DMARC_POLICY_NONE", dmarc_none(summary)))
    assert hidden(summary) == expected
    assert summary["counts"]["suppressed"] == len(expected)
    [marked] = [f for f in summary["findings"] if f["code"] == "DMARC_POLICY_NONE"]
    assert marked["suppressed"] == {"reason": "DMARC reports under review", "expires": LIVE}
    # Suppressed findings are still reported: the audit lists everything, the rules only say what is accepted.
    assert scenario.codes_by_identity(summary) == {k: v for k, v in scenario.EXPECTED.items() if v}
    assert summary["errors"] == []
    assert aws.calls.count(operation="GetObject") == 1
    assert aws.calls.count(operation="GetCallerIdentity") == 1  # asked once, for the two rules naming an account


def test_given_a_rule_that_has_expired_when_the_handler_runs_again_then_its_findings_come_back_as_new(
    aws, dns_server, run, suppressions, reports, monkeypatch
):
    monkeypatch.setenv("DRY_RUN", "true")  # the second run then sees the world the first saw, nothing fixed since
    scenario.build(aws, dns_server)
    suppressions(RULES.format(expires=LIVE))
    first = run()
    suppressions(RULES.format(expires=EXPIRED))

    second = run()

    back = [f for f in second["findings"] if f["code"] == "MAIL_FROM_NOT_CONFIGURED" and f["suppressed"] is None]
    assert {(i["identity"], i["region"]) for f in back for i in f["identities"]} == {
        key for key, codes in scenario.EXPECTED.items() if "MAIL_FROM_NOT_CONFIGURED" in codes
    }
    # Only what the expired rule hid is news: the rest was reported by the first run and is open now, and the
    # DMARC finding is still hidden (new, since never reported, but suppressed).
    news = {(f["code"], f["identities"][0]["identity"]) for f in second["findings"] if f["status"] == "new"}
    assert news == {("MAIL_FROM_NOT_CONFIGURED", name) for name, _ in SUBDOMAINS} | {
        ("DMARC_POLICY_NONE", "example.com")
    }
    assert hidden(second) == {("DMARC_POLICY_NONE", dmarc_none(second))}  # its rule is still live
    assert second["counts"]["suppressed"] == 1
    assert stored(aws, second["report"])["expired_suppressions"] == [
        f"rule 1 (MAIL_FROM_NOT_CONFIGURED, *.example.com) expired {EXPIRED}"
    ]
    assert stored(aws, first["report"])["expired_suppressions"] == []


def test_given_a_malformed_rule_when_the_handler_runs_then_the_error_names_the_file_and_rule_and_nothing_is_hidden(
    aws, dns_server, run, suppressions
):
    scenario.build(aws, dns_server)
    suppressions(RULES.format(expires=LIVE).replace("region: eu-west-1", "regoin: eu-west-1"))

    summary = run()

    assert summary["errors"] == [
        {
            "scope": "suppressions",
            "subject": URI,
            "message": "rule 1: unknown key 'regoin' (allowed: code, identity, region, account, reason, expires)",
        }
    ]
    assert hidden(summary) == set()
    assert summary["counts"]["suppressed"] == 0
    assert scenario.codes_by_identity(summary) == {k: v for k, v in scenario.EXPECTED.items() if v}


def test_given_a_missing_object_when_the_handler_runs_then_the_error_names_it_and_the_audit_still_reports(
    aws, dns_server, run, suppressions
):
    scenario.build(aws, dns_server)

    summary = run()

    [error] = summary["errors"]
    assert (error["scope"], error["subject"]) == ("suppressions", URI)
    assert error["message"].startswith("nothing suppressed: s3 GetObject failed: NoSuchKey")
    assert summary["counts"]["findings"] == len(summary["findings"]) > 0
    assert hidden(summary) == set()


# --- the CLI ---------------------------------------------------------------------------------------------------------


SHOP_HIGH = ("MAIL_FROM_MX_MISSING", "MAIL_FROM_SPF_MISSING")  # shop.example.com's HIGH findings, unfixed in a dry run


@pytest.fixture
def world(aws, dns_server, monkeypatch):
    monkeypatch.setenv("DNS_NAMESERVERS", dns_server.nameserver)
    monkeypatch.setenv("SES_MAX_RPS", "1000")
    return scenario.build(aws, dns_server)


def audit_shop(*args: str) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    status = cli.main(
        ["audit", "--region", scenario.EU, "--identity", "shop.example.com", "--json", *args],
        stdout=out,
        stderr=io.StringIO(),
    )
    return status, json.loads(out.getvalue())


@pytest.mark.parametrize(
    ("codes", "status"),
    [((), 3), (SHOP_HIGH[:1], 3), (SHOP_HIGH, 0)],
    ids=["no-rule", "one-of-two-suppressed", "both-suppressed"],
)
def test_given_a_local_file_when_the_cli_fails_on_high_then_only_unsuppressed_findings_count(
    world, monkeypatch, tmp_path, codes, status
):
    path = tmp_path / "suppressions.yaml"
    path.write_text(
        "suppressions:\n"
        + "".join(f"  - {{code: {c}, identity: shop.example.com, reason: MX moves, expires: {LIVE}}}\n" for c in codes)
    )
    monkeypatch.setenv("SUPPRESSIONS", str(path))

    exit_status, summary = audit_shop("--fail-on", "HIGH")

    assert exit_status == status
    assert {f["code"] for f in summary["findings"] if f["suppressed"]} == set(codes)
    assert {f["code"] for f in summary["findings"]} >= set(SHOP_HIGH)  # suppressed or not, both are listed
    assert summary["errors"] == []
