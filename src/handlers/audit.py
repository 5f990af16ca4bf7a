"""Lambda entry point: event -> settings -> one run -> a summary bounded in bytes (the full report is in S3)."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from core.adapters.metrics import record_metrics
from core.adapters.wiring import AwsWiring, SnsNotifier
from core.kernel.events import parse_event
from core.kernel.settings import Settings
from core.report.brief import brief
from core.run.deadline import Deadline
from core.run.service import execute
from handlers.org import run_target

logger = Logger(service="ses-guard")
metrics = Metrics(service="ses-guard", namespace="SesGuard")
tracer = Tracer(service="ses-guard")


@cache
def load_settings() -> Settings:
    """Validated once per cold start; a bad value fails the invocation with the variable's name."""
    return Settings.from_env(os.environ)


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    settings = load_settings()
    # The deployed mode is the ceiling: a stack deployed to plan only refuses an event asking it to write.
    request = parse_event(
        event, writes_allowed=not settings.dry_run, configured_regions=settings.regions, org_mode=settings.org_mode
    )
    logger.set_correlation_id(context.aws_request_id)
    if request.target is not None:  # organisation mode: one account and region, through its member role
        return run_target(request.target, request, settings, context)
    wiring = AwsWiring(settings)
    summary = execute(
        request,
        settings,
        wiring,
        Deadline(lambda: context.get_remaining_time_in_millis() / 1000, settings.time_margin_seconds),
        run_id=context.aws_request_id,
        notifier=SnsNotifier(wiring, settings) if settings.findings_topic_arn else None,
    )
    record_metrics(metrics, summary)
    # What carries the return value onwards (Step Functions, Lambda destinations) and a CloudWatch Logs event take
    # about 256 KB: return and log the same bounded shape; its counts stay complete and `report` holds the rest.
    result = brief(summary)
    logger.info("run summary", extra={"summary": result})
    return result
