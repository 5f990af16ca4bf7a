"""The caller's AWS configuration, checked before the run: a missing profile, credentials or region is one line
that says what to do, never a traceback or a run of per-region errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import boto3
from botocore.exceptions import BotoCoreError, ProfileNotFound

from core.kernel.errors import ConfigError


def open_session(profile: str | None, region: str | None = None) -> boto3.session.Session:
    """`region`: the default for clients made without one (the profile's when None)."""
    try:
        return boto3.session.Session(profile_name=profile, region_name=region)
    except ProfileNotFound as err:
        name = err.kwargs.get("profile", profile)
        source = "--profile" if profile else "AWS_PROFILE"
        raise ConfigError(
            f"no AWS profile named {name!r} (from {source}); `aws configure list-profiles` lists the ones there are"
        ) from None


def check_credentials(session: boto3.session.Session) -> None:
    """Loads credentials the way the first call would, so a missing or expired login fails here, once."""
    try:
        credentials = session.get_credentials()
    except BotoCoreError as err:
        raise ConfigError(f"AWS credentials could not be loaded: {err}") from None
    if credentials is None:
        raise ConfigError(
            "no AWS credentials found: pass --profile or set AWS_PROFILE, log in (`aws sso login`), "
            "or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )


def home_region(session: boto3.session.Session, requested: Sequence[str], env: Mapping[str, str]) -> str:
    """The region the run's global clients (Route 53) use: the environment's or profile's, else the first region
    asked for. Without one, the run cannot start."""
    configured = [r.strip() for r in env.get("AUDIT_REGIONS", "").split(",")]
    for region in (env.get("AWS_REGION"), session.region_name, *requested, *configured):
        if region and region != "all":
            return region
    raise ConfigError(
        "no AWS region: pass --region, set AWS_REGION, or give the profile one (`aws configure set region ...`)"
    )
