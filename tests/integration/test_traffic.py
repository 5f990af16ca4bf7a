"""What the audit makes of DMARC aggregate reports, through the real handlers: reports ingested from moto's S3 inbox
by the ingest function, then the audit function's findings, traffic panel and, with DMARC_PROGRESSION, the one-step
policy change on a `_dmarc` record ses-guard created."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from handlers import ingest
from tests import scenario
from tests.fidelity import seed_identity
from tests.fixtures_run import BUCKET
from tests.lambda_context import LambdaContext
from tests.rua_mail import Row, aggregate_xml, report_mail
from tests.s3events import object_created

MAIL = "ses-guard-inbox-123456789012-eu-west-1"
DOMAIN = "news.example.com"
DMARC = f"_dmarc.{DOMAIN}"
RUA = "dmarc-reports@example.com"
RECORD = f"v=DMARC1; p=none; rua=mailto:{RUA}"
STEPPED = f"v=DMARC1; p=quarantine; rua=mailto:{RUA}"
SES_SPF = "v=spf1 ip4:54.240.0.0/18 ip4:69.169.224.0/20 ip6:2a01:111:f400::/48 -all"
SES_IP = "54.240.0.10"
THIRD_PARTY = "203.0.113.7"
NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
LIVE = {"dry_run": False}
# The fields Powertools reads, as Lambda gives them to the ingest function.
INGEST_CONTEXT: Any = LambdaContext(function_name="ses-guard-ingest")
WINDOW = 10  # days: short, so that a window of daily reports is quick to deliver
ORGS = ("google.com", "yahoo.com")


class Reports:
    """The reports inbox and the ingest function S3 invokes for it."""

    def __init__(self, aws: Any) -> None:
        self.s3 = aws.client("s3")
        self.sent = 0

    def deliver(
        self, domain: str, day: datetime, rows: list[Row], *, policy: str = "none", org: str = "google.com"
    ) -> dict[str, Any]:
        xml = aggregate_xml(f"{domain}-{day:%Y%m%d}", org=org, domain=domain, begin=day, rows=rows)
        mail = report_mail(xml.replace(b"<p>none</p>", f"<p>{policy}</p>".encode()), domain=domain)
        self.sent += 1
        key = f"inbox/{self.sent:06d}"
        self.s3.put_object(Bucket=MAIL, Key=key, Body=mail)
        ingest.load_settings.cache_clear()
        result: dict[str, Any] = ingest.handler(object_created(MAIL, key, size=len(mail)), INGEST_CONTEXT)
        assert result["accepted"] == 1, result
        return result

    def days(self, domain: str, rows: list[Row], *, first: int = 1, last: int = WINDOW, policy: str = "none") -> None:
        """One report a day, for each of the days `first` to `last` before NOW: google.com's on even days, yahoo.com's
        on odd ones."""
        for back in range(first, last + 1):
            day = (NOW - timedelta(days=back)).replace(hour=0)
            self.deliver(domain, day, rows, policy=policy, org=ORGS[back % 2])


@pytest.fixture
def reports(aws, bucket, monkeypatch):
    aws.client("s3").create_bucket(Bucket=MAIL, CreateBucketConfiguration={"LocationConstraint": scenario.EU})
    monkeypatch.setenv("REPORTS_INBOX", f"s3://{MAIL}/inbox/")
    monkeypatch.setenv("DMARC_RUA", RUA)
    monkeypatch.setenv("DMARC_WINDOW_DAYS", str(WINDOW))
    yield Reports(aws)
    ingest.load_settings.cache_clear()


def world(aws, dns_server, *, dmarc: str | None = RECORD) -> scenario.World:
    """One well-configured domain identity; its DMARC record as given (None: none yet)."""
    built = scenario.World(aws, dns_server)
    built.zone("example.com")
    seeded = seed_identity(aws, scenario.EU, DOMAIN, mail_from=f"bounce.{DOMAIN}")
    built.keys(seeded.tokens)
    built.dkim("example.com", DOMAIN, seeded.tokens)
    built.r53("example.com", f"bounce.{DOMAIN}", "MX", f"10 feedback-smtp.{scenario.EU}.amazonses.com")
    built.r53("example.com", f"bounce.{DOMAIN}", "TXT", scenario.quoted(scenario.SPF_SES))
    if dmarc is not None:
        built.r53("example.com", DMARC, "TXT", scenario.quoted(dmarc))
    built.sync("example.com")
    dns_server.set("amazonses.com", "TXT", [SES_SPF])
    return built


def of(summary: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [f for f in summary["findings"] if f["code"] == code]


def dmarc_in_route53(built: scenario.World) -> tuple[str, ...]:
    return built.records(built.zones["example.com"])[(f"{DMARC}.", "TXT")][1]


def traffic(aws, summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The traffic panel, from the full report the run stored (the returned summary is bounded)."""
    key = summary["report"].removeprefix(f"s3://{BUCKET}/")
    data: dict[str, Any] = json.loads(aws.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read())
    panels: list[dict[str, Any]] = data["traffic"]
    return panels


def state(aws) -> dict[str, Any]:
    listed = aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="state/")
    key = listed["Contents"][0]["Key"]
    data: dict[str, Any] = json.loads(aws.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read())
    return data


@pytest.fixture
def at_now(clock):
    clock.now = NOW
    return clock


def test_given_a_third_party_failing_when_audited_then_it_is_named_with_the_ptr_from_reverse_dns(
    aws, dns_server, run, reports, at_now
):
    world(aws, dns_server)
    dns_server.set("7.113.0.203.in-addr.arpa", "PTR", ["mta.sender.example."])
    reports.days(DOMAIN, [Row(SES_IP, 20), Row(THIRD_PARTY, 5, dkim="fail", spf="fail")], last=10)

    summary = run()

    [unaligned] = of(summary, "DMARC_SOURCE_UNALIGNED")
    assert unaligned["severity"] == "MEDIUM"
    assert unaligned["subject"] == DOMAIN
    assert (
        "203.0.113.7 (mta.sender.example): 50 of 50 messages failed, 20.0% of the mail a receiver reported"
        in (unaligned["message"])
    )
    assert of(summary, "DMARC_READY_TO_ENFORCE") == []
    [panel] = traffic(aws, summary)
    assert (panel["domain"], panel["messages"], panel["passed"], panel["ses_messages"]) == (DOMAIN, 250, 200, 200)
    assert panel["failing"][0] == {
        "address": THIRD_PARTY,
        "ptr": "mta.sender.example",
        "ses": False,
        "messages": 50,
        "passed": 0,
        "share": 0.2,
    }
    assert panel["ready_for"] is None


def test_given_ses_mail_failing_when_audited_then_a_high_finding_says_so(aws, dns_server, run, reports, at_now):
    world(aws, dns_server)
    reports.days(DOMAIN, [Row(SES_IP, 20), Row("54.240.0.11", 10, dkim="fail", spf="fail")], last=10)

    summary = run()

    [ses] = of(summary, "DMARC_SES_UNALIGNED")
    assert ses["severity"] == "HIGH"
    assert "100 of 300 messages sent through SES" in ses["message"]
    assert of(summary, "DMARC_SOURCE_UNALIGNED") == []  # SES's own addresses are never a third party


def test_given_no_report_for_a_week_when_rua_points_at_the_inbox_then_reports_are_missing(
    aws, dns_server, run, reports, at_now
):
    world(aws, dns_server)
    reports.days(DOMAIN, [Row(SES_IP, 20)], first=8, last=10)

    summary = run()

    [missing] = of(summary, "DMARC_REPORTS_MISSING")
    assert missing["severity"] == "LOW"
    assert missing["subject"] == DOMAIN
    assert "none about news.example.com arrived in the last 7 days" in missing["message"]


def test_given_a_reports_address_apart_from_dmarc_rua_when_no_report_arrives_for_a_week_then_reports_are_missing(
    aws, dns_server, run, reports, at_now, monkeypatch
):
    address = "dmarc@reports.example.net"
    monkeypatch.setenv("REPORTS_ADDRESS", address)
    world(aws, dns_server, dmarc=f"v=DMARC1; p=none; rua=mailto:{address.upper()}")
    reports.days(DOMAIN, [Row(SES_IP, 20)], first=8, last=10)

    summary = run()

    [missing] = of(summary, "DMARC_REPORTS_MISSING")
    assert missing["subject"] == DOMAIN


def test_given_reports_for_a_domain_ses_does_not_send_when_audited_then_it_gets_no_panel(
    aws, dns_server, run, reports, at_now
):
    world(aws, dns_server)
    reports.days("spoofed.example.org", [Row(THIRD_PARTY, 20, dkim="fail", spf="fail")], last=10)
    reports.days(DOMAIN, [Row(SES_IP, 20)], last=10)

    summary = run()

    assert [t["domain"] for t in traffic(aws, summary)] == [DOMAIN]


def test_given_a_clean_window_on_a_record_ses_guard_did_not_create_when_progression_is_on_then_nothing_changes(
    aws, dns_server, run, reports, at_now, monkeypatch
):
    built = world(aws, dns_server)
    monkeypatch.setenv("DMARC_PROGRESSION", "true")
    reports.days(DOMAIN, [Row(SES_IP, 60)])

    summary = run(LIVE)

    [ready] = of(summary, "DMARC_READY_TO_ENFORCE")
    assert (ready["fixable"], ready["fixed"]) == (False, False)
    assert summary["changes"] == []
    assert dmarc_in_route53(built) == (f'"{RECORD}"',)


def test_given_a_record_ses_guard_created_when_ready_then_progression_plans_in_a_dry_run_and_steps_once_live(
    aws, dns_server, run, reports, at_now, monkeypatch
):
    monkeypatch.setenv("DMARC_PROGRESSION", "true")
    built = world(aws, dns_server, dmarc=None)
    built.r53("example.com", DMARC, "TXT", scenario.quoted("google-site-verification=abc"))
    built.sync("example.com")
    at_now.now = NOW - timedelta(days=40)
    created = run(LIVE)
    assert {(c["action"], c["name"], c["reason"]) for c in created["changes"]} == {("UPSERT", DMARC, "DMARC_MISSING")}
    assert state(aws)["created_records"][0]["value"] == RECORD
    built.sync("example.com")
    at_now.now = NOW
    reports.days(DOMAIN, [Row(SES_IP, 60)])

    planned = run({"dry_run": True})
    stepped = run(LIVE)

    assert [(c["action"], c["name"], c["reason"], c["applied"]) for c in planned["changes"]] == [
        ("UPSERT", DMARC, "DMARC_READY_TO_ENFORCE", False)
    ]
    assert [(c["values"], c["applied"]) for c in stepped["changes"]] == [
        (['"google-site-verification=abc"', f'"{STEPPED}"'], True)
    ]
    assert dmarc_in_route53(built) == ('"google-site-verification=abc"', f'"{STEPPED}"')
    [ready] = of(stepped, "DMARC_READY_TO_ENFORCE")
    assert (ready["fixable"], ready["fixed"]) == (True, True)
    assert [r["values"] for r in ready["records"]] == [[RECORD], [STEPPED]]
    remembered = state(aws)["created_records"][0]
    assert (remembered["value"], remembered["stepped"]) == (STEPPED, NOW.isoformat(timespec="seconds"))

    built.sync("example.com")
    at_now.next_day()
    reports.deliver(DOMAIN, NOW.replace(hour=0), [Row(SES_IP, 20)], policy="quarantine")
    again = run(LIVE)

    assert again["changes"] == []
    assert of(again, "DMARC_READY_TO_ENFORCE") == []
    assert dmarc_in_route53(built) == ('"google-site-verification=abc"', f'"{STEPPED}"')
    assert "a whole window under p=quarantine comes before the next step" in traffic(aws, again)[0]["reason"]


def test_given_a_ready_domain_when_audited_twice_then_readiness_is_new_once_then_open(
    aws, dns_server, run, reports, at_now
):
    world(aws, dns_server)
    reports.days(DOMAIN, [Row(SES_IP, 60)])

    first = run()
    at_now.next_day()
    second = run()

    assert [f["status"] for f in of(first, "DMARC_READY_TO_ENFORCE")] == ["new"]
    assert [f["status"] for f in of(second, "DMARC_READY_TO_ENFORCE")] == ["open"]


def test_given_many_days_of_aggregates_when_audited_then_s3_is_read_once_per_day_of_the_window_and_listed_twice(
    aws, dns_server, run, reports, at_now, monkeypatch
):
    world(aws, dns_server)
    monkeypatch.setenv("DMARC_WINDOW_DAYS", "7")
    reports.days(DOMAIN, [Row(SES_IP, 20)], last=12)
    aws.calls.clear()

    summary = run()

    reads = [c for c in aws.calls if c.operation == "GetObject" and "/dmarc/" in c.path]
    lists = [c for c in aws.calls if c.operation == "ListObjectsV2"]
    assert len(reads) == 7
    assert len(lists) <= 3  # the domains with aggregates, the domain's days (and the run's memory check)
    assert next(d["day"] for d in traffic(aws, summary)[0]["days"]) == "2026-11-24"
