"""Publishing rendered notifications to SNS (moto's server on loopback), read back through an SQS subscription."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.adapters.sns import SnsPublisher
from core.kernel.errors import AwsError
from core.kernel.models import Code, Finding, IdentityKey, Record, RunSummary, Severity
from core.report.notify import MAX_PUBLISHES, SNS_MAX_BYTES, render
from tests.fixtures_aws import received, subscribed_queue

IDN_TEXT = "bücher.例え.テスト: DKIM レコードがありません; MAIL FROM ドメインを確認してください. " * 6


def multibyte_run(identities: int) -> RunSummary:
    findings = [
        Finding.about(
            IdentityKey("eu-west-1", f"xn--bcher-kva{i:04d}.example"),
            code,
            f"{code.value}: {IDN_TEXT}",
            fixable=True,
            records=(Record(f"_dmarc.xn--bcher-kva{i:04d}.example", "TXT", ("v=DMARC1; p=none",)),),
        )
        for i in range(identities)
        for code in (Code.DKIM_RECORD_MISSING, Code.DMARC_MISSING, Code.MAIL_FROM_SPF_MISSING)
    ]
    return RunSummary(
        run_id="run-sns", dry_run=True, regions=["eu-west-1"], identities_audited=identities, findings=findings
    )


def test_given_a_run_over_256_kb_only_in_bytes_when_published_then_notify_split_it_and_every_finding_arrives(
    aws: Any,
) -> None:
    run = multibyte_run(identities=60)
    (whole,) = render(run, min_severity=Severity.LOW, always=False, max_bytes=4 * SNS_MAX_BYTES)
    # moto counts the limit in characters and would take the whole run in one publish; SNS would refuse it.
    assert len(whole.message) < SNS_MAX_BYTES < whole.size
    topic_arn = aws.client("sns").create_topic(Name="findings")["TopicArn"]
    queue_url = subscribed_queue(aws, topic_arn)
    notifications = render(run, min_severity=Severity.LOW, always=False)

    ids = SnsPublisher(aws.client("sns"), topic_arn).publish(notifications)

    assert len(notifications) > 1
    assert all(n.size <= SNS_MAX_BYTES for n in notifications)
    assert len(set(ids)) == len(notifications) == aws.calls.count(service="sns", operation="Publish")
    parts = [json.loads(body) for body in received(aws, queue_url, len(notifications))]
    assert sorted(p["part"] for p in parts) == list(range(1, len(notifications) + 1))
    delivered = sorted(json.dumps(f, sort_keys=True) for p in parts for f in p["findings"])
    assert delivered == sorted(json.dumps(f.to_dict(), sort_keys=True) for f in run.findings)


def test_given_a_run_too_big_for_3_publishes_when_published_then_3_arrive_and_count_what_was_left_out(aws: Any) -> None:
    run = multibyte_run(identities=400)
    run.report = "s3://ses-guard-reports/runs/run-sns.json"
    topic_arn = aws.client("sns").create_topic(Name="findings")["TopicArn"]
    queue_url = subscribed_queue(aws, topic_arn)
    notifications = render(run, min_severity=Severity.LOW, always=False)

    SnsPublisher(aws.client("sns"), topic_arn).publish(notifications)

    assert aws.calls.count(service="sns", operation="Publish") == MAX_PUBLISHES
    assert all(n.size <= SNS_MAX_BYTES for n in notifications)
    parts = sorted((json.loads(body) for body in received(aws, queue_url, MAX_PUBLISHES)), key=lambda p: p["part"])
    assert [p["part"] for p in parts] == [1, 2, 3]
    listed = [f["id"] for p in parts for f in p["findings"]]
    assert len(set(listed)) == len(listed)
    assert all(p["truncated"] and p["left_out"]["findings"] == len(run.findings) - len(listed) > 0 for p in parts)
    assert all(p["report"] == run.report for p in parts)


def test_given_a_missing_topic_when_publishing_then_the_error_is_an_aws_error_naming_the_call(aws: Any) -> None:
    notifications = render(multibyte_run(identities=1), min_severity=Severity.LOW, always=False)
    missing = "arn:aws:sns:eu-west-1:123456789012:no-such-topic"

    with pytest.raises(AwsError) as caught:
        SnsPublisher(aws.client("sns"), missing).publish(notifications)

    assert caught.value.service == "sns"
    assert caught.value.operation == "Publish"
    assert caught.value.code == "NotFound"


def test_given_sns_throttles_every_attempt_when_publishing_then_the_error_is_an_aws_error(aws: Any) -> None:
    topic_arn = aws.client("sns").create_topic(Name="findings")["TopicArn"]
    aws.fail("Publish", "Throttling", "Rate exceeded")
    notifications = render(multibyte_run(identities=1), min_severity=Severity.LOW, always=False)

    with pytest.raises(AwsError) as caught:
        SnsPublisher(aws.client("sns"), topic_arn).publish(notifications)

    assert caught.value.code == "Throttling"
    assert aws.calls.count(service="sns", operation="Publish") >= 1
