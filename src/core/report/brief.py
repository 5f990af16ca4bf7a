"""The run summary as the function returns and logs it: bounded in bytes whatever the account size.

Counts say everything; the findings, changes and errors are listed worst first for as long as they fit, and the full
report (every finding, change and error) is in the report store, at `report`.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from core.kernel.models import RunSummary
from core.report.traffic import counts as traffic_counts

# CloudWatch Logs takes at most 256 KB per event and the summary is logged as one: keep well under it, with room for
# the logger's own fields.
MAX_BYTES = 200_000
MAX_ZONES_SKIPPED = 20


def counts(summary: RunSummary) -> dict[str, Any]:
    severities = Counter(f.severity.value for f in summary.findings)
    return {
        "findings": len(summary.findings),
        "by_severity": {s: severities[s] for s in ("HIGH", "MEDIUM", "LOW")},
        "by_code": dict(sorted(Counter(f.code.value for f in summary.findings).items())),
        "fixed": sum(f.fixed for f in summary.findings),
        "suppressed": sum(f.suppressed is not None for f in summary.findings),
        "changes": len(summary.changes),
        "changes_applied": sum(c.applied for c in summary.changes),
        "errors": len(summary.errors),
        "regions_skipped": len(summary.regions_skipped),
        "zones_skipped": len(summary.zones_skipped),
        # Domains with DMARC aggregate reports in the window, and how many may move one policy step; each domain's
        # figures are in the full report.
        "traffic": traffic_counts(summary.traffic),
    }


def brief(summary: RunSummary, max_bytes: int = MAX_BYTES) -> dict[str, Any]:
    """The summary with as many findings (worst first), changes and errors as fit in `max_bytes` of JSON."""
    result: dict[str, Any] = {
        "run_id": summary.run_id,
        "dry_run": summary.dry_run,
        "regions": list(summary.regions),
        # A few dozen at most, so always whole: regions asked for that the account has not enabled.
        "regions_skipped": [r.to_dict() for r in summary.regions_skipped],
        # Zones nothing is written into: the first few, whole (the report lists them all, `counts` says how many).
        "zones_skipped": [z.to_dict() for z in summary.zones_skipped[:MAX_ZONES_SKIPPED]],
        "identities_audited": summary.identities_audited,
        "report": summary.report,
        "counts": counts(summary),
        "truncated": False,
        "findings": [],
        "changes": [],
        "errors": [],
        "resolved": [],  # open in the last run's state, gone now
        "expired_suppressions": [],
        "digest": summary.digest,
    }
    used = _size(result) + 64  # the truncation flag's worst case and separators
    # Findings are already worst first; errors before changes, since they say what the run could not do.
    for key, items in (
        ("errors", summary.errors),
        ("findings", summary.findings),
        ("changes", summary.changes),
        ("resolved", summary.resolved),
        ("expired_suppressions", summary.expired_suppressions),
    ):
        for item in items:
            data = item if isinstance(item, str) else item.to_dict()
            size = _size(data) + 1
            if used + size > max_bytes:
                result["truncated"] = True
                break
            result[key].append(data)
            used += size
    return result


def _size(data: object) -> int:
    return len(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())
