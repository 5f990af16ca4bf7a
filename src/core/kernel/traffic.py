"""What DMARC aggregate reports say about one domain's mail over the window, as the outputs show it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True)
class DayTraffic:
    day: date
    messages: int
    passed: int  # messages passing DMARC (aligned DKIM or aligned SPF)

    def to_dict(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "messages": self.messages, "passed": self.passed}


@dataclass(frozen=True)
class Source:
    """A sending IP address whose mail failed DMARC; `ptr` is its reverse DNS name, "" when none was found."""

    address: str
    ptr: str
    ses: bool  # inside the ranges amazonses.com's SPF record publishes
    messages: int
    passed: int
    share: float  # its failing messages over all of the domain's messages in the window

    def to_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "ptr": self.ptr,
            "ses": self.ses,
            "messages": self.messages,
            "passed": self.passed,
            "share": round(self.share, 4),
        }


@dataclass(frozen=True)
class DomainTraffic:
    """One SES domain identity's reported mail over [start, end]: totals, SES and other senders, per day, the
    failing sources worth naming, and whether the published policy may move one step towards enforcement."""

    domain: str
    start: date
    end: date
    messages: int
    passed: int
    ses_messages: int
    ses_passed: int
    days: tuple[DayTraffic, ...]
    failing: tuple[Source, ...]
    policy: str  # p= seen in the latest reports, "" without any
    ready_for: str | None  # "quarantine" or "reject" when it is safe to move there, else None
    reason: str  # why it is, or is not, ready

    @property
    def rate(self) -> float:
        return self.passed / self.messages if self.messages else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "messages": self.messages,
            "passed": self.passed,
            "ses_messages": self.ses_messages,
            "ses_passed": self.ses_passed,
            "days": [d.to_dict() for d in self.days],
            "failing": [s.to_dict() for s in self.failing],
            "policy": self.policy,
            "ready_for": self.ready_for,
            "reason": self.reason,
        }
