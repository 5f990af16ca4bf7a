"""Which identities a run audits (names, globs, and names that match nothing), and what it tells a Progress port."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

import pytest

from core.adapters.wiring import AwsWiring
from core.kernel.events import parse_event
from core.kernel.models import Answer, RunSummary
from core.kernel.settings import Settings
from core.run.deadline import Deadline
from core.run.service import execute
from tests import scenario


@dataclass
class Recorder:
    """A Progress port that keeps what it hears."""

    read: list[int] = field(default_factory=list)
    checked: list[tuple[int, int, int]] = field(default_factory=list)

    def identities_read(self, count: int) -> None:
        self.read.append(count)

    def domains_checked(self, done: int, total: int, lookups: int) -> None:
        self.checked.append((done, total, lookups))


class CountedLookups:
    """The real wiring, with every DNS lookup the run makes counted on the way through."""

    def __init__(self, wiring: AwsWiring) -> None:
        self._wiring = wiring
        self._lock = threading.Lock()
        self.lookups = 0

    def ses(self, region: str):
        return self._wiring.ses(region)

    def route53(self):
        return self._wiring.route53()

    def all_regions(self) -> list[str]:
        return self._wiring.all_regions()

    def reports(self):
        return self._wiring.reports()

    def state(self, scope: str):
        return self._wiring.state(scope)

    def now(self):
        return self._wiring.now()

    def suppressions(self):
        return self._wiring.suppressions()

    def aggregates(self):
        return self._wiring.aggregates()

    def dns(self):
        return self

    def scoped_dns(self):
        return self

    def lookup(self, name: str, rdtype: str) -> Answer:
        with self._lock:
            self.lookups += 1
        return self._wiring.dns().lookup(name, rdtype)


@pytest.fixture
def settings(aws, dns_server, monkeypatch) -> Settings:
    scenario.build(aws, dns_server)
    monkeypatch.setenv("AUDIT_REGIONS", f"{scenario.EU},{scenario.US}")
    monkeypatch.setenv("DNS_NAMESERVERS", dns_server.nameserver)
    monkeypatch.setenv("SES_MAX_RPS", "1000")
    return Settings.from_env(os.environ)


def run(settings: Settings, event: dict[str, object], **kwargs) -> RunSummary:
    wiring = kwargs.pop("wiring", None) or AwsWiring(settings)
    return execute(parse_event(event), settings, wiring, Deadline.unlimited(), run_id="run-1", **kwargs)


def test_given_a_recording_progress_when_the_account_is_audited_then_it_hears_each_identity_domain_and_lookup(
    settings,
):
    progress = Recorder()
    wiring = CountedLookups(AwsWiring(settings))

    run(settings, {"dry_run": True}, wiring=wiring, progress=progress)

    domains = sum("@" not in name for name, _ in scenario.EXPECTED)
    assert len(progress.read) == 2  # once per region
    assert progress.read[-1] == len(scenario.EXPECTED)
    assert [(done, total) for done, total, _ in progress.checked] == [(n, domains) for n in range(1, domains + 1)]
    lookups = [n for _, _, n in progress.checked]
    assert lookups == sorted(lookups)
    assert lookups[-1] == wiring.lookups > 0


def test_given_a_glob_in_an_event_when_run_then_only_its_matches_are_audited(settings):
    summary = run(settings, {"dry_run": True, "identities": ["*.example.NET"]})

    assert summary.identities == [(scenario.EU, "conflict.example.net")]
    assert summary.errors == []


def test_given_an_event_naming_a_missing_identity_when_run_then_it_is_an_error_and_nothing_changes(settings):
    summary = run(settings, {"dry_run": False, "identities": ["shop.example.com", "shpo.example.com"]})

    assert [(e.scope, e.subject, e.message) for e in summary.errors] == [
        ("run", "shpo.example.com", "no identity matches shpo.example.com in eu-west-1, us-east-1"),
        ("run", "changes", "skipped: a requested identity or glob matches no identity"),
    ]
    assert summary.identities == [(scenario.EU, "shop.example.com")]
    assert summary.changes == []


def test_given_a_requested_identity_that_is_excluded_when_run_then_the_error_says_it_is_excluded(settings, monkeypatch):
    monkeypatch.setenv("EXCLUDE_IDENTITIES", "shop.*")

    summary = run(Settings.from_env(os.environ), {"dry_run": True, "identities": ["shop.example.com"]})

    assert summary.errors[0].message == (
        "no identity matches shop.example.com in eu-west-1, us-east-1 "
        "(the identities it matches are excluded by EXCLUDE_IDENTITIES)"
    )


def test_given_a_region_that_cannot_be_read_when_a_name_matches_nothing_then_only_the_read_regions_are_named(
    settings, aws
):
    aws.fail("ListEmailIdentities", "AccessDenied", "not here", region=scenario.US)

    summary = run(settings, {"dry_run": True, "identities": ["shpo.example.com"]})

    assert [(e.scope, e.subject) for e in summary.errors][:2] == [("region", scenario.US), ("run", "shpo.example.com")]
    assert summary.errors[1].message == "no identity matches shpo.example.com in eu-west-1"


@pytest.fixture
def run_handler(aws, dns_server, run):
    scenario.build(aws, dns_server)
    return run


def test_given_the_lambda_handler_when_an_event_names_a_missing_identity_then_the_summary_reports_it(run_handler):
    summary = run_handler({"dry_run": True, "regions": [scenario.EU], "identities": ["shpo.example.com"]})

    assert {"scope": "run", "subject": "shpo.example.com", "message": "no identity matches shpo.example.com in "
            "eu-west-1"} in summary["errors"]  # fmt: skip
    assert summary["identities_audited"] == 0
