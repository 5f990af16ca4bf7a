"""What core needs from the outside world. The adapters implement these; tests may pass their own real ones."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Protocol

from core.kernel.models import (
    AccountState,
    Answer,
    Change,
    Finding,
    Identity,
    IdentityKey,
    RecordSet,
    Resolved,
    RunSummary,
    Zone,
)
from core.kernel.org import Account, OrgSummary


class IdentityStream(Protocol):
    """A region's identities, listed when the stream was made and read a batch at a time as it is iterated."""

    @property
    def listed(self) -> list[tuple[str, bool]]:
        """(identity name, whether a domain) of every listed identity, in listing order."""
        ...

    def __iter__(self) -> Iterator[list[Identity]]: ...


class SesApi(Protocol):
    def read_identities(self, names: Collection[str] | None = None) -> list[Identity]: ...

    def stream_identities(self, names: Collection[str] | None = None) -> IdentityStream: ...

    def read_origins(self, identities: Sequence[Identity]) -> list[Identity]: ...

    def set_mail_from(self, identity: str, mail_from_domain: str) -> None: ...

    def dkim_signing(self, identity: str) -> tuple[str, str]: ...

    def request_2048_bit_keys(self, identity: str) -> None: ...

    def read_account(self) -> AccountState:
        """The SES account's state in the region (sending, enforcement status, sandbox)."""
        ...


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

    def notify(self, summary: RunSummary) -> bool:
        """Publishes what the run is worth saying; True when something was sent."""
        ...


class ReportStore(Protocol):
    @property
    def target(self) -> str:
        """Where reports go (an s3:// bucket URI), for error messages."""
        ...

    def save(self, summary: RunSummary) -> str:
        """Stores the full report; returns where it is."""
        ...


class StateStore(Protocol):
    """Where the run's memory lives between runs: one text object, written only over the version that was read."""

    @property
    def target(self) -> str: ...

    def load(self) -> tuple[str | None, str]:
        """The stored text and its version; (None, "") when nothing is stored yet."""
        ...

    def save(self, text: str, version: str) -> str:
        """Writes `text` if the stored version is still `version` ("": only if nothing is stored); returns the new
        version. Raises ConflictError when another writer got there first."""
        ...


class RuaInbox(Protocol):
    """Where DMARC aggregate reports arrive as objects (mail stored by SES, or files dropped there)."""

    @property
    def target(self) -> str: ...

    def read(self, key: str) -> bytes:
        """The object's bytes; raises ReportRejected, without reading it whole, when it is larger than the inbox
        accepts."""
        ...

    def reject(self, key: str, reason: str) -> str:
        """Keeps a copy of the object, and why it was refused, apart from the inbox (the original stays); returns
        where the copy is."""
        ...


class RuaStore(Protocol):
    """The per-domain, per-day aggregates of DMARC aggregate reports."""

    @property
    def target(self) -> str: ...

    def day(self, domain: str, day: date) -> StateStore:
        """The one text object holding `domain`'s aggregate for `day`, written only over the version read."""
        ...


class AggregateReader(Protocol):
    """The per-domain, per-day aggregates as the audit reads them, a bounded number of calls per domain."""

    @property
    def target(self) -> str: ...

    def domains(self) -> set[str] | None:
        """Every domain that has aggregates; None when there are too many to list (each audited domain is then
        looked up on its own); raises SesGuardError when they cannot be listed."""
        ...

    def window(self, domain: str, start: date, end: date, max_days: int) -> list[str]:
        """The texts of `domain`'s aggregates for the days from `start` to `end`, at most `max_days` of them (the
        latest); raises SesGuardError when they cannot be read."""
        ...


class SuppressionFile(Protocol):
    """The SUPPRESSIONS file, read once per run, and the account the run is in (asked only for a rule naming one)."""

    @property
    def target(self) -> str:
        """Where the file is (a path or an s3:// URI), for error messages."""
        ...

    def read(self) -> str:
        """The file's text; raises SesGuardError naming what went wrong."""
        ...

    def account(self) -> str: ...


class FindingsExport(Protocol):
    """A findings hub (Security Hub) that keeps one record per finding id, overwritten by each export."""

    @property
    def target(self) -> str:
        """The hub (an ARN), for error messages."""
        ...

    def export(
        self,
        findings: Sequence[Finding],
        resolved: Sequence[Resolved],
        affected: Mapping[str, Sequence[IdentityKey]],
        now: str,
    ) -> int:
        """Exports the run's findings as open (suppressed ones archived) and the resolved ones as archived and
        passed; `affected` holds, by finding id, the identities a resolved finding affected when last seen. Returns
        how many were exported; raises SesGuardError naming those that were not."""
        ...


class OrgAccounts(Protocol):
    """The organisation's member accounts (organizations:ListAccounts, from the management or a delegated admin
    account); raises SesGuardError when they cannot be listed."""

    def accounts(self) -> list[Account]: ...


class OrgReports(Protocol):
    """Where an organisation run's report goes (`org/<org run>/report.json` in the report bucket)."""

    @property
    def target(self) -> str: ...

    def save(self, summary: OrgSummary) -> str:
        """Stores the org report; returns where it is. Raises SesGuardError when it cannot."""
        ...


class OrgNotifier(Protocol):
    @property
    def target(self) -> str: ...

    def notify(self, summary: OrgSummary) -> bool:
        """Publishes the one notification of an organisation run, when it is worth one; True when sent."""
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

    def scoped_dns(self) -> Lookup:
        """A DNS client with a memo of its own, gone with it: for names only one identity's check asks."""
        ...

    def all_regions(self) -> list[str]:
        """The regions SES is offered in, whether or not the account has enabled them."""
        ...

    def region_opt_in(self) -> Mapping[str, str]:
        """The opt-in status (ENABLED_BY_DEFAULT, ENABLED, ENABLING, DISABLING, DISABLED) of every region of the
        account's partition, by name; raises AwsError when it cannot be read."""
        ...

    def reports(self) -> ReportStore | None:
        """The report store, or None when none is configured."""
        ...

    def state(self, scope: str) -> StateStore | None:
        """The memory of runs over `scope` (the audited regions and identities) in this account; None: no memory."""
        ...

    def now(self) -> datetime:
        """The time, in UTC."""
        ...

    def exporter(self) -> FindingsExport:
        """The findings hub this run exports to (built only when the export is on)."""
        ...

    def suppressions(self) -> SuppressionFile | None:
        """The SUPPRESSIONS file, or None when none is configured."""
        ...

    def aggregates(self) -> AggregateReader | None:
        """The DMARC aggregates in the report store, or None when there is no report store."""
        ...
