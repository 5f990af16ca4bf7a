"""The reports inbox and the daily aggregates against moto's S3: ranged reads that never download an oversized
object, refused objects copied aside with their reason, and aggregates written only over the version read."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from core.adapters.rua import FileAggregates, S3Aggregates, S3Inbox, day_key, read_file
from core.kernel.errors import AwsError, ConflictError, SesGuardError
from core.rules.rua.errors import ReportRejected
from tests.fixtures_run import BUCKET

INBOX = "inbox/"
DAY = date(2026, 11, 30)


@pytest.fixture
def s3(aws, bucket):
    return aws.client("s3")


class Transfers:
    """What the client asked S3 for and what came back, from botocore's own events on the client."""

    def __init__(self, client) -> None:
        self.ranges: list[str | None] = []
        self.sent: list[int] = []
        client.meta.events.register("before-send.s3.GetObject", self._before)
        client.meta.events.register("after-call.s3.GetObject", self._after)

    def _before(self, request, **_):
        self.ranges.append(request.headers.get("Range", b"").decode() or None)

    def _after(self, http_response, **_):
        self.sent.append(int(http_response.headers["Content-Length"]))


def test_given_a_small_object_when_read_then_its_bytes_come_back(s3):
    s3.put_object(Bucket=BUCKET, Key="inbox/a.eml", Body=b"From: x\r\n\r\nbody")

    assert S3Inbox(s3, BUCKET, INBOX, max_bytes=1024).read("inbox/a.eml") == b"From: x\r\n\r\nbody"


def test_given_an_object_over_the_cap_when_read_then_it_is_refused_after_at_most_the_cap_plus_one_byte(aws, bucket):
    client = aws.session().client("s3")
    aws.client("s3").put_object(Bucket=BUCKET, Key="inbox/big.eml", Body=b"x" * 1_000_000)
    transfers = Transfers(client)

    with pytest.raises(ReportRejected) as rejected:
        S3Inbox(client, BUCKET, INBOX, max_bytes=1024).read("inbox/big.eml")

    assert rejected.value.reason == "the object has 1000000 bytes, more than the 1024 a report may have"
    assert transfers.ranges == ["bytes=0-1024"]
    assert transfers.sent == [1025]  # what S3 sent at most; the body was closed unread


def test_given_an_object_of_exactly_the_cap_when_read_then_all_of_it_is_read(s3):
    s3.put_object(Bucket=BUCKET, Key="inbox/edge", Body=b"y" * 1024)

    assert S3Inbox(s3, BUCKET, INBOX, max_bytes=1024).read("inbox/edge") == b"y" * 1024


def test_given_an_empty_object_when_read_then_it_is_refused_as_empty(s3):
    s3.put_object(Bucket=BUCKET, Key="inbox/empty", Body=b"")

    with pytest.raises(ReportRejected, match="the object is empty"):
        S3Inbox(s3, BUCKET, INBOX).read("inbox/empty")


def test_given_a_key_outside_the_inbox_when_read_then_nothing_is_asked_of_s3(aws, s3):
    aws.calls.clear()

    with pytest.raises(SesGuardError, match="outside the inbox s3://ses-guard-reports/inbox/"):
        S3Inbox(s3, BUCKET, INBOX).read("state/x.json")

    assert len(aws.calls) == 0


def test_given_a_missing_object_when_read_then_the_error_names_the_call(s3):
    with pytest.raises(AwsError, match="s3 GetObject failed: NoSuchKey"):
        S3Inbox(s3, BUCKET, INBOX).read("inbox/gone")


def test_given_a_refused_object_when_set_aside_then_a_copy_and_its_reason_sit_under_rejected_and_the_original_stays(
    s3,
):
    key = "inbox/dir/a b+c.eml"
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"not a report")

    where = S3Inbox(s3, BUCKET, INBOX).reject(key, "no DMARC aggregate report in it")

    assert where == f"s3://{BUCKET}/rejected/{key}"
    assert s3.get_object(Bucket=BUCKET, Key=f"rejected/{key}")["Body"].read() == b"not a report"
    reason = s3.get_object(Bucket=BUCKET, Key=f"rejected/{key}.reason.txt")
    assert reason["Body"].read().decode() == "no DMARC aggregate report in it"
    assert reason["ContentType"] == "text/plain; charset=utf-8"
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"not a report"


def test_given_no_aggregate_yet_when_a_day_is_created_twice_from_nothing_then_the_second_write_loses(s3):
    first, second = S3Aggregates(s3, BUCKET).day("example.com", DAY), S3Aggregates(s3, BUCKET).day("example.com", DAY)
    assert first.load() == second.load() == (None, "")

    version = first.save('{"n": 1}', "")
    with pytest.raises(ConflictError, match=r"dmarc/example\.com/2026-11-30\.json changed since it was read"):
        second.save('{"n": 2}', "")

    assert second.load() == ('{"n": 1}', version)
    assert first.target == f"s3://{BUCKET}/dmarc/example.com/2026-11-30.json"


def test_given_an_aggregate_when_replaced_over_an_old_version_then_the_write_loses(s3):
    day = S3Aggregates(s3, BUCKET).day("example.com", DAY)
    old = day.save("1", "")
    day.save("2", old)

    with pytest.raises(ConflictError):
        day.save("3", old)

    assert day.load()[0] == "2"


@pytest.mark.parametrize("domain", ["Example.com", "../x", "a/b.example", "example", "-x.example.com", ""])
def test_given_a_name_that_is_no_lower_case_domain_when_keyed_then_no_key_is_made(domain):
    with pytest.raises(SesGuardError, match="is not a domain name in lower case"):
        day_key(domain, DAY)


def test_given_a_local_store_when_a_day_is_written_then_it_sits_under_dmarc_and_loses_to_a_newer_write(tmp_path: Path):
    store = FileAggregates(tmp_path / "store")
    day = store.day("example.com", DAY)

    version = day.save("1", "")
    day.save("2", version)
    with pytest.raises(ConflictError):
        store.day("example.com", DAY).save("3", version)

    assert (tmp_path / "store" / "dmarc" / "example.com" / "2026-11-30.json").read_text() == "2"


def test_given_a_local_file_over_the_cap_when_read_then_it_is_refused(tmp_path: Path):
    path = tmp_path / "big.xml"
    path.write_bytes(b"z" * 2048)

    with pytest.raises(ReportRejected, match="the file has more than the 1024 bytes a report may have"):
        read_file(path, max_bytes=1024)
    assert read_file(path, max_bytes=2048) == b"z" * 2048


def test_given_a_missing_local_file_when_read_then_the_error_names_it(tmp_path: Path):
    with pytest.raises(SesGuardError, match=r"cannot read .*nothing\.xml: No such file or directory"):
        read_file(tmp_path / "nothing.xml")
