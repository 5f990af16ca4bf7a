"""`make demo`: the real handler against an embedded local AWS (moto) and DNS server, no credentials needed."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator

import pytest
from tests import fidelity, scenario
from tests.dnsserver import LocalDns
from tests.fixtures_aws import LocalAws, serve_local_aws
from tests.lambda_context import LambdaContext


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
        patch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
        patch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
        fidelity.install(patch)
        yield aws, dns


def main() -> int:
    with local_world() as (aws, dns):
        # Imported here: Powertools reads its log level and metrics switch when the handler module loads.
        from core.report.table import format_table
        from handlers import audit

        world = scenario.build(aws, dns)
        banner(
            f"1. Audit (dry run): {len(scenario.EXPECTED)} SES identities in {scenario.EU} and {scenario.US}, "
            "Route 53 zones example.com (public and private) and example.net, live DNS on loopback"
        )
        print(format_table(audit.handler({"dry_run": True}, LambdaContext())))
        banner("2. The same run, applied: ses-guard creates what it safely can")
        applied = audit.handler({"dry_run": False}, LambdaContext())
        for change in applied["changes"]:
            print(f"  {change['action']:<6} {change['name']} {change['type']} {' '.join(change['values'])}")
        banner("3. Resolvers catch up with Route 53; the audit runs again")
        world.sync("example.com")
        again = audit.handler({"dry_run": True}, LambdaContext())
        fixable = [f for f in again["findings"] if f["fixable"]]
        print(f"{len(again['changes'])} changes planned, {len(fixable)} fixable findings left.")
        print("What remains needs a person (SES itself re-checks pending identities within 72 hours):")
        for finding in again["findings"]:
            print(f"  {finding['severity']:<6} {finding['code']:<27} {finding['identity']} ({finding['region']})")
    return 0


def banner(text: str) -> None:
    print(f"\n=== {text}\n")


if __name__ == "__main__":
    sys.exit(main())
