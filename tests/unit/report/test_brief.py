"""The bounded summary: complete counts, the worst findings first for as long as they fit, and an honest flag."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from core.kernel.models import CATALOGUE, Change, Code, Finding, IdentityKey, RunError, RunSummary
from core.report.brief import MAX_BYTES, brief, counts

EU = "eu-west-1"
CODES = list(Code)


def finding(i: int, code: Code, *, shared: int = 0, message: str = "") -> Finding:
    """A per-identity finding, or with `shared` > 0 one shared by that many identities."""
    if shared:
        keys = tuple(IdentityKey(EU, f"d{n}.example.com") for n in range(shared))
        return Finding(code, keys, message or "shared", subject=f"_dmarc.s{i}.example.com")
    key = IdentityKey(EU, f"d{i}.example.com")
    return Finding.about(key, code, message or f"d{i}.example.com: {CATALOGUE[code].summary}", fixable=i % 2 == 0)


def change(i: int, *, applied: bool) -> Change:
    return Change("Z1", "example.com", "CREATE", f"_dmarc.d{i}.example.com", "TXT", ("v=DMARC1; p=none",), 1800,
                  applied, Code.DMARC_MISSING)  # fmt: skip


def worst_first(findings: list[Finding]) -> list[Finding]:
    """The order the run hands findings over in."""
    return sorted(findings, key=lambda f: (-f.severity.rank, f.topic, f.code.value))


def summary_of(findings: list[Finding], changes: Sequence[Change] = (), errors: Sequence[RunError] = ()) -> RunSummary:
    return RunSummary(
        run_id="run-1",
        dry_run=False,
        regions=[EU],
        identities_audited=len({k for f in findings for k in f.identities}),
        findings=worst_first(findings),
        report="s3://ses-guard-reports/reports/2025-06-01/run-1/report.json",
        changes=list(changes),
        errors=list(errors),
    )


def size(data: dict[str, Any]) -> int:
    return len(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())


def listed_all(result: dict[str, Any], summary: RunSummary) -> bool:
    return (len(result["findings"]), len(result["changes"]), len(result["errors"])) == (
        len(summary.findings),
        len(summary.changes),
        len(summary.errors),
    )


def test_given_10000_findings_when_briefed_then_it_fits_the_limit_and_says_it_is_truncated() -> None:
    summary = summary_of([finding(i, CODES[i % len(CODES)]) for i in range(10_000)])

    result = brief(summary)

    assert size(result) <= MAX_BYTES
    assert len(json.dumps(result).encode()) < 256 * 1024  # even with ASCII escapes and default separators
    assert result["truncated"] is True
    assert 0 < len(result["findings"]) < 10_000
    assert result["report"] == summary.report


def test_given_10000_findings_when_briefed_then_the_counts_cover_every_one_of_them() -> None:
    findings = [finding(i, CODES[i % len(CODES)]) for i in range(10_000)]
    fixed = [Finding.about(f.key, f.code, f.message, fixed=True) for f in findings[:7]]
    summary = summary_of(
        fixed + findings[7:],
        changes=[change(i, applied=i < 3) for i in range(5)],
        errors=[RunError("zone", "example.net", "unreadable")],
    )

    result = brief(summary)

    assert result["counts"] == counts(summary)
    assert result["counts"]["findings"] == 10_000
    assert result["counts"]["by_code"] == dict(Counter(f.code.value for f in findings))
    assert sum(result["counts"]["by_severity"].values()) == 10_000
    assert result["counts"]["by_severity"] == dict(Counter(f.severity.value for f in findings))
    assert (result["counts"]["fixed"], result["counts"]["changes"], result["counts"]["changes_applied"]) == (7, 5, 3)
    assert result["counts"]["errors"] == 1
    assert result["identities_audited"] == 10_000


def test_given_mixed_severities_when_truncated_then_the_listed_findings_are_the_worst_in_run_order() -> None:
    summary = summary_of([finding(i, CODES[(i * 7) % len(CODES)]) for i in range(3_000)])

    result = brief(summary, max_bytes=40_000)

    listed = [f["id"] for f in result["findings"]]
    assert result["truncated"] is True
    assert listed == [f.id for f in summary.findings[: len(listed)]]
    worst_left_out = max(f.severity.rank for f in summary.findings[len(listed) :])
    assert min(CATALOGUE[Code(f["code"])].severity.rank for f in result["findings"]) >= worst_left_out


def test_given_a_small_run_when_briefed_then_everything_is_listed_and_nothing_is_truncated() -> None:
    summary = summary_of(
        [finding(i, code) for i, code in enumerate(CODES)],
        changes=[change(0, applied=True)],
        errors=[RunError("region", "us-east-1", "AccessDenied")],
    )

    result = brief(summary)

    assert result["truncated"] is False
    assert result["findings"] == [f.to_dict() for f in summary.findings]
    assert result["changes"] == [c.to_dict() for c in summary.changes]
    assert result["errors"] == [e.to_dict() for e in summary.errors]


def test_given_errors_and_findings_when_space_is_short_then_errors_are_listed_first() -> None:
    errors = [RunError("zone", f"z{i}.example", "route53 ListResourceRecordSets failed: Throttling") for i in range(5)]
    summary = summary_of([finding(i, Code.DKIM_RECORD_MISSING) for i in range(500)], errors=errors)

    result = brief(summary, max_bytes=4_000)

    assert result["errors"] == [e.to_dict() for e in errors]
    assert result["truncated"] is True


def test_given_multibyte_text_when_briefed_then_the_limit_counts_bytes_not_characters() -> None:
    summary = summary_of([finding(i, Code.CHECK_FAILED, message="名前解決に失敗しました " * 40) for i in range(2_000)])

    result = brief(summary, max_bytes=50_000)

    assert size(result) <= 50_000
    # Measured in characters, about twice as many findings would have been let in.
    assert len(json.dumps(result, ensure_ascii=False, separators=(",", ":"))) < 0.6 * size(result)


def test_given_one_finding_shared_by_more_identities_than_fit_when_briefed_then_it_is_counted_not_listed() -> None:
    summary = summary_of([finding(0, Code.DMARC_POLICY_NONE, shared=10_000)])

    result = brief(summary)

    assert size(result) <= MAX_BYTES
    assert result["findings"] == []
    assert result["truncated"] is True
    assert result["counts"]["by_code"] == {"DMARC_POLICY_NONE": 1}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(CODES), st.integers(0, 40)), max_size=120),
    st.integers(0, 20),
    st.integers(0, 20),
    st.integers(2_000, 30_000),
)
def test_given_any_run_and_limit_when_briefed_then_it_fits_and_is_truncated_exactly_when_something_is_left_out(
    shapes: list[tuple[Code, int]], n_changes: int, n_errors: int, max_bytes: int
) -> None:
    summary = summary_of(
        [finding(i, code, shared=shared if shared > 30 else 0) for i, (code, shared) in enumerate(shapes)],
        changes=[change(i, applied=i % 2 == 0) for i in range(n_changes)],
        errors=[RunError("zone", f"z{i}.example", "unreadable") for i in range(n_errors)],
    )

    result = brief(summary, max_bytes=max_bytes)

    assert size(result) <= max_bytes
    assert result["truncated"] is not listed_all(result, summary)
    assert result["counts"] == counts(summary)
    assert [f["id"] for f in result["findings"]] == [f.id for f in summary.findings[: len(result["findings"])]]
