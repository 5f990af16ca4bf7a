"""The run's CloudWatch metrics, computed from the summary."""

from __future__ import annotations

from collections import Counter

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from core.kernel.models import Code, RunSummary, Severity


def record_metrics(metrics: Metrics, summary: RunSummary) -> None:
    metrics.add_metric(name="IdentitiesAudited", unit=MetricUnit.Count, value=summary.identities_audited)
    by_severity = Counter(f.severity for f in summary.findings)
    for severity in Severity:
        metrics.add_metric(name=f"Findings{severity.value.title()}", unit=MetricUnit.Count, value=by_severity[severity])
    metrics.add_metric(
        name="ChecksFailed",
        unit=MetricUnit.Count,
        value=sum(1 for f in summary.findings if f.code is Code.CHECK_FAILED),
    )
    # A policy step rewrites a record ses-guard made earlier: it creates nothing.
    created = sum(1 for c in summary.changes if c.applied and c.reason != Code.DMARC_READY_TO_ENFORCE)
    metrics.add_metric(name="RecordsCreated", unit=MetricUnit.Count, value=created)
    metrics.add_metric(name="RunErrors", unit=MetricUnit.Count, value=len(summary.errors))
    metrics.add_metric(name="RegionsSkipped", unit=MetricUnit.Count, value=len(summary.regions_skipped))
    # One metric per code rather than a Code dimension: a single EMF blob per run, and at most 22 names.
    for code, count in sorted(Counter(f.code.value for f in summary.findings).items()):
        metrics.add_metric(name=f"Findings_{code}", unit=MetricUnit.Count, value=count)
