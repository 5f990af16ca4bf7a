"""`make demo`: the real CLI and run against an embedded local AWS (moto) and DNS server, no credentials needed."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import uuid
from collections.abc import Iterator

import pytest
from tests import fidelity, scenario
from tests.dnsserver import LocalDns
from tests.fixtures_aws import LocalAws, serve_local_aws

from core.adapters.wiring import AwsWiring
from core.kernel.events import RunRequest
from core.kernel.models import RunSummary
from core.kernel.settings import Settings
from core.report.table import change_text
from core.run.deadline import Deadline
from core.run.service import execute
from handlers import cli


@contextlib.contextmanager
def local_world() -> Iterator[tuple[LocalAws, LocalDns]]:
    """Loopback AWS and DNS, and an environment in which boto3 can reach nothing else."""
    with (
        tempfile.TemporaryDirectory() as home,
        serve_local_aws() as aws,
        LocalDns() as dns,
        pytest.MonkeyPatch.context() as patch,
    ):
        for name in [n for n in os.environ if n.startswith("AWS_")]:
            patch.delenv(name)
        patch.setenv("AWS_CONFIG_FILE", os.path.join(home, "config"))
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.path.join(home, "credentials"))
        patch.setenv("AWS_ENDPOINT_URL", aws.endpoint)
        patch.setenv("AWS_ACCESS_KEY_ID", "demo")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "demo")
        patch.setenv("AWS_REGION", scenario.EU)
        patch.setenv("AUDIT_REGIONS", f"{scenario.EU},{scenario.US}")
        patch.setenv("DNS_NAMESERVERS", dns.nameserver)
        patch.setenv("DNS_TIMEOUT", "2")
        patch.setenv("SES_MAX_RPS", "50")
        fidelity.install(patch)
        yield aws, dns


def main() -> int:
    with local_world() as (aws, dns):
        world = scenario.build(aws, dns)
        banner(
            f"1. ses-guard audit: {len(scenario.EXPECTED)} SES identities in {scenario.EU} and {scenario.US}, "
            "Route 53 zones example.com (public and private) and example.net, live DNS on loopback"
        )
        cli.main(["audit", "--dry-run"])
        banner("2. The same run, applied: ses-guard creates what it safely can")
        applied = run(dry_run=False)
        for change in applied.changes:
            print(f"  {change_text(change)}")
        banner("3. Resolvers catch up with Route 53; the audit runs again")
        world.sync("example.com")
        again = run(dry_run=True)
        fixable = [f for f in again.findings if f.fixable]
        print(f"{len(again.changes)} changes planned, {len(fixable)} fixable findings left.")
        print("What remains needs a person (SES itself re-checks pending identities within 72 hours):")
        for finding in again.findings:
            where = finding.subject or f"{finding.identity} ({finding.region})"
            print(f"  {finding.severity.value:<6} {finding.code.value:<27} {where}")
    return 0


def run(*, dry_run: bool) -> RunSummary:
    """One run as the CLI makes it, with the settings the environment gives."""
    settings = Settings.from_env(os.environ)
    request = RunRequest(dry_run=dry_run)
    return execute(request, settings, AwsWiring(settings), Deadline.unlimited(), run_id=str(uuid.uuid4()))


def banner(text: str) -> None:
    print(f"\n=== {text}\n")


if __name__ == "__main__":
    sys.exit(main())
