"""`make bench`, organisation part: `ses-guard audit --org` over a simulated organisation on loopback.

moto's server holds an organisation of `--accounts` accounts (the management account and its members), each with
the member role and `--identities` correct domain identities in each of two regions, every one with its DKIM,
MAIL FROM and DMARC records in live DNS. The CLI runs in a child process, as a user would run it, and audits every
(account, region) target through the member role, `--concurrency` at a time, each paced at SES_MAX_RPS in its own
account and region as SES quotas are. Printed: targets audited and failed, wall time, SES calls, the notifications
published for the whole run, and the child's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

import boto3
from moto.core.models import DEFAULT_ACCOUNT_ID
from tests import scenario
from tests.dnsserver import LocalDns
from tests.fidelity import seed_identity
from tests.fixtures_aws import LocalAws

from tools.demo import local_world

ROLE = "ses-guard-member"
BUCKET = "ses-guard-bench-org"
REGIONS = (scenario.EU, scenario.US)
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
)
# The child's own high-water mark (VmHWM): ru_maxrss would report the parent's, which holds the servers.
CHILD = """
import json, sys, time
from handlers.cli.command import main
started = time.perf_counter()
status = main(sys.argv[1:])
with open("/proc/self/status") as own:
    peak = next(int(line.split()[1]) for line in own if line.startswith("VmHWM:"))
print(json.dumps({"seconds": time.perf_counter() - started, "status": status, "peak_kib": peak}), file=sys.stderr)
"""


def organisation(aws: LocalAws, dns: LocalDns, accounts: int, identities: int) -> list[str]:
    """The organisation's account ids, each with the member role and its identities seeded in both regions."""
    organizations = aws.client("organizations")
    organizations.create_organization(FeatureSet="ALL")
    members = [
        organizations.create_account(AccountName=f"member{i}", Email=f"member{i}@example.com")["CreateAccountStatus"][
            "AccountId"
        ]
        for i in range(accounts - 1)
    ]
    ids = [DEFAULT_ACCOUNT_ID, *members]
    for account in ids:
        iam = _client_in(aws, account, "iam")
        iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=TRUST)
        for region in REGIONS:
            for i in range(identities):
                _correct(aws, dns, account, region, f"d{i}.{region}.a{account}.example")
        domain = f"a{account}.example"
        dns.set(f"_dmarc.{domain}", "TXT", [f"v=DMARC1; p=reject; rua=mailto:dmarc@{domain}"])
    return ids


def _correct(aws: LocalAws, dns: LocalDns, account: str, region: str, name: str) -> None:
    mail_from = f"mail.{name}"
    state = seed_identity(aws, region, name, mail_from=mail_from, through_api=False, account=account)
    for token in state.tokens:
        dns.set(f"{token}._domainkey.{name}", "CNAME", [f"{token}.dkim.amazonses.com."])
        dns.set(f"{token}.dkim.amazonses.com", "TXT", [scenario.KEY_2048])
    dns.set(mail_from, "MX", [f"10 feedback-smtp.{region}.amazonses.com."])
    dns.set(mail_from, "TXT", [scenario.SPF_SES])


def _client_in(aws: LocalAws, account: str, service: str) -> Any:
    """A client acting in `account`: moto serves each assumed account from its own state."""
    if account == DEFAULT_ACCOUNT_ID:
        return aws.client(service)
    credentials = aws.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="bench"
    )["Credentials"]
    return boto3.session.Session(region_name=scenario.EU).client(
        service,  # type: ignore[call-overload]
        endpoint_url=aws.endpoint,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def run(accounts: int, identities: int, concurrency: int, ses_rps: float) -> bool:
    """True when every target was audited and the whole run published one notification."""
    with local_world() as (aws, dns):
        aws.reset()
        ids = organisation(aws, dns, accounts, identities)
        aws.client("s3").create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": scenario.EU})
        topic = aws.client("sns").create_topic(Name="ses-guard-findings")["TopicArn"]
        aws.calls.clear()
        env = dict(
            os.environ,
            AUDIT_REGIONS=",".join(REGIONS),
            MEMBER_ROLE_NAME=ROLE,
            REPORT_BUCKET=BUCKET,
            FINDINGS_TOPIC_ARN=topic,
            NOTIFY_ALWAYS="true",
            SES_MAX_RPS=str(ses_rps),
            DNS_CONCURRENCY="16",
        )
        args = ["audit", "--org", "--concurrency", str(concurrency), "--format", "json"]
        started = time.perf_counter()
        child = subprocess.run(
            [sys.executable, "-c", CHILD, *args], env=env, capture_output=True, text=True, timeout=3600, check=False
        )
        wall = time.perf_counter() - started
        if child.returncode or not child.stdout.strip():
            raise SystemExit(f"ses-guard audit --org failed:\n{child.stderr[-3000:]}")
        measured = json.loads(child.stderr.strip().splitlines()[-1])
        summary = json.loads(child.stdout)
        publishes = aws.calls.count(operation="Publish")
        targets = len(ids) * len(REGIONS)
        print(f"\n== Organisation: {len(ids)} accounts x {len(REGIONS)} regions x {identities} identities")
        print(f"targets audited:          {summary['targets'] - summary['failed']} of {targets} "
              f"({summary['failed']} failed), {summary['totals']['identities']} identities")  # fmt: skip
        print(f"findings:                 {summary['totals']['findings']}, errors: {summary['totals']['errors']}")
        print(f"wall time:                {measured['seconds']:.1f} s at --concurrency {concurrency} "
              f"(SES paced at {ses_rps:g}/s per account and region; process total {wall:.1f} s)")  # fmt: skip
        print(f"SES API calls:            {aws.calls.count(service='ses')}")
        print(f"AssumeRole calls:         {aws.calls.count(operation='AssumeRole')}")
        print(f"notifications published:  {publishes}")
        print(f"peak RSS:                 {measured['peak_kib'] / 1024:.0f} MiB; exit status {measured['status']}")
        return summary["targets"] == targets and not summary["failed"] and publishes == 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--identities", type=int, default=500, help="domain identities per account and region")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--ses-rps", type=float, default=1.0)
    args = parser.parse_args()
    if not run(args.accounts, args.identities, args.concurrency, args.ses_rps):
        print("organisation run incomplete", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
