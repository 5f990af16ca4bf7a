"""One run, end to end: the single entry into core for the Lambda handler and the CLI."""

from __future__ import annotations

from dataclasses import replace

from core.checks.evaluate import merge
from core.kernel.errors import SesGuardError
from core.kernel.events import RunRequest
from core.kernel.models import RunError, RunSummary
from core.kernel.settings import Settings
from core.rules.memory import digest_due
from core.run.audit import audit
from core.run.deadline import TIME_BUDGET, Deadline
from core.run.export import export_findings
from core.run.memory import read, scope_key, write
from core.run.ports import Notifier, Progress, ReportStore, Wiring
from core.run.regions import select_regions
from core.run.remediate import Remediation, remediate, skipped_zones
from core.run.sesfix import SesFixes, fix_ses
from core.run.suppressions import apply_suppressions
from core.run.traffic import TrafficRun, assess_traffic, remember_created


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
    """Audit, then create what is safely fixable (or only plan it on a dry run), then remember and notify."""
    dry_run = settings.dry_run if request.dry_run is None else request.dry_run
    started = _time(wiring)
    errors: list[RunError] = []
    regions = request.regions or settings.regions
    # Read first, so a run that overlaps this one and writes meanwhile is merged, not overwritten.
    memory = read(wiring.state(scope_key(regions, request.identities)), started, errors)
    chosen = select_regions(regions, wiring)
    errors += chosen.errors
    result = audit(chosen.audit, settings, wiring, deadline, request.identities, progress=progress)
    result.errors[:0] = errors
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
    # After remediation: the DMARC records it just created are remembered as ses-guard's own.
    traffic = assess_traffic(
        result.identities,
        ses.findings,
        result.placement,
        TrafficRun(settings, wiring, deadline, wiring.now(), dry_run=dry_run or bool(skipped)),
        remember_created(memory.previous.created, [*ses.changes, *fixes.changes], _time(wiring)),
    )
    now = _time(wiring)
    merged = merge([*fixes.mark_fixed(ses.findings), *fixes.failures, *traffic.findings])
    # Suppressed findings stay in the report and the state; they only stop counting as news.
    merged, expired = apply_suppressions(merged, wiring.suppressions(), wiring.now().date(), result.errors)
    # A region that could not be read hides its findings; they are not resolved by it.
    unread = {e.subject for e in result.errors if e.scope == "region"} | chosen.unseen
    recalled = memory.recall(merged, now, unread_regions=unread)
    findings = recalled.findings
    summary = RunSummary(
        run_id=run_id,
        dry_run=dry_run,
        regions=result.regions,
        identities_audited=len(result.identities),
        identities=[i.key for i in result.identities],
        findings=sorted(findings, key=lambda f: (-f.severity.rank, f.topic, f.code.value, f.region)),
        changes=[*ses.changes, *fixes.changes, *traffic.changes],
        errors=result.errors,
        resolved=recalled.resolved,
        expired_suppressions=expired,
        # A digest of nothing is noise: due, but only sent while something is open.
        digest=digest_due(memory.previous, now, settings.digest_days) and any(not f.suppressed for f in findings),
        regions_skipped=chosen.skipped,
        traffic=traffic.traffic,
        zones_skipped=skipped_zones(result.placement),
    )
    store = wiring.reports()
    if store is not None:
        _store(store, summary)
    sent, failed = _notify(notifier, summary) if notifier is not None else (False, False)
    # New findings count as told unless the notification failed: then the next run still calls them new. The state
    # is kept in dry runs too: a dry run only means no DNS or SES writes.
    told = [] if failed else [f.id for f in summary.new]
    state = replace(recalled.state, created=traffic.created)
    write(memory, state, told, now, digest=sent and summary.digest, errors=summary.errors)
    export_findings(wiring, settings, summary, memory.previous, now)
    return summary


def _time(wiring: Wiring) -> str:
    return wiring.now().isoformat(timespec="seconds")


def _store(store: ReportStore, summary: RunSummary) -> None:
    try:
        summary.report = store.save(summary)
    except SesGuardError as err:
        summary.errors.append(RunError("report", store.target, str(err)))


def _notify(notifier: Notifier, summary: RunSummary) -> tuple[bool, bool]:
    """Records written by this run must reach the caller in the summary whatever happens to the notification, so
    a failure to render or publish one is an error of the run, never of the invocation. Returns (sent, failed)."""
    try:
        return notifier.notify(summary), False
    except Exception as err:
        message = str(err) if isinstance(err, SesGuardError) else f"{type(err).__name__}: {err}"
        summary.errors.append(RunError("notification", notifier.target, message))
        return False, True
