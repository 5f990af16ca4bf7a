"""The report store: each run's full report, as JSON and as a self-contained HTML page, in an S3 bucket."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from core.adapters.aws import translated
from core.kernel.errors import SesGuardError
from core.kernel.models import RunSummary

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

PREFIX = "reports"


class S3Reports:
    """Writes `<prefix>/<date>/<run id>/report.json` and `report.html`; the bucket's default encryption applies. The
    prefix is `reports`, or `reports/<account>/<region>` for a target of organisation mode."""

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        *,
        html: Callable[[RunSummary], str] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        prefix: str = PREFIX,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._bucket = bucket
        self._html = html
        self._now = now

    @property
    def target(self) -> str:
        return f"s3://{self._bucket}"

    def save(self, summary: RunSummary) -> str:
        """The JSON report's URI. Raises SesGuardError when either object cannot be written; the JSON goes first."""
        folder = f"{self._prefix}/{self._now():%Y-%m-%d}/{summary.run_id}"
        uri = f"s3://{self._bucket}/{folder}/report.json"
        # Both files say where the report lives, so a copy downloaded elsewhere still points back to it.
        located = replace(summary, report=uri)
        body = json.dumps(located.to_dict(), ensure_ascii=False, separators=(",", ":")).encode()
        self._put(f"{folder}/report.json", body, "application/json")
        if self._html is not None:
            self._save_page(f"{folder}/report.html", located, self._html)
        return uri

    def _save_page(self, key: str, summary: RunSummary, html: Callable[[RunSummary], str]) -> None:
        # The JSON is the run's record and the page only a view of it: a page that cannot be rendered or written
        # must not end the invocation after records were created, and its error names the JSON that was written.
        try:
            self._put(key, html(summary).encode(), "text/html; charset=utf-8")
        except Exception as err:
            detail = str(err) if isinstance(err, SesGuardError) else f"{type(err).__name__}: {err}"
            raise SesGuardError(f"{summary.report} was written, its HTML page was not: {detail}") from err

    def _put(self, key: str, body: bytes, content_type: str) -> None:
        with translated("s3", "PutObject"):
            self._client.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType=content_type)
