"""Collects the problems a check meets and turns them into one finding per code."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.models import Code, Finding, Identity, Record


@dataclass
class _Entry:
    messages: list[str] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    fixable: bool = True


class Findings:
    """Several tokens missing, several failed queries: each code still yields a single finding."""

    def __init__(self, identity: Identity) -> None:
        self._identity = identity
        self._entries: dict[Code, _Entry] = {}

    def add(self, code: Code, message: str, records: tuple[Record, ...] = (), *, fixable: bool = False) -> None:
        entry = self._entries.setdefault(code, _Entry())
        entry.messages.append(message)
        entry.records.extend(r for r in records if r not in entry.records)
        entry.fixable = entry.fixable and fixable

    def has(self, code: Code) -> bool:
        return code in self._entries

    def build(self) -> list[Finding]:
        return [
            Finding(
                code,
                self._identity.name,
                self._identity.region,
                " ".join(entry.messages),
                fixable=entry.fixable,
                records=tuple(entry.records),
            )
            for code, entry in self._entries.items()
        ]
