"""The one error of report intake: whatever receivers (or anyone else) send that is not a readable report."""

from __future__ import annotations

from core.kernel.errors import SesGuardError


class ReportRejected(SesGuardError):
    """A file or message is not a DMARC aggregate report ses-guard will read; `reason` names what was wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AggregateUnreadable(SesGuardError):
    """A stored daily aggregate is not one this ses-guard wrote; the message names what is wrong."""
