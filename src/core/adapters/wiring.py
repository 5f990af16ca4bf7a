"""Builds the real adapters for one run from settings and a boto3 session."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import boto3
from dns.resolver import Resolver

from core.adapters.aws import Clients, account_id, boto_config, ses_regions
from core.adapters.dns import DnsClient, make_resolver
from core.adapters.regions import AccountRegions
from core.adapters.reports import PREFIX as REPORTS_PREFIX
from core.adapters.reports import S3Reports
from core.adapters.route53 import Route53Zones
from core.adapters.rua import S3Aggregates
from core.adapters.securityhub import SecurityHubExport, SecurityHubImporter
from core.adapters.ses import Pacer, SesRegion
from core.adapters.sns import SnsPublisher
from core.adapters.state import PREFIX as STATE_PREFIX
from core.adapters.state import FileState, S3State, UnavailableState
from core.adapters.suppressions import FileSuppressions, S3Suppressions
from core.kernel.errors import SesGuardError
from core.kernel.models import RunSummary
from core.kernel.settings import Settings
from core.report.asff import Hub
from core.report.html import render_html
from core.report.notify import render

# Organisation mode shares the function's own (home) boto3 session between the targets audited at once; a boto3
# session is safe from one thread at a time, so every use of it, here and in core.adapters.members, holds this.
HOME_SESSION = threading.Lock()


class AwsWiring:
    """One per run: the DNS cache and the per-region pacers must not outlive it, nor be shared between runs."""

    def __init__(
        self,
        settings: Settings,
        session: boto3.session.Session | None = None,
        *,
        state_file: Path | None = None,
        bucket_state: bool = True,
        home: boto3.session.Session | None = None,
        reports_prefix: str = REPORTS_PREFIX,
    ) -> None:
        """`state_file`: keep the run's memory in this local file (the CLI's --state). Otherwise it lives in the
        report bucket unless `bucket_state` is False (the CLI remembers only when asked).

        `home`: organisation mode, where `session` is a member account's (SES, Route 53, its regions, its identity,
        its Security Hub, which imports only its own account's findings) and `home` the function's own, which holds
        the report bucket and the findings topic. `reports_prefix`: where in the bucket reports go."""
        self._settings = settings
        self._state_file = state_file
        self._bucket_state = bucket_state
        self._account = ""
        self._session = session or boto3.session.Session()
        self._home = home
        self._reports_prefix = reports_prefix
        self._config = boto_config()
        self._clients: dict[str, Clients] = {}
        self._home_clients: dict[str, Clients] = {}
        self._ses: dict[str, SesRegion] = {}
        self._lock = threading.Lock()
        self._dns: DnsClient | None = None
        self._dns_resolver: Resolver | None = None
        self._route53: Route53Zones | None = None

    def clients(self, region: str) -> Clients:
        with self._lock:
            if region not in self._clients:
                self._clients[region] = Clients.for_region(self._session, region, self._config)
            return self._clients[region]

    def home_clients(self, region: str) -> Clients:
        """The function's own account's clients: the report bucket's and the findings topic's."""
        if self._home is None:
            return self.clients(region)
        # The home session is shared by the targets audited at once, and a boto3 session makes clients safely
        # from one thread at a time.
        with HOME_SESSION:
            if region not in self._home_clients:
                self._home_clients[region] = Clients.for_region(self._home, region, self._config)
            return self._home_clients[region]

    def home_region(self) -> str:
        return self._session.region_name or self._settings.regions[0]

    def ses(self, region: str) -> SesRegion:
        """One per region for the run, so every SES call of the region goes through the same pacer."""
        clients = self.clients(region)
        with self._lock:
            if region not in self._ses:
                self._ses[region] = SesRegion(
                    clients.sesv2, clients.ses, region, pacer=Pacer(self._settings.ses_max_rps)
                )
            return self._ses[region]

    def route53(self) -> Route53Zones:
        if self._route53 is None:
            self._route53 = Route53Zones(self.clients(self.home_region()).route53)
        return self._route53

    def dns(self) -> DnsClient:
        if self._dns is None:
            self._dns = DnsClient(self._resolver())
        return self._dns

    def scoped_dns(self) -> DnsClient:
        """A client of its own on the run's resolver: its memo goes when the caller drops it."""
        return DnsClient(self._resolver())

    def _resolver(self) -> Resolver:
        with self._lock:
            if self._dns_resolver is None:
                self._dns_resolver = make_resolver(self._settings.nameservers, self._settings.dns_timeout)
            return self._dns_resolver

    def all_regions(self) -> list[str]:
        return ses_regions(self._session, self._session.get_partition_for_region(self.home_region()))

    def region_opt_in(self) -> dict[str, str]:
        client = self._session.client("account", region_name=self.home_region(), config=self._config)
        return AccountRegions(client).opt_in_status()

    def now(self) -> datetime:
        return datetime.now(UTC)

    def account(self) -> str:
        if not self._account:
            self._account = account_id(self.clients(self.home_region()).sts)
        return self._account

    def state(self, scope: str) -> S3State | FileState | UnavailableState | None:
        """A local file when one was named (the CLI's --state), else the report bucket, else no memory."""
        if self._state_file is not None:
            return FileState(self._state_file)
        bucket = self._settings.report_bucket
        if not bucket or not self._bucket_state:
            return None
        try:
            account = self.account()
        except SesGuardError as err:
            # The state is per account; not knowing which is a state error of this run, never a failed run.
            return UnavailableState(f"s3://{bucket}/{STATE_PREFIX}/", err)
        key = f"{STATE_PREFIX}/{account}/{scope}.json"
        return S3State(self.home_clients(self.home_region()).s3, bucket, key)

    def exporter(self) -> SecurityHubExport:
        """Security Hub in the function's own region: findings keep their Id only within one hub, so every run must
        import into the same one for a re-import to overwrite rather than duplicate."""
        region = self.home_region()
        client = self._session.client("securityhub", region_name=region, config=self._config)
        hub = Hub(self._session.get_partition_for_region(region), region, self.account())
        return SecurityHubExport(SecurityHubImporter(client), hub)

    def reports(self) -> S3Reports | None:
        if not self._settings.report_bucket:
            return None
        return S3Reports(
            self.home_clients(self.home_region()).s3,
            self._settings.report_bucket,
            html=render_html,
            prefix=self._reports_prefix,
        )

    def aggregates(self) -> S3Aggregates | None:
        if not self._settings.report_bucket:
            return None
        return S3Aggregates(self.home_clients(self.home_region()).s3, self._settings.report_bucket)

    def suppressions(self) -> S3Suppressions | FileSuppressions | None:
        location = self._settings.suppressions
        if not location:
            return None
        if location.startswith("s3://"):
            return S3Suppressions(self.home_clients(self.home_region()).s3, location, self.account)
        return FileSuppressions(Path(location), self.account)


class SnsNotifier:
    """Publishes the run's notifications to the findings topic, from the topic's own region."""

    def __init__(self, wiring: AwsWiring, settings: Settings) -> None:
        self._wiring = wiring
        self._settings = settings

    @property
    def target(self) -> str:
        return self._settings.findings_topic_arn

    def notify(self, summary: RunSummary) -> bool:
        topic = self._settings.findings_topic_arn
        notifications = render(
            summary,
            min_severity=self._settings.notify_min_severity,
            always=self._settings.notify_always,
            notify_on=self._settings.notify_on,
        )
        if notifications:
            region = topic.split(":")[3]
            SnsPublisher(self._wiring.home_clients(region).sns, topic).publish(notifications)
        return bool(notifications)
