"""The reports-inbox function as Lambda runs it: a report email lands in moto's S3 under the inbox prefix, S3's
ObjectCreated notification invokes the handler, and the domain's aggregate for the day counts the report once."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from typing import Any

import boto3
import pytest

from core.adapters.rua import S3Aggregates
from core.kernel.errors import ConfigError, EventError, SesGuardError
from core.rules.rua import daily
from core.rules.rua.unpack import MAX_INPUT_BYTES
from core.run import ingest as ingest_run
from handlers import ingest
from tests.fixtures_run import BUCKET
from tests.interleave import BeforeFirstSave
from tests.lambda_context import LambdaContext
from tests.rua_mail import DAY, Row, aggregate_xml, report_mail
from tests.s3events import object_created, s3_test_event

# Where SES stores the mail: a bucket of its own, named as the template names it; the counts go to the report bucket.
MAIL = "ses-guard-inbox-123456789012-eu-west-1"
DAY_KEY = "dmarc/example.com/2026-11-30.json"


class Inbox:
    """The inbox, the report bucket, and the function that S3 invokes for the inbox."""

    def __init__(self, aws: Any, bucket: str) -> None:
        self.aws = aws
        self.bucket = bucket
        self.s3 = aws.client("s3")

    def put(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)

    def deliver(self, key: str, body: bytes) -> dict[str, Any]:
        """What SES (or a user) does: put the object; then what S3 does: notify the function."""
        self.put(key, body)
        return self.notify(object_created(self.bucket, key, size=len(body)))

    def created(self, *keys: str, **kwargs: Any) -> dict[str, Any]:
        return self.notify(object_created(self.bucket, *keys, **kwargs))

    def notify(self, event: Any) -> dict[str, Any]:
        ingest.load_settings.cache_clear()
        context: Any = LambdaContext(
            function_name="ses-guard-ingest"
        )  # the fields Powertools reads, as Lambda gives them
        result: dict[str, Any] = ingest.handler(event, context)
        return result

    def body(self, key: str, bucket: str = "") -> bytes:
        return bytes(self.s3.get_object(Bucket=bucket or self.bucket, Key=key)["Body"].read())

    def keys(self, prefix: str = "", bucket: str = "") -> list[str]:
        listing = self.s3.list_objects_v2(Bucket=bucket or self.bucket, Prefix=prefix)
        return [item["Key"] for item in listing.get("Contents", [])]

    def day(self) -> Any:
        return daily.from_json(self.body(DAY_KEY, BUCKET).decode())


@pytest.fixture
def inbox(aws, bucket, monkeypatch):
    aws.client("s3").create_bucket(Bucket=MAIL, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    monkeypatch.setenv("REPORTS_INBOX", f"s3://{MAIL}/inbox/")
    yield Inbox(aws, MAIL)
    ingest.load_settings.cache_clear()


def test_given_a_report_email_in_the_inbox_when_s3_notifies_then_the_days_aggregate_counts_it(inbox):
    mail = report_mail(aggregate_xml(rows=[Row("203.0.113.7", 12), Row("198.51.100.9", 3, dkim="fail", spf="fail")]))

    result = inbox.deliver("inbox/0o9u2e3kq1v4c2mns2dnv8fph1qj0r2s6d7e5c81", mail)

    assert result["accepted"] == 1
    assert result["results"] == [
        {"source": "inbox/0o9u2e3kq1v4c2mns2dnv8fph1qj0r2s6d7e5c81", "status": "accepted", "added": 1, "duplicates": 0}
    ]
    day = inbox.day()
    assert (day.domain, day.total, day.passed) == ("example.com", 15, 12)
    assert inbox.keys("rejected/") == []


def test_given_the_same_notification_twice_when_handled_then_the_report_counts_once_and_nothing_is_rewritten(
    inbox,
):
    mail = report_mail(aggregate_xml())
    inbox.deliver("inbox/first", mail)
    stored = inbox.body(DAY_KEY, BUCKET)
    writes = inbox.aws.calls.count(operation="PutObject")

    again = inbox.created("inbox/first")

    assert (again["accepted"], again["duplicate"]) == (0, 1)
    assert again["results"][0]["duplicates"] == 1
    assert inbox.body(DAY_KEY, BUCKET) == stored
    assert inbox.aws.calls.count(operation="PutObject") == writes


def test_given_the_same_report_in_a_second_email_when_handled_then_it_is_a_duplicate(inbox):
    inbox.deliver("inbox/gzip", report_mail(aggregate_xml()))

    second = inbox.deliver("inbox/zip", report_mail(aggregate_xml(), kind="zip"))

    assert second["results"][0]["status"] == "duplicate"
    assert inbox.day().total == 12


def test_given_two_reports_for_one_day_when_both_arrive_then_the_day_counts_both(inbox):
    inbox.deliver("inbox/google", report_mail(aggregate_xml("g-1")))
    inbox.deliver("inbox/yahoo", report_mail(aggregate_xml("y-1", org="yahoo.com", rows=[Row("192.0.2.1", 5)])))

    assert inbox.day().total == 17


def test_given_a_truncated_report_when_handled_then_a_copy_and_the_reason_go_to_rejected_and_the_original_stays(
    inbox,
):
    mail = report_mail(aggregate_xml()[:-40])

    result = inbox.deliver("inbox/broken", mail)

    [outcome] = result["results"]
    assert outcome["status"] == "rejected"
    assert result["rejected"] == 1
    assert inbox.keys("rejected/") == ["rejected/inbox/broken", "rejected/inbox/broken.reason.txt"]
    assert inbox.body("rejected/inbox/broken.reason.txt").decode() == outcome["reason"]
    assert inbox.body("rejected/inbox/broken") == mail
    assert inbox.body("inbox/broken") == mail
    assert inbox.keys("dmarc/", BUCKET) == []


@pytest.mark.parametrize("error", [RecursionError("maximum recursion depth exceeded"), KeyError("feedback")])
def test_given_a_parser_bug_tripped_by_an_input_when_handled_then_the_input_is_rejected_and_set_aside(
    inbox, monkeypatch, error
):
    # Stands for whatever crafted input will next make a stdlib parser raise what it never documented.
    def tripped(xml: bytes) -> Any:
        raise error

    monkeypatch.setattr(ingest_run, "parse", tripped)
    mail = report_mail(aggregate_xml())

    result = inbox.deliver("inbox/crafted", mail)

    [outcome] = result["results"]
    assert outcome["status"] == "rejected"
    assert outcome["reason"] == f"the input could not be read: {type(error).__name__}: {error}"
    assert inbox.body("rejected/inbox/crafted.reason.txt").decode() == outcome["reason"]
    assert inbox.body("rejected/inbox/crafted") == mail
    assert inbox.body("inbox/crafted") == mail
    assert inbox.keys("dmarc/", BUCKET) == []


def test_given_parts_nested_in_encoded_words_when_handled_then_rejected_and_set_aside(inbox):
    spelled = b"=?utf-8?q?multipart?=/mixed"
    opening = b"".join(b'Content-Type: %s; boundary="b%d"\r\n\r\n--b%d\r\n' % (spelled, i, i) for i in range(1_500))
    mail = b"MIME-Version: 1.0\r\n" + opening + b"Content-Type: text/plain\r\n\r\nhi\r\n"

    result = inbox.deliver("inbox/nested", mail)

    assert result["results"][0]["reason"].startswith("the message nests parts more than")
    assert inbox.body("rejected/inbox/nested") == mail


def test_given_a_mail_without_a_report_when_handled_then_it_is_rejected_with_that_reason(inbox):
    mail = b"From: someone@example.net\r\nSubject: hello\r\n\r\nJust saying hello.\r\n"

    result = inbox.deliver("inbox/hello", mail)

    assert result["results"][0]["reason"].startswith("the message has no report attachment")
    assert inbox.body("rejected/inbox/hello.reason.txt").decode() == result["results"][0]["reason"]


def test_given_an_object_larger_than_a_report_may_be_when_handled_then_it_is_rejected_without_being_downloaded(
    inbox, monkeypatch
):
    size = MAX_INPUT_BYTES + 1
    inbox.put("inbox/huge", b"\0" * size)
    session = inbox.aws.session()
    received: list[int] = []
    session.events.register(
        "after-call.s3.GetObject",
        lambda http_response, **_: received.append(int(http_response.headers["Content-Length"])),
    )
    # The session the handler opens is this one, with botocore's own event telling what S3 sent back.
    monkeypatch.setattr(boto3.session, "Session", lambda *args, **kwargs: session)

    result = inbox.created("inbox/huge", size=size)

    assert (
        result["results"][0]["reason"]
        == f"the object has {size} bytes, more than the {MAX_INPUT_BYTES} a report may have"
    )
    assert received == [MAX_INPUT_BYTES + 1]  # the range asked for; the body was closed unread
    assert inbox.keys("rejected/") == ["rejected/inbox/huge", "rejected/inbox/huge.reason.txt"]
    assert inbox.keys("inbox/") == ["inbox/huge"]


def test_given_two_deliveries_into_one_day_at_once_when_the_second_writes_first_then_both_count(inbox, monkeypatch):
    # Given two report emails for the same domain and day
    inbox.put("inbox/a", report_mail(aggregate_xml("a-1")))
    inbox.put("inbox/b", report_mail(aggregate_xml("b-1", org="yahoo.com")))
    stores: list[BeforeFirstSave] = []
    results: dict[str, Any] = {}
    real_day = S3Aggregates.day

    def b_runs() -> None:
        if "b" not in results:
            results["b"] = {}  # B's own stores run plainly
            results.update(b=inbox.created("inbox/b"))

    def interleaved(self, domain, day):
        # A's store, when A is about to write, first lets B's whole invocation run and write the day.
        wrapped = BeforeFirstSave(real_day(self, domain, day), b_runs)
        stores.append(wrapped)
        return wrapped

    monkeypatch.setattr(S3Aggregates, "day", interleaved)

    # When A is notified, and B's notification is handled while A has read the day but not yet written it
    results["a"] = inbox.created("inbox/a")

    # Then A's write lost once (moto answered PreconditionFailed to its If-None-Match), A read again, and both count
    assert sum(store.conflicts for store in stores) == 1
    assert results["a"]["accepted"] == results["b"]["accepted"] == 1
    assert inbox.day().total == 24


def test_given_the_store_refuses_writes_when_handled_then_the_invocation_fails_and_a_retry_counts_once(inbox):
    inbox.put("inbox/a", report_mail(aggregate_xml()))
    inbox.aws.fail("PutObject", "AccessDenied", "not authorized", status=403)

    with pytest.raises(SesGuardError, match="1 of 1 inbox objects could not be ingested"):
        inbox.created("inbox/a")

    assert inbox.keys("rejected/") == []
    inbox.aws.calls.clear()  # the fault is gone: Lambda's retry of the event
    retried = inbox.created("inbox/a")
    assert retried["accepted"] == 1
    assert inbox.day().total == 12


def test_given_an_event_for_another_bucket_when_handled_then_it_fails_before_any_call(inbox):
    inbox.aws.calls.clear()

    with pytest.raises(EventError, match=f"about bucket 'elsewhere', not the inbox's bucket '{MAIL}'"):
        inbox.notify(object_created("elsewhere", "inbox/a"))

    assert len(inbox.aws.calls) == 0


def test_given_ses_guards_own_write_when_notified_then_it_fails_before_any_call(inbox):
    inbox.aws.calls.clear()

    with pytest.raises(EventError, match="'rejected/inbox/a' is outside the inbox 'inbox/'"):
        inbox.created("rejected/inbox/a", event_name="ObjectCreated:Copy")

    assert len(inbox.aws.calls) == 0


def test_given_the_test_event_s3_sends_on_setup_when_handled_then_nothing_is_done(inbox):
    inbox.aws.calls.clear()

    assert inbox.notify(s3_test_event())["sources"] == 0
    assert len(inbox.aws.calls) == 0


def test_given_a_key_with_spaces_and_plus_signs_when_notified_then_that_object_is_ingested(inbox):
    result = inbox.deliver("inbox/reports/google 2026+11.eml", report_mail(aggregate_xml()))

    assert result["results"][0]["source"] == "inbox/reports/google 2026+11.eml"
    assert result["accepted"] == 1


def test_given_many_objects_in_one_event_when_handled_then_the_summary_lists_twenty_and_counts_all(inbox):
    keys = [f"inbox/{n:02}" for n in range(25)]
    for n, key in enumerate(keys):
        inbox.put(key, report_mail(aggregate_xml(f"r-{n}")))

    result = inbox.created(*keys)

    assert (result["sources"], result["accepted"], result["reports_added"]) == (25, 25, 25)
    assert (len(result["results"]), result["unlisted"]) == (20, 5)
    assert inbox.day().total == 25 * 12


def test_given_no_inbox_configured_when_handled_then_the_error_names_reports_inbox(aws, bucket):
    ingest.load_settings.cache_clear()
    context: Any = LambdaContext()

    with pytest.raises(ConfigError, match="REPORTS_INBOX is not set"):
        ingest.handler(object_created(BUCKET, "inbox/a"), context)
    ingest.load_settings.cache_clear()


def test_given_a_file_whose_second_report_meets_a_full_day_when_handled_then_none_of_it_is_counted(inbox, monkeypatch):
    monkeypatch.setattr(daily, "MAX_REPORTS", 1)
    inbox.deliver("inbox/first", report_mail(aggregate_xml("g-1")))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("next-day.xml", aggregate_xml("g-2", begin=DAY + timedelta(days=1)))
        archive.writestr("full-day.xml", aggregate_xml("y-1", org="yahoo.com"))

    result = inbox.deliver("inbox/both.zip", buffer.getvalue())

    [outcome] = result["results"]
    assert outcome["status"] == "rejected"
    assert "already has 1 reports" in outcome["reason"]
    # Counted whole or refused whole: the day with room got nothing either.
    assert inbox.keys("dmarc/", BUCKET) == [DAY_KEY]
    assert inbox.day().total == 12
