"""Findings in the AWS Security Finding Format (ASFF), as Security Hub CSPM's BatchImportFindings takes them.

Pure: a Finding (or a Resolved one) plus where it goes and the time in, one ASFF dict out. The same root cause keeps
the same `Id` run after run, so each import overwrites the finding Security Hub already holds (`Id` + `ProductArn`
name it) instead of adding a duplicate; a resolved finding is the same `Id` re-imported ARCHIVED and PASSED.

What the customer owns is never written: no `Workflow`, `Note`, `UserDefinedFields` or `VerificationState` (Security
Hub ignores them on update, and on creation they would pre-empt the user's triage). Severity and Types also go in
`FindingProviderFields`, the provider's channel that leaves a severity the user changed in place.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from core.kernel.models import CATALOGUE, Code, Finding, IdentityKey, Resolved, Severity

SCHEMA_VERSION = "2018-10-08"
# Namespace and category from the ASFF Types taxonomy: "Software and Configuration Checks" is the namespace for
# posture checks (not TTPs, Effects or Unusual Behaviors), and "Industry and Regulatory Standards" its category for
# checks against published standards, which DKIM (RFC 6376), SPF (RFC 7208) and DMARC, and the bulk-sender rules of
# Gmail, Yahoo and Microsoft built on them, are; "AWS Security Best Practices" would claim an AWS guideline. The
# classifier is free text (the taxonomy defines classifiers only for the standards it lists).
TYPE = "Software and Configuration Checks/Industry and Regulatory Standards/Email Sender Authentication"
PRODUCT_NAME = "ses-guard"
FIELD = "ses-guard/"  # prefix of our ProductFields keys; Security Hub adds its own under aws/securityhub/

# ASFF limits (AwsSecurityFinding in the Security Hub API reference): Title 256 characters, Description 1024,
# Remediation.Recommendation.Text 512, Resources 32 objects, ProductFields values 2048 characters.
MAX_TITLE = 256
MAX_DESCRIPTION = 1024
MAX_RECOMMENDATION = 512
MAX_RESOURCES = 32
MAX_FIELD = 2048
# A finding may be 240 KB and a batch of 100 may be 6 MB; keeping each well under 6 MB / 100 means a full batch always
# fits too. The caps above bound a finding to a few KB; this is the check that they do.
MAX_BYTES = 32 * 1024

RecordState = Literal["ACTIVE", "ARCHIVED"]


@dataclass(frozen=True)
class Hub:
    """Where findings go: Security Hub in one region of one account, under the account's default product."""

    partition: str  # aws, aws-cn, aws-us-gov
    region: str
    account: str

    @property
    def product_arn(self) -> str:
        # With the default product the caller's account must be AwsAccountId: both are this account.
        return f"arn:{self.partition}:securityhub:{self.region}:{self.account}:product/{self.account}/default"

    @property
    def arn(self) -> str:
        """The hub itself, to name it in errors."""
        return f"arn:{self.partition}:securityhub:{self.region}:{self.account}:hub/default"

    def finding_id(self, finding_id: str) -> str:
        """Stable across runs (the finding's fingerprint), and unique across accounts that share a hub view."""
        return f"ses-guard/{self.account}/{finding_id}"

    def identity_arn(self, key: IdentityKey) -> str:
        return f"arn:{self.partition}:ses:{key.region}:{self.account}:identity/{key.name}"


def active(finding: Finding, hub: Hub, now: str) -> dict[str, Any]:
    """An open finding: ACTIVE and FAILED. A suppressed one is ARCHIVED and still FAILED: it is not fixed, but the
    people who own it accepted it, so it leaves Security Hub's active view until its suppression expires."""
    description = finding.message
    state: RecordState = "ACTIVE"
    status: str = finding.status
    if finding.suppressed is not None:
        state, status = "ARCHIVED", "suppressed"
        description = f"Accepted until {finding.suppressed.expires}: {finding.suppressed.reason}. {description}"
    required = finding.required()
    recommendation = (
        "Create or correct: " + "; ".join(f"{r.name} {r.type} {' '.join(r.values)}" for r in required)
        if required
        else f"See the finding's description ({CATALOGUE[finding.code].summary})."
    )
    return _asff(
        hub,
        now,
        finding_id=finding.id,
        code=finding.code,
        subject=finding.topic,
        severity=finding.severity,
        identities=finding.identities,
        description=description,
        recommendation=recommendation,
        first_seen=finding.first_seen or now,
        last_seen=now,
        state=state,
        compliance="FAILED",
        status=status,
    )


def resolved(finding: Resolved, identities: Sequence[IdentityKey], hub: Hub, now: str) -> dict[str, Any]:
    """A finding that was open and is gone: the same Id, ARCHIVED and PASSED. `identities` are those it affected
    when last seen (empty when unknown: its subject then stands in as the one resource)."""
    return _asff(
        hub,
        now,
        finding_id=finding.id,
        code=finding.code,
        subject=finding.subject,
        severity=finding.severity,
        identities=tuple(identities),
        description=(
            f"Resolved: ses-guard no longer finds this ({CATALOGUE[finding.code].summary}) for {finding.subject}; "
            f"last seen {finding.last_seen}."
        ),
        recommendation="Nothing to do: the condition is gone.",
        first_seen=finding.first_seen or now,
        last_seen=finding.last_seen or now,
        state="ARCHIVED",
        compliance="PASSED",
        status="resolved",
    )


def size(finding: dict[str, Any]) -> int:
    """Bytes of the finding's JSON, as it travels."""
    return len(json.dumps(finding, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def _asff(
    hub: Hub,
    now: str,
    *,
    finding_id: str,
    code: Code,
    subject: str,
    severity: Severity,
    identities: tuple[IdentityKey, ...],
    description: str,
    recommendation: str,
    first_seen: str,
    last_seen: str,
    state: RecordState,
    compliance: Literal["FAILED", "PASSED"],
    status: str,
) -> dict[str, Any]:
    """Both shapes carry the same keys, so a re-import replaces every one of them whatever the hub merges."""
    shown = identities[:MAX_RESOURCES]
    if len(identities) > len(shown):
        more = f" (Resources lists {len(shown)} of the {len(identities)} identities it affects.)"
        description = _cap(description, MAX_DESCRIPTION - len(more)) + more
    resources = [{"Type": "Other", "Id": hub.identity_arn(k), "Region": k.region} for k in shown] or [
        {"Type": "Other", "Id": subject, "Region": hub.region}
    ]
    finding: dict[str, Any] = {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": hub.finding_id(finding_id),
        "ProductArn": hub.product_arn,
        "ProductName": PRODUCT_NAME,
        "GeneratorId": f"ses-guard/{code.value}",
        "AwsAccountId": hub.account,
        "Types": [TYPE],
        "CreatedAt": first_seen,
        "UpdatedAt": now,
        "FirstObservedAt": first_seen,
        "LastObservedAt": last_seen,
        "Severity": {"Label": severity.value},
        "FindingProviderFields": {"Severity": {"Label": severity.value}, "Types": [TYPE]},
        "Title": _cap(f"{code.value}: {subject}", MAX_TITLE),
        "Description": _cap(description, MAX_DESCRIPTION),
        "Remediation": {"Recommendation": {"Text": _cap(recommendation, MAX_RECOMMENDATION)}},
        "ProductFields": {
            f"{FIELD}Code": code.value,
            f"{FIELD}Subject": _cap(subject, MAX_FIELD),
            f"{FIELD}FindingId": finding_id,
            f"{FIELD}Identities": str(len(identities)),
            f"{FIELD}Status": status,
        },
        "Resources": resources,
        "Compliance": {"Status": compliance},
        "RecordState": state,
    }
    if size(finding) > MAX_BYTES:  # the caps make this unreachable; an oversized finding must never be sent
        raise ValueError(f"ASFF finding {finding['Id']} is {size(finding)} bytes, over {MAX_BYTES}")
    return finding


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
