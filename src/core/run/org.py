"""Organisation mode: which (account, region) targets to audit, auditing one through its member role, and the
org's totals over every target's result, in bounded memory whatever the number of targets."""

from __future__ import annotations

import heapq
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from itertools import count
from typing import Any

from core.kernel.errors import ConfigError, SesGuardError
from core.kernel.events import RunRequest
from core.kernel.models import RunSummary
from core.kernel.org import MAX_ERROR_CHARS, MAX_ERRORS, SEVERITIES, Account, OrgSummary, Target, TargetResult
from core.kernel.settings import Settings
from core.run.deadline import Deadline
from core.run.ports import OrgAccounts, OrgNotifier, OrgReports, Wiring
from core.run.service import execute

WORST_KEPT = 1_000  # targets the org report lists, worst first; each has its own full report
MAX_RUN_ERRORS = 20
MAX_ACCOUNTS_SKIPPED = 20


@dataclass
class Targets:
    targets: list[Target] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)  # the accounts audited, in order
    skipped: list[Account] = field(default_factory=list)  # members that are not ACTIVE


def list_targets(accounts: OrgAccounts | None, explicit: Sequence[str], regions: Sequence[str]) -> Targets:
    """Every ACTIVE member (or the `explicit` accounts, without asking Organizations) times the named regions."""
    if not regions or "all" in regions:
        raise ConfigError("organisation mode needs named regions (AUDIT_REGIONS or --region), not 'all'")
    if explicit:
        chosen, skipped = list(dict.fromkeys(explicit)), []
    elif accounts is None:
        raise ConfigError("organisation mode needs ORG_ACCOUNTS or the organisation's account list")
    else:
        members = accounts.accounts()
        chosen = list(dict.fromkeys(a.id for a in members if a.active))
        skipped = [a for a in members if not a.active]
    return Targets([Target(a, r) for a in chosen for r in regions], chosen, skipped)


def audit_target(
    target: Target,
    request: RunRequest,
    settings: Settings,
    open_member: Callable[[Target], Wiring],
    deadline: Deadline,
    *,
    run_id: str,
    tally: Callable[[RunSummary], Mapping[str, Any]],
) -> TargetResult:
    """The normal run over the target's one region in its account, without a notification of its own (the org run
    sends one for every target). A member role that cannot be assumed fails this target only. `tally`: the run's
    counts as the function returns them (core.report.brief.counts)."""
    try:
        wiring = open_member(target)
    except SesGuardError as err:
        return TargetResult.failure(target, f"{target.account}: {err}")
    narrowed = replace(request, regions=(target.region,), target=None)
    try:
        summary = execute(narrowed, settings, wiring, deadline, run_id=run_id, notifier=None)
    except SesGuardError as err:
        return TargetResult.failure(target, str(err))
    return target_result(target, summary, tally(summary))


def target_result(target: Target, summary: RunSummary, tallied: Mapping[str, Any]) -> TargetResult:
    unfixed = Counter(f.severity.value for f in summary.findings if not f.fixed and f.suppressed is None)
    new = Counter(f.severity.value for f in summary.new)
    resolved = Counter(r.severity.value for r in summary.resolved)
    return TargetResult(
        target.account,
        target.region,
        status="ok",
        identities_audited=summary.identities_audited,
        counts=dict(tallied),
        unfixed={s: unfixed[s] for s in SEVERITIES},
        new=len(summary.new),
        resolved=len(summary.resolved),
        new_by_severity={s: new[s] for s in SEVERITIES},
        resolved_by_severity={s: resolved[s] for s in SEVERITIES},
        report=summary.report,
        errors=[f"{e.scope} {e.subject}: {e.message}"[:MAX_ERROR_CHARS] for e in summary.errors[:MAX_ERRORS]],
        error_count=len(summary.errors),
    )


def badness(result: TargetResult) -> tuple[int, ...]:
    """Larger is worse: a failed target, then unfixed HIGH, MEDIUM, LOW findings, then errors, then new ones."""
    unfixed = [result.unfixed.get(s, 0) for s in SEVERITIES]
    return (result.status == "failed", *unfixed, result.error_count, result.new)


def summarise(results: Iterable[TargetResult], run_id: str, *, keep: int = WORST_KEPT) -> OrgSummary:
    """Totals over every result, and the `keep` worst: memory holds the counters and those, never every result."""
    worst: list[tuple[tuple[int, ...], int, TargetResult]] = []
    order = count()
    accounts: set[str] = set()
    totals: Counter[str] = Counter()
    severity: Counter[str] = Counter()
    unfixed: Counter[str] = Counter()
    new: Counter[str] = Counter()
    resolved: Counter[str] = Counter()
    summary = OrgSummary(run_id=run_id)
    for result in results:
        summary.targets += 1
        summary.failed += result.status == "failed"
        accounts.add(result.account)
        totals["identities"] += result.identities_audited
        totals["findings"] += int(result.counts.get("findings", 0))
        totals["changes"] += int(result.counts.get("changes", 0))
        totals["changes_applied"] += int(result.counts.get("changes_applied", 0))
        totals["new"] += result.new
        totals["resolved"] += result.resolved
        totals["errors"] += result.error_count
        severity.update({s: result.severity(s) for s in SEVERITIES})
        unfixed.update({s: result.unfixed.get(s, 0) for s in SEVERITIES})
        new.update({s: result.new_by_severity.get(s, 0) for s in SEVERITIES})
        resolved.update({s: result.resolved_by_severity.get(s, 0) for s in SEVERITIES})
        # Ties keep the earlier result: the counter makes entries comparable without comparing results.
        entry = (badness(result), -next(order), result)
        if len(worst) < keep:
            heapq.heappush(worst, entry)
        elif entry[:2] > worst[0][:2]:
            heapq.heapreplace(worst, entry)
    summary.accounts = len(accounts)
    summary.totals = {
        "identities": totals["identities"],
        "findings": totals["findings"],
        "by_severity": {s: severity[s] for s in SEVERITIES},
        "unfixed": {s: unfixed[s] for s in SEVERITIES},
        "new": totals["new"],
        "new_by_severity": {s: new[s] for s in SEVERITIES},
        "resolved": totals["resolved"],
        "resolved_by_severity": {s: resolved[s] for s in SEVERITIES},
        "changes": totals["changes"],
        "changes_applied": totals["changes_applied"],
        "errors": totals["errors"],
    }
    summary.worst = [r for _, _, r in sorted(worst, key=lambda e: e[:2], reverse=True)]
    return summary


def fan_out(
    targets: Iterable[Target], audit_one: Callable[[Target], TargetResult], concurrency: int
) -> Iterator[TargetResult]:
    """Audits targets `concurrency` at a time, yielding each result as its turn comes; at most twice that many
    results wait in memory, so a caller that summarises as it goes stays bounded. Whatever one target's audit
    raises fails that target only: its result names the exception, and the others go on."""
    pending: deque[tuple[Target, Future[TargetResult]]] = deque()
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for target in targets:
            pending.append((target, pool.submit(audit_one, target)))
            if len(pending) >= 2 * concurrency:
                yield _outcome(*pending.popleft())
        while pending:
            yield _outcome(*pending.popleft())


def _outcome(target: Target, future: Future[TargetResult]) -> TargetResult:
    try:
        return future.result()
    except Exception as err:  # a bug met in one account must not hide what the others found
        return TargetResult.failure(target, f"{type(err).__name__}: {err}")


def conclude(
    results: Iterable[TargetResult],
    run_id: str,
    *,
    store: OrgReports | None = None,
    notifier: OrgNotifier | None = None,
    errors: Sequence[str] = (),
) -> OrgSummary:
    """Summarise every target's result, store the org report, then send the one notification of the run. A report
    or a notification that fails is an error of the run, named in its summary, never an exception. `errors` (the
    run's own, first) are read once every result is: a reader of results may add what it met while reading."""
    summary = summarise(results, run_id)
    summary.errors[:0] = [e[:MAX_ERROR_CHARS] for e in errors]
    if store is not None:
        try:
            summary.report = store.save(summary)
        except SesGuardError as err:
            summary.errors.append(f"org report not stored in {store.target}: {err}"[:MAX_ERROR_CHARS])
    if notifier is not None:
        try:
            notifier.notify(summary)
        except SesGuardError as err:
            summary.errors.append(f"notification to {notifier.target} failed: {err}"[:MAX_ERROR_CHARS])
    del summary.errors[MAX_RUN_ERRORS:]
    return summary
