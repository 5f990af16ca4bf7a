"""Organisation mode's small shapes: one (account, region) target, what auditing it returned, and the org's totals.

A TargetResult travels through Step Functions (a Distributed Map child's output, under 256 KB with room to spare)
and back: it holds counts and a few error lines, never findings; each target's full report is at `report`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from core.kernel.errors import ConfigError, EventError
from core.kernel.settings import parse_regions

ACCOUNT_ID = re.compile(r"^\d{12}$")
MAX_ERRORS = 5  # error lines a TargetResult keeps; `error_count` counts them all
MAX_ERROR_CHARS = 500
SEVERITIES = ("HIGH", "MEDIUM", "LOW")

Status = Literal["ok", "failed"]


@dataclass(frozen=True)
class Account:
    """An organisation member as ListAccounts reports it; `state` is ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED..."""

    id: str
    name: str = ""
    state: str = "ACTIVE"

    @property
    def active(self) -> bool:
        return self.state == "ACTIVE"


@dataclass(frozen=True)
class Target:
    """One account in one region: what one audit invocation covers in organisation mode."""

    account: str
    region: str

    def to_dict(self) -> dict[str, str]:
        return {"account": self.account, "region": self.region}

    @classmethod
    def from_dict(cls, data: Any, where: str = "target") -> Target:
        """Raises EventError naming the bad field: the event must never reach an AWS call with it."""
        if not isinstance(data, Mapping):
            raise EventError(f"{where} must be a JSON object with account and region, got {type(data).__name__}")
        unknown = set(data) - {"account", "region"}
        if unknown:
            raise EventError(f"{where}: unknown keys {', '.join(sorted(map(str, unknown)))}; allowed: account, region")
        account, region = data.get("account"), data.get("region")
        if not isinstance(account, str) or not ACCOUNT_ID.match(account):
            raise EventError(f"{where}.account must be a 12-digit AWS account id (a string), got {account!r}")
        if not isinstance(region, str) or region.strip().lower() == "all":
            raise EventError(f"{where}.region must be one AWS region name, got {region!r}")
        try:
            (name,) = parse_regions(f"{where}.region", region, "")
        except (ConfigError, ValueError) as err:
            raise EventError(str(err) if isinstance(err, ConfigError) else f"{where}.region: {region!r}") from None
        return cls(account, name)


@dataclass
class TargetResult:
    """What auditing one target came to. `status` "failed": the target could not be audited at all (its role could
    not be assumed, the invocation failed); a target audited with some errors (a zone not read) is "ok" and counts
    them in `error_count`."""

    account: str
    region: str
    status: Status = "ok"
    identities_audited: int = 0
    counts: dict[str, Any] = field(default_factory=dict)  # core.report.brief.counts of the target's run
    unfixed: dict[str, int] = field(default_factory=dict)  # open findings neither fixed nor suppressed, by severity
    new: int = 0
    resolved: int = 0
    # What is new and what was resolved, by severity: NOTIFY_MIN_SEVERITY weighs them as a single-account run does.
    new_by_severity: dict[str, int] = field(default_factory=dict)
    resolved_by_severity: dict[str, int] = field(default_factory=dict)
    report: str = ""
    errors: list[str] = field(default_factory=list)  # the first MAX_ERRORS
    error_count: int = 0

    @property
    def target(self) -> Target:
        return Target(self.account, self.region)

    def severity(self, name: str) -> int:
        return int(self.counts.get("by_severity", {}).get(name, 0))

    @classmethod
    def failure(cls, target: Target, *messages: str) -> TargetResult:
        return cls(
            target.account,
            target.region,
            status="failed",
            errors=[m[:MAX_ERROR_CHARS] for m in messages[:MAX_ERRORS]],
            error_count=len(messages),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> TargetResult:
        """Raises ValueError when `data` is not a TargetResult's shape."""
        if not isinstance(data, Mapping):
            raise ValueError(f"a target result must be a JSON object, got {type(data).__name__}")
        try:
            target = Target.from_dict({"account": data["account"], "region": data["region"]})
        except (KeyError, EventError) as err:
            raise ValueError(f"not a target result: {err}") from None
        status = data.get("status", "ok")
        if status not in ("ok", "failed"):
            raise ValueError(f"target result status must be ok or failed, got {status!r}")
        errors = data.get("errors", [])
        counts, unfixed = data.get("counts", {}), data.get("unfixed", {})
        new_by, resolved_by = data.get("new_by_severity", {}), data.get("resolved_by_severity", {})
        if not isinstance(errors, list) or not all(
            isinstance(m, Mapping) for m in (counts, unfixed, new_by, resolved_by)
        ):
            raise ValueError("target result: errors must be a list; counts, unfixed and the *_by_severity objects")
        try:
            return cls(
                target.account,
                target.region,
                status=status,
                identities_audited=int(data.get("identities_audited", 0)),
                counts=dict(counts),
                unfixed={str(k): int(v) for k, v in unfixed.items()},
                new=int(data.get("new", 0)),
                resolved=int(data.get("resolved", 0)),
                new_by_severity=_by_severity(new_by),
                resolved_by_severity=_by_severity(resolved_by),
                report=str(data.get("report", "")),
                errors=[str(e)[:MAX_ERROR_CHARS] for e in errors[:MAX_ERRORS]],
                error_count=int(data.get("error_count", len(errors))),
            )
        except (TypeError, ValueError) as err:
            raise ValueError(f"target result: {err}") from None


def _by_severity(counts: Mapping[Any, Any]) -> dict[str, int]:
    return {s: int(counts[s]) for s in SEVERITIES if s in counts}


@dataclass
class OrgSummary:
    """The org run's totals and its worst targets, bounded whatever the number of targets."""

    run_id: str
    targets: int = 0
    failed: int = 0
    accounts: int = 0
    # identities, findings, by_severity, unfixed, new, new_by_severity, resolved, changes, changes_applied, ...
    totals: dict[str, Any] = field(default_factory=dict)
    worst: list[TargetResult] = field(default_factory=list)  # worst first, at most the summariser's limit
    report: str = ""
    errors: list[str] = field(default_factory=list)  # run-level: the Map failed, result files unreadable...

    def to_dict(self, worst: int | None = None) -> dict[str, Any]:
        listed = self.worst if worst is None else self.worst[:worst]
        return {
            "run_id": self.run_id,
            "targets": self.targets,
            "failed": self.failed,
            "accounts": self.accounts,
            "totals": self.totals,
            "report": self.report,
            "errors": list(self.errors),
            "worst": [r.to_dict() for r in listed],
            "worst_left_out": len(self.worst) - len(listed),
        }
