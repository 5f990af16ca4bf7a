"""Where the run's memory lives: an S3 object written with conditional writes (the function), or a local file (the
CLI's --state)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from core.adapters.aws import translated
from core.kernel.errors import AwsError, ConflictError, SesGuardError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import PutObjectOutputTypeDef

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: the compare and the replace are then not one step
    fcntl = None  # type: ignore[assignment]

PREFIX = "state"
# S3 answers 412 PreconditionFailed when the ETag no longer matches (or the object exists, for If-None-Match), and
# 409 ConditionalRequestConflict when another conditional write to the key is in flight.
_LOST_RACE = ("PreconditionFailed", "ConditionalRequestConflict")
_MISSING = ("NoSuchKey", "404", "NotFound")


class S3State:
    """`state/<account>/<scope>.json` in the report bucket, versioned by its ETag."""

    def __init__(self, client: S3Client, bucket: str, key: str) -> None:
        self._client = client
        self._bucket = bucket
        self._key = key

    @property
    def target(self) -> str:
        return f"s3://{self._bucket}/{self._key}"

    def load(self) -> tuple[str | None, str]:
        try:
            with translated("s3", "GetObject"):
                response = self._client.get_object(Bucket=self._bucket, Key=self._key)
                body = response["Body"].read()
        except AwsError as err:
            if err.code in _MISSING:
                return None, ""
            if err.code == "AccessDenied":
                # Without s3:ListBucket on the bucket, S3 answers a missing key with AccessDenied, not NoSuchKey.
                raise SesGuardError(f"{err} (a missing object reads so too without s3:ListBucket)") from err
            raise
        try:
            return body.decode("utf-8"), str(response["ETag"])
        except UnicodeDecodeError as err:
            raise ValueError(f"not UTF-8 text: {err}") from None

    def save(self, text: str, version: str) -> str:
        body = text.encode("utf-8")
        try:
            with translated("s3", "PutObject"):
                response: PutObjectOutputTypeDef
                if version:  # replace only the object this run read
                    response = self._client.put_object(
                        Bucket=self._bucket, Key=self._key, Body=body, ContentType="application/json", IfMatch=version
                    )
                else:  # create only if no other run created it meanwhile
                    response = self._client.put_object(
                        Bucket=self._bucket, Key=self._key, Body=body, ContentType="application/json", IfNoneMatch="*"
                    )
        except AwsError as err:
            if err.code in _LOST_RACE:
                raise ConflictError(f"{self.target} changed since it was read") from err
            raise
        return str(response["ETag"])


class FileState:
    """A local JSON file, versioned by a hash of its content; compared and replaced under a lock on its directory,
    so two runs on one machine cannot both write over the same version."""

    def __init__(self, path: Path) -> None:
        self._path = path

    @property
    def target(self) -> str:
        return str(self._path)

    def load(self) -> tuple[str | None, str]:
        try:
            text = self._path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None, ""
        except OSError as err:
            raise SesGuardError(f"cannot read {self._path}: {err.strerror or err}") from err
        return text, _digest(text)

    def save(self, text: str, version: str) -> str:
        try:
            with self._locked():
                if self.load()[1] != version:
                    raise ConflictError(f"{self._path} changed since it was read")
                handle, temporary = tempfile.mkstemp(dir=self._path.parent, prefix=f".{self._path.name}.")
                try:
                    with os.fdopen(handle, "w", encoding="utf-8") as out:
                        out.write(text)
                    os.replace(temporary, self._path)
                except BaseException:
                    Path(temporary).unlink(missing_ok=True)
                    raise
        except OSError as err:
            raise SesGuardError(f"cannot write {self._path}: {err.strerror or err}") from err
        return _digest(text)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if fcntl is None:  # pragma: no cover
            yield
            return
        folder = os.open(self._path.parent, os.O_RDONLY)
        try:
            fcntl.flock(folder, fcntl.LOCK_EX)
            yield
        finally:
            os.close(folder)  # closing the descriptor releases the lock


class UnavailableState:
    """The store for a run whose state's location could not be worked out (the account could not be read): every
    read and write fails with that reason, which the run reports as a `state` error and goes on."""

    def __init__(self, target: str, reason: SesGuardError) -> None:
        self._target = target
        self._reason = reason

    @property
    def target(self) -> str:
        return self._target

    def load(self) -> tuple[str | None, str]:
        raise self._reason

    def save(self, text: str, version: str) -> str:  # noqa: ARG002 - the port's signature; nothing is written
        raise self._reason


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
