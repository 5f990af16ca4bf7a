"""The run's findings to Security Hub (SECURITY_HUB=true), through the FindingsExport port."""

from __future__ import annotations

from core.kernel.errors import SesGuardError
from core.kernel.models import IdentityKey, RunError, RunSummary
from core.kernel.settings import Settings
from core.rules.memory import State
from core.run.ports import Wiring


def export_findings(wiring: Wiring, settings: Settings, summary: RunSummary, previous: State, now: str) -> None:
    """Every finding of the run, and every one resolved since the last run. Runs last: the summary, the report and
    the state are complete without it, so a hub that cannot be reached is an error of the run, never a crash."""
    if not settings.security_hub:
        return
    target = "securityhub"  # until the hub is known: building the exporter asks STS for the account
    try:
        exporter = wiring.exporter()
        target = exporter.target
        # A resolved finding's Resources name the identities it affected when last seen, as its open record did.
        affected = {
            entry.id: [IdentityKey(region, name) for region, name in entry.identities]
            for entry in previous.entries.values()
        }
        exporter.export(summary.findings, summary.resolved, affected, now)
    except Exception as err:
        message = str(err) if isinstance(err, SesGuardError) else f"{type(err).__name__}: {err}"
        summary.errors.append(RunError("security_hub", target, message))
