"""The DMARC loop inside the account, each step through its real Lambda handler: a report email lands in moto's S3
inbox, S3's ObjectCreated event runs the ingest function, and the next audit run turns the window of reports into a
readiness verdict with the exact record to publish."""

from __future__ import annotations

from datetime import timedelta

from handlers import ingest
from tests.integration import test_traffic
from tests.integration.test_traffic import (
    DMARC,
    DOMAIN,
    INGEST_CONTEXT,
    MAIL,
    NOW,
    RECORD,
    SES_IP,
    STEPPED,
    WINDOW,
    world,
)
from tests.rua_mail import Row, aggregate_xml, report_mail
from tests.s3events import object_created

# The inbox and the clock, as the traffic tests set them up.
reports = test_traffic.reports
at_now = test_traffic.at_now


def test_given_report_emails_ingested_from_s3_events_when_the_next_audit_runs_then_it_finds_the_domain_ready(
    aws, dns_server, run, reports, at_now
):
    world(aws, dns_server)
    s3 = aws.client("s3")
    for back in range(1, WINDOW + 1):
        day = (NOW - timedelta(days=back)).replace(hour=0)
        key = f"inbox/mail-{back:02d}"
        s3.put_object(
            Bucket=MAIL,
            Key=key,
            Body=report_mail(
                # Two receivers report: one alone cannot make a domain ready.
                aggregate_xml(
                    f"r-{back}",
                    org=("google.com", "yahoo.com")[back % 2],
                    domain=DOMAIN,
                    begin=day,
                    rows=[Row(SES_IP, 60)],
                ),
                domain=DOMAIN,
            ),
        )
        ingest.load_settings.cache_clear()
        ingest.handler(object_created(MAIL, key), INGEST_CONTEXT)

    summary = run()

    [ready] = [f for f in summary["findings"] if f["code"] == "DMARC_READY_TO_ENFORCE"]
    assert ready["subject"] == DOMAIN
    assert ready["status"] == "new"
    assert [(r["role"], r["name"], r["values"]) for r in ready["records"]] == [
        ("found", DMARC, [RECORD]),
        ("required", DMARC, [STEPPED]),
    ]
    assert "100% of 600 messages passed DMARC under p=none" in ready["message"]
    assert summary["changes"] == []  # advice only: DMARC_PROGRESSION is off
