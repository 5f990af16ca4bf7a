"""One run, end to end: the single entry into core for the Lambda handler and the CLI."""

from __future__ import annotations

from core.checks.evaluate import merge
from core.kernel.errors import SesGuardError
from core.kernel.events import RunRequest
from core.kernel.models import RunError, RunSummary
from core.kernel.settings import Settings
from core.run.audit import audit
from core.run.deadline import TIME_BUDGET, Deadline
from core.run.ports import Notifier, Progress, ReportStore, Wiring
from core.run.remediate import Remediation, remediate
from core.run.sesfix import SesFixes, fix_ses


def execute(
    request: RunRequest,
    settings: Settings,
    wiring: Wiring,
    deadline: Deadline,
    *,
    run_id: str,
    notifier: Notifier | None = None,
    progress: Progress | None = None,
) -> RunSummary:
    """Audit, then create what is safely fixable (or only plan it on a dry run), then notify."""
    dry_run = settings.dry_run if request.dry_run is None else request.dry_run
    result = audit(
        request.regions or settings.regions, settings, wiring, deadline, request.identities, progress=progress
    )
    skipped = f"{TIME_BUDGET} during the audit" if deadline.expired() else ""
    if result.unmatched:
        # A request naming an identity that does not exist is a mistake, and a mistaken request changes nothing.
        skipped = skipped or "a requested identity or glob matches no identity"
    if skipped:
        # What is left of the run goes to reporting; the next run picks the fixes up.
        result.errors.append(RunError("run", "changes", f"skipped: {skipped}"))
        ses, fixes = SesFixes(findings=result.findings), Remediation()
    else:
        ses = fix_ses(result.identities, result.findings, result.placement, settings, wiring=wiring, dry_run=dry_run)
        fixes = remediate(
            ses.findings,
            result.placement,
            wiring.route53(),
            ttl=settings.record_ttl,
            dry_run=dry_run,
            extra=ses.wanted,
            out_of_time=deadline.expired,
        )
    findings = merge([*fixes.mark_fixed(ses.findings), *fixes.failures])
    summary = RunSummary(
        run_id=run_id,
        dry_run=dry_run,
        regions=result.regions,
        identities_audited=len(result.identities),
        identities=[i.key for i in result.identities],
        findings=sorted(findings, key=lambda f: (-f.severity.rank, f.topic, f.code.value, f.region)),
        changes=[*ses.changes, *fixes.changes],
        errors=result.errors,
    )
    store = wiring.reports()
    if store is not None:
        _store(store, summary)
    if notifier is not None:
        _notify(notifier, summary)
    return summary


def _store(store: ReportStore, summary: RunSummary) -> None:
    try:
        summary.report = store.save(summary)
    except SesGuardError as err:
        summary.errors.append(RunError("report", store.target, str(err)))


def _notify(notifier: Notifier, summary: RunSummary) -> None:
    """Records written by this run must reach the caller in the summary whatever happens to the notification, so
    a failure to render or publish one is an error of the run, never of the invocation."""
    try:
        notifier.notify(summary)
    except Exception as err:
        message = str(err) if isinstance(err, SesGuardError) else f"{type(err).__name__}: {err}"
        summary.errors.append(RunError("notification", notifier.target, message))
