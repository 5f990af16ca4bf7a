"""Settings read from the environment once, validated, and passed down explicitly."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass

from core.kernel.errors import ConfigError
from core.kernel.models import Severity

DMARC_POLICIES = ("none", "quarantine", "reject")
_SUBDOMAIN_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_REGION = re.compile(r"^[a-z]{2,4}(-[a-z]+)+-\d+$")  # eu-west-1, us-gov-west-1, eusc-de-east-1
_BUCKET = re.compile(r"^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# S3's "safe characters" for key names, less "*", which would widen the IAM resources built from the prefix.
_PREFIX_SEGMENT = re.compile(r"^[A-Za-z0-9!_.'()-]+$")
# Top-level prefixes ses-guard itself writes: an inbox among them would be notified of its own writes.
_RESERVED_PREFIXES = ("reports", "state", "dmarc", "rejected")
_TRUE = ("1", "true", "yes", "on")
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")  # IAM role names
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_FALSE = ("0", "false", "no", "off", "")


@dataclass(frozen=True)
class Nameserver:
    host: str
    port: int = 53


@dataclass(frozen=True)
class Settings:
    regions: tuple[str, ...]  # ("all",) means every region SES is offered in
    findings_topic_arn: str = ""
    report_bucket: str = ""  # where each run's full report goes; "" keeps it in the return value's counts only
    nameservers: tuple[Nameserver, ...] = ()  # empty: the system resolver
    exclude_identities: tuple[str, ...] = ()
    dry_run: bool = False
    dmarc_policy: str = "none"
    dmarc_rua: str = ""
    dmarc_at_organisation: bool = False  # DMARC_RECORD_AT=organisation: one record for all domains under one
    record_ttl: int = 1800
    mail_from_subdomain: str = "bounce"
    configure_mail_from: bool = False
    upgrade_dkim_keys: bool = False
    notify_min_severity: Severity = Severity.LOW
    notify_always: bool = False
    notify_on: str = "changes"  # changes: only what changed since the last run; all: every finding, every run
    digest_days: int = 7  # a digest of everything open once per this many days; 0: never
    suppressions: str = ""  # a YAML file of accepted findings: a local path, or s3://bucket/key
    security_hub: bool = False  # export findings to Security Hub as ASFF
    ses_max_rps: float = 1.0
    dns_timeout: float = 5.0
    dns_concurrency: int = 16
    time_margin_seconds: float = 30.0
    reports_inbox: str = ""  # s3://bucket/prefix/ where DMARC aggregate reports arrive; "": no inbox
    dmarc_window_days: int = 30  # how many days of aggregate reports a DMARC verdict looks back over
    dmarc_progression: bool = False  # step p= of _dmarc records ses-guard created once reports show it is safe
    dmarc_ready_threshold: float = 0.99  # the DMARC pass rate a window must keep before the next policy step
    # The address SES receives aggregate reports at (a receipt rule in `receiving_region`); its domain needs an MX
    # to SES's inbound endpoint there, which the audit plans like every other record. "": no such address.
    reports_address: str = ""
    receiving_region: str = ""
    # Organisation mode (on when a member role is named): audit each account of the organisation through this role.
    member_role_name: str = ""
    org_accounts: tuple[str, ...] = ()  # empty: every ACTIVE account of the organisation
    org_concurrency: int = 4  # targets audited at once when the CLI fans out locally

    @property
    def org_mode(self) -> bool:
        return bool(self.member_role_name)

    @property
    def inbox_bucket(self) -> str:
        return self.reports_inbox[5:].partition("/")[0]

    @property
    def inbox_prefix(self) -> str:
        return self.reports_inbox[5:].partition("/")[2]

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build settings from an environment mapping; raises ConfigError naming the bad variable."""
        default_region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or ""
        return cls(
            regions=parse_regions("AUDIT_REGIONS", env.get("AUDIT_REGIONS", ""), default_region),
            findings_topic_arn=_topic_arn(env.get("FINDINGS_TOPIC_ARN", "")),
            report_bucket=_bucket(env.get("REPORT_BUCKET", "")),
            nameservers=parse_nameservers(env.get("DNS_NAMESERVERS", "")),
            exclude_identities=_csv(env.get("EXCLUDE_IDENTITIES", "")),
            dry_run=_bool("DRY_RUN", env.get("DRY_RUN", "")),
            dmarc_policy=_choice("DMARC_POLICY", env.get("DMARC_POLICY", "none"), DMARC_POLICIES),
            dmarc_rua=_rua(env.get("DMARC_RUA", "")),
            dmarc_at_organisation=_choice(
                "DMARC_RECORD_AT", env.get("DMARC_RECORD_AT", "identity") or "identity", ("identity", "organisation")
            )
            == "organisation",
            record_ttl=int(_number("RECORD_TTL", env.get("RECORD_TTL", "1800"), 60, 172800, integer=True)),
            mail_from_subdomain=_label("MAIL_FROM_SUBDOMAIN", env.get("MAIL_FROM_SUBDOMAIN", "bounce")),
            configure_mail_from=_bool("CONFIGURE_MAIL_FROM", env.get("CONFIGURE_MAIL_FROM", "")),
            upgrade_dkim_keys=_bool("UPGRADE_DKIM_KEYS", env.get("UPGRADE_DKIM_KEYS", "")),
            notify_min_severity=Severity(
                _choice(
                    "NOTIFY_MIN_SEVERITY",
                    env.get("NOTIFY_MIN_SEVERITY", "LOW").upper(),
                    tuple(s.value for s in Severity),
                )
            ),
            notify_always=_bool("NOTIFY_ALWAYS", env.get("NOTIFY_ALWAYS", "")),
            notify_on=_choice("NOTIFY_ON", env.get("NOTIFY_ON", "changes") or "changes", ("changes", "all")),
            digest_days=int(_number("DIGEST_DAYS", env.get("DIGEST_DAYS", "7") or "7", 0, 365, integer=True)),
            suppressions=_suppressions(env.get("SUPPRESSIONS", "")),
            security_hub=_bool("SECURITY_HUB", env.get("SECURITY_HUB", "")),
            ses_max_rps=_number("SES_MAX_RPS", env.get("SES_MAX_RPS", "1"), 0.01, 1000),
            dns_timeout=_number("DNS_TIMEOUT", env.get("DNS_TIMEOUT", "5"), 0.1, 60),
            dns_concurrency=int(_number("DNS_CONCURRENCY", env.get("DNS_CONCURRENCY", "16"), 1, 256, integer=True)),
            time_margin_seconds=_number("TIME_MARGIN_SECONDS", env.get("TIME_MARGIN_SECONDS", "30"), 0, 600),
            reports_inbox=_inbox(env.get("REPORTS_INBOX", "")),
            dmarc_window_days=int(
                _number("DMARC_WINDOW_DAYS", env.get("DMARC_WINDOW_DAYS", "30") or "30", 7, 366, integer=True)
            ),
            dmarc_progression=_bool("DMARC_PROGRESSION", env.get("DMARC_PROGRESSION", "")),
            reports_address=_address("REPORTS_ADDRESS", env.get("REPORTS_ADDRESS", "")),
            # The receipt rule lives in the stack's region, which is the function's own.
            receiving_region=default_region,
            dmarc_ready_threshold=_number(
                "DMARC_READY_THRESHOLD", env.get("DMARC_READY_THRESHOLD", "0.99") or "0.99", 0.5, 1
            ),
            member_role_name=role_name("MEMBER_ROLE_NAME", env.get("MEMBER_ROLE_NAME", "")),
            org_accounts=account_ids("ORG_ACCOUNTS", env.get("ORG_ACCOUNTS", "")),
            org_concurrency=int(
                _number("ORG_CONCURRENCY", env.get("ORG_CONCURRENCY", "4") or "4", 1, 64, integer=True)
            ),
        ).checked()

    def checked(self) -> Settings:
        # A lookup already under way when the margin is reached may still take DNS_TIMEOUT to give up.
        if self.time_margin_seconds < self.dns_timeout:
            margin, timeout = self.time_margin_seconds, self.dns_timeout
            raise ConfigError(f"TIME_MARGIN_SECONDS ({margin:g}) must be at least DNS_TIMEOUT ({timeout:g})")
        if self.reports_inbox and not self.report_bucket:
            raise ConfigError(f"REPORTS_INBOX ({self.reports_inbox}) needs REPORT_BUCKET, where reports are counted")
        if self.org_mode and "all" in self.regions:
            # Each member's enabled regions are unknown centrally: the targets are accounts times named regions.
            raise ConfigError(
                "AUDIT_REGIONS: 'all' is not allowed in organisation mode (MEMBER_ROLE_NAME is set): name the regions"
            )
        return self


def _csv(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def parse_regions(variable: str, raw: str, default_region: str) -> tuple[str, ...]:
    regions = tuple(r.lower() for r in _csv(raw))
    if not regions:
        if not default_region:
            raise ConfigError(f"{variable} is empty and no AWS_REGION is set: name the regions to audit")
        regions = (default_region,)
    if "all" in regions:
        if len(regions) > 1:
            raise ConfigError(f"{variable}: 'all' cannot be combined with named regions")
        return regions
    for region in regions:
        if not _REGION.match(region):
            raise ConfigError(f"{variable}: {region!r} is not an AWS region name")
    return tuple(dict.fromkeys(regions))


def role_name(variable: str, raw: str) -> str:
    value = raw.strip()
    if value and not _ROLE_NAME.match(value):
        raise ConfigError(f"{variable}: {raw!r} is not an IAM role name (1 to 64 of letters, digits and +=,.@_-)")
    return value


def account_ids(variable: str, raw: str) -> tuple[str, ...]:
    accounts = _csv(raw)
    for account in accounts:
        if not _ACCOUNT_ID.match(account):
            raise ConfigError(f"{variable}: {account!r} is not a 12-digit AWS account id")
    return tuple(dict.fromkeys(accounts))


def parse_nameservers(raw: str) -> tuple[Nameserver, ...]:
    """`host`, `host:port`, an IPv6 address alone or `[addr]:port`, comma-separated."""
    servers = []
    for item in _csv(raw):
        host, port = item, "53"
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            if rest and not rest.startswith(":"):
                raise ConfigError(f"DNS_NAMESERVERS: {item!r} is not [address]:port")
            port = rest[1:] or "53"
        elif item.count(":") == 1:
            host, port = item.split(":")
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ConfigError(f"DNS_NAMESERVERS: {host!r} is not an IP address") from None
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"DNS_NAMESERVERS: {port!r} in {item!r} is not a port")
        servers.append(Nameserver(host, int(port)))
    return tuple(servers)


def _bool(variable: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{variable}: {raw!r} is not true or false")


def _choice(variable: str, raw: str, allowed: tuple[str, ...]) -> str:
    value = raw.strip()
    if value not in allowed:
        raise ConfigError(f"{variable}: {raw!r} is not one of {', '.join(allowed)}")
    return value


def _number(variable: str, raw: str, low: float, high: float, *, integer: bool = False) -> float:
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise ConfigError(f"{variable}: {raw!r} is not a number") from None
    if not low <= value <= high:
        raise ConfigError(f"{variable}: {value} is outside {low:g}..{high:g}")
    return value


def _label(variable: str, raw: str) -> str:
    value = raw.strip().lower()
    if not all(_SUBDOMAIN_LABEL.match(label) for label in value.split(".")):
        raise ConfigError(f"{variable}: {raw!r} is not a DNS label")
    return value


def _topic_arn(raw: str) -> str:
    value = raw.strip()
    if value and not re.match(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$", value):
        raise ConfigError(f"FINDINGS_TOPIC_ARN: {raw!r} is not an SNS topic ARN")
    return value


def _suppressions(raw: str) -> str:
    value = raw.strip()
    if value.startswith("s3://"):
        bucket, _, key = value[5:].partition("/")
        if not _BUCKET.match(bucket) or not key:
            raise ConfigError(f"SUPPRESSIONS: {raw!r} is not s3://bucket/key")
    return value


def _bucket(raw: str) -> str:
    value = raw.strip()
    if value and not _BUCKET.match(value):
        raise ConfigError(f"REPORT_BUCKET: {raw!r} is not an S3 bucket name (give the name, not an ARN or URI)")
    return value


def _rua(raw: str) -> str:
    return _address("DMARC_RUA", raw)


def _address(variable: str, raw: str) -> str:
    value = raw.strip()
    if value and (
        value.lower().startswith("mailto:") or not re.match(r"^[^@\s,;!]+@[a-z0-9.-]+\.[a-z]{2,}$", value, re.I)
    ):
        raise ConfigError(f"{variable}: {raw!r} is not an email address (give it without mailto:)")
    return value


def _inbox(raw: str) -> str:
    """`s3://bucket/prefix/`; the prefix is required (the trailing slash is added when missing), so that what
    ses-guard writes in that bucket is never in the inbox."""
    value = raw.strip()
    if not value:
        return ""
    bucket, _, prefix = value.removeprefix("s3://").partition("/")
    if not value.startswith("s3://") or not _BUCKET.match(bucket):
        raise ConfigError(f"REPORTS_INBOX: {raw!r} is not s3://bucket/prefix/ (e.g. s3://my-reports/inbox/)")
    segments = prefix.rstrip("/").split("/")
    if len(prefix) > 512 or not all(_PREFIX_SEGMENT.match(s) and s not in (".", "..") for s in segments):
        raise ConfigError(
            f"REPORTS_INBOX: {raw!r} needs a prefix after the bucket: letters, digits and !_.*'()- between single "
            "slashes"
        )
    if segments[0] in _RESERVED_PREFIXES:
        raise ConfigError(f"REPORTS_INBOX: {raw!r} is under {segments[0]}/, where ses-guard writes its own objects")
    return f"s3://{bucket}/{'/'.join(segments)}/"
