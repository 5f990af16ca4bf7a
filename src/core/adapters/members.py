"""A member account's session in organisation mode: sts:AssumeRole into its member role, from the function's own
credentials."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import boto3
import botocore.session

from core.adapters.aws import boto_config, translated
from core.adapters.reports import PREFIX as REPORTS_PREFIX
from core.adapters.wiring import HOME_SESSION, AwsWiring
from core.kernel.org import Target
from core.kernel.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_sts import STSClient

SESSION_PREFIX = "ses-guard-"
_SESSION_CHARACTERS = re.compile(r"[^\w+=,.@-]")


def session_name(run_id: str) -> str:
    """`ses-guard-<first 40 characters of the run id>`: each member's CloudTrail names the org run that called."""
    return SESSION_PREFIX + _SESSION_CHARACTERS.sub("-", run_id[:40])


def role_arn(partition: str, account: str, role_name: str) -> str:
    return f"arn:{partition}:iam::{account}:role/{role_name}"


class MemberSessions:
    """Opens one boto3 session per target account by assuming `role_name` there; the member session's region is the
    home session's, so a target's global calls (Route 53, account:ListRegions) go where the function's would.

    Every use of the home session, which the targets audited at once share, holds core.adapters.wiring's
    HOME_SESSION lock."""

    def __init__(self, home: boto3.session.Session, role_name: str, run_id: str) -> None:
        self._home = home
        self._role_name = role_name
        self._session_name = session_name(run_id)
        self._sts: STSClient | None = None
        self._partition = ""
        # Every member session reads its service models through the home session's loader: loaded once, not once
        # per target (tens of megabytes and seconds each when many targets are audited at once).
        self._loader = home._session.get_component("data_loader")

    @property
    def home(self) -> boto3.session.Session:
        return self._home

    def open(self, target: Target) -> boto3.session.Session:
        """Raises AwsError (AccessDenied: the role is missing, or does not trust the caller) when it cannot."""
        sts, partition, region = self._sts_client(target.region)
        arn = role_arn(partition, target.account, self._role_name)
        with translated("sts", "AssumeRole"):
            credentials = sts.assume_role(RoleArn=arn, RoleSessionName=self._session_name)["Credentials"]
        core = botocore.session.Session()
        core.register_component("data_loader", self._loader)
        with HOME_SESSION:
            # boto3.Session adds its own data path to the loader's search paths, each time: the shared loader's list
            # would grow by one entry per target, and every model lookup walks it.
            paths = self._loader.search_paths
            known = len(paths)
            try:
                return boto3.session.Session(
                    botocore_session=core,
                    aws_access_key_id=credentials["AccessKeyId"],
                    aws_secret_access_key=credentials["SecretAccessKey"],
                    aws_session_token=credentials["SessionToken"],
                    region_name=region,
                )
            finally:
                del paths[known:]

    def _sts_client(self, target_region: str) -> tuple[STSClient, str, str]:
        """STS in the home session's region (the target's when it has none), made once. Not the target's region: an
        opt-in region the central account has not enabled refuses its tokens (InvalidClientTokenId), while a
        regional endpoint's credentials are valid in every region, so a member region the account has not enabled
        is skipped by the audit as in a single-account run instead of failing the target."""
        with HOME_SESSION:
            region = self._home.region_name or target_region
            if self._sts is None:
                self._partition = self._home.get_partition_for_region(region)
                self._sts = self._home.client("sts", region_name=region, config=boto_config(max_attempts=3))
            return self._sts, self._partition, region


class MemberWirings:
    """`open_member` for core.run.org.audit_target: the wiring of one target, with the member's session for what
    lives in the member account and the home session for the report bucket and the findings topic."""

    def __init__(self, settings: Settings, run_id: str, home: boto3.session.Session | None = None) -> None:
        self._settings = settings
        self._sessions = MemberSessions(home or boto3.session.Session(), settings.member_role_name, run_id)

    def __call__(self, target: Target) -> AwsWiring:
        return AwsWiring(
            self._settings,
            self._sessions.open(target),
            home=self._sessions.home,
            reports_prefix=f"{REPORTS_PREFIX}/{target.account}/{target.region}",
        )
