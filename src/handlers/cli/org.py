"""`ses-guard audit --org` / `--account ID`: every target (account x region) audited from here through its member
role, `--concurrency` at a time, then one org summary, one org report and one notification, as the state machine
does in AWS."""

from __future__ import annotations

import argparse
import json
import os
import uuid
from collections.abc import Mapping
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TextIO

import boto3

from core.adapters.aws import boto_config
from core.adapters.members import MemberWirings
from core.adapters.organizations import OrganizationAccounts
from core.adapters.orgresults import S3OrgReports, SnsOrgNotifier
from core.kernel.errors import ConfigError, SesGuardError
from core.kernel.events import RunRequest, parse_event
from core.kernel.org import SEVERITIES, OrgSummary, Target, TargetResult
from core.kernel.settings import Settings, account_ids, role_name
from core.report.brief import counts
from core.report.org import page, table
from core.run.deadline import Deadline
from core.run.org import audit_target, conclude, fan_out, list_targets
from handlers.cli.aws import check_credentials, home_region, open_session

DEFAULT_ROLE = "ses-guard-member"
OK, RUN_ERRORS, USAGE, FINDINGS = 0, 1, 2, 3


def add_arguments(run: argparse.ArgumentParser) -> None:
    org = run.add_argument_group("organisation mode")
    org.add_argument(
        "--org", action="store_true", help="audit every ACTIVE account of the organisation (or ORG_ACCOUNTS)"
    )
    org.add_argument(
        "--account",
        action="append",
        dest="accounts",
        metavar="ID",
        help="audit this member account (repeat; implies --org)",
    )
    org.add_argument(
        "--member-role",
        metavar="NAME",
        help=f"the role assumed in each account (default: MEMBER_ROLE_NAME, else {DEFAULT_ROLE})",
    )
    org.add_argument("--concurrency", type=int, metavar="N", help="targets audited at once (default: ORG_CONCURRENCY)")


def wanted(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "org", False) or getattr(args, "accounts", None))


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        session, settings, request = _prepare(args, os.environ)
    except SesGuardError as error:
        print(f"ses-guard: {error}", file=err)
        return USAGE
    run_id = str(uuid.uuid4())
    try:
        summary = audit_org(session, settings, request, run_id)
    except SesGuardError as error:  # the account list could not be read: nothing was audited
        print(f"ses-guard: {error}", file=err)
        return RUN_ERRORS
    try:
        text = json.dumps(summary.to_dict(), indent=2) if args.format == "json" else table(summary)
        if args.output:
            Path(args.output).write_text(text + "\n", encoding="utf-8")
        else:
            print(text, file=out)
        if args.html:
            Path(args.html).write_text(page(summary), encoding="utf-8")
    except OSError as error:
        print(f"ses-guard: cannot write {error.filename}: {error.strerror}", file=err)
        return USAGE
    return status(summary, args.fail_on)


def audit_org(session: boto3.session.Session, settings: Settings, request: RunRequest, run_id: str) -> OrgSummary:
    """List the targets, audit them `settings.org_concurrency` at a time, then conclude once for all of them."""
    accounts = None
    if not settings.org_accounts:
        accounts = OrganizationAccounts(session.client("organizations", config=boto_config()))
    found = list_targets(accounts, settings.org_accounts, settings.regions)
    open_member = MemberWirings(settings, run_id, home=session)
    audit_one = partial(_audit_one, request=request, settings=settings, open_member=open_member, run_id=run_id)
    store = notifier = None
    if settings.report_bucket:
        store = S3OrgReports(session.client("s3", config=boto_config()), settings.report_bucket, run_id)
    if settings.findings_topic_arn:
        topic = settings.findings_topic_arn
        client = session.client("sns", region_name=topic.split(":")[3], config=boto_config())
        notifier = SnsOrgNotifier(
            client,
            topic,
            always=settings.notify_always,
            notify_on=settings.notify_on,
            min_severity=settings.notify_min_severity,
        )
    return conclude(fan_out(found.targets, audit_one, settings.org_concurrency), run_id, store=store, notifier=notifier)


def _audit_one(
    target: Target, *, request: RunRequest, settings: Settings, open_member: MemberWirings, run_id: str
) -> TargetResult:
    return audit_target(target, request, settings, open_member, Deadline.unlimited(), run_id=run_id, tally=counts)


def status(summary: OrgSummary, fail_on: str | None) -> int:
    if summary.failed or summary.errors or summary.totals.get("errors"):
        return RUN_ERRORS
    if fail_on:
        worse = SEVERITIES[: SEVERITIES.index(fail_on) + 1]
        if any(summary.totals.get("unfixed", {}).get(s) for s in worse):
            return FINDINGS
    return OK


def _prepare(
    args: argparse.Namespace, environ: Mapping[str, str]
) -> tuple[boto3.session.Session, Settings, RunRequest]:
    if args.format not in ("table", "json"):
        raise ConfigError(f"--format {args.format}: organisation mode prints a table or json")
    if args.state:
        raise ConfigError("--state keeps one account's memory: it cannot be used with --org or --account")
    if args.concurrency is not None and not 1 <= args.concurrency <= 64:
        raise ConfigError(f"--concurrency: {args.concurrency} is outside 1..64")
    region = home_region(open_session(args.profile), args.regions or (), environ)
    # The organisation's and the central bucket's clients are made without a region: they take this one.
    session = open_session(args.profile, region)
    env = {**environ, "AWS_REGION": region}
    if args.regions:
        env["AUDIT_REGIONS"] = ",".join(args.regions)
    settings = Settings.from_env({**env, "MEMBER_ROLE_NAME": env.get("MEMBER_ROLE_NAME") or DEFAULT_ROLE})
    settings = replace(
        settings,
        member_role_name=role_name("--member-role", args.member_role)
        if args.member_role
        else settings.member_role_name,
        org_accounts=account_ids("--account", ",".join(args.accounts)) if args.accounts else settings.org_accounts,
        org_concurrency=args.concurrency or settings.org_concurrency,
        # From a terminal, writing is asked for explicitly; DRY_RUN does not turn it on.
        dry_run=not args.apply,
    )
    event: dict[str, object] = {"dry_run": not args.apply}
    if args.identities:
        event["identities"] = args.identities
    request = parse_event(event)
    for option, path in (("--output", args.output), ("--html", args.html)):
        if path and not Path(path).parent.is_dir():
            raise ConfigError(f"{option}: no directory {Path(path).parent}")
    check_credentials(session)
    return session, settings, request
