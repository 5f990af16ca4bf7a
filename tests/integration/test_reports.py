"""The report store through the real handler: moto's S3 holds every finding, the return value and the logged
summary stay bounded whatever the account size."""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from core.adapters.reports import S3Reports
from core.kernel.errors import SesGuardError
from core.kernel.models import Code, Finding, IdentityKey, RunSummary
from handlers import audit
from tests import large_account, scenario
from tests.fixtures_run import BUCKET
from tests.lambda_context import LambdaContext

LIMIT = 256 * 1024  # what a CloudWatch Logs event, or a Step Functions state, may carry


@pytest.fixture
def log(monkeypatch) -> io.StringIO:
    """What the handler's logger writes, as CloudWatch Logs would receive it: one JSON object per line."""
    stream = io.StringIO()
    monkeypatch.setattr(audit.logger.registered_handler, "stream", stream)
    return stream


def stored(aws, uri: str) -> tuple[dict[str, Any], int, str]:
    """The report at an s3:// URI: its JSON, its size in bytes and its content type."""
    name, key = uri.removeprefix("s3://").split("/", 1)
    obj = aws.client("s3").get_object(Bucket=name, Key=key)
    body = obj["Body"].read()
    return json.loads(body), len(body), obj["ContentType"]


def summary_line(log: io.StringIO) -> str:
    [line] = [line for line in log.getvalue().splitlines() if json.loads(line).get("message") == "run summary"]
    return line


def test_given_a_report_bucket_when_the_handler_runs_then_the_stored_report_holds_every_finding_of_the_run(
    aws, dns_server, run, bucket
):
    scenario.build(aws, dns_server)
    context = LambdaContext()

    summary = run(context=context)

    pattern = rf"s3://{BUCKET}/reports/\d{{4}}-\d{{2}}-\d{{2}}/{context.aws_request_id}/report\.json"
    assert re.fullmatch(pattern, summary["report"])
    report, _, content_type = stored(aws, summary["report"])
    assert content_type == "application/json"
    expected = {key: codes for key, codes in scenario.EXPECTED.items() if codes}
    assert scenario.codes_by_identity(report) == expected
    assert {(i["identity"], i["region"]) for i in report["identities"]} == set(scenario.EXPECTED)
    # A small account fits: the return value lists what the report holds, in the same order.
    assert summary["truncated"] is False
    assert [f["id"] for f in summary["findings"]] == [f["id"] for f in report["findings"]]
    assert summary["counts"]["findings"] == len(report["findings"])
    assert report["run_id"] == summary["run_id"]
    assert report["report"] == summary["report"]
    assert summary["errors"] == []


def test_given_no_report_bucket_when_the_handler_runs_then_nothing_is_stored_and_the_summary_says_so(
    aws, dns_server, run
):
    scenario.build(aws, dns_server)

    summary = run()

    assert summary["report"] == ""
    assert aws.calls.count(service="s3") == 0
    assert summary["counts"]["findings"] == len(summary["findings"])


def test_given_a_bucket_that_refuses_the_write_when_the_handler_runs_then_the_run_returns_with_a_report_error(
    aws, dns_server, run, bucket
):
    scenario.build(aws, dns_server)
    aws.fail("PutObject", "AccessDenied", "Access Denied", status=403)

    summary = run()

    [error] = [e for e in summary["errors"] if e["scope"] == "report"]
    assert error["subject"] == f"s3://{BUCKET}"
    assert "AccessDenied" in error["message"]
    assert {e["scope"] for e in summary["errors"]} == {"report", "state"}  # the run's memory lives there too
    assert summary["report"] == ""
    expected = {key: codes for key, codes in scenario.EXPECTED.items() if codes}
    assert scenario.codes_by_identity(summary) == expected
    assert aws.calls.count(operation="PutObject") >= 1


def a_run() -> RunSummary:
    key = IdentityKey(scenario.EU, "example.com")
    finding = Finding.about(key, Code.DMARC_POLICY_NONE, "p=none", subject="_dmarc.example.com")
    return RunSummary(run_id="run-1", dry_run=True, regions=[scenario.EU], identities=[key], findings=[finding])


def test_given_an_html_renderer_when_a_report_is_saved_then_both_files_name_the_json(aws, bucket):
    store = S3Reports(
        aws.client("s3"), BUCKET, html=lambda s: f"<p>{s.report}</p>", now=lambda: datetime(2025, 6, 1, tzinfo=UTC)
    )

    uri = store.save(a_run())

    assert uri == f"s3://{BUCKET}/reports/2025-06-01/run-1/report.json"
    report, _, _ = stored(aws, uri)
    assert report["report"] == uri
    page = aws.client("s3").get_object(Bucket=BUCKET, Key="reports/2025-06-01/run-1/report.html")
    assert page["ContentType"] == "text/html; charset=utf-8"
    assert page["Body"].read().decode() == f"<p>{uri}</p>"


def test_given_an_html_renderer_that_fails_when_a_report_is_saved_then_the_json_is_kept_and_the_error_names_it(
    aws, bucket
):
    def broken(summary: RunSummary) -> str:
        raise KeyError("severity")

    store = S3Reports(aws.client("s3"), BUCKET, html=broken, now=lambda: datetime(2025, 6, 1, tzinfo=UTC))

    with pytest.raises(SesGuardError, match=r"report\.json was written, its HTML page was not: KeyError") as raised:
        store.save(a_run())

    uri = f"s3://{BUCKET}/reports/2025-06-01/run-1/report.json"
    assert uri in str(raised.value)
    report, _, _ = stored(aws, uri)
    assert [f["code"] for f in report["findings"]] == ["DMARC_POLICY_NONE"]


# 600 identities make a full summary of about 330 KB, past the limit, in about 12 s; `make bench` runs 3,000.
LARGE = 600


def test_given_a_large_account_when_the_handler_runs_then_return_and_log_stay_bounded_and_the_report_is_whole(
    aws, dns_server, run, bucket, log, monkeypatch
):
    names = large_account.seed(aws, dns_server, LARGE)
    monkeypatch.setenv("AUDIT_REGIONS", scenario.EU)

    summary = run()

    assert len(json.dumps(summary).encode()) < LIMIT
    line = summary_line(log)
    assert len(line.encode()) < LIMIT
    assert json.loads(line)["summary"] == summary
    assert summary["truncated"] is True
    assert summary["counts"]["by_code"] == {
        "DMARC_NO_REPORTING": 1,
        "DMARC_POLICY_NONE": 1,
        "MAIL_FROM_NOT_CONFIGURED": LARGE,
    }
    report, size, _ = stored(aws, summary["report"])
    assert size > LIMIT  # the bound is doing the work: the full report would not have fitted
    assert scenario.affected(report["findings"]) == large_account.expected(names)
    assert Counter(f["code"] for f in report["findings"]) == summary["counts"]["by_code"]
    # The listed findings are the report's first, worst first: every MEDIUM before the shared LOW ones.
    listed = [f["id"] for f in summary["findings"]]
    assert 0 < len(listed) < len(report["findings"])
    assert listed == [f["id"] for f in report["findings"]][: len(listed)]
    assert {f["severity"] for f in summary["findings"]} == {"MEDIUM"}
    assert summary["errors"] == []
