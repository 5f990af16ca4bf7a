"""DMARC aggregate reports in S3: the inbox they arrive in (its notifications checked, objects read up to a size cap,
refused ones kept aside with the reason) and, in the report bucket, the per-domain, per-day aggregates, written only
over the version read. A local directory holds the same aggregates for the CLI."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

import boto3

from core.adapters.aws import boto_config, translated
from core.adapters.state import FileState, S3State
from core.kernel.errors import AwsError, EventError, SesGuardError
from core.rules.rua.errors import ReportRejected
from core.rules.rua.unpack import MAX_INPUT_BYTES

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import GetObjectOutputTypeDef

DAYS_PREFIX = "dmarc"
REJECTED_PREFIX = "rejected"
REASON_SUFFIX = ".reason.txt"
# A domain as it may appear in a key: the name comes from the report, which anyone can send.
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z0-9-]{2,63}$")
_CONTENT_RANGE = re.compile(r"^bytes \d+-\d+/(\d+)$")
_DAY_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})\.json$")
# Anyone can send a report naming any domain, so the listing of domains stops here; past it, the audit lists each
# audited domain's prefix instead.
MAX_DOMAIN_PAGES = 10
MAX_AGGREGATE_BYTES = 4 * 1024 * 1024  # a day holds at most MAX_SOURCES sources and MAX_REPORTS report keys


def inbox_keys(event: Any, bucket: str, prefix: str) -> list[str]:
    """The object keys an S3 ObjectCreated notification names, each checked to be in the inbox before any work:
    anything else (another event, bucket or prefix, such as ses-guard's own writes) is an EventError."""
    if not isinstance(event, Mapping):
        raise EventError(f"event must be a JSON object, got {type(event).__name__}")
    if event.get("Event") == "s3:TestEvent":  # what S3 sends once when the notification is configured
        return []
    records = event.get("Records")
    if not isinstance(records, list) or not records:
        raise EventError("not an S3 notification: the event has no Records")
    keys = [_inbox_key(f"Records[{index}]", record, bucket, prefix) for index, record in enumerate(records)]
    return list(dict.fromkeys(keys))


def _inbox_key(where: str, record: Any, bucket: str, prefix: str) -> str:
    if not isinstance(record, Mapping) or record.get("eventSource") != "aws:s3":
        raise EventError(f"{where} is not an S3 event record (eventSource aws:s3)")
    name = record.get("eventName")
    if not isinstance(name, str) or not name.startswith("ObjectCreated:"):
        raise EventError(f"{where}: {name!r} is not an ObjectCreated event")
    s3 = record.get("s3")
    found_bucket = s3.get("bucket") if isinstance(s3, Mapping) else None
    found_object = s3.get("object") if isinstance(s3, Mapping) else None
    found_name = found_bucket.get("name") if isinstance(found_bucket, Mapping) else None
    raw_key = found_object.get("key") if isinstance(found_object, Mapping) else None
    if not isinstance(found_name, str) or not isinstance(raw_key, str) or not raw_key:
        raise EventError(f"{where} names no s3.bucket.name and s3.object.key")
    if found_name != bucket:
        raise EventError(f"{where} is about bucket {found_name!r}, not the inbox's bucket {bucket!r}")
    key = unquote_plus(raw_key)  # S3 sends keys form-encoded: a space arrives as "+", a "+" as "%2B"
    if not key.startswith(prefix) or key == prefix:
        raise EventError(f"{where}: {key!r} is outside the inbox {prefix!r}")
    return key


def open_inbox(
    session: boto3.session.Session, inbox_bucket: str, prefix: str, report_bucket: str
) -> tuple[S3Inbox, S3Aggregates]:
    """The inbox, and the report bucket's aggregates, sharing one client."""
    client = session.client("s3", config=boto_config())
    return S3Inbox(client, inbox_bucket, prefix), S3Aggregates(client, report_bucket)


def open_aggregates(session: boto3.session.Session, bucket: str) -> S3Aggregates:
    return S3Aggregates(session.client("s3", config=boto_config()), bucket)


def day_key(domain: str, day: date) -> str:
    """`dmarc/<domain>/<YYYY-MM-DD>.json`; a domain that is not a lower-case DNS name never becomes a key."""
    if not _DOMAIN.match(domain):
        raise SesGuardError(f"{domain!r} is not a domain name in lower case, so it names no aggregate")
    return f"{DAYS_PREFIX}/{domain}/{day:%Y-%m-%d}.json"


class S3Inbox:
    """Objects under `prefix` in the bucket, read with one ranged GET: S3 sends at most `max_bytes` + 1 bytes and
    says in Content-Range how large the whole object is, so an oversized one is refused unread."""

    def __init__(self, client: S3Client, bucket: str, prefix: str, *, max_bytes: int = MAX_INPUT_BYTES) -> None:
        self._client = client
        self._bucket = bucket
        self._prefix = prefix
        self._max = max_bytes

    @property
    def target(self) -> str:
        return f"s3://{self._bucket}/{self._prefix}"

    def read(self, key: str) -> bytes:
        if not key.startswith(self._prefix):
            raise SesGuardError(f"s3://{self._bucket}/{key} is outside the inbox {self.target}")
        try:
            with translated("s3", "GetObject"):
                response = self._client.get_object(Bucket=self._bucket, Key=key, Range=f"bytes=0-{self._max}")
        except AwsError as err:
            if err.code == "InvalidRange":  # the answer to any range of an empty object
                raise ReportRejected("the object is empty") from None
            raise
        body = response["Body"]
        try:
            size = _whole_size(response)
            if size > self._max:
                raise ReportRejected(f"the object has {size} bytes, more than the {self._max} a report may have")
            with translated("s3", "GetObject"):
                data = body.read(self._max + 1)
        finally:
            body.close()  # unread bytes are dropped with the connection, never downloaded
        if len(data) > self._max:  # a server that ignored the range
            raise ReportRejected(f"the object has more than the {self._max} bytes a report may have")
        return data

    def reject(self, key: str, reason: str) -> str:
        """Copies the object to `rejected/<key>` in its bucket, inside S3 (nothing is downloaded, the original
        stays), and writes the reason beside it as `rejected/<key>.reason.txt`."""
        copy = f"{REJECTED_PREFIX}/{key}"
        with translated("s3", "CopyObject"):
            # Tags stay behind: copying them would need s3:GetObjectTagging and s3:PutObjectTagging as well.
            self._client.copy_object(
                Bucket=self._bucket,
                Key=copy,
                CopySource={"Bucket": self._bucket, "Key": key},
                TaggingDirective="REPLACE",
            )
        with translated("s3", "PutObject"):
            self._client.put_object(
                Bucket=self._bucket,
                Key=copy + REASON_SUFFIX,
                Body=reason.encode("utf-8"),
                ContentType="text/plain; charset=utf-8",
            )
        return f"s3://{self._bucket}/{copy}"


def _whole_size(response: GetObjectOutputTypeDef) -> int:
    found = _CONTENT_RANGE.match(response.get("ContentRange", ""))
    return int(found.group(1)) if found else int(response.get("ContentLength", 0))


class S3Aggregates:
    """`dmarc/<domain>/<YYYY-MM-DD>.json` in the report bucket, each replaced only over the ETag read (If-Match, or
    If-None-Match for a new day), so two deliveries merging into one day cannot lose either."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    @property
    def target(self) -> str:
        return f"s3://{self._bucket}/{DAYS_PREFIX}/"

    def day(self, domain: str, day: date) -> S3State:
        return S3State(self._client, self._bucket, day_key(domain, day))

    def domains(self) -> set[str] | None:
        """The domains with aggregates, from one delimited listing of `dmarc/`; None when there are more than
        MAX_DOMAIN_PAGES pages of them."""
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=f"{DAYS_PREFIX}/", Delimiter="/"
        )
        found: set[str] = set()
        with translated("s3", "ListObjectsV2"):
            for number, page in enumerate(pages, 1):
                if number > MAX_DOMAIN_PAGES:
                    return None
                for common in page.get("CommonPrefixes", []):
                    found.add(common.get("Prefix", "")[len(DAYS_PREFIX) + 1 :].rstrip("/"))
        return {name for name in found if _DOMAIN.match(name)}

    def window(self, domain: str, start: date, end: date, max_days: int) -> list[str]:
        """One listing of `dmarc/<domain>/` from `start` on (keys sort by date), then a GET per day in the window."""
        prefix = day_key(domain, start).rsplit("/", 1)[0] + "/"
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=prefix, StartAfter=f"{prefix}{start - timedelta(days=1):%Y-%m-%d}.json"
        )
        keys: list[str] = []
        with translated("s3", "ListObjectsV2"):
            for page in pages:
                days = [
                    (self._day_of(item.get("Key", ""), prefix), item.get("Key", ""))
                    for item in page.get("Contents", [])
                ]
                keys += [key for day, key in days if day is not None and start <= day <= end]
                if any(day is not None and day > end for day, _ in days):
                    break
        return [text for key in keys[-max_days:] if (text := self._read(key)) is not None]

    @staticmethod
    def _day_of(key: str, prefix: str) -> date | None:
        found = _DAY_NAME.match(key[len(prefix) :])
        if not found:
            return None
        try:
            return date.fromisoformat(found.group(1))
        except ValueError:
            return None

    def _read(self, key: str) -> str | None:
        """The aggregate's text; None when it went away since the listing."""
        try:
            with translated("s3", "GetObject"):
                response = self._client.get_object(Bucket=self._bucket, Key=key)
                body = response["Body"]
                try:
                    data = body.read(MAX_AGGREGATE_BYTES + 1)
                finally:
                    body.close()
        except AwsError as err:
            if err.code in ("NoSuchKey", "404"):
                return None
            raise
        if len(data) > MAX_AGGREGATE_BYTES:
            raise SesGuardError(f"s3://{self._bucket}/{key} is larger than an aggregate can be")
        return data.decode("utf-8", errors="replace")


class FileAggregates:
    """The same layout under a local directory: `<root>/dmarc/<domain>/<YYYY-MM-DD>.json`."""

    def __init__(self, root: Path) -> None:
        self._root = root

    @property
    def target(self) -> str:
        return str(self._root / DAYS_PREFIX)

    def day(self, domain: str, day: date) -> FileState:
        path = self._root / day_key(domain, day)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise SesGuardError(f"cannot create {path.parent}: {err.strerror or err}") from err
        return FileState(path)


def read_file(path: Path, max_bytes: int = MAX_INPUT_BYTES) -> bytes:
    """A local report file, read no further than one byte past `max_bytes`; raises ReportRejected when larger."""
    try:
        with path.open("rb") as source:
            data = source.read(max_bytes + 1)
    except OSError as err:
        raise SesGuardError(f"cannot read {path}: {err.strerror or err}") from err
    if len(data) > max_bytes:
        raise ReportRejected(f"the file has more than the {max_bytes} bytes a report may have")
    return data
