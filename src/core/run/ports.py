"""What core needs from the outside world. The adapters implement these; tests may pass their own real ones."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from core.kernel.models import Answer, Change, Identity, RecordSet, RunSummary, Zone


class SesApi(Protocol):
    def read_identities(self, names: Collection[str] | None = None) -> list[Identity]: ...

    def set_mail_from(self, identity: str, mail_from_domain: str) -> None: ...

    def dkim_signing(self, identity: str) -> tuple[str, str]: ...

    def request_2048_bit_keys(self, identity: str) -> None: ...


class Zones(Protocol):
    def list_zones(self) -> list[Zone]: ...

    def record_sets(self, zone: Zone, names: Collection[str] | None = None) -> dict[tuple[str, str], RecordSet]: ...

    def apply(self, zone: Zone, changes: Sequence[Change]) -> str: ...


class Lookup(Protocol):
    def lookup(self, name: str, rdtype: str) -> Answer: ...


class Notifier(Protocol):
    @property
    def target(self) -> str:
        """Where notifications go (a topic ARN), for error messages."""
        ...

    def notify(self, summary: RunSummary) -> None: ...


class ReportStore(Protocol):
    @property
    def target(self) -> str:
        """Where reports go (an s3:// bucket URI), for error messages."""
        ...

    def save(self, summary: RunSummary) -> str:
        """Stores the full report; returns where it is."""
        ...


class Progress(Protocol):
    """Hears how far a run has got, for a person watching a long one. Called from worker threads, but never two
    calls at once and with counts that only grow."""

    def identities_read(self, count: int) -> None:
        """`count` identities read from SES so far, over every region."""
        ...

    def domains_checked(self, done: int, total: int, lookups: int) -> None:
        """`done` of the `total` domain identities checked against DNS, with `lookups` DNS lookups made so far."""
        ...


class Wiring(Protocol):
    """How a run reaches the outside world; the handler, the CLI and the tests each build one."""

    def ses(self, region: str) -> SesApi: ...

    def route53(self) -> Zones: ...

    def dns(self) -> Lookup: ...

    def all_regions(self) -> list[str]: ...

    def reports(self) -> ReportStore | None:
        """The report store, or None when none is configured."""
        ...
