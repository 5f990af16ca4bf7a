"""The identity matrix: for each identity in each region, how each protocol stands - from the findings alone."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from core.kernel.models import ACCOUNT_CODES, Code, Finding, IdentityKey, Record, Severity

Status = Literal["pass", "warn", "fail", "n/a"]
COLUMNS = ("DKIM", "MAIL FROM/SPF", "DMARC")
_RANK: dict[Status, int] = {"n/a": 0, "pass": 1, "warn": 2, "fail": 3}

_BY_CODE = {
    Code.IDENTITY_NOT_VERIFIED: "DKIM",
    Code.DKIM_SIGNING_DISABLED: "DKIM",
    Code.DKIM_RECORD_MISSING: "DKIM",
    Code.DKIM_RECORD_CONFLICT: "DKIM",
    Code.DKIM_KEY_WEAK: "DKIM",
    Code.ADDRESS_IDENTITY_UNALIGNED: "DKIM",
    Code.MAIL_FROM_NOT_CONFIGURED: "MAIL FROM/SPF",
    Code.MAIL_FROM_NOT_VERIFIED: "MAIL FROM/SPF",
    Code.MAIL_FROM_MX_MISSING: "MAIL FROM/SPF",
    Code.MAIL_FROM_MX_INVALID: "MAIL FROM/SPF",
    Code.MAIL_FROM_SPF_MISSING: "MAIL FROM/SPF",
    Code.MAIL_FROM_SPF_INVALID: "MAIL FROM/SPF",
    Code.MAIL_FROM_SPF_FRAGILE: "MAIL FROM/SPF",
    Code.DMARC_MISSING: "DMARC",
    Code.DMARC_INVALID: "DMARC",
    Code.DMARC_POLICY_NONE: "DMARC",
    Code.DMARC_NO_REPORTING: "DMARC",
    Code.DMARC_REPORT_AUTH_MISSING: "DMARC",
    Code.DMARC_STRICT_SPF_ALIGNMENT: "DMARC",
    # Without the MX the reports that tell whether DMARC can be enforced never arrive.
    Code.DMARC_SOURCE_UNALIGNED: "DMARC",
    Code.DMARC_SES_UNALIGNED: "DMARC",
    Code.DMARC_REPORTS_MISSING: "DMARC",
    Code.DMARC_READY_TO_ENFORCE: "DMARC",
    Code.REPORTS_MX_MISSING: "DMARC",
    Code.REPORTS_MX_CONFLICT: "DMARC",
}


@dataclass(frozen=True)
class Row:
    identity: IdentityKey
    cells: tuple[Status, ...]  # in COLUMNS order

    @property
    def worst(self) -> Status:
        return max(self.cells, key=_RANK.__getitem__)


def matrix(identities: Iterable[IdentityKey], findings: Sequence[Finding]) -> list[Row]:
    """A row per identity, sorted by name then region. An unfixed HIGH finding fails its protocol, any other unfixed
    finding warns; findings fixed in this run no longer count. Addresses have no DNS of their own: only DKIM (whether
    SES signs for their domain) applies to them."""
    cells: dict[IdentityKey, dict[str, Status]] = {}
    for key in identities:
        address = "@" in key.name
        cells[key] = {column: "n/a" if address and column != "DKIM" else "pass" for column in COLUMNS}
    for finding in findings:
        if finding.fixed:
            continue
        status: Status = "fail" if finding.severity is Severity.HIGH else "warn"
        for column in _columns(finding):
            for key in finding.identities:
                row = cells.get(key)
                if row is not None and row[column] != "n/a" and _RANK[status] > _RANK[row[column]]:
                    row[column] = status
    return [Row(key, tuple(row[c] for c in COLUMNS)) for key, row in sorted(cells.items(), key=lambda i: i[0][::-1])]


def _columns(finding: Finding) -> tuple[str, ...]:
    """The protocols a finding bears on: by its code, or, for codes about records in general, by its records."""
    if finding.code in ACCOUNT_CODES:
        return ()  # the account's sending, not any protocol of the identity: it has no column
    column = _BY_CODE.get(finding.code)
    if column:
        return (column,)
    by_record = tuple(dict.fromkeys(c for c in map(_record_column, finding.records) if c))
    return by_record or COLUMNS  # a zone problem, or a check that could not run: every protocol is in doubt


def _record_column(record: Record) -> str:
    if "._domainkey." in record.name or (record.name.endswith(".amazonses.com") and record.type == "TXT"):
        return "DKIM"
    if record.name.startswith("_dmarc.") or "._report._dmarc." in record.name:
        return "DMARC"
    if record.type in ("MX", "TXT"):
        return "MAIL FROM/SPF"
    return ""
