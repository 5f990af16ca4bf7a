"""A DMARC aggregate report as ses-guard reads it (RFC 9990 "Description of the content XML file"): text cleaned,
domains normalised, results lower case."""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import datetime

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Policy:
    """policy_published: the record receivers found, with defaults ("" when a tag was not reported)."""

    p: str
    sp: str = ""
    np: str = ""
    pct: int | None = None  # RFC 7489 only; RFC 9989 removed it
    adkim: str = "r"
    aspf: str = "r"
    testing: str = ""  # RFC 9989's t=: "y" while the policy is only being tested


@dataclass(frozen=True)
class DkimAuth:
    domain: str
    selector: str
    result: str


@dataclass(frozen=True)
class SpfAuth:
    domain: str
    scope: str  # "mfrom", "helo" or "" when not reported
    result: str


@dataclass(frozen=True)
class Row:
    source_ip: IpAddress
    count: int
    disposition: str  # none, pass, quarantine, reject, or "other"
    dkim: str  # policy_evaluated: "pass" only when DKIM passed aligned, else "fail"
    spf: str  # likewise for SPF
    header_from: str
    envelope_from: str = ""
    dkim_auth: tuple[DkimAuth, ...] = ()
    spf_auth: tuple[SpfAuth, ...] = ()

    @property
    def dmarc_pass(self) -> bool:
        """policy_evaluated's dkim and spf are alignment results, so either one passing is a DMARC pass."""
        return self.dkim == "pass" or self.spf == "pass"


@dataclass(frozen=True)
class AggregateReport:
    org_name: str
    email: str
    report_id: str
    begin: datetime
    end: datetime
    domain: str
    policy: Policy
    records: tuple[Row, ...]

    @property
    def key(self) -> str:
        """Who sent which report, short: the same report delivered twice has the same key."""
        return report_key(self.org_name, self.report_id)


def report_key(org_name: str, report_id: str) -> str:
    # 64 bits: reports per domain and day are counted in hundreds, far from any collision.
    identity = f"{org_name.casefold()}\n{report_id.strip('<>')}".encode()
    return hashlib.sha256(identity).hexdigest()[:16]
