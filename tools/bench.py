"""`make bench`: SES calls per identity, wall time and peak memory of one run over 1,000+ identities.

The servers (moto and DNS) run in this process; the handler runs in a child process, so its peak RSS is the
function's own, as Lambda would meter it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

from tests import scenario
from tests.fidelity import seed_identity

from tools.demo import local_world

CHILD = """
import json, sys, time
from handlers import audit
from tests.lambda_context import LambdaContext
started = time.perf_counter()
summary = audit.handler({}, LambdaContext())
codes = {}
for finding in summary["findings"]:
    codes[finding["code"]] = codes.get(finding["code"], 0) + 1
print(json.dumps({"seconds": time.perf_counter() - started, "identities": summary["identities_audited"],
                  "findings": codes, "errors": summary["errors"]}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--domains", type=int, default=1000)
    parser.add_argument("--addresses", type=int, default=200)
    parser.add_argument("--ses-rps", type=float, default=1000.0, help="client-side SES pacing used in the run")
    args = parser.parse_args()
    with local_world() as (aws, dns):
        world = scenario.World(aws, dns)
        world.zone("bench.example")
        world.r53("bench.example", "_dmarc.bench.example", "TXT", '"v=DMARC1; p=reject; rua=mailto:d@bench.example"')
        world.sync("bench.example")
        for i in range(args.domains):
            tokens = seed_identity(aws, scenario.EU, f"d{i}.bench.example", through_api=False).tokens
            world.keys(tokens)
            for token in tokens:
                dns.set(f"{token}._domainkey.d{i}.bench.example", "CNAME", [f"{token}.dkim.amazonses.com."])
        for i in range(args.addresses):
            seed_identity(aws, scenario.EU, f"user{i}@d{i % max(args.domains, 1)}.bench.example", through_api=False)
        aws.calls.clear()
        env = dict(os.environ, AUDIT_REGIONS=scenario.EU, SES_MAX_RPS=str(args.ses_rps), DNS_CONCURRENCY="32")
        started = time.perf_counter()
        child = subprocess.run(
            [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True, timeout=900
        )
        wall = time.perf_counter() - started
        result = json.loads(child.stdout.strip().splitlines()[-1])
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        identities = result["identities"]
        ses_calls = aws.calls.count(service="ses")
        route53_calls = aws.calls.count(service="route53")
        print(f"identities audited:       {identities} ({args.domains} domains, {args.addresses} addresses)")
        print(f"SES API calls:            {ses_calls} = {ses_calls / identities:.4f} per identity (budget 0.035)")
        print(f"  at the 1 request/s SES quota the SES reads take about {ses_calls:.0f} s")
        print(f"Route 53 API calls:       {route53_calls}")
        print(f"DNS queries answered:     {dns.queries_received}")
        print(
            f"handler wall time:        {result['seconds']:.1f} s (SES paced at {args.ses_rps:g}/s; "
            f"process total {wall:.1f} s)"
        )
        print(f"handler peak RSS:         {peak_mib:.0f} MiB")
        print(f"findings by code:         {result['findings']}, errors: {len(result['errors'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
