"""Builds the real adapters for one run from settings and a boto3 session."""

from __future__ import annotations

import threading

import boto3

from core.adapters.aws import Clients, boto_config, ses_regions
from core.adapters.dns import DnsClient, make_resolver
from core.adapters.reports import S3Reports
from core.adapters.route53 import Route53Zones
from core.adapters.ses import Pacer, SesRegion
from core.adapters.sns import SnsPublisher
from core.kernel.models import RunSummary
from core.kernel.settings import Settings
from core.report.html import render_html
from core.report.notify import render


class AwsWiring:
    """One per run: the DNS cache and the per-region pacers must not outlive it, nor be shared between runs."""

    def __init__(self, settings: Settings, session: boto3.session.Session | None = None) -> None:
        self._settings = settings
        self._session = session or boto3.session.Session()
        self._config = boto_config()
        self._clients: dict[str, Clients] = {}
        self._ses: dict[str, SesRegion] = {}
        self._lock = threading.Lock()
        self._dns: DnsClient | None = None
        self._route53: Route53Zones | None = None

    def clients(self, region: str) -> Clients:
        with self._lock:
            if region not in self._clients:
                self._clients[region] = Clients.for_region(self._session, region, self._config)
            return self._clients[region]

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
            resolver = make_resolver(self._settings.nameservers, self._settings.dns_timeout)
            self._dns = DnsClient(resolver)
        return self._dns

    def all_regions(self) -> list[str]:
        return ses_regions(self._session)

    def reports(self) -> S3Reports | None:
        if not self._settings.report_bucket:
            return None
        return S3Reports(self.clients(self.home_region()).s3, self._settings.report_bucket, html=render_html)


class SnsNotifier:
    """Publishes the run's notifications to the findings topic, from the topic's own region."""

    def __init__(self, wiring: AwsWiring, settings: Settings) -> None:
        self._wiring = wiring
        self._settings = settings

    @property
    def target(self) -> str:
        return self._settings.findings_topic_arn

    def notify(self, summary: RunSummary) -> None:
        topic = self._settings.findings_topic_arn
        notifications = render(
            summary, min_severity=self._settings.notify_min_severity, always=self._settings.notify_always
        )
        if notifications:
            region = topic.split(":")[3]
            SnsPublisher(self._wiring.clients(region).sns, topic).publish(notifications)
