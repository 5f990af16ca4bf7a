"""One run, end to end: the single entry into core for the Lambda handler and the CLI."""

from __future__ import annotations

from core.audit import TIME_BUDGET, Deadline, audit
from core.errors import AwsError
from core.evaluate import merge
from core.events import RunRequest
from core.models import RunSummary
from core.ports import Notifier, Wiring
from core.remediate import Remediation, remediate
from core.sesfix import SesFixes, fix_ses
from core.settings import Settings


def execute(
    request: RunRequest,
    settings: Settings,
    wiring: Wiring,
    deadline: Deadline,
    *,
    run_id: str,
    notifier: Notifier | None = None,
) -> RunSummary:
    """Audit, then create what is safely fixable (or only plan it on a dry run), then notify."""
    dry_run = settings.dry_run if request.dry_run is None else request.dry_run
    result = audit(request.regions or settings.regions, settings, wiring, deadline, request.identities)
    if deadline.expired():
        # What is left of the run goes to reporting; the next run picks the fixes up.
        result.errors.append(f"changes skipped: {TIME_BUDGET} during the audit")
        ses, fixes = SesFixes(findings=result.findings), Remediation()
    else:
        ses = fix_ses(result.identities, result.findings, result.views, settings, wiring=wiring, dry_run=dry_run)
        fixes = remediate(
            ses.findings,
            result.views,
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
        findings=sorted(findings, key=lambda f: (-f.severity.rank, f.identity, f.region, f.code.value)),
        changes=[*ses.changes, *fixes.changes],
        errors=result.errors,
    )
    if notifier is not None:
        try:
            notifier.notify(summary)
        except AwsError as err:
            summary.errors.append(f"notification: {err}")
    return summary
