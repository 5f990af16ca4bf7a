"""A large region's audit, counted through the real adapters (moto's server, the loopback DNS server): SES calls at
the batch APIs' floor, Route 53 read once a zone at its page size, DNS checks running while SES is still being read,
and memory that does not grow with the identities checked."""

from __future__ import annotations

import os
import threading
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import core
from core.adapters.wiring import AwsWiring
from core.kernel.settings import Settings
from core.run.audit import audit
from core.run.deadline import Deadline
from tests import large_account, scenario

PAGE = 300  # ListResourceRecordSets' maximum (and default) MaxItems


@dataclass
class Events:
    """A Progress port keeping what it hears, in order."""

    log: list[tuple[str, int]] = field(default_factory=list)
    checked: threading.Event = field(default_factory=threading.Event)

    def identities_read(self, count: int) -> None:
        self.log.append(("read", count))

    def domains_checked(self, done: int, total: int, lookups: int) -> None:
        self.log.append(("checked", done))
        self.checked.set()


@pytest.fixture
def settings(aws, dns_server, monkeypatch) -> Settings:
    monkeypatch.setenv("AUDIT_REGIONS", scenario.EU)
    monkeypatch.setenv("DNS_NAMESERVERS", dns_server.nameserver)
    monkeypatch.setenv("SES_MAX_RPS", "1000")
    return Settings.from_env(os.environ)


def test_given_a_correct_region_of_n_domains_when_audited_then_ses_and_route53_calls_are_at_their_floors(
    aws, dns_server, settings
):
    names = large_account.seed_correct(aws, dns_server, 250)
    records = 6 * len(names) + 2  # six record sets an identity, and the apex NS and SOA
    aws.calls.clear()

    result = audit([scenario.EU], settings, AwsWiring(settings), Deadline.unlimited())

    assert result.findings == []
    assert result.errors == []
    assert len(result.identities) == 250
    # 1 ListEmailIdentities page, 2 v1 batch calls a 100 domains, 1 GetEmailIdentity for the signing zone, 1 GetAccount
    assert aws.calls.count(service="ses") == 1 + 2 * 3 + 1 + 1
    # The zone list once, and the zone once, whole, in pages of the API's 300.
    assert aws.calls.count(service="route53", operation="ListHostedZones") == 1
    assert aws.calls.count(service="route53", operation="ListResourceRecordSets") == -(-records // PAGE)
    [view] = result.placement.views.values()
    assert len(view.records) == records  # every record set an identity needs, and the apex's NS and SOA


def test_given_three_ses_batches_when_audited_then_dns_checks_run_before_the_last_batch_is_read(
    aws, dns_server, settings
):
    large_account.seed_correct(aws, dns_server, 250)
    events = Events()
    seen: list[bool] = []
    batches = 0

    def on_batch() -> None:
        """Holds the last batch's MAIL FROM read at the server until a check has been reported, or 30 s passed:
        a run that checks only after reading everything cannot report one meanwhile."""
        nonlocal batches
        batches += 1
        if batches < 3:
            aws.meanwhile("GetIdentityMailFromDomainAttributes", on_batch)
        else:
            seen.append(events.checked.wait(timeout=30))

    aws.meanwhile("GetIdentityMailFromDomainAttributes", on_batch)

    result = audit([scenario.EU], settings, AwsWiring(settings), Deadline.unlimited(), progress=events)

    assert seen == [True]
    assert result.findings == []
    reads = [count for kind, count in events.log if kind == "read"]
    assert reads == [100, 200, 250]  # a report a batch
    first_check = events.log.index(("checked", 1))
    assert first_check < events.log.index(("read", 250))


@dataclass
class HeldAtTheEnd:
    """A Progress port that, when the last domain is checked, sums what the run's own code (a frame under src/core
    in the allocation's traceback) still holds: the servers' threads on loopback are not the run's."""

    held: int = 0

    def identities_read(self, count: int) -> None:
        pass

    def domains_checked(self, done: int, total: int, lookups: int) -> None:
        if done == total:
            self.held = run_bytes(tracemalloc.take_snapshot())


def run_bytes(snapshot: tracemalloc.Snapshot) -> int:
    mine = tracemalloc.Filter(True, f"{Path(core.__file__).parent}{os.sep}*", all_frames=True)
    return sum(stat.size for stat in snapshot.filter_traces([mine]).statistics("filename"))


def held_bytes(aws, dns_server, settings: Settings, count: int) -> int:
    """What an audit of `count` correct domains holds once every domain is checked, above what it held before."""
    aws.reset()
    dns_server.reset()
    large_account.seed_correct(aws, dns_server, count)
    # Once first, so modules imported on first use are not counted; the run counted has a wiring (and so a DNS
    # memo) of its own, whose clients cost the same at either size.
    audit([scenario.EU], settings, AwsWiring(settings), Deadline.unlimited())
    tracemalloc.start(64)
    try:
        wiring = AwsWiring(settings)
        base = run_bytes(tracemalloc.take_snapshot())
        end = HeldAtTheEnd()
        result = audit([scenario.EU], settings, wiring, Deadline.unlimited(), progress=end)
    finally:
        tracemalloc.stop()
    assert result.findings == []
    assert result.errors == []
    return end.held - base


def test_given_four_times_the_identities_when_checked_then_memory_grows_only_by_what_the_results_keep(
    aws, dns_server, settings
):
    small = held_bytes(aws, dns_server, settings, 100)
    large = held_bytes(aws, dns_server, settings, 400)

    # Kept an identity: itself, its six record sets and placement, its `_dmarc` answer in the run's memo (about 8 KB
    # here). Holding every DNS answer for the whole run, as one memo for all lookups did, measured about 18 KB.
    per_identity = (large - small) / 300
    assert per_identity < 12 * 1024, f"{per_identity:.0f} bytes an identity"
