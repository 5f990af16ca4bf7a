"""Typed models shared by the adapters, the checks and the handlers."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Literal, NamedTuple

from core.kernel.traffic import DomainTraffic


class Severity(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"

    @property
    def rank(self) -> int:
        return {"LOW": 1, "MEDIUM": 2, "HIGH": 3}[self.value]


class Code(StrEnum):
    IDENTITY_NOT_VERIFIED = "IDENTITY_NOT_VERIFIED"
    DKIM_SIGNING_DISABLED = "DKIM_SIGNING_DISABLED"
    DKIM_RECORD_MISSING = "DKIM_RECORD_MISSING"
    DKIM_RECORD_CONFLICT = "DKIM_RECORD_CONFLICT"
    DKIM_KEY_WEAK = "DKIM_KEY_WEAK"
    MAIL_FROM_NOT_CONFIGURED = "MAIL_FROM_NOT_CONFIGURED"
    MAIL_FROM_NOT_VERIFIED = "MAIL_FROM_NOT_VERIFIED"
    MAIL_FROM_MX_MISSING = "MAIL_FROM_MX_MISSING"
    MAIL_FROM_MX_INVALID = "MAIL_FROM_MX_INVALID"
    MAIL_FROM_SPF_MISSING = "MAIL_FROM_SPF_MISSING"
    MAIL_FROM_SPF_INVALID = "MAIL_FROM_SPF_INVALID"
    MAIL_FROM_SPF_FRAGILE = "MAIL_FROM_SPF_FRAGILE"
    DMARC_MISSING = "DMARC_MISSING"
    DMARC_INVALID = "DMARC_INVALID"
    DMARC_POLICY_NONE = "DMARC_POLICY_NONE"
    DMARC_NO_REPORTING = "DMARC_NO_REPORTING"
    DMARC_REPORT_AUTH_MISSING = "DMARC_REPORT_AUTH_MISSING"
    DMARC_STRICT_SPF_ALIGNMENT = "DMARC_STRICT_SPF_ALIGNMENT"
    DMARC_SOURCE_UNALIGNED = "DMARC_SOURCE_UNALIGNED"
    DMARC_SES_UNALIGNED = "DMARC_SES_UNALIGNED"
    DMARC_REPORTS_MISSING = "DMARC_REPORTS_MISSING"
    DMARC_READY_TO_ENFORCE = "DMARC_READY_TO_ENFORCE"
    REPORTS_MX_MISSING = "REPORTS_MX_MISSING"
    REPORTS_MX_CONFLICT = "REPORTS_MX_CONFLICT"
    ADDRESS_IDENTITY_UNALIGNED = "ADDRESS_IDENTITY_UNALIGNED"
    ZONE_NOT_FOUND = "ZONE_NOT_FOUND"
    ZONE_NOT_DELEGATED = "ZONE_NOT_DELEGATED"
    DNS_NOT_PROPAGATED = "DNS_NOT_PROPAGATED"
    DNS_PROPAGATION_STALLED = "DNS_PROPAGATION_STALLED"
    CHECK_FAILED = "CHECK_FAILED"
    ACCOUNT_SHUTDOWN = "ACCOUNT_SHUTDOWN"
    ACCOUNT_SENDING_PAUSED = "ACCOUNT_SENDING_PAUSED"
    ACCOUNT_PROBATION = "ACCOUNT_PROBATION"
    ACCOUNT_SANDBOX = "ACCOUNT_SANDBOX"


# The codes of records that are absent: remediation creates them (IDENTITY_NOT_VERIFIED is fixed through its DKIM
# records), and without a zone they are the to-do list for the domain's DNS provider.
MISSING_CODES = frozenset(
    {
        Code.DKIM_RECORD_MISSING,
        Code.MAIL_FROM_MX_MISSING,
        Code.MAIL_FROM_SPF_MISSING,
        Code.DMARC_MISSING,
        Code.REPORTS_MX_MISSING,
    }
)


@dataclass(frozen=True)
class CatalogueEntry:
    severity: Severity
    summary: str
    fixable: str  # "yes", "no", or how remediation reaches it


CATALOGUE: dict[Code, CatalogueEntry] = {
    Code.IDENTITY_NOT_VERIFIED: CatalogueEntry(Severity.HIGH, "domain identity not verified", "via DKIM records"),
    Code.DKIM_SIGNING_DISABLED: CatalogueEntry(Severity.HIGH, "DKIM signing is disabled", "no"),
    Code.DKIM_RECORD_MISSING: CatalogueEntry(Severity.HIGH, "a DKIM token's CNAME is absent", "yes"),
    Code.DKIM_RECORD_CONFLICT: CatalogueEntry(Severity.HIGH, "the DKIM name holds another target or other types", "no"),
    Code.DKIM_KEY_WEAK: CatalogueEntry(Severity.MEDIUM, "published DKIM key is RSA-1024", "opt-in"),
    Code.MAIL_FROM_NOT_CONFIGURED: CatalogueEntry(
        Severity.MEDIUM, "no custom MAIL FROM domain, SPF cannot align", "opt-in"
    ),
    Code.MAIL_FROM_NOT_VERIFIED: CatalogueEntry(Severity.MEDIUM, "custom MAIL FROM status is pending or failed", "no"),
    Code.MAIL_FROM_MX_MISSING: CatalogueEntry(Severity.HIGH, "MAIL FROM domain has no MX", "yes"),
    Code.MAIL_FROM_MX_INVALID: CatalogueEntry(
        Severity.HIGH, "MAIL FROM MX is not exactly one `10 feedback-smtp.<region>.amazonses.com`", "no"
    ),
    Code.MAIL_FROM_SPF_MISSING: CatalogueEntry(Severity.HIGH, "MAIL FROM domain has no SPF record", "yes"),
    Code.MAIL_FROM_SPF_INVALID: CatalogueEntry(
        Severity.HIGH,
        "more than one SPF record, bad syntax, or, as receivers evaluate the include/redirect tree, a permerror "
        "(more than 10 lookups, more than 2 void lookups, a target without one SPF record, a loop) or SES not "
        "authorised",
        "no",
    ),
    Code.MAIL_FROM_SPF_FRAGILE: CatalogueEntry(
        Severity.LOW,
        "SPF passes, but on terms that may not last: SES's IP ranges instead of include:amazonses.com, or macros "
        "that could not be checked",
        "no",
    ),
    Code.DMARC_MISSING: CatalogueEntry(Severity.HIGH, "no DMARC policy applies (own or inherited)", "yes"),
    Code.REPORTS_MX_MISSING: CatalogueEntry(
        Severity.MEDIUM, "the reports address's domain has no MX to SES's inbound endpoint", "yes"
    ),
    Code.REPORTS_MX_CONFLICT: CatalogueEntry(
        Severity.MEDIUM, "the reports address's domain receives mail elsewhere: reports miss the inbox", "no"
    ),
    Code.DMARC_INVALID: CatalogueEntry(
        Severity.HIGH, "more than one DMARC record at the name, or bad syntax or tag values", "no"
    ),
    Code.DMARC_POLICY_NONE: CatalogueEntry(Severity.LOW, "DMARC policy is p=none", "no"),
    Code.DMARC_NO_REPORTING: CatalogueEntry(Severity.LOW, "DMARC record has no rua", "no"),
    Code.DMARC_REPORT_AUTH_MISSING: CatalogueEntry(
        Severity.MEDIUM, "external rua without `<domain>._report._dmarc.<destination>`", "no"
    ),
    Code.DMARC_STRICT_SPF_ALIGNMENT: CatalogueEntry(
        Severity.MEDIUM, "aspf=s while the MAIL FROM domain is a subdomain", "no"
    ),
    Code.DMARC_SOURCE_UNALIGNED: CatalogueEntry(
        Severity.MEDIUM, "aggregate reports: a sender outside SES with a meaningful share of the mail fails DMARC", "no"
    ),
    Code.DMARC_SES_UNALIGNED: CatalogueEntry(
        Severity.HIGH, "aggregate reports: mail sent through SES fails DMARC alignment", "no"
    ),
    Code.DMARC_REPORTS_MISSING: CatalogueEntry(
        Severity.LOW, "rua points at the reports inbox, but no aggregate report arrived in the last 7 days", "no"
    ),
    Code.DMARC_READY_TO_ENFORCE: CatalogueEntry(
        Severity.LOW, "aggregate reports show the next policy step (quarantine, then reject) is safe", "opt-in"
    ),
    Code.ADDRESS_IDENTITY_UNALIGNED: CatalogueEntry(
        Severity.MEDIUM, "address identity whose domain has no verified domain identity in the region", "no"
    ),
    Code.ZONE_NOT_FOUND: CatalogueEntry(
        Severity.MEDIUM, "no public Route 53 zone here; the finding lists the records to create by hand", "no"
    ),
    Code.ZONE_NOT_DELEGATED: CatalogueEntry(
        Severity.HIGH, "live NS differ from the Route 53 zone's name servers", "no"
    ),
    Code.DNS_NOT_PROPAGATED: CatalogueEntry(Severity.LOW, "in Route 53, not yet in live DNS", "no"),
    Code.DNS_PROPAGATION_STALLED: CatalogueEntry(
        Severity.HIGH, "in Route 53, missing from live DNS for longer than its TTL plus an hour", "no"
    ),
    Code.CHECK_FAILED: CatalogueEntry(Severity.MEDIUM, "a check could not run; the finding says why", "no"),
    Code.ACCOUNT_SHUTDOWN: CatalogueEntry(Severity.HIGH, "SES paused the account's sending in the region", "no"),
    Code.ACCOUNT_SENDING_PAUSED: CatalogueEntry(
        Severity.HIGH, "sending is disabled for the account in the region", "no"
    ),
    # HIGH although mail still flows: the review ends in SHUTDOWN unless someone acts before its deadline.
    Code.ACCOUNT_PROBATION: CatalogueEntry(
        Severity.HIGH, "the account is under review (probation) in the region", "no"
    ),
    Code.ACCOUNT_SANDBOX: CatalogueEntry(
        Severity.MEDIUM, "the account is in the sandbox in the region: mail only to verified identities", "no"
    ),
}


# About the SES account in a region rather than an identity's DNS: no protocol column, no record to create.
ACCOUNT_CODES = frozenset(
    {Code.ACCOUNT_SHUTDOWN, Code.ACCOUNT_SENDING_PAUSED, Code.ACCOUNT_PROBATION, Code.ACCOUNT_SANDBOX}
)


@dataclass(frozen=True)
class AccountState:
    """The SES account in one region, from sesv2 GetAccount."""

    region: str
    enforcement_status: str = "HEALTHY"  # HEALTHY, PROBATION or SHUTDOWN
    sending_enabled: bool = True
    production_access_enabled: bool = True  # False: the sandbox


IdentityKind = Literal["DOMAIN", "EMAIL_ADDRESS", "MANAGED_DOMAIN"]


class IdentityKey(NamedTuple):
    """An SES identity is one name in one region: the same domain in two regions is two identities."""

    region: str
    name: str


@dataclass(frozen=True)
class DkimState:
    """SES's view of an identity's DKIM; statuses use the sesv2 spelling (SUCCESS, PENDING, ...)."""

    signing_enabled: bool
    status: str
    tokens: tuple[str, ...] = ()
    signing_hosted_zone: str = ""
    # AWS_SES, EXTERNAL (BYODKIM) or AWS_SES_<REGION> (copied from a parent); "" when only the v1 batch call was
    # read, which tells Easy DKIM (own or copied) from BYODKIM by its tokens but not the two Easy kinds apart.
    origin: str = ""

    @property
    def parent_region(self) -> str:
        """The region of the parent identity a Deterministic Easy DKIM replica copies; "" for any other origin."""
        prefix = "AWS_SES_"
        return self.origin[len(prefix) :].lower().replace("_", "-") if self.origin.startswith(prefix) else ""


@dataclass(frozen=True)
class MailFromState:
    domain: str = ""  # empty: no custom MAIL FROM domain
    status: str = ""  # SUCCESS, PENDING, FAILED, TEMPORARY_FAILURE
    behavior_on_mx_failure: str = "USE_DEFAULT_VALUE"


@dataclass(frozen=True)
class Identity:
    """One SES identity in one region, as SES reports it. Names are lower case, without a trailing dot."""

    name: str
    region: str
    kind: IdentityKind
    verification_status: str  # sesv2 spelling
    sending_enabled: bool = True
    dkim: DkimState | None = None
    mail_from: MailFromState | None = None
    # VerificationInfo.ErrorType (REPLICATION_* for a failed DKIM copy); "" when not read or none
    verification_error: str = ""

    @property
    def key(self) -> IdentityKey:
        return IdentityKey(self.region, self.name)

    @property
    def is_domain(self) -> bool:
        return self.kind != "EMAIL_ADDRESS"

    @property
    def domain(self) -> str:
        return self.name.rsplit("@", 1)[-1]


Role = Literal["found", "required"]


@dataclass(frozen=True)
class Record:
    """A DNS record set: `values` in presentation form (TXT values unquoted and joined).

    In a finding, `role` tells what DNS or Route 53 holds now ("found", the problem) from what must exist
    ("required", the fix)."""

    name: str
    type: str
    values: tuple[str, ...]
    role: Role = "required"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "values": list(self.values), "role": self.role}


Status = Literal["new", "open"]


@dataclass(frozen=True)
class Suppression:
    """Why a finding is accepted for now, from the SUPPRESSIONS file: a suppressed finding is listed, not notified."""

    reason: str
    expires: str  # ISO date; the rule stops matching after it

    def to_dict(self) -> dict[str, str]:
        return {"reason": self.reason, "expires": self.expires}


@dataclass(frozen=True)
class Finding:
    """One root cause, and every identity it affects.

    `subject` is a DNS name or zone that several identities may share (a `_dmarc` record, a MAIL FROM name, a zone's
    delegation, a failed lookup); it is "" when the finding is about its one identity in its region (SES state,
    region-specific DKIM tokens and MX). Findings with the same code and subject are one finding.
    """

    code: Code
    identities: tuple[IdentityKey, ...]
    message: str
    subject: str = ""
    fixable: bool = False
    records: tuple[Record, ...] = ()
    fixed: bool = False  # remediation created every record this finding requires, in this run
    status: Status = "new"  # new: not open in the last run's state; open: it was
    first_seen: str = ""  # ISO time of the first run that saw it (this run's when it is new)
    suppressed: Suppression | None = None
    # DNS_NOT_PROPAGATED: the TTL of the record live DNS does not show yet (core.rules.propagation)
    ttl: int = 0
    # The catalogue owns severities, so a finding can never disagree with the documented one.
    severity: Severity = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "severity", CATALOGUE[self.code].severity)
        if not self.identities:
            raise ValueError(f"a {self.code} finding needs at least one identity")

    @classmethod
    def about(cls, key: IdentityKey, code: Code, message: str, **fields: Any) -> Finding:
        return cls(code, (key,), message, **fields)

    @property
    def key(self) -> IdentityKey:
        """The first identity: the one a per-identity finding is about."""
        return self.identities[0]

    @property
    def identity(self) -> str:
        return self.key.name

    @property
    def region(self) -> str:
        return self.key.region

    @property
    def topic(self) -> str:
        """What the finding is about, for people: the shared name, or the identity."""
        return self.subject or self.identity

    @property
    def group(self) -> tuple[str, ...]:
        """What makes two findings one: the code and the shared subject, or the code and the identity."""
        return (self.code.value, self.subject) if self.subject else (self.code.value, "", *self.key)

    @property
    def id(self) -> str:
        """A stable fingerprint: the same root cause has the same id run after run, whoever it affects."""
        return hashlib.sha256("\x1f".join(self.group).encode()).hexdigest()[:16]

    def required(self) -> tuple[Record, ...]:
        return tuple(r for r in self.records if r.role == "required")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "code": self.code.value,
            "severity": self.severity.value,
            "subject": self.topic,
            "identities": [{"identity": k.name, "region": k.region} for k in self.identities],
            "message": self.message,
            "fixable": self.fixable,
            "fixed": self.fixed,
            "records": [r.to_dict() for r in self.records],
            "status": self.status,
            "first_seen": self.first_seen,
            "suppressed": self.suppressed.to_dict() if self.suppressed else None,
        }


@dataclass(frozen=True)
class Resolved:
    """A finding open in the last run's state and gone now."""

    id: str
    code: Code
    subject: str
    severity: Severity
    first_seen: str
    last_seen: str

    def to_dict(self) -> dict[str, str]:
        return {
            "id": self.id,
            "code": self.code.value,
            "subject": self.subject,
            "severity": self.severity.value,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
        }


@dataclass(frozen=True)
class Zone:
    """A Route 53 hosted zone. `name` is lower case without the trailing dot."""

    id: str
    name: str
    private: bool
    # ResourceRecordSetCount from ListHostedZones: decides how the zone is read, not which zone it is.
    record_count: int = field(default=0, compare=False)


@dataclass(frozen=True)
class RecordSet:
    """A Route 53 record set as read from the zone; `values` are the raw ResourceRecord values."""

    name: str
    type: str
    ttl: int | None
    values: tuple[str, ...]
    alias: bool = False


@dataclass(frozen=True)
class Change:
    zone_id: str
    zone_name: str
    action: Literal["CREATE", "UPSERT", "SES_SET_MAIL_FROM", "SES_DKIM_2048"]  # SES_*: zone fields empty
    name: str
    type: str
    values: tuple[str, ...]
    ttl: int
    applied: bool
    reason: Code

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["values"] = list(self.values)
        data["reason"] = self.reason.value
        return data


ErrorScope = Literal[
    "region", "route53", "zone", "run", "report", "notification", "state", "suppressions", "security_hub"
]


@dataclass(frozen=True)
class RunError:
    """A part of the run that could not be done: `scope` says what kind of part, `subject` which one (a region, a
    zone, the topic), `message` what went wrong. The rest of the run went on."""

    scope: ErrorScope
    subject: str
    message: str

    def __str__(self) -> str:
        return f"{self.scope} {self.subject}: {self.message}" if self.subject else f"{self.scope}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        return {"scope": self.scope, "subject": self.subject, "message": self.message}


@dataclass(frozen=True)
class SkippedRegion:
    """A region the run was asked to audit, by name or through `all`, that the account has not enabled: nothing
    there can be read until it is. `status` is its opt-in status as account:ListRegions gives it (DISABLED,
    DISABLING or ENABLING)."""

    region: str
    status: str

    def __str__(self) -> str:
        return f"{self.region} ({self.status.lower()})"

    def to_dict(self) -> dict[str, str]:
        return {"region": self.region, "status": self.status}


@dataclass(frozen=True)
class SkippedZone:
    """A Route 53 zone the run writes nothing into, whatever its findings ask for, and why: receivers do not see it
    (live NS are not Route 53's), or it could not be read."""

    zone_id: str
    zone: str
    reason: str

    def __str__(self) -> str:
        return f"{self.zone} ({self.reason})"

    def to_dict(self) -> dict[str, str]:
        return {"zone_id": self.zone_id, "zone": self.zone, "reason": self.reason}


@dataclass
class RunSummary:
    run_id: str
    dry_run: bool
    regions: list[str]
    identities_audited: int = 0
    findings: list[Finding] = field(default_factory=list)
    identities: list[IdentityKey] = field(default_factory=list)  # every identity audited, for the matrix
    report: str = ""  # where the full report was stored (an s3:// URI), "" when it was not
    changes: list[Change] = field(default_factory=list)
    errors: list[RunError] = field(default_factory=list)
    resolved: list[Resolved] = field(default_factory=list)
    expired_suppressions: list[str] = field(default_factory=list)  # rules whose date has passed, described
    digest: bool = False  # this run's notification is the periodic digest of everything open
    regions_skipped: list[SkippedRegion] = field(default_factory=list)  # asked for, not enabled in the account
    traffic: list[DomainTraffic] = field(default_factory=list)  # what DMARC aggregate reports say, per domain
    zones_skipped: list[SkippedZone] = field(default_factory=list)  # zones nothing is written into, and why

    @property
    def new(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "new" and f.suppressed is None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "dry_run": self.dry_run,
            "regions": list(self.regions),
            "identities_audited": self.identities_audited,
            "report": self.report,
            "identities": [{"identity": k.name, "region": k.region} for k in self.identities],
            "findings": [f.to_dict() for f in self.findings],
            "changes": [c.to_dict() for c in self.changes],
            "errors": [e.to_dict() for e in self.errors],
            "resolved": [r.to_dict() for r in self.resolved],
            "expired_suppressions": list(self.expired_suppressions),
            "digest": self.digest,
            "regions_skipped": [r.to_dict() for r in self.regions_skipped],
            "traffic": [t.to_dict() for t in self.traffic],
            "zones_skipped": [z.to_dict() for z in self.zones_skipped],
        }


AnswerStatus = Literal["OK", "NXDOMAIN", "NODATA", "FAILED"]


@dataclass(frozen=True)
class Answer:
    """The live-DNS answer for one (name, type).

    `values` in presentation form: TXT strings joined into one value per record (the 255-character split is
    undone, quotes and escapes removed); CNAME/NS/MX targets lower case without the trailing dot, MX as
    "<preference> <exchange>". `cname` is the first alias target the query followed, if any. A FAILED answer (timeout,
    SERVFAIL, refused) carries the reason in `error`.
    """

    name: str
    rdtype: str
    status: AnswerStatus
    values: tuple[str, ...] = ()
    cname: str = ""
    error: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "FAILED"


@dataclass(frozen=True)
class DkimObservation:
    """One Easy DKIM token as live DNS shows it, read with one TXT query: the resolver follows the CNAME chain, so
    the answer holds both the key at the chain's end and, in `txt.cname`, the CNAME at the name."""

    token: str
    name: str  # <token>._domainkey.<domain>
    expected_target: str  # <token>.<SigningHostedZone>
    txt: Answer  # TXT at the name through any CNAME chain: the published key; `txt.cname` is the chain's first hop
    # The CNAME at the name, queried only when `txt` failed, since the failure may lie behind a CNAME that is there.
    cname_query: Answer | None = None


@dataclass(frozen=True)
class DomainObservation:
    """Live DNS for one domain identity, gathered by core.run.observe, judged by core.checks."""

    domain: str
    dkim: tuple[DkimObservation, ...] = ()
    mail_from_mx: Answer | None = None  # None: no custom MAIL FROM domain configured
    mail_from_txt: Answer | None = None
    # Every answer the SPF evaluation of the MAIL FROM record read: include/redirect targets' TXT, a/mx/exists
    # queries, amazonses.com's TXT (see core.rules.spftree); () when there is no single SPF record to evaluate.
    mail_from_spf: tuple[Answer, ...] = ()
    dmarc: tuple[Answer, ...] = ()  # TXT at the _dmarc names of the RFC 9989 walk, in order (see core.run.observe)
    report_auth: tuple[Answer, ...] = ()  # TXT at <domain>._report._dmarc.<destination>, one per external rua
    receiving_mx: Answer | None = None  # MX of the reports address's domain; None: this identity is not that domain


@dataclass(frozen=True)
class ZoneView:
    """What Route 53 holds for one identity: its zone, the zone's name servers and the record sets at the names
    the checks need, keyed by (normalised name, type)."""

    zone: Zone | None
    name_servers: tuple[str, ...] = ()
    records: Mapping[tuple[str, str], RecordSet] = field(default_factory=dict)
    # The zone apex's NS as live DNS answers them; None until looked up. Nothing is written into a zone until they
    # are seen to be `name_servers` (core.rules.zones).
    live_ns: Answer | None = None
    unread: str = ""  # why Route 53 (the zone list, or this zone) could not be read; "" when it was


@dataclass
class Placement:
    """Where the audited domain identities' records live in Route 53, grouped by zone as the audit read them.

    `zone_of` holds every identity Route 53 was read for (None: no public zone of this account holds it); `views`
    every zone the run tried to read (`unread` says why one could not be). Remediation plans zone by zone from the
    same grouping.
    """

    zone_of: dict[IdentityKey, Zone | None] = field(default_factory=dict)
    views: dict[Zone, ZoneView] = field(default_factory=dict)

    def view(self, key: IdentityKey) -> ZoneView | None:
        """The identity's view; None when Route 53's zones could not be listed."""
        if key not in self.zone_of:
            return None
        zone = self.zone_of[key]
        return ZoneView(zone=None) if zone is None else self.views.get(zone)
