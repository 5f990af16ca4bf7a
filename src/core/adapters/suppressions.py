"""Where the SUPPRESSIONS file is read from: an S3 object (the function) or a local file (the CLI)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from core.adapters.aws import translated
from core.kernel.errors import SesGuardError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class S3Suppressions:
    """`s3://bucket/key`, read with one GetObject per run."""

    def __init__(self, client: S3Client, uri: str, account: Callable[[], str]) -> None:
        self._client = client
        self._bucket, _, self._key = uri.removeprefix("s3://").partition("/")
        self._account = account

    @property
    def target(self) -> str:
        return f"s3://{self._bucket}/{self._key}"

    def read(self) -> str:
        with translated("s3", "GetObject"):
            body = self._client.get_object(Bucket=self._bucket, Key=self._key)["Body"].read()
        return _text(body)

    def account(self) -> str:
        return self._account()


class FileSuppressions:
    """A local file, for the CLI."""

    def __init__(self, path: Path, account: Callable[[], str]) -> None:
        self._path = path
        self._account = account

    @property
    def target(self) -> str:
        return str(self._path)

    def read(self) -> str:
        try:
            return _text(self._path.read_bytes())
        except OSError as err:
            raise SesGuardError(f"cannot read it: {err.strerror or err}") from err

    def account(self) -> str:
        return self._account()


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SesGuardError(f"not UTF-8 text (byte {err.start})") from err
