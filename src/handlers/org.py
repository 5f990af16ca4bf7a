"""Organisation mode's Lambda entry points around the Distributed Map: list the targets before it, summarise its
results after it. The audit of each target is handlers.audit's, with a target event."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from core.adapters.aws import boto_config
from core.adapters.members import MemberWirings
from core.adapters.organizations import OrganizationAccounts
from core.adapters.orgresults import MapResults, RunResults, S3OrgReports, SnsOrgNotifier, write_targets
from core.kernel.errors import ConfigError, EventError
from core.kernel.events import RunRequest, org_run
from core.kernel.org import Target, TargetResult
from core.kernel.settings import Settings
from core.report.brief import MAX_BYTES, counts
from core.run.deadline import Deadline
from core.run.org import audit_target, conclude
from core.run.org import list_targets as find_targets

logger = Logger(service="ses-guard")


@cache
def load_settings() -> Settings:
    return Settings.from_env(os.environ)


def org_settings() -> Settings:
    """The settings, refused when organisation mode is off: these functions exist only in it."""
    settings = load_settings()
    if not settings.org_mode:
        raise ConfigError("MEMBER_ROLE_NAME is not set: organisation mode is off (the stack's OrgMode parameter)")
    if not settings.report_bucket:
        raise ConfigError("REPORT_BUCKET is not set: organisation mode keeps its targets and results there")
    return settings


@logger.inject_lambda_context(clear_state=True)
def list_targets(event: Any, context: LambdaContext) -> dict[str, Any]:
    """`{"org_run": "<execution name>"}` -> `org/<org_run>/targets.json` in REPORT_BUCKET, the Map's items."""
    run = _event(event, {"org_run"}, required={"org_run"})["org_run"]
    logger.set_correlation_id(context.aws_request_id)
    logger.append_keys(org_run=run)
    settings = org_settings()
    session = boto3.session.Session()
    explicit = settings.org_accounts
    accounts = None if explicit else OrganizationAccounts(session.client("organizations", config=boto_config()))
    found = find_targets(accounts, explicit, settings.regions)
    key = write_targets(session.client("s3", config=boto_config()), settings.report_bucket, run, found.targets)
    result = {
        "org_run": run,
        "bucket": settings.report_bucket,
        "key": key,
        "targets": len(found.targets),
        "accounts": len(found.accounts),
        "accounts_skipped": [{"account": a.id, "name": a.name, "state": a.state} for a in found.skipped[:20]],
    }
    logger.info("targets listed", extra={"targets": result})
    return result


@logger.inject_lambda_context(clear_state=True)
def summarise(event: Any, context: LambdaContext) -> dict[str, Any]:
    """`{"org_run", "results": {"Bucket", "Key"} (the Map's ResultWriterDetails), "map_error": {"Error", "Cause"}}`
    -> the org report in REPORT_BUCKET, one notification, and the OrgSummary (bounded) as the return value."""
    data = _event(event, {"org_run", "results", "map_error"}, required={"org_run"})
    run, results, map_error = data["org_run"], data.get("results"), data.get("map_error")
    logger.set_correlation_id(context.aws_request_id)
    logger.append_keys(org_run=run)
    if results is None and map_error is None:
        raise EventError("summarise needs results (the Map's ResultWriterDetails) or map_error")
    settings = org_settings()
    session = boto3.session.Session()
    s3 = session.client("s3", config=boto_config())
    errors = [f"the Map failed: {_text(map_error, 'Error')}: {_text(map_error, 'Cause')}"] if map_error else []
    # The reader adds what it meets in the result files to `errors`, which conclude reads after every result. A
    # failed Map hands over no manifest: what its finished targets wrote is found under the run's own prefix.
    reader: Iterable[TargetResult] = (
        RunResults(s3, settings.report_bucket, run, errors=errors)
        if results is None
        else MapResults(s3, *_location(results), errors=errors)
    )
    summary = conclude(
        reader,
        run,
        store=S3OrgReports(s3, settings.report_bucket, run),
        notifier=_notifier(session, settings),
        errors=errors,
    )
    result = bounded(summary.to_dict())
    logger.info("org summary", extra={"summary": {k: v for k, v in result.items() if k != "worst"}})
    return result


def run_target(target: Target, request: RunRequest, settings: Settings, context: LambdaContext) -> dict[str, Any]:
    """The audit function's answer to a target event: audit the target through its member role."""
    result: TargetResult = audit_target(
        target,
        request,
        settings,
        MemberWirings(settings, request.org_run or context.aws_request_id),
        Deadline(lambda: context.get_remaining_time_in_millis() / 1000, settings.time_margin_seconds),
        run_id=context.aws_request_id,
        tally=counts,
    )
    logger.info("target result", extra={"target_result": result.to_dict()})
    return result.to_dict()


def bounded(summary: dict[str, Any], max_bytes: int = MAX_BYTES) -> dict[str, Any]:
    """Drops the worst targets from the end until the JSON fits: Step Functions and CloudWatch Logs take 256 KB."""
    while summary["worst"] and len(json.dumps(summary).encode()) > max_bytes:
        keep = len(summary["worst"]) // 2
        summary["worst_left_out"] += len(summary["worst"]) - keep
        summary["worst"] = summary["worst"][:keep]
    return summary


def _notifier(session: boto3.session.Session, settings: Settings) -> SnsOrgNotifier | None:
    topic = settings.findings_topic_arn
    if not topic:
        return None
    client = session.client("sns", region_name=topic.split(":")[3], config=boto_config())
    return SnsOrgNotifier(
        client,
        topic,
        always=settings.notify_always,
        notify_on=settings.notify_on,
        min_severity=settings.notify_min_severity,
    )


def _event(event: Any, allowed: set[str], *, required: set[str]) -> dict[str, Any]:
    if not isinstance(event, Mapping):
        raise EventError(f"event must be a JSON object, got {type(event).__name__}")
    unknown = set(event) - allowed
    if unknown:
        raise EventError(
            f"unknown keys in event: {', '.join(sorted(map(str, unknown)))}; allowed: {', '.join(sorted(allowed))}"
        )
    missing = required - set(event)
    if missing:
        raise EventError(f"event needs {', '.join(sorted(missing))}")
    data = dict(event)
    data["org_run"] = org_run(event["org_run"])
    return data


def _location(results: Any) -> tuple[str, str]:
    if not isinstance(results, Mapping) or not all(
        isinstance(results.get(k), str) and results[k] for k in ("Bucket", "Key")
    ):
        raise EventError(
            f'results must be the Map\'s ResultWriterDetails {{"Bucket": ..., "Key": ...}}, got {results!r}'[:300]
        )
    return results["Bucket"], results["Key"]


def _text(error: Any, key: str) -> str:
    return str(error.get(key, "")) if isinstance(error, Mapping) else str(error)
