"""Collects the problems a check meets and turns them into one finding per code and subject."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.kernel.models import Answer, Code, Finding, Identity, Record, ZoneView
from core.rules.safety import blocker


@dataclass
class _Entry:
    messages: list[str] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    fixable: bool = True


class Findings:
    """Several tokens missing, several failed queries: each code (and shared subject) still yields one finding."""

    def __init__(self, identity: Identity) -> None:
        self._identity = identity
        self._entries: dict[tuple[Code, str], _Entry] = {}

    def add(
        self,
        code: Code,
        message: str,
        records: tuple[Record, ...] = (),
        *,
        fixable: bool = False,
        subject: str = "",
    ) -> None:
        """`subject`: the shared DNS name the finding is about, "" when it is about this identity alone."""
        entry = self._entries.setdefault((code, subject), _Entry())
        if message not in entry.messages:
            entry.messages.append(message)
        entry.records.extend(r for r in records if r not in entry.records)
        entry.fixable = entry.fixable and fixable

    def query_failed(self, what: str, answer: Answer) -> None:
        """CHECK_FAILED for a DNS query that got no answer; `what` names what it was after ("the MX of x")."""
        self.add(
            Code.CHECK_FAILED,
            f"Could not read {what} ({answer.error or 'the query failed'}).",
            (Record(answer.name, answer.rdtype, (), "found"),),
            subject=answer.name,
        )

    def missing(self, code: Code, message: str, record: Record, view: ZoneView, *, subject: str = "") -> bool:
        """A *_MISSING finding for `record`, fixable unless something in Route 53 blocks creating it."""
        reason = blocker(view, record)
        suffix = f" It cannot be created automatically: {reason}." if reason else ""
        self.add(code, message + suffix, (record,), fixable=not reason, subject=subject)
        return not reason

    def build(self) -> list[Finding]:
        return [
            Finding(
                code,
                (self._identity.key,),
                " ".join(entry.messages),
                subject=subject,
                fixable=entry.fixable,
                records=tuple(entry.records),
            )
            for (code, subject), entry in self._entries.items()
        ]
