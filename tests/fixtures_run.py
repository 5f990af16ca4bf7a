"""The handler invoked as Lambda would, for integration tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from handlers import audit
from tests import scenario
from tests.lambda_context import LambdaContext

Invoke = Callable[..., dict[str, Any]]


@pytest.fixture
def run(aws: Any, dns_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    """Invoke the handler as Lambda would, with settings from the environment read afresh."""
    monkeypatch.setenv("AUDIT_REGIONS", f"{scenario.EU},{scenario.US}")
    monkeypatch.setenv("DNS_NAMESERVERS", dns_server.nameserver)
    monkeypatch.setenv("DNS_TIMEOUT", "1")
    monkeypatch.setenv("SES_MAX_RPS", "1000")

    def invoke(event: Any = None, context: LambdaContext | None = None) -> dict[str, Any]:
        audit.load_settings.cache_clear()
        summary: dict[str, Any] = audit.handler({} if event is None else event, context or LambdaContext())
        return summary  # Powertools' decorators leave the handler's return type Any

    yield invoke
    audit.load_settings.cache_clear()
