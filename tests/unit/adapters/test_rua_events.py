"""S3 ObjectCreated notifications for the reports inbox: keys decoded as S3 encodes them, anything else refused
before any work."""

from __future__ import annotations

import pytest

from core.adapters.rua import inbox_keys
from core.kernel.errors import EventError
from tests.s3events import object_created, s3_test_event

BUCKET = "ses-guard-reports"
INBOX = "inbox/"


def test_given_an_object_created_event_when_read_then_its_key_is_decoded_as_s3_encoded_it():
    event = object_created(BUCKET, "inbox/report 1+2 (google).eml", "inbox/ü/x.eml")

    assert event["Records"][0]["s3"]["object"]["key"] == "inbox/report+1%2B2+%28google%29.eml"
    assert inbox_keys(event, BUCKET, INBOX) == ["inbox/report 1+2 (google).eml", "inbox/ü/x.eml"]


def test_given_a_key_twice_in_one_event_when_read_then_it_is_listed_once():
    assert inbox_keys(object_created(BUCKET, "inbox/a", "inbox/a"), BUCKET, INBOX) == ["inbox/a"]


@pytest.mark.parametrize(
    "event_name", ["ObjectCreated:Put", "ObjectCreated:CompleteMultipartUpload", "ObjectCreated:Copy"]
)
def test_given_any_kind_of_creation_when_read_then_the_key_is_taken(event_name):
    assert inbox_keys(object_created(BUCKET, "inbox/a", event_name=event_name), BUCKET, INBOX) == ["inbox/a"]


def test_given_the_test_event_s3_sends_on_setup_when_read_then_there_is_nothing_to_do():
    assert inbox_keys(s3_test_event(), BUCKET, INBOX) == []


def _broken(change):
    event = object_created(BUCKET, "inbox/a")
    change(event["Records"][0])
    return event


@pytest.mark.parametrize(
    ("event", "words"),
    [
        (["Records"], "event must be a JSON object, got list"),
        ({}, "not an S3 notification: the event has no Records"),
        ({"Records": []}, "no Records"),
        ({"detail-type": "Scheduled Event", "source": "aws.scheduler"}, "no Records"),
        ({"Records": ["x"]}, r"Records\[0\] is not an S3 event record"),
        (_broken(lambda r: r.update(eventSource="aws:sqs")), r"Records\[0\] is not an S3 event record"),
        (
            _broken(lambda r: r.update(eventName="ObjectRemoved:Delete")),
            "'ObjectRemoved:Delete' is not an ObjectCreated",
        ),
        (_broken(lambda r: r.pop("eventName")), "None is not an ObjectCreated event"),
        (_broken(lambda r: r.pop("s3")), "names no s3.bucket.name and s3.object.key"),
        (_broken(lambda r: r["s3"]["object"].update(key="")), "names no s3.bucket.name and s3.object.key"),
        (_broken(lambda r: r["s3"]["bucket"].update(name=7)), "names no s3.bucket.name"),
        (_broken(lambda r: r["s3"]["bucket"].update(name="other")), "about bucket 'other', not the inbox's bucket"),
        (
            _broken(lambda r: r["s3"]["object"].update(key="rejected/inbox/a")),
            "'rejected/inbox/a' is outside the inbox",
        ),
        (_broken(lambda r: r["s3"]["object"].update(key="inbox/")), "'inbox/' is outside the inbox"),
        (_broken(lambda r: r["s3"]["object"].update(key="inboxes/a")), "'inboxes/a' is outside the inbox"),
    ],
)
def test_given_anything_but_a_creation_in_the_inbox_when_read_then_the_event_is_refused(event, words):
    with pytest.raises(EventError, match=words):
        inbox_keys(event, BUCKET, INBOX)


def test_given_one_bad_record_among_good_ones_when_read_then_the_whole_event_is_refused():
    event = object_created(BUCKET, "inbox/a", "dmarc/example.com/2026-11-30.json")

    with pytest.raises(EventError, match=r"Records\[1\]: 'dmarc/example.com/2026-11-30.json' is outside the inbox"):
        inbox_keys(event, BUCKET, INBOX)
