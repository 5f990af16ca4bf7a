"""`make bench`: two runs of the real handler against loopback AWS and DNS.

1. Throughput, 1,000 domains and 200 addresses: SES calls per identity, wall time and peak memory.
2. Bounded outputs, 3,000 domains sharing one `_dmarc` record (p=none, no rua) and without MAIL FROM: findings by
   code, the bytes of the return value and of the logged summary line, the SNS publishes and the largest one's
   bytes, and whether the stored report holds every finding.

The servers (moto and DNS) run in this process; the handler runs in a child process, so its peak RSS is the
function's own, as Lambda would meter it, and its stdout is what CloudWatch Logs would receive.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from typing import Any

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends
from tests import large_account, scenario
from tests.fidelity import seed_identity
from tests.fixtures_aws import LocalAws

from tools.demo import local_world

CHILD = """
import json, resource, sys, time
from handlers import audit
from tests.lambda_context import LambdaContext
started = time.perf_counter()
summary = audit.handler({}, LambdaContext())
print(json.dumps({"seconds": time.perf_counter() - started, "summary": summary,
                  "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""
LIMIT = 256 * 1024  # CloudWatch Logs event, SNS message, Step Functions state


def invoke(**env: str) -> tuple[dict[str, Any], list[str]]:
    """The handler's result (seconds, summary, peak_kib) and the log lines it wrote, from a fresh process."""
    child = subprocess.run(
        [sys.executable, "-c", CHILD],
        env=dict(os.environ, **env),
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    *logs, last = child.stdout.strip().splitlines()
    return json.loads(last), logs


def throughput(domains: int, addresses: int, ses_rps: float) -> None:
    with local_world() as (aws, dns):
        aws.reset()
        world = scenario.World(aws, dns)
        world.zone("bench.example")
        world.r53("bench.example", "_dmarc.bench.example", "TXT", '"v=DMARC1; p=reject; rua=mailto:d@bench.example"')
        world.sync("bench.example")
        for i in range(domains):
            tokens = seed_identity(aws, scenario.EU, f"d{i}.bench.example", through_api=False).tokens
            world.keys(tokens)
            for token in tokens:
                dns.set(f"{token}._domainkey.d{i}.bench.example", "CNAME", [f"{token}.dkim.amazonses.com."])
        for i in range(addresses):
            seed_identity(aws, scenario.EU, f"user{i}@d{i % max(domains, 1)}.bench.example", through_api=False)
        aws.calls.clear()
        started = time.perf_counter()
        result, _ = invoke(AUDIT_REGIONS=scenario.EU, SES_MAX_RPS=str(ses_rps), DNS_CONCURRENCY="32")
        wall = time.perf_counter() - started
        summary = result["summary"]
        identities = summary["identities_audited"]
        ses_calls = aws.calls.count(service="ses")
        print(f"== Throughput: {domains} domain and {addresses} address identities")
        print(f"identities audited:       {identities}")
        print(f"SES API calls:            {ses_calls} = {ses_calls / identities:.4f} per identity (budget 0.035)")
        print(f"  at the 1 request/s SES quota the SES reads take about {ses_calls:.0f} s")
        print(f"Route 53 API calls:       {aws.calls.count(service='route53')}")
        print(f"DNS queries answered:     {dns.queries_received}")
        print(
            f"handler wall time:        {result['seconds']:.1f} s (SES paced at {ses_rps:g}/s; "
            f"process total {wall:.1f} s)"
        )
        print(f"handler peak RSS:         {result['peak_kib'] / 1024:.0f} MiB")
        print(f"findings by code:         {summary['counts']['by_code']}, errors: {summary['counts']['errors']}")


def bounded(domains: int, ses_rps: float) -> bool:
    """True when the run met its bounds: return value under 256 KB, at most 3 publishes, a report holding all."""
    with local_world() as (aws, dns):
        aws.reset()
        names = large_account.seed(aws, dns, domains)
        topic = aws.client("sns").create_topic(Name="ses-guard-findings")["TopicArn"]
        bucket = "ses-guard-bench-reports"
        aws.client("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": scenario.EU})
        aws.calls.clear()
        result, logs = invoke(
            AUDIT_REGIONS=scenario.EU,
            SES_MAX_RPS=str(ses_rps),
            DNS_CONCURRENCY="32",
            FINDINGS_TOPIC_ARN=topic,
            REPORT_BUCKET=bucket,
            POWERTOOLS_LOG_LEVEL="INFO",
        )
        summary = result["summary"]
        returned = len(json.dumps(summary).encode())
        [line] = [line for line in logs if line.startswith("{") and json.loads(line).get("message") == "run summary"]
        logged = len(line.encode())
        publishes = aws.calls.count(operation="Publish")
        sizes = [
            publish_bytes(n) for n in sns_backends[DEFAULT_ACCOUNT_ID][scenario.EU].topics[topic].sent_notifications
        ]
        report, report_bytes = read_report(aws, summary["report"])
        whole = {(i["identity"], f["code"]) for f in report["findings"] for i in f["identities"]}
        holds_all = whole == large_account.expected(names) and len(report["findings"]) == summary["counts"]["findings"]
        print(f"\n== Bounded outputs: {domains} domains, one shared _dmarc (p=none, no rua), no MAIL FROM")
        print(
            f"identities audited:       {summary['identities_audited']} in {result['seconds']:.1f} s, "
            f"peak RSS {result['peak_kib'] / 1024:.0f} MiB"
        )
        print(f"findings by code:         {summary['counts']['by_code']}")
        print(f"return value:             {returned:,} bytes (limit {LIMIT:,}); lists {len(summary['findings'])} "
              f"of {summary['counts']['findings']} findings, truncated={summary['truncated']}")  # fmt: skip
        print(f"logged summary line:      {logged:,} bytes")
        largest = max(sizes, default=0)
        print(f"SNS publishes:            {publishes} (moto received {len(sizes)}), largest {largest:,} bytes")
        print(f"stored report:            {report_bytes:,} bytes, {len(report['findings'])} findings, "
              f"{Counter(f['code'] for f in report['findings'])}; holds every finding: {holds_all}")  # fmt: skip
        print(f"run errors:               {summary['errors'] or 'none'}")
        return returned < LIMIT and logged < LIMIT and publishes <= 3 and holds_all


def publish_bytes(sent: tuple[Any, ...]) -> int:
    """What SNS counts against its 256 KB: the message plus each attribute's name, type and value."""
    _, message, _, attributes, _ = sent
    size = len(message.encode())
    for name, attribute in (attributes or {}).items():  # as moto keeps them: {"Type": ..., "Value": ...}
        size += len(name.encode()) + len(attribute["Type"].encode()) + len(str(attribute["Value"]).encode())
    return size


def read_report(aws: LocalAws, uri: str) -> tuple[dict[str, Any], int]:
    if not uri:
        return {"findings": []}, 0
    name, key = uri.removeprefix("s3://").split("/", 1)
    body: bytes = aws.client("s3").get_object(Bucket=name, Key=key)["Body"].read()
    return json.loads(body), len(body)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--domains", type=int, default=1000)
    parser.add_argument("--addresses", type=int, default=200)
    parser.add_argument("--large", type=int, default=3000, help="domains in the bounded-outputs account (0: skip)")
    parser.add_argument("--ses-rps", type=float, default=1000.0, help="client-side SES pacing used in the run")
    args = parser.parse_args()
    throughput(args.domains, args.addresses, args.ses_rps)
    if args.large and not bounded(args.large, args.ses_rps):
        print("bounds not met", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
