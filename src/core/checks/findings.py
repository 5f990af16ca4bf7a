"""Collects the problems a check meets and turns them into one finding per code and subject."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from core.kernel.models import Answer, Code, Finding, Identity, Record, ZoneView
from core.rules.records import holds, record_set
from core.rules.safety import blocker
from core.rules.zones import seen_delegated, undetermined


@dataclass
class _Entry:
    messages: list[str] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    fixable: bool = True
    ttl: int = 0


def may_propagate(view: ZoneView) -> bool:
    """Whether a record Route 53 holds but live DNS lacks can still be on its way (DNS_NOT_PROPAGATED): only in a
    zone live DNS was seen to delegate to Route 53. In one seen delegated elsewhere receivers never see it, so it
    stays the finding of a missing record; when the delegation is unknown, see `undecided`."""
    return seen_delegated(view)


def undecided(view: ZoneView, held: bool) -> bool:
    """Whether a record live DNS lacks is neither on its way nor missing as far as this run can tell: Route 53 holds
    it (`held`) and the zone's delegation is unknown. Such a record gets no finding: the CHECK_FAILED the zone check
    adds for the same fault keeps the identity's earlier findings in run memory, so one failed NS lookup neither
    invents DNS_NOT_PROPAGATED nor turns it into a *_MISSING. When Route 53 itself could not be read, live DNS still
    decides: what receivers lack is missing (not fixable, and saying why), since mail fails without it now."""
    return held and bool(undetermined(view))


def ttl_at(view: ZoneView, name: str, rdtype: str) -> int:
    found = record_set(view, name, rdtype)
    return (found.ttl or 0) if found else 0


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
        ttl: int = 0,
    ) -> None:
        """`subject`: the shared DNS name the finding is about, "" when it is about this identity alone; `ttl`: see
        Finding.ttl (the longest of the records, when several are waiting)."""
        entry = self._entries.setdefault((code, subject), _Entry())
        if message not in entry.messages:
            entry.messages.append(message)
        entry.records.extend(r for r in records if r not in entry.records)
        entry.fixable = entry.fixable and fixable
        entry.ttl = max(entry.ttl, ttl)

    def absent(self, code: Code, message: str, wanted: Record, view: ZoneView) -> None:
        """A record live DNS lacks: on its way when Route 53 holds it in a zone receivers see, no finding while that
        cannot be told (`undecided`), else a `code` finding for the missing record."""
        held = holds(view, wanted)
        if held and may_propagate(view):
            self.add(
                Code.DNS_NOT_PROPAGATED,
                f"Route 53 holds the {wanted.type} of {wanted.name}, but live DNS does not show it yet.",
                (replace(wanted, role="found"),),
                ttl=ttl_at(view, wanted.name, wanted.type),
            )
        elif not undecided(view, held):
            self.missing(code, message, wanted, view)

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
                ttl=entry.ttl,
            )
            for (code, subject), entry in self._entries.items()
        ]
