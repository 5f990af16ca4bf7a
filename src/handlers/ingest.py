"""Lambda entry point for the reports inbox: an S3 ObjectCreated notification -> each new object ingested -> one
summary bounded in bytes, returned and logged."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from core.adapters.rua import inbox_keys, open_inbox
from core.kernel.errors import ConfigError, SesGuardError
from core.kernel.settings import Settings
from core.run.ingest import ingest_inbox, summary

logger = Logger(service="ses-guard")


@cache
def load_settings() -> Settings:
    """Validated once per cold start; a bad or missing value fails the invocation with the variable's name."""
    settings = Settings.from_env(os.environ)
    if not settings.reports_inbox:
        raise ConfigError("REPORTS_INBOX is not set: name the s3://bucket/prefix/ where reports arrive")
    return settings


@logger.inject_lambda_context(clear_state=True)
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    settings = load_settings()
    keys = inbox_keys(event, settings.inbox_bucket, settings.inbox_prefix)
    logger.set_correlation_id(context.aws_request_id)
    inbox, store = open_inbox(
        boto3.session.Session(), settings.inbox_bucket, settings.inbox_prefix, settings.report_bucket
    )
    result = summary(ingest_inbox(keys, inbox, store))
    logger.info("ingest summary", extra={"summary": result})
    if result["failed"]:
        # Failing the invocation makes Lambda deliver the event again; what was counted is not counted twice.
        raise SesGuardError(f"{result['failed']} of {result['sources']} inbox objects could not be ingested")
    return result
