"""Builds the AWS clients the adapters use; endpoints and credentials come from boto3's own configuration."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from core.kernel.errors import AwsError

if TYPE_CHECKING:
    from mypy_boto3_route53 import Route53Client
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_ses import SESClient
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sts import STSClient


@contextmanager
def translated(service: str, operation: str) -> Iterator[None]:
    """The adapters' edge: an AWS error response, or botocore failing to get one (connection refused, read
    timeout, retries spent), becomes an AwsError that names the call, so a run records it and goes on."""
    try:
        yield
    except ClientError as error:
        info = error.response.get("Error", {})
        raise AwsError(service, operation, info.get("Code", "Unknown"), info.get("Message", str(error))) from error
    except BotoCoreError as error:
        raise AwsError(service, operation, type(error).__name__, str(error)) from error


def boto_config(max_attempts: int = 10) -> Config:
    """Retries and timeouts shared by every client; `max_attempts` counts retries after the first attempt.

    "standard" rather than "adaptive": SES is paced by our own Pacer against its fixed 1 request/s quota, and
    adaptive mode would add a second, per-client token bucket that knows nothing of the sesv2 and v1 clients
    sharing that quota. Standard mode retries throttling (Throttling, TooManyRequestsException) and Route 53's
    PriorRequestNotComplete with jittered exponential backoff, which is all a paced caller needs.
    """
    return Config(
        retries={"mode": "standard", "max_attempts": max_attempts},
        connect_timeout=5,
        read_timeout=30,
    )


@dataclass(frozen=True)
class Clients:
    """The clients one region needs. Route 53 is global; its client is built like the others."""

    region: str
    sesv2: SESV2Client
    ses: SESClient
    route53: Route53Client
    sns: SNSClient
    s3: S3Client
    sts: STSClient

    @classmethod
    def for_region(cls, session: boto3.session.Session, region: str, config: Config | None = None) -> Clients:
        config = config or boto_config()
        return cls(
            region=region,
            sesv2=session.client("sesv2", region_name=region, config=config),
            ses=session.client("ses", region_name=region, config=config),
            route53=session.client("route53", region_name=region, config=config),
            sns=session.client("sns", region_name=region, config=config),
            s3=session.client("s3", region_name=region, config=config),
            sts=session.client("sts", region_name=region, config=config),
        )


def ses_regions(session: boto3.session.Session, partition: str = "aws") -> list[str]:
    """Regions of `partition` where SES (sesv2) is offered, from botocore's endpoint data.

    Opt-in regions are listed whether or not the account has enabled them: AUDIT_REGIONS=all keeps only those
    account:ListRegions reports enabled (core.adapters.regions, core.run.regions).
    """
    return sorted(session.get_available_regions("sesv2", partition_name=partition))


def account_id(client: STSClient) -> str:
    """The account the credentials belong to; GetCallerIdentity needs no permission."""
    with translated("sts", "GetCallerIdentity"):
        return str(client.get_caller_identity()["Account"])
