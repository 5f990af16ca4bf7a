"""Organisation mode's files in the report bucket: the targets the Distributed Map reads, and the results its
ResultWriter writes.

ResultWriter (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html) writes, under
`<prefix>/<map run id>/` (the prefix is `org-results/<org run>`, one per execution), a `manifest.json`:
    {"DestinationBucket": ..., "MapRunArn": ..., "ResultFiles": {"FAILED": [{"Key": ..., "Size": ...}],
     "PENDING": [...], "SUCCEEDED": [...]}}
and result files, each a JSON array of child executions: {"ExecutionArn", "Input" (a JSON string), "Name",
"Output" (a JSON string, SUCCEEDED), "Status", "StartDate", "StopDate", "StateMachineArn", ...}; a FAILED entry has
"Error" and "Cause" instead of "Output". A file may hold thousands of executions: it is read as a stream, one
execution at a time.

When the Map fails (too many child executions failed), the state machine's Catch gets no ResultWriterDetails:
RunResults then finds the run's manifests itself, under the run's own prefix, so the targets audited before the
Map failed are still summarised.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import chain
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError

from core.adapters.aws import translated
from core.adapters.sns import SnsPublisher
from core.kernel.errors import EventError, SesGuardError
from core.kernel.models import Severity
from core.kernel.org import OrgSummary, Target, TargetResult
from core.report.org import page, render, report_json

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient

PREFIX = "org"
RESULTS_PREFIX = "org-results"
MANIFEST = "manifest.json"
_RESULT_FILE = re.compile(r"/(SUCCEEDED|FAILED|PENDING)_\d+\.json$")
CHUNK = 64 * 1024
MAX_ITEM_BYTES = 1024 * 1024  # one execution's record; a TargetResult is a few KB
_STATUSES = ("SUCCEEDED", "FAILED", "PENDING")


def targets_key(org_run: str) -> str:
    return f"{PREFIX}/{org_run}/targets.json"


def results_prefix(org_run: str) -> str:
    """Where the state machine's ResultWriter writes this run's Map results (its Prefix, per execution)."""
    return f"{RESULTS_PREFIX}/{org_run}/"


def write_targets(client: S3Client, bucket: str, org_run: str, targets: Sequence[Target]) -> str:
    """`org/<org_run>/targets.json`: a JSON array of {"account", "region"}, the Distributed Map's item list."""
    key = targets_key(org_run)
    body = json.dumps([t.to_dict() for t in targets], separators=(",", ":")).encode()
    with translated("s3", "PutObject"):
        client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    return key


def write_report(client: S3Client, bucket: str, key: str, body: str, content_type: str) -> str:
    with translated("s3", "PutObject"):
        client.put_object(Bucket=bucket, Key=key, Body=body.encode(), ContentType=content_type)
    return f"s3://{bucket}/{key}"


class MapResults:
    """The TargetResults of one Map Run, read from its ResultWriter manifest. Problems reading a file are collected
    in `errors` (the rest is still read); an execution that failed, or whose output is not a TargetResult, becomes a
    failed TargetResult saying why."""

    def __init__(self, client: S3Client, bucket: str, manifest_key: str, *, errors: list[str] | None = None) -> None:
        """`errors`: the list the problems are added to (a new one by default)."""
        self._client = client
        self._bucket = bucket
        self._manifest_key = manifest_key
        self.errors: list[str] = [] if errors is None else errors

    def __iter__(self) -> Iterator[TargetResult]:
        """Never raises for what S3 holds: a manifest that cannot be read is an error in `errors`, with no result."""
        where = f"s3://{self._bucket}/{self._manifest_key}"
        try:
            manifest = self._manifest()
        except SesGuardError as err:  # reading the body is inside `translated`: a broken stream is an AwsError
            self.errors.append(f"{where}: the Map's results cannot be read: {err}"[:500])
            return
        files = manifest.get("ResultFiles", {})
        if not isinstance(files, Mapping):
            self.errors.append(f"{where}: ResultFiles is not an object; the Map's results cannot be read")
            return
        bucket = str(manifest.get("DestinationBucket") or self._bucket)
        for status in _STATUSES:
            for entry in files.get(status, []) or []:
                key = str(entry.get("Key", "")) if isinstance(entry, Mapping) else ""
                if not key:
                    self.errors.append(f"manifest {status} entry without a Key: {entry!r}"[:300])
                    continue
                yield from read_file(self._client, bucket, key, self.errors)

    def _manifest(self) -> Mapping[str, Any]:
        with translated("s3", "GetObject"):
            body = self._client.get_object(Bucket=self._bucket, Key=self._manifest_key)["Body"].read()
        try:
            manifest = json.loads(body)
        except ValueError as err:
            raise SesGuardError(f"not JSON: {err}") from None
        if not isinstance(manifest, Mapping):
            raise SesGuardError("not a ResultWriter manifest")
        return manifest


def read_file(client: S3Client, bucket: str, key: str, errors: list[str]) -> Iterator[TargetResult]:
    """One result file's TargetResults. A file that cannot be read, or breaks off part way (a connection reset,
    a read timeout), is an error in `errors`; the results read before the break stand."""
    try:
        with translated("s3", "GetObject"):
            body = client.get_object(Bucket=bucket, Key=key)["Body"]
        for execution in json_array(body.iter_chunks(CHUNK)):
            yield execution_result(execution)
    except (SesGuardError, ValueError) as err:
        errors.append(f"s3://{bucket}/{key}: {err}"[:500])
    except BotoCoreError as err:  # the body broke off while streamed, past the call `translated` guards
        errors.append(f"s3://{bucket}/{key}: reading broke off: {type(err).__name__}: {err}"[:500])


class RunResults:
    """Every TargetResult the run's Map wrote, found by listing the run's ResultWriter prefix: what Summarise reads
    when the Map failed and handed it no manifest. Each manifest found is read as MapResults reads one; with none,
    the result files themselves (the Map may fail before it writes its manifest). Problems go to `errors`."""

    def __init__(self, client: S3Client, bucket: str, org_run: str, *, errors: list[str] | None = None) -> None:
        self._client = client
        self._bucket = bucket
        self._prefix = results_prefix(org_run)
        self.errors: list[str] = [] if errors is None else errors

    def __iter__(self) -> Iterator[TargetResult]:
        where = f"s3://{self._bucket}/{self._prefix}"
        try:
            manifests, files = self._listed()
        except SesGuardError as err:
            self.errors.append(f"{where}: the Map's results cannot be listed: {err}"[:500])
            return
        for key in manifests:
            yield from MapResults(self._client, self._bucket, key, errors=self.errors)
        if manifests:
            return
        if not files:
            self.errors.append(f"{where}: the Map wrote no results")
            return
        self.errors.append(f"{where}: no manifest; read the {len(files)} result files found there")
        for key in files:
            yield from read_file(self._client, self._bucket, key, self.errors)

    def _listed(self) -> tuple[list[str], list[str]]:
        manifests: list[str] = []
        files: list[str] = []
        with translated("s3", "ListObjectsV2"):
            pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=self._prefix)
            for page in pages:
                for item in page.get("Contents", []):
                    key = item["Key"]
                    if key.endswith(f"/{MANIFEST}"):
                        manifests.append(key)
                    elif _RESULT_FILE.search(key):
                        files.append(key)
        return manifests, files


def execution_result(execution: Any) -> TargetResult:
    """One child execution's record as a TargetResult; never raises."""
    if not isinstance(execution, Mapping):
        return TargetResult.failure(Target("000000000000", "unknown"), f"not an execution record: {execution!r}")
    target = _target_of(execution.get("Input"))
    status = execution.get("Status")
    if status != "SUCCEEDED":
        error, cause = execution.get("Error", ""), execution.get("Cause", "")
        detail = f"{error}: {cause}" if error or cause else "no output"
        return TargetResult.failure(target, f"the audit execution {str(status).lower()}: {detail}")
    try:
        output = json.loads(execution.get("Output") or "null")
        # A Task that returns lambda:invoke's whole response (no OutputPath) nests the function's result.
        if isinstance(output, Mapping) and "Payload" in output and "account" not in output:
            output = output["Payload"]
        return TargetResult.from_dict(output)
    except (TypeError, ValueError) as err:
        return TargetResult.failure(target, f"the audit's output is not a target result: {err}")


def _target_of(raw: Any) -> Target:
    try:
        event = json.loads(raw) if isinstance(raw, str) else raw
        return Target.from_dict(event.get("target") if isinstance(event, Mapping) else None)
    except (ValueError, EventError):
        return Target("000000000000", "unknown")


def json_array(chunks: Iterable[bytes]) -> Iterator[Any]:
    """The items of one JSON array read from byte chunks, one at a time: memory holds one item and one chunk."""
    decoder = json.JSONDecoder()
    buffer, started, pending = "", False, b""
    for chunk in chain(chunks, [None]):
        final = chunk is None
        text, pending = _decode(pending + (chunk or b""), final)
        buffer += text
        while True:
            buffer = buffer.lstrip(", \t\r\n") if started else buffer.lstrip()
            if not buffer:
                break
            if not started:
                if buffer[0] != "[":
                    raise ValueError("not a JSON array")
                buffer, started = buffer[1:], True
                continue
            if buffer[0] == "]":
                return
            try:
                item, end = decoder.raw_decode(buffer)
            except ValueError:
                if final or len(buffer) > MAX_ITEM_BYTES:
                    raise ValueError("an item is not JSON, or the array is cut short") from None
                break  # the item goes on in the next chunk
            if end == len(buffer) and not final:
                break  # a number or literal may go on in the next chunk: decode it again with more
            yield item
            buffer = buffer[end:]
    raise ValueError("the JSON array is cut short" if started else "empty: not a JSON array")


def _decode(data: bytes, final: bool) -> tuple[str, bytes]:
    """UTF-8 text of `data`, keeping back an incomplete multi-byte character at its end until the next chunk."""
    for cut in range(0, 1 if final else min(3, len(data)) + 1):
        try:
            return data[: len(data) - cut].decode("utf-8"), data[len(data) - cut :]
        except UnicodeDecodeError:
            continue
    raise ValueError("not UTF-8")


class S3OrgReports:
    """`org/<org run>/report.json` and `report.html` in the report bucket."""

    def __init__(self, client: S3Client, bucket: str, org_run: str) -> None:
        self._client = client
        self._bucket = bucket
        self._folder = f"{PREFIX}/{org_run}"

    @property
    def target(self) -> str:
        return f"s3://{self._bucket}/{self._folder}/"

    def save(self, summary: OrgSummary) -> str:
        # Both files say where the report lives, so a copy downloaded elsewhere still points back to it.
        summary.report = f"s3://{self._bucket}/{self._folder}/report.json"
        write_report(
            self._client, self._bucket, f"{self._folder}/report.json", report_json(summary), "application/json"
        )
        write_report(
            self._client, self._bucket, f"{self._folder}/report.html", page(summary), "text/html; charset=utf-8"
        )
        return summary.report


class SnsOrgNotifier:
    """The organisation run's one notification, to the findings topic from the topic's own region."""

    def __init__(
        self,
        client: SNSClient,
        topic_arn: str,
        *,
        always: bool,
        notify_on: str,
        min_severity: Severity = Severity.LOW,
    ) -> None:
        self._client = client
        self._topic_arn = topic_arn
        self._always = always
        self._notify_on = notify_on
        self._min_severity = min_severity

    @property
    def target(self) -> str:
        return self._topic_arn

    def notify(self, summary: OrgSummary) -> bool:
        notifications = render(summary, min_severity=self._min_severity, always=self._always, notify_on=self._notify_on)
        SnsPublisher(self._client, self._topic_arn).publish(notifications)
        return bool(notifications)
