"""Faults as AWS and DNS deliver them, for runs through the real handler.

The errors themselves come from the loopback servers (`LocalAws.fail`, `LocalDns.fail`); this module adds the
few things a fault test needs around them: botocore's retry back-off on a fake clock, so a test can let botocore
retry ten times without waiting for it, and the shapes of a whole region or zone gone wrong.
"""

from __future__ import annotations

from types import SimpleNamespace

import botocore.endpoint
import pytest

from tests.fake_clock import FakeClock
from tests.fixtures_aws import LocalAws

# Every SES call a run makes to read a region, in the order it makes them.
SES_READS = (
    "ListEmailIdentities",
    "GetIdentityDkimAttributes",
    "GetIdentityMailFromDomainAttributes",
    "GetEmailIdentity",
    "GetAccount",
)


def backoff_on(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore sleeps between attempts in one place, `time.sleep` in botocore.endpoint (its only use of `time`
    there): that sleep moves `clock` instead, so retries happen at once and the test can see each back-off."""
    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=clock.sleep))


def kill_region(aws: LocalAws, region: str, code: str = "ServiceUnavailable", status: int = 503) -> None:
    """Every SES read of `region` fails, on every attempt: an endpoint that is down, not one that is slow."""
    for operation in SES_READS:
        aws.fail(operation, code, "Service is unavailable", status=status, region=region)


def zone_path(zone_id: str) -> str:
    """The part of a Route 53 request path that names one hosted zone."""
    return f"/hostedzone/{zone_id}/"
