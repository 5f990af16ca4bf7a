"""The handler invoked as Lambda would, for integration tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.adapters.wiring import AwsWiring
from handlers import audit
from tests import scenario
from tests.lambda_context import LambdaContext

Invoke = Callable[..., dict[str, Any]]


@pytest.fixture
def run(aws: Any, dns_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    """Invoke the handler as Lambda would, with settings from the environment read afresh."""
    monkeypatch.setenv("AUDIT_REGIONS", f"{scenario.EU},{scenario.US}")
    monkeypatch.setenv("DNS_NAMESERVERS", dns_server.nameserver)
    # Generous for loopback: a run compared with another must see the same world even on a loaded machine; tests of
    # timeouts set their own.
    monkeypatch.setenv("DNS_TIMEOUT", "5")
    monkeypatch.setenv("SES_MAX_RPS", "1000")

    def invoke(event: Any = None, context: LambdaContext | None = None) -> dict[str, Any]:
        audit.load_settings.cache_clear()
        summary: dict[str, Any] = audit.handler({} if event is None else event, context or LambdaContext())
        return summary  # Powertools' decorators leave the handler's return type Any

    yield invoke
    audit.load_settings.cache_clear()


BUCKET = "ses-guard-reports"


@pytest.fixture
def bucket(aws: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The report bucket, where runs also keep their memory: without it every finding is new every run."""
    aws.client("s3").create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": scenario.EU})
    monkeypatch.setenv("REPORT_BUCKET", BUCKET)
    return BUCKET


@dataclass
class Clock:
    """The run's time as AwsWiring.now gives it: it moves only when the test says so."""

    now: datetime = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)

    def stamp(self) -> str:
        return self.now.isoformat(timespec="seconds")

    def next_day(self) -> None:
        self.now += timedelta(days=1)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    # Our own wiring's clock, not a fake of AWS: every time the run reads goes through it.
    monkeypatch.setattr(AwsWiring, "now", lambda self: clock.now)
    return clock
