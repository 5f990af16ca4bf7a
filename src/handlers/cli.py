"""`ses-guard` command line: the Lambda's run, with the caller's AWS profile, printed for people."""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from collections.abc import Sequence

import boto3

from core.adapters.wiring import AwsWiring
from core.kernel.errors import SesGuardError
from core.kernel.events import RunRequest, parse_event
from core.kernel.models import Severity
from core.kernel.settings import Settings
from core.report.table import format_table
from core.run.deadline import Deadline
from core.run.service import execute


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ses-guard", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("audit", help="check every SES identity's DKIM, MAIL FROM/SPF and DMARC")
    run.add_argument("--region", action="append", dest="regions", metavar="R", help="region to audit (repeat)")
    run.add_argument("--identity", action="append", dest="identities", metavar="I", help="identity (repeat)")
    run.add_argument("--profile", help="AWS profile (default: the usual boto3 chain)")
    run.add_argument("--json", action="store_true", help="print the run summary as JSON")
    mode = run.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="plan the Route 53 changes, write nothing (default)")
    mode.add_argument("--apply", action="store_true", help="create the missing records the plan lists")
    run.add_argument(
        "--fail-on",
        choices=[s.value for s in Severity],
        help="exit with status 3 when an unfixed finding at or above this severity remains",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        session = boto3.session.Session(profile_name=args.profile)
        env = dict(os.environ)
        env.setdefault("AWS_REGION", session.region_name or "")
        settings = Settings.from_env(env)
        request = _request(args)
    except SesGuardError as err:
        print(f"ses-guard: {err}", file=sys.stderr)
        return 2
    summary = execute(request, settings, AwsWiring(settings, session), Deadline.unlimited(), run_id=str(uuid.uuid4()))
    result = summary.to_dict()
    print(json.dumps(result, indent=2) if args.json else format_table(result))
    if summary.errors:
        return 1
    threshold = Severity(args.fail_on).rank if args.fail_on else None
    if threshold is not None and any(f.severity.rank >= threshold and not f.fixed for f in summary.findings):
        return 3
    return 0


def _request(args: argparse.Namespace) -> RunRequest:
    # From a terminal, writing is asked for explicitly; DRY_RUN does not turn it on.
    event: dict[str, object] = {"dry_run": not args.apply}
    if args.regions:
        event["regions"] = args.regions
    if args.identities:
        event["identities"] = args.identities
    return parse_event(event)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
