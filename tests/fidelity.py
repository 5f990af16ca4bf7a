"""Restores the real AWS API where moto 5.2.5 is not faithful, for the moto server running in this process.

Each patch names the API reference page it follows. `install(monkeypatch)` applies them for one test; the `aws`
fixture calls it, so every test sees the same, more faithful, server.

SES state per identity (verification, DKIM, MAIL FROM status) lives in an `IdentityState` attached to moto's own
identity object, so a moto reset drops it with the identity. `seed_identity` creates the identity and its state.
The account's state per region (GetAccount) lives on moto's sesv2 backend of the region; `set_account` sets it.
The account's regions and their opt-in status (account:ListRegions) live on moto's account backend;
`set_region_opt_in` changes them and `deny_list_regions` takes the permission away.
STS AssumeRole answers AccessDenied for a role that does not exist in its account, as AWS does; moto hands out
credentials for any ARN. Only the role's existence is checked, never its trust policy: a role that does not trust
the caller is assumed here, where AWS refuses it. Those credentials do reach the role's account in moto (its own SES
identities, Route 53 zones, S3 buckets), and Organizations ListAccounts reports `State` as well as `Status`: both as
AWS does, no patch.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import botocore.session
import pytest
from moto.account import urls as account_urls
from moto.account.models import account_backends
from moto.account.responses import AccountResponse
from moto.core.exceptions import AccessDeniedError, JsonRESTError, ServiceException
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.iam.models import iam_backends
from moto.route53.exceptions import ResourceRecordAlreadyExists
from moto.route53.models import Route53Backend
from moto.securityhub.exceptions import SecurityHubClientError
from moto.securityhub.models import SecurityHubBackend
from moto.ses.exceptions import InvalidParameterValue
from moto.ses.models import EmailIdentity, SESBackend, ses_backends
from moto.sesv2 import urls as sesv2_urls
from moto.sesv2.models import SESV2Backend, sesv2_backends
from moto.sesv2.responses import SESV2Response
from moto.sts.models import STSBackend

BATCH_LIMIT = 100  # v1 Get*Attributes: "up to 100 identities at a time"
PAGE_SIZE_LIMIT = 1000  # sesv2 ListEmailIdentities: "can be no more than 1000"

_V1_STATUS = {
    "SUCCESS": "Success",
    "PENDING": "Pending",
    "FAILED": "Failed",
    "TEMPORARY_FAILURE": "TemporaryFailure",
    "NOT_STARTED": "NotStarted",
}
_V1_BEHAVIOR = {"USE_DEFAULT_VALUE": "UseDefaultValue", "REJECT_MESSAGE": "RejectMessage"}
_V2_BEHAVIOR = {v1: v2 for v2, v1 in _V1_BEHAVIOR.items()}


def random_token() -> str:
    """An Easy DKIM token as SES issues them: 32 lower-case letters and digits."""
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(32))


@dataclass
class IdentityState:
    """What real SES knows about one identity; statuses in the sesv2 spelling."""

    verification: str = "SUCCESS"
    dkim_enabled: bool = True
    dkim_status: str = "SUCCESS"
    tokens: tuple[str, ...] = field(default_factory=lambda: (random_token(), random_token(), random_token()))
    signing_hosted_zone: str = "dkim.amazonses.com"
    origin: str = "AWS_SES"
    key_length: str = "RSA_2048_BIT"
    mail_from_status: str = "SUCCESS"
    next_key_length: str = ""  # empty: the same as key_length
    error_type: str = ""  # VerificationInfo.ErrorType, e.g. REPLICATION_PRIMARY_NOT_FOUND for a failed DKIM copy

    @property
    def byodkim(self) -> bool:
        return self.origin == "EXTERNAL"


class BadRequestException(ServiceException):
    code = "BadRequestException"


def _state(identity: EmailIdentity) -> IdentityState:
    """The identity's state; an identity created without `seed_identity` gets one from moto's own attributes."""
    state: IdentityState | None = getattr(identity, "fidelity_state", None)
    if state is None:
        dkim = identity.dkim_attributes
        state = IdentityState(
            verification=identity.verification_status,
            dkim_enabled=bool(dkim.get("SigningEnabled")),
            dkim_status=str(dkim.get("Status", "NOT_STARTED")),
            origin=str(dkim.get("SigningAttributesOrigin", "AWS_SES")),
            key_length=str(dkim.get("NextSigningKeyLength", "RSA_2048_BIT")),
        )
        identity.fidelity_state = state  # type: ignore[attr-defined]
    return state


def _is_domain(identity: EmailIdentity) -> bool:
    return bool(identity.identity_type != "EMAIL_ADDRESS")


def _check_batch(identities: list[str]) -> None:
    if len(identities) > BATCH_LIMIT:
        raise InvalidParameterValue(f"Too many identities: {len(identities)}; at most {BATCH_LIMIT} per request.")


def get_identity_dkim_attributes(self: SESBackend, identities: list[str]) -> dict[str, dict[str, Any]]:
    """SES v1 GetIdentityDkimAttributes, per identity.

    https://docs.aws.amazon.com/ses/latest/APIReference/API_GetIdentityDkimAttributes.html and
    https://docs.aws.amazon.com/ses/latest/APIReference/API_IdentityDkimAttributes.html: up to 100 identities per
    call (the reference states the limit, not the error text; this answers InvalidParameterValue); DkimEnabled and
    DkimVerificationStatus (Pending|Success|Failed|TemporaryFailure|NotStarted) per identity; DkimTokens only for
    Easy DKIM domain identities (a BYODKIM identity's selector is not a token and only sesv2 reports it).
    moto answers the same three tokens and Success for any name.
    """
    _check_batch(identities)
    result: dict[str, dict[str, Any]] = {}
    for name in identities:
        identity = self.email_identities.get(name)
        if identity is None:
            continue
        state = _state(identity)
        attributes: dict[str, Any] = {
            "DkimEnabled": state.dkim_enabled,
            "DkimVerificationStatus": _V1_STATUS[state.dkim_status],
        }
        if _is_domain(identity) and not state.byodkim and state.tokens:
            attributes["DkimTokens"] = list(state.tokens)
        result[name] = attributes
    return result


def get_identity_mail_from_domain_attributes(
    self: SESBackend, identities: list[str] | None = None
) -> dict[str, dict[str, str]]:
    """SES v1 GetIdentityMailFromDomainAttributes, per identity.

    https://docs.aws.amazon.com/ses/latest/APIReference/API_GetIdentityMailFromDomainAttributes.html and
    https://docs.aws.amazon.com/ses/latest/APIReference/API_IdentityMailFromDomainAttributes.html: up to 100
    identities per call; MailFromDomainStatus Pending|Success|Failed|TemporaryFailure, reported only for identities
    that have a MAIL FROM domain. moto reports Success for every MAIL FROM domain.
    """
    names = identities or []
    _check_batch(names)
    result: dict[str, dict[str, str]] = {}
    for name in names:
        identity = self.email_identities.get(name)
        configured = self.identity_mail_from_domains.get(name, {})
        if identity is None or not configured.get("mail_from_domain"):
            continue
        result[name] = {
            "MailFromDomain": configured["mail_from_domain"],
            "MailFromDomainStatus": _V1_STATUS[_state(identity).mail_from_status],
            "BehaviorOnMXFailure": configured.get("behavior_on_mx_failure") or "UseDefaultValue",
        }
    return result


def _backend_of(identity: EmailIdentity) -> SESBackend | None:
    for regions in ses_backends.values():
        for backend in regions.values():
            if backend.email_identities.get(identity.email_identity) is identity:
                return backend
    return None


def email_identity_response(self: EmailIdentity) -> dict[str, Any]:
    """sesv2 GetEmailIdentity.

    https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_GetEmailIdentity.html,
    https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_DkimAttributes.html and
    https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_MailFromAttributes.html: DkimAttributes carries
    SigningEnabled, Status, Tokens (Easy DKIM tokens, or the BYODKIM selector), SigningHostedZone,
    SigningAttributesOrigin and, for Easy DKIM, CurrentSigningKeyLength/NextSigningKeyLength; MailFromAttributes
    carries MailFromDomain, MailFromDomainStatus and BehaviorOnMxFailure. moto omits all but the first two.
    https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_VerificationInfo.html: VerificationInfo.ErrorType
    (REPLICATION_* when a Deterministic Easy DKIM copy failed); moto has no VerificationInfo.
    A replica (SigningAttributesOrigin AWS_SES_<REGION>) is seeded with its parent's tokens and zone, which
    https://docs.aws.amazon.com/ses/latest/dg/send-email-authentication-dkim-easy-managing.html (Deterministic
    Easy DKIM) says it reuses; the v1 batch call answers them as Easy DKIM tokens, it has no origin field.
    """
    state = _state(self)
    response: dict[str, Any] = {
        "IdentityType": self.identity_type,
        "FeedbackForwardingStatus": self.feedback_forwarding_status,
        "VerifiedForSendingStatus": state.verification == "SUCCESS",
        "VerificationStatus": state.verification,
        "Policies": self.policies,
        "Tags": self.tags or [],
    }
    if self.configuration_set_name:
        response["ConfigurationSetName"] = self.configuration_set_name
    if state.error_type:
        response["VerificationInfo"] = {"ErrorType": state.error_type}
    dkim: dict[str, Any] = {
        "SigningEnabled": state.dkim_enabled,
        "Status": state.dkim_status,
        "SigningAttributesOrigin": state.origin,
    }
    if _is_domain(self):
        dkim["Tokens"] = list(state.tokens)
        dkim["SigningHostedZone"] = state.signing_hosted_zone
        if not state.byodkim:
            dkim["CurrentSigningKeyLength"] = state.key_length
            dkim["NextSigningKeyLength"] = state.next_key_length or state.key_length
    response["DkimAttributes"] = dkim
    backend = _backend_of(self)
    configured = backend.identity_mail_from_domains.get(self.email_identity, {}) if backend else {}
    behavior = _V2_BEHAVIOR[configured.get("behavior_on_mx_failure") or "UseDefaultValue"]
    mail_from: dict[str, Any] = {"BehaviorOnMxFailure": behavior}
    if configured.get("mail_from_domain"):
        mail_from["MailFromDomain"] = configured["mail_from_domain"]
        mail_from["MailFromDomainStatus"] = state.mail_from_status
    response["MailFromAttributes"] = mail_from
    return response


def put_email_identity_dkim_signing_attributes(self: SESV2Response) -> str:
    """sesv2 PutEmailIdentityDkimSigningAttributes, which moto 5.2.5 does not implement.

    https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_PutEmailIdentityDkimSigningAttributes.html:
    `PUT /v2/email/identities/{EmailIdentity}/dkim/signing`; with SigningAttributesOrigin AWS_SES and
    SigningAttributes.NextSigningKeyLength, Easy DKIM moves to that key length at its next rotation; the response
    carries DkimStatus, DkimTokens and SigningHostedZone. An unknown identity is NotFoundException.
    """
    name = unquote(self.path.rstrip("/").split("/")[-3])
    identity = self.sesv2_backend.core_backend.email_identities.get(name)
    if identity is None:
        raise NotFoundException(f"Email identity {name} does not exist.")
    body = json.loads(self.body or "{}")
    state = _state(identity)
    if body.get("SigningAttributesOrigin") == "AWS_SES":
        if state.origin != "AWS_SES":
            # Leaving BYODKIM or a copied key for Easy DKIM of its own: SES issues new tokens, so new CNAMEs.
            state.origin, state.tokens = "AWS_SES", (random_token(), random_token(), random_token())
        state.next_key_length = body.get("SigningAttributes", {}).get("NextSigningKeyLength", state.key_length)
    identity.fidelity_state = state  # type: ignore[attr-defined]
    return json.dumps(
        {
            "DkimStatus": state.dkim_status,
            "DkimTokens": list(state.tokens),
            "SigningHostedZone": state.signing_hosted_zone,
        }
    )


def add_routes() -> None:
    """URL routes moto's server lacks for the operations above; needed before the server's first sesv2 request."""
    sesv2_urls.url_paths.setdefault(
        "{0}/v2/email/identities/(?P<EmailIdentity>[^/]+)/dkim/signing$", SESV2Response.dispatch
    )
    sesv2_urls.url_paths.setdefault("{0}/v2/email/account$", SESV2Response.dispatch)
    account_urls.url_paths.setdefault("{0}/listRegions$", AccountResponse.dispatch)


class NotFoundException(ServiceException):
    code = "NotFoundException"


@dataclass
class AccountState:
    """What real SES says about the account in one region (GetAccount); the default is a healthy production account."""

    enforcement_status: str = "HEALTHY"  # HEALTHY, PROBATION or SHUTDOWN
    sending_enabled: bool = True
    production_access_enabled: bool = True


def set_account(region: str, **state: Any) -> AccountState:
    """Give the account in `region` this state; kept on moto's sesv2 backend, so a moto reset drops it."""
    account = AccountState(**state)
    sesv2_backends[DEFAULT_ACCOUNT_ID][region].fidelity_account = account  # type: ignore[attr-defined]
    return account


def get_account(self: SESV2Response) -> str:
    """sesv2 GetAccount, which moto 5.2.5 does not implement.

    https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_GetAccount.html: `GET /v2/email/account` returns the
    account's state in the request's region: EnforcementStatus (HEALTHY, PROBATION or SHUTDOWN), SendingEnabled,
    ProductionAccessEnabled (false: the sandbox), SendQuota (Max24HourSend, MaxSendRate, SentLast24Hours; the
    sandbox's are 200 a day at 1 a second), DedicatedIpAutoWarmupEnabled and the account's Details.
    """
    account: AccountState = getattr(self.sesv2_backend, "fidelity_account", None) or AccountState()
    quota = (50000.0, 14.0) if account.production_access_enabled else (200.0, 1.0)
    return json.dumps(
        {
            "DedicatedIpAutoWarmupEnabled": False,
            "EnforcementStatus": account.enforcement_status,
            "ProductionAccessEnabled": account.production_access_enabled,
            "SendingEnabled": account.sending_enabled,
            "SendQuota": {"Max24HourSend": quota[0], "MaxSendRate": quota[1], "SentLast24Hours": 0.0},
        }
    )


def _list_email_identities_checked(original: Callable[..., Any]) -> Callable[..., Any]:
    def list_email_identities(self: SESV2Backend, *args: Any, **kwargs: Any) -> Any:
        """sesv2 ListEmailIdentities: PageSize "can be no more than 1000".

        https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_ListEmailIdentities.html
        moto accepts any page size.
        """
        page_size = kwargs.get("page_size")
        if page_size is not None and not 0 <= int(page_size) <= PAGE_SIZE_LIMIT:
            raise BadRequestException(f"PageSize must be between 0 and {PAGE_SIZE_LIMIT}.")
        return original(self, *args, **kwargs)

    return list_email_identities


def install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Apply every patch for the current test; monkeypatch undoes them afterwards."""
    monkeypatch.setattr(SESBackend, "get_identity_dkim_attributes", get_identity_dkim_attributes)
    monkeypatch.setattr(
        SESBackend, "get_identity_mail_from_domain_attributes", get_identity_mail_from_domain_attributes
    )
    monkeypatch.setattr(EmailIdentity, "get_response_object", property(email_identity_response))
    monkeypatch.setattr(
        SESV2Backend, "list_email_identities", _list_email_identities_checked(SESV2Backend.list_email_identities)
    )
    monkeypatch.setattr(
        SESV2Response,
        "put_email_identity_dkim_signing_attributes",
        put_email_identity_dkim_signing_attributes,
        raising=False,
    )
    monkeypatch.setattr(SESV2Response, "get_account", get_account, raising=False)
    monkeypatch.setattr(AccountResponse, "list_regions", list_regions, raising=False)
    _install_route53(monkeypatch)
    _install_securityhub(monkeypatch)
    monkeypatch.setattr(STSBackend, "assume_role", _assume_existing_role(STSBackend.assume_role))


def seed_identity(
    aws: Any,
    region: str,
    name: str,
    *,
    verification: str = "SUCCESS",
    dkim_enabled: bool = True,
    dkim_status: str = "SUCCESS",
    tokens: tuple[str, ...] | None = None,
    signing_hosted_zone: str = "dkim.amazonses.com",
    origin: str = "AWS_SES",
    key_length: str = "RSA_2048_BIT",
    mail_from: str | None = None,
    mail_from_status: str = "SUCCESS",
    behavior: str = "USE_DEFAULT_VALUE",
    kind: str | None = None,
    through_api: bool = True,
    error_type: str = "",
    account: str = DEFAULT_ACCOUNT_ID,
) -> IdentityState:
    """Create an SES identity in `region` with the given real state; statuses in the sesv2 spelling.

    With `through_api` (the default) the identity and its MAIL FROM domain are created by sesv2
    CreateEmailIdentity and v1 SetIdentityMailFromDomain on the server; without, directly in moto's backend
    (for seeding thousands fast). Reading always goes through the server either way. `tokens` default to three
    random Easy DKIM tokens, or one selector for BYODKIM (`origin="EXTERNAL"`). `kind="MANAGED_DOMAIN"` stands in
    for a domain SES manages itself, which no public API creates. `account`: another account than the default one
    (an organisation's member) is seeded in moto's backend directly, as the test's clients reach only the default.
    """
    if tokens is None:
        tokens = ("ses-guard-selector",) if origin == "EXTERNAL" else (random_token(), random_token(), random_token())
    backend = ses_backends[account][region]
    if through_api and account == DEFAULT_ACCOUNT_ID:
        aws.client("sesv2", region).create_email_identity(EmailIdentity=name)
        if mail_from:
            aws.client("ses", region).set_identity_mail_from_domain(
                Identity=name, MailFromDomain=mail_from, BehaviorOnMXFailure=_V1_BEHAVIOR[behavior]
            )
    else:
        backend.create_email_identity_v2(name, None, None, None)
        if mail_from:
            backend.identity_mail_from_domains[name] = {
                "mail_from_domain": mail_from,
                "behavior_on_mx_failure": _V1_BEHAVIOR[behavior],
            }
    identity = backend.email_identities[name]
    state = IdentityState(
        verification=verification,
        dkim_enabled=dkim_enabled,
        dkim_status=dkim_status,
        tokens=tokens,
        signing_hosted_zone=signing_hosted_zone,
        origin=origin,
        key_length=key_length,
        mail_from_status=mail_from_status,
        error_type=error_type,
    )
    identity.verification_status = verification  # what moto's ListEmailIdentities reports
    if kind is not None:
        identity.identity_type = kind
    identity.fidelity_state = state  # type: ignore[attr-defined]
    return state


# --- Account Management: the account's regions -----------------------------------------------------------------------

# https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-regions.html: Regions launched before 20 March 2019
# are enabled by default and cannot be disabled; every later one is an opt-in Region, disabled until enabled.
ENABLED_BY_DEFAULT = frozenset(
    {
        "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1", "eu-west-1", "eu-west-2",
        "eu-west-3", "eu-central-1", "eu-north-1", "ap-south-1", "ap-northeast-1", "ap-northeast-2",
        "ap-northeast-3", "ap-southeast-1", "ap-southeast-2",
    }
)  # fmt: skip
OPT_IN_STATUSES = ("ENABLED", "ENABLING", "DISABLING", "DISABLED", "ENABLED_BY_DEFAULT")
LIST_REGIONS_MAX_RESULTS = 50


def _partition_regions() -> list[str]:
    """Every region of the aws partition, from botocore's endpoint data (the partition ListRegions answers for)."""
    partitions = botocore.session.get_session().get_data("endpoints")["partitions"]
    return sorted(next(p for p in partitions if p["partition"] == "aws")["regions"])


@dataclass
class AccountRegions:
    """The account's regions as account:ListRegions reports them; the default is a new account (the default regions
    ENABLED_BY_DEFAULT, every opt-in region DISABLED). `denied`: the caller lacks account:ListRegions."""

    status: dict[str, str] = field(
        default_factory=lambda: {
            r: "ENABLED_BY_DEFAULT" if r in ENABLED_BY_DEFAULT else "DISABLED" for r in _partition_regions()
        }
    )
    denied: bool = False


def _account_regions() -> AccountRegions:
    backend = account_backends[DEFAULT_ACCOUNT_ID]["aws"]
    regions: AccountRegions | None = getattr(backend, "fidelity_regions", None)
    if regions is None:
        regions = backend.fidelity_regions = AccountRegions()  # type: ignore[attr-defined]
    return regions


def set_region_opt_in(status: Mapping[str, str]) -> AccountRegions:
    """Give regions an opt-in status, e.g. `{"ap-southeast-3": "ENABLED"}`; kept on moto's account backend, so a
    moto reset drops it."""
    regions = _account_regions()
    for name, value in status.items():
        if name not in regions.status or value not in OPT_IN_STATUSES:
            raise ValueError(f"{name}: {value!r} is not an opt-in status of a region of the aws partition")
        regions.status[name] = value
    return regions


def deny_list_regions() -> None:
    """Stand in for a role without account:ListRegions (moto's server does not check IAM policies)."""
    _account_regions().denied = True


class AccessDeniedException(JsonRESTError):
    code = 403

    def __init__(self, message: str) -> None:
        super().__init__("AccessDeniedException", message)


class ValidationException(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("ValidationException", message)


def list_regions(self: AccountResponse) -> str:
    """account:ListRegions, which moto 5.2.5 does not implement (its server answers 404).

    https://docs.aws.amazon.com/accounts/latest/reference/API_ListRegions.html: `POST /listRegions` lists every
    Region of the account's partition with its RegionOptStatus (ENABLED | ENABLING | DISABLING | DISABLED |
    ENABLED_BY_DEFAULT), only those whose status is in RegionOptStatusContains when it is given; MaxResults 1 to 50
    with a NextToken for the rest (ValidationException otherwise); AccessDeniedException (HTTP 403) without the
    permission. https://docs.aws.amazon.com/accounts/latest/reference/API_Region.html for the Region shape.
    """
    regions = _account_regions()
    if regions.denied:
        raise AccessDeniedException(
            f"User: arn:aws:sts::{DEFAULT_ACCOUNT_ID}:assumed-role/ses-guard/ses-guard is not authorized to perform: "
            "account:ListRegions"
        )
    body = json.loads(self.body or "{}")
    wanted = body.get("RegionOptStatusContains")
    if wanted is not None and not set(wanted) <= set(OPT_IN_STATUSES):
        raise ValidationException(f"RegionOptStatusContains must hold only {', '.join(OPT_IN_STATUSES)}")
    size = int(body.get("MaxResults", LIST_REGIONS_MAX_RESULTS))
    if not 1 <= size <= LIST_REGIONS_MAX_RESULTS:
        raise ValidationException(f"MaxResults must be between 1 and {LIST_REGIONS_MAX_RESULTS}")
    token = body.get("NextToken") or "0"
    if not token.isdigit():
        raise ValidationException("NextToken is not valid")
    listed = [
        {"RegionName": name, "RegionOptStatus": status}
        for name, status in sorted(regions.status.items())
        if wanted is None or status in wanted
    ]
    start = int(token)
    page: dict[str, Any] = {"Regions": listed[start : start + size]}
    if start + size < len(listed):
        page["NextToken"] = str(start + size)
    return json.dumps(page)


# --- Route 53 -------------------------------------------------------------------------------------------------------

_PLAIN_NAME_CHARS = frozenset(string.ascii_lowercase + string.digits + "-_.")


def route53_name(name: str) -> str:
    """A record name as Route 53 stores and returns it.

    https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DomainNameFormat.html: letters are stored lower case
    however they were given; characters other than a-z, 0-9, hyphen and underscore come back as `\\ooo` octal escape
    codes (`*` as `\\052`). moto keeps names exactly as sent.
    """
    name = name.lower()
    encoded: list[str] = []
    i = 0
    while i < len(name):
        if name[i] == "\\" and name[i + 1 : i + 4].isdigit() and len(name[i + 1 : i + 4]) == 3:
            encoded.append(name[i : i + 4])
            i += 4
            continue
        char = name[i]
        encoded.append(char if char in _PLAIN_NAME_CHARS else f"\\{ord(char):03o}")
        i += 1
    stored = "".join(encoded)
    return stored if stored.endswith(".") else stored + "."


def _rrset_key(name: str, rtype: str, set_identifier: str | None) -> tuple[str, str, str | None]:
    return route53_name(name), rtype, set_identifier


def _change_resource_record_sets_faithful(original: Callable[..., Any]) -> Callable[..., Any]:
    def change_resource_record_sets(self: Route53Backend, zoneid: str, change_list: list[dict[str, Any]]) -> None:
        """Route 53 ChangeResourceRecordSets: names case-insensitive, CREATE never overwrites, all or nothing.

        https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html: "CREATE: Creates
        a resource record set that has the specified values" and fails with InvalidChangeBatch ("Tried to create
        resource record set [name='…', type='…'] but it already exists") when the name and type exist; "the request
        is processed as a single transaction: if any change fails, none are made". Names follow
        https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DomainNameFormat.html (stored lower case).
        moto compares names case-sensitively, lets a CREATE add a second set with the same name and type, and may
        keep the changes that preceded a failing one.
        """
        zone = self.get_hosted_zone(zoneid)
        for change in change_list:
            change["ResourceRecordSet"]["Name"] = route53_name(change["ResourceRecordSet"]["Name"])
        present = {_rrset_key(r.name, str(r.type), r.set_identifier) for r in zone.rrsets}
        for change in change_list:
            rrset = change["ResourceRecordSet"]
            key = _rrset_key(rrset["Name"], rrset["Type"], rrset.get("SetIdentifier"))
            if change["Action"] == "CREATE" and key in present:
                raise ResourceRecordAlreadyExists(name=key[0], _type=key[1])
            if change["Action"] == "DELETE":
                present.discard(key)
            else:
                present.add(key)
        saved_rrsets, saved_journal = list(zone.rrsets), list(zone.rr_changes)
        try:
            original(self, zoneid, change_list)
        except Exception:
            # Whatever moto rejected part-way, the zone must look as if the batch never arrived.
            zone.rrsets = saved_rrsets
            zone.rr_changes[:] = saved_journal
            raise

    return change_resource_record_sets


def _create_hosted_zone_lower_case(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_hosted_zone(self: Route53Backend, name: str, *args: Any, **kwargs: Any) -> Any:
        """Route 53 CreateHostedZone stores the zone name lower case.

        https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DomainNameFormat.html ("stores alphabetic
        characters as lowercase letters"). moto keeps the case it was given.
        """
        return original(self, name.lower(), *args, **kwargs)

    return create_hosted_zone


def _install_route53(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        Route53Backend, "create_hosted_zone", _create_hosted_zone_lower_case(Route53Backend.create_hosted_zone)
    )
    monkeypatch.setattr(
        Route53Backend,
        "change_resource_record_sets",
        _change_resource_record_sets_faithful(Route53Backend.change_resource_record_sets),
    )


# --- Security Hub ---------------------------------------------------------------------------------------------------

ASFF_REQUIRED = ("SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId", "Types", "CreatedAt", "UpdatedAt",
                 "Severity", "Title", "Description", "Resources")  # fmt: skip
FINDINGS_PER_IMPORT = 100
FINDING_BYTES = 240 * 1024


def _asff_problem(backend: SecurityHubBackend, finding: dict[str, Any]) -> str:
    """Why Security Hub would refuse one finding, or "" when it takes it."""
    missing = [name for name in ASFF_REQUIRED if finding.get(name) in (None, "", [])]
    if missing:
        return f"Finding is missing required attributes: {', '.join(missing)}"
    if len(json.dumps(finding).encode()) > FINDING_BYTES:
        return "Finding size exceeds 240 KB"
    if len(finding["Title"]) > 256 or len(finding["Description"]) > 1024:
        return "Title is limited to 256 characters and Description to 1024"
    if len(finding["Resources"]) > 32:
        return "Resources holds at most 32 resources"
    default = f"arn:aws:securityhub:{backend.region_name}:{backend.account_id}:product/{backend.account_id}/default"
    if finding["ProductArn"] == default and finding["AwsAccountId"] != backend.account_id:
        return f"AwsAccountId must be the caller's account {backend.account_id} with the default product ARN"
    return ""


def _batch_import_findings_checked(original: Callable[..., Any]) -> Callable[..., Any]:
    def batch_import_findings(self: SecurityHubBackend, findings: list[dict[str, Any]]) -> Any:
        """Security Hub CSPM BatchImportFindings refuses what real Security Hub refuses.

        https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_BatchImportFindings.html: at most 100 findings
        per request; each at most 240 KB; with the account's default product ARN the caller's account must be the
        finding's AwsAccountId; InvalidAccessException when the account has not enabled Security Hub.
        https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_AwsSecurityFinding.html: the required attributes
        (SchemaVersion … Resources), Title up to 256 and Description up to 1024 characters; ASFF Resources up to 32.
        The reference names no error code for a refused finding; this reports it in FailedFindings as InvalidInput,
        as moto does for the one rule it checks (Resources not empty). moto accepts any number of findings, of any
        shape, without Security Hub enabled.
        """
        if not self.enabled:
            raise SecurityHubClientError(
                "InvalidAccessException", f"Account {self.account_id} is not subscribed to AWS Security Hub"
            )
        if len(findings) > FINDINGS_PER_IMPORT:
            raise SecurityHubClientError(
                "InvalidInputException", f"Findings holds at most {FINDINGS_PER_IMPORT} findings, not {len(findings)}"
            )
        refused = [(f, problem) for f in findings if (problem := _asff_problem(self, f))]
        accepted = [f for f in findings if not _asff_problem(self, f)]
        failed_count, success_count, failed = original(self, accepted) if accepted else (0, 0, [])
        failed += [{"Id": f.get("Id", ""), "ErrorCode": "InvalidInput", "ErrorMessage": p} for f, p in refused]
        return failed_count + len(refused), success_count, failed

    return batch_import_findings


def _install_securityhub(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        SecurityHubBackend,
        "batch_import_findings",
        _batch_import_findings_checked(SecurityHubBackend.batch_import_findings),
    )


# --- STS: AssumeRole ---------------------------------------------------------------------------------------------


def _assume_existing_role(original: Callable[..., Any]) -> Callable[..., Any]:
    def assume_role(self: STSBackend, **kwargs: Any) -> Any:
        """sts:AssumeRole of a role that does not exist (or does not trust the caller) is AccessDenied (403).

        https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html (Errors; AccessDenied is a common
        error): "User: <caller> is not authorized to perform: sts:AssumeRole on resource: <role ARN>". moto 5.2.5
        issues credentials for any role ARN. Trust policies are not evaluated here: a missing role stands in for both.
        """
        arn = str(kwargs.get("role_arn", ""))
        account, _, name = arn.partition(":iam::")[2].partition(":role/")
        roles = iam_backends[account]["global"].roles.values() if account else []
        if not any(role.name == name.rsplit("/", 1)[-1] for role in roles):
            raise AccessDeniedError(
                f"arn:aws:iam::{self.account_id}:user/ses-guard", f"sts:AssumeRole on resource: {arn}"
            )
        return original(self, **kwargs)

    return assume_role
