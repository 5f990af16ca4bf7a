"""`make bench`: two runs of the real handler against loopback AWS and DNS.

1. Throughput, 10,000 correct domain identities in one region at SES_MAX_RPS=1 (the SES quota): SES calls per
   identity, Route 53 calls per record set read, DNS queries per identity, wall time against the SES pacing floor,
   and peak memory. `--quick` runs 1,000 (and 600 in the second run).
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
from tests.fixtures_aws import LocalAws

from tools.demo import local_world

# The peak is the process's own high-water mark (VmHWM): ru_maxrss keeps the parent's across fork and exec, and the
# parent holds the servers and the whole seeded account.
CHILD = """
import json, sys, time
from handlers import audit
from tests.lambda_context import LambdaContext
started = time.perf_counter()
summary = audit.handler({}, LambdaContext())
with open("/proc/self/status") as status:
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({"seconds": time.perf_counter() - started, "summary": summary, "peak_kib": peak}))
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


def throughput(domains: int, ses_rps: float) -> None:
    """A region of `domains` correct domain identities: SES and Route 53 calls, DNS queries, wall time against the
    SES pacing floor (SES calls / SES_MAX_RPS: what the run cannot go below), and the handler's peak RSS."""
    with local_world() as (aws, dns):
        aws.reset()
        large_account.seed_correct(aws, dns, domains)
        zone = aws.client("route53").list_hosted_zones()["HostedZones"][0]
        records = int(zone["ResourceRecordSetCount"])
        aws.calls.clear()
        dns_before = dns.queries_received
        started = time.perf_counter()
        result, _ = invoke(AUDIT_REGIONS=scenario.EU, SES_MAX_RPS=str(ses_rps))
        wall = time.perf_counter() - started
        summary = result["summary"]
        identities = summary["identities_audited"]
        ses_calls = aws.calls.count(service="ses")
        route53_calls = aws.calls.count(service="route53")
        queries = dns.queries_received - dns_before
        floor = ses_calls / ses_rps
        print(f"== Throughput: {domains} correct domain identities in one region, SES paced at {ses_rps:g}/s")
        print(f"identities audited:       {identities}")
        print(f"SES API calls:            {ses_calls} = {ses_calls / identities:.4f} per identity (budget 0.022)")
        pages = aws.calls.count(service="route53", operation="ListResourceRecordSets")
        print(f"Route 53 API calls:       {route53_calls}: {pages} record set pages for a zone of {records} "
              f"(floor {-(-records // 300)} at 300 a page), {route53_calls - pages} other")  # fmt: skip
        print(f"DNS queries answered:     {queries} = {queries / identities:.2f} per identity")
        print(f"handler wall time:        {result['seconds']:.1f} s (process total {wall:.1f} s)")
        print(f"SES pacing floor:         {floor:.1f} s; wall / floor = {result['seconds'] / floor:.2f} (budget 1.25)")
        print(f"handler peak RSS:         {result['peak_kib'] / 1024:.0f} MiB (budget 200)")
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
    parser.add_argument("--domains", type=int, default=10_000, help="correct domain identities in the throughput run")
    parser.add_argument("--ses-rps", type=float, default=1.0, help="SES_MAX_RPS of the throughput run")
    parser.add_argument("--large", type=int, default=3000, help="domains in the bounded-outputs account (0: skip)")
    parser.add_argument("--large-ses-rps", type=float, default=1000.0, help="SES_MAX_RPS of the bounded run")
    parser.add_argument("--quick", action="store_true", help="1,000 identities and 600 in the bounded run")
    args = parser.parse_args()
    if args.quick:
        args.domains, args.large = min(args.domains, 1000), min(args.large, 600)
    throughput(args.domains, args.ses_rps)
    if args.large and not bounded(args.large, args.large_ses_rps):
        print("bounds not met", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
