"""Reads SES identity state in batches, within SES's fixed quota of 1 management request/s per account and region.

Calls per region for N identities (D of them domains, B of those BYODKIM or otherwise tokenless with DKIM on):
ceil(N / 1000) ListEmailIdentities + 2 * ceil(D / 100) v1 batch calls + 1 GetEmailIdentity + B GetEmailIdentity,
plus one GetEmailIdentity per domain whose verification FAILED (a failed DKIM copy shows only in
VerificationInfo.ErrorType) and, through `read_origins`, one per replica candidate (core.rules.replicas).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

from core.adapters.aws import translated
from core.kernel.models import AccountState, DkimState, Identity, IdentityKind, MailFromState
from core.kernel.names import identity_name

if TYPE_CHECKING:
    from mypy_boto3_ses import SESClient
    from mypy_boto3_sesv2 import SESV2Client

PAGE_SIZE = 1000  # sesv2 ListEmailIdentities maximum
BATCH = 100  # v1 GetIdentity*Attributes maximum

V1_STATUS = {
    "Success": "SUCCESS",
    "Pending": "PENDING",
    "NotStarted": "NOT_STARTED",
    "TemporaryFailure": "TEMPORARY_FAILURE",
    "Failed": "FAILED",
}
V1_BEHAVIOR = {"UseDefaultValue": "USE_DEFAULT_VALUE", "RejectMessage": "REJECT_MESSAGE"}


class Pacer:
    """Spaces calls at least 1/max_rps seconds apart; thread-safe. One pacer per region, shared by its callers.

    Each caller reserves the next free slot under the lock and sleeps outside it, so concurrent callers queue up
    instead of bursting. `clock` and `sleep` are injectable so tests count sleeps rather than measure time.
    """

    def __init__(
        self,
        max_rps: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_rps <= 0:
            raise ValueError("max_rps must be positive")
        self.interval = 1.0 / max_rps
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next: float | None = None

    def wait(self) -> None:
        """Block until the caller may make its next call."""
        with self._lock:
            now = self._clock()
            slot = now if self._next is None else max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            self._sleep(slot - now)


@dataclass(frozen=True)
class _Listed:
    name: str
    kind: IdentityKind
    verification_status: str
    sending_enabled: bool

    @property
    def is_domain(self) -> bool:
        return self.kind != "EMAIL_ADDRESS"


def _chunks(listed: list[_Listed], size: int) -> Iterator[list[_Listed]]:
    """Consecutive runs of the listing holding `size` domain identities each (the last one fewer)."""
    chunk: list[_Listed] = []
    domains = 0
    for item in listed:
        if item.is_domain and domains == size:
            yield chunk
            chunk, domains = [], 0
        chunk.append(item)
        domains += item.is_domain
    if chunk:
        yield chunk


class IdentityStream:
    """A region's identities, listed already and read BATCH domain identities at a time as it is iterated.

    Each batch costs what its share of `SesRegion.read_identities` always cost: the two v1 batch calls, a
    GetEmailIdentity for each of its tokenless or failed domains and, while the region's signing zone is not known
    yet, one probe (once a region). Batches come in listing order; one whose domains cannot tell the zone (none has
    tokens) is held until a later batch tells it, so every identity carries the region's zone. One consumer only.
    """

    def __init__(self, reader: SesRegion, listed: list[_Listed]) -> None:
        self._reader = reader
        self._listed = listed

    @property
    def listed(self) -> list[tuple[str, bool]]:
        """(identity name, whether a domain) of every listed identity, in listing order."""
        return [(identity_name(item.name), item.is_domain) for item in self._listed]

    def __iter__(self) -> Iterator[list[Identity]]:
        reader = self._reader
        zone = ""
        probed = False
        held: list[tuple[list[_Listed], _Answers]] = []
        for chunk in _chunks(self._listed, BATCH):
            domains = [item.name for item in chunk if item.is_domain]
            dkim = reader._batch("GetIdentityDkimAttributes", domains)
            mail_from = reader._batch("GetIdentityMailFromDomainAttributes", domains)
            # A failed verification may be a failed DKIM copy, and only VerificationInfo.ErrorType says so.
            failed = [item.name for item in chunk if item.is_domain and item.verification_status == "FAILED"]
            details = reader._details(domains, dkim, failed, probe=not (zone or probed))
            zone = zone or reader._region_signing_zone(details)
            # One probe a region: when even it names no zone, SES names none and core.rules.required falls back.
            probed = probed or any(dkim.get(name, {}).get("DkimTokens") for name in domains)
            held.append((chunk, _Answers(dkim, mail_from, details)))
            if zone or probed:
                yield from (answers.identities(reader, items, zone) for items, answers in held)
                held = []
        yield from (answers.identities(reader, items, zone) for items, answers in held)


@dataclass(frozen=True)
class _Answers:
    """What the batch calls and GetEmailIdentity said about one batch's domains, by listed name."""

    dkim: Mapping[str, Mapping[str, Any]]
    mail_from: Mapping[str, Mapping[str, Any]]
    details: Mapping[str, Mapping[str, Any]]

    def identities(self, reader: SesRegion, items: list[_Listed], zone: str) -> list[Identity]:
        return [reader._identity(item, self.dkim, self.mail_from, self.details, zone) for item in items]


class SesRegion:
    """Reads every SES identity of one region with batch calls, through `pacer`.

    GetEmailIdentity is called once per region, on one Easy DKIM domain identity, to learn the signing hosted zone
    (the v1 API has none), and once for each identity with DKIM on whose tokens the v1 batch call does not return:
    BYODKIM identities (origin EXTERNAL) cost one call each.
    `calls_made` counts the requests this reader has sent over its life (botocore's retries not included).
    """

    def __init__(self, sesv2: SESV2Client, ses: SESClient, region: str, *, pacer: Pacer) -> None:
        self._sesv2 = sesv2
        self._ses = ses
        self.region = region
        self._pacer = pacer
        self.calls_made = 0

    def read_identities(self, names: Collection[str] | None = None) -> list[Identity]:
        """Identities of the region in listing order; only those in `names` (any spelling) when given."""
        return [identity for batch in self.stream_identities(names) for identity in batch]

    def stream_identities(self, names: Collection[str] | None = None) -> IdentityStream:
        """Lists the region's identities now (only those in `names` when given); the batch reads happen as the
        returned stream is iterated, so a caller can check one batch while the pacer spaces out the next."""
        listed = self._list()
        if names is not None:
            wanted = {identity_name(name) for name in names}
            listed = [item for item in listed if identity_name(item.name) in wanted]
        return IdentityStream(self, listed)

    def read_origins(self, identities: Sequence[Identity]) -> list[Identity]:
        """The same identities with DKIM and VerificationInfo from GetEmailIdentity, one call each: for the
        replica candidates found across regions, whose SigningAttributesOrigin the batch calls cannot tell."""
        updated = []
        for identity in identities:
            detail = self._get(identity.name)
            zone = identity.dkim.signing_hosted_zone if identity.dkim else ""
            updated.append(
                replace(
                    identity,
                    dkim=_dkim_state(None, detail, zone),
                    verification_error=_verification_error(detail),
                )
            )
        return updated

    def set_mail_from(self, identity: str, mail_from_domain: str) -> None:
        """Give a domain identity a custom MAIL FROM domain; SES falls back to amazonses.com if its MX goes missing."""
        self._call(
            "ses",
            "SetIdentityMailFromDomain",
            self._ses.set_identity_mail_from_domain,
            Identity=identity,
            MailFromDomain=mail_from_domain,
            BehaviorOnMXFailure="UseDefaultValue",
        )

    def dkim_signing(self, identity: str) -> tuple[str, str]:
        """(SigningAttributesOrigin, NextSigningKeyLength) from GetEmailIdentity: what the batch calls cannot say."""
        attributes = self._get(identity).get("DkimAttributes", {})
        return attributes.get("SigningAttributesOrigin", ""), attributes.get("NextSigningKeyLength", "")

    def request_2048_bit_keys(self, identity: str) -> None:
        """Ask SES to sign with a 2048-bit Easy DKIM key from its next rotation; the CNAMEs stay the same."""
        self._call(
            "sesv2",
            "PutEmailIdentityDkimSigningAttributes",
            self._sesv2.put_email_identity_dkim_signing_attributes,
            EmailIdentity=identity,
            SigningAttributesOrigin="AWS_SES",
            SigningAttributes={"NextSigningKeyLength": "RSA_2048_BIT"},
        )

    def read_account(self) -> AccountState:
        """The account in this region (sesv2 GetAccount): one call per region, through the same pacer."""
        answer = self._call("sesv2", "GetAccount", self._sesv2.get_account)
        return AccountState(
            region=self.region,
            enforcement_status=answer.get("EnforcementStatus", "HEALTHY"),
            sending_enabled=bool(answer.get("SendingEnabled", True)),
            production_access_enabled=bool(answer.get("ProductionAccessEnabled", True)),
        )

    def _call(self, service: str, operation: str, method: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
        self._pacer.wait()
        self.calls_made += 1
        with translated(service, operation):
            return cast(dict[str, Any], method(**kwargs))

    def _list(self) -> list[_Listed]:
        listed: list[_Listed] = []
        token = ""
        while True:
            kwargs: dict[str, Any] = {"PageSize": PAGE_SIZE}
            if token:
                kwargs["NextToken"] = token
            page = self._call("sesv2", "ListEmailIdentities", self._sesv2.list_email_identities, **kwargs)
            for item in page.get("EmailIdentities", []):
                listed.append(
                    _Listed(
                        name=item["IdentityName"],
                        kind=item.get("IdentityType", "DOMAIN"),
                        verification_status=item.get("VerificationStatus", "NOT_STARTED"),
                        sending_enabled=item.get("SendingEnabled", True),
                    )
                )
            token = page.get("NextToken") or ""
            if not token:
                return listed

    def _batch(self, operation: str, names: list[str]) -> dict[str, dict[str, Any]]:
        """One v1 batch call for at most BATCH names."""
        method = {
            "GetIdentityDkimAttributes": self._ses.get_identity_dkim_attributes,
            "GetIdentityMailFromDomainAttributes": self._ses.get_identity_mail_from_domain_attributes,
        }[operation]
        key = {"GetIdentityDkimAttributes": "DkimAttributes"}.get(operation, "MailFromDomainAttributes")
        if not names:
            return {}
        return dict(self._call("ses", operation, method, Identities=names).get(key, {}))

    def _get(self, name: str) -> dict[str, Any]:
        return self._call("sesv2", "GetEmailIdentity", self._sesv2.get_email_identity, EmailIdentity=name)

    def _details(
        self, domains: list[str], dkim: Mapping[str, Mapping[str, Any]], failed: list[str], *, probe: bool
    ) -> dict[str, dict[str, Any]]:
        """GetEmailIdentity for the identities the batch calls leave unanswered (BYODKIM, failed verification),
        plus, with `probe` and unless those told the signing zone, one Easy DKIM domain."""
        details: dict[str, dict[str, Any]] = {}
        tokenless = [n for n in domains if dkim.get(n, {}).get("DkimEnabled") and not dkim[n].get("DkimTokens")]
        for name in dict.fromkeys([*tokenless, *failed]):
            details[name] = self._get(name)
        if not probe or self._region_signing_zone(details):
            return details
        candidate = next((n for n in domains if dkim.get(n, {}).get("DkimTokens")), None)
        if candidate is not None:
            details[candidate] = self._get(candidate)
        return details

    @staticmethod
    def _region_signing_zone(details: Mapping[str, Mapping[str, Any]]) -> str:
        zones: Iterable[str] = (
            d.get("DkimAttributes", {}).get("SigningHostedZone", "")
            for d in details.values()
            # a BYODKIM selector has no zone, and a replica's may be its parent region's
            if d.get("DkimAttributes", {}).get("SigningAttributesOrigin", "AWS_SES") == "AWS_SES"
        )
        return next((zone for zone in zones if zone), "")

    def _identity(
        self,
        item: _Listed,
        dkim: Mapping[str, Mapping[str, Any]],
        mail_from: Mapping[str, Mapping[str, Any]],
        details: Mapping[str, Mapping[str, Any]],
        zone: str,
    ) -> Identity:
        name = identity_name(item.name)
        if not item.is_domain:
            return Identity(name, self.region, item.kind, item.verification_status, item.sending_enabled)
        return Identity(
            name=name,
            region=self.region,
            kind=item.kind,
            verification_status=item.verification_status,
            sending_enabled=item.sending_enabled,
            dkim=_dkim_state(dkim.get(item.name), details.get(item.name), zone),
            mail_from=_mail_from_state(mail_from.get(item.name)),
            verification_error=_verification_error(details.get(item.name)),
        )


def _verification_error(detail: Mapping[str, Any] | None) -> str:
    return str((detail or {}).get("VerificationInfo", {}).get("ErrorType", ""))


def _dkim_state(batch: Mapping[str, Any] | None, detail: Mapping[str, Any] | None, region_zone: str) -> DkimState:
    """DKIM from GetEmailIdentity when it was read for this identity, else from the v1 batch answer."""
    if detail is not None:
        attributes = detail.get("DkimAttributes", {})
        return DkimState(
            signing_enabled=bool(attributes.get("SigningEnabled", False)),
            status=attributes.get("Status", "NOT_STARTED"),
            tokens=tuple(attributes.get("Tokens", ())),
            signing_hosted_zone=attributes.get("SigningHostedZone") or region_zone,
            origin=attributes.get("SigningAttributesOrigin", "AWS_SES"),
        )
    batch = batch or {}
    return DkimState(
        signing_enabled=bool(batch.get("DkimEnabled", False)),
        status=V1_STATUS.get(batch.get("DkimVerificationStatus", "NotStarted"), "NOT_STARTED"),
        tokens=tuple(batch.get("DkimTokens", ())),
        signing_hosted_zone=region_zone,  # empty when SES named none: core.rules.required falls back
    )


def _mail_from_state(batch: Mapping[str, Any] | None) -> MailFromState:
    if not batch or not batch.get("MailFromDomain"):
        return MailFromState()
    return MailFromState(
        domain=identity_name(batch["MailFromDomain"]),
        status=V1_STATUS.get(batch.get("MailFromDomainStatus", ""), ""),
        behavior_on_mx_failure=V1_BEHAVIOR.get(batch.get("BehaviorOnMXFailure", ""), "USE_DEFAULT_VALUE"),
    )
