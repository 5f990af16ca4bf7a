"""A record Route 53 holds and live DNS does not show: patience for its TTL plus the grace period, then a HIGH
finding that stays HIGH while the record is missing, run after run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.kernel.models import Code, Finding, IdentityKey, Record, Severity
from core.rules.memory import State, notified, recall
from core.rules.propagation import PROPAGATION_GRACE

APEX = IdentityKey("eu-west-1", "example.com")
START = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
WAITING = Finding.about(
    APEX,
    Code.DNS_NOT_PROPAGATED,
    "Route 53 holds the CNAME t1._domainkey.example.com -> t1.dkim.amazonses.com, but live DNS does not show it yet.",
    records=(Record("t1._domainkey.example.com", "CNAME", ("t1.dkim.amazonses.com",), "found"),),
    ttl=300,
)


def at(offset: timedelta) -> str:
    return (START + offset).isoformat(timespec="seconds")


def runs(findings_per_run: list[list[Finding]], offsets: list[timedelta]) -> list[tuple[list[Finding], list[str]]]:
    """Each run's findings as reported and the codes it resolved, every run reporting what was new."""
    state, seen = State(), []
    for findings, offset in zip(findings_per_run, offsets, strict=True):
        now = at(offset)
        result = recall(findings, state, now)
        state = notified(result.state, [f.id for f in result.findings if f.status == "new"], now, digest=False)
        seen.append((result.findings, [r.code.value for r in result.resolved]))
    return seen


def test_given_a_record_missing_within_its_ttl_plus_grace_when_runs_go_on_then_it_stays_low_and_not_propagated():
    patience = timedelta(seconds=300) + PROPAGATION_GRACE

    seen = runs([[WAITING]] * 3, [timedelta(0), timedelta(minutes=10), patience])

    assert [[f.code for f in findings] for findings, _ in seen] == [[Code.DNS_NOT_PROPAGATED]] * 3
    assert [findings[0].first_seen for findings, _ in seen] == [at(timedelta(0))] * 3
    assert [findings[0].status for findings, _ in seen] == ["new", "open", "open"]


def test_given_a_record_missing_longer_than_its_ttl_plus_grace_when_runs_go_on_then_it_turns_high_and_stays_so():
    late = timedelta(seconds=300) + PROPAGATION_GRACE + timedelta(seconds=1)

    seen = runs([[WAITING]] * 5, [timedelta(0), late, late + timedelta(hours=1), timedelta(days=1), timedelta(days=2)])

    codes = [[f.code for f in findings] for findings, _ in seen]
    assert codes == [[Code.DNS_NOT_PROPAGATED]] + [[Code.DNS_PROPAGATION_STALLED]] * 4
    stalled = [findings[0] for findings, _ in seen[1:]]
    assert {f.severity for f in stalled} == {Severity.HIGH}
    assert len({f.id for f in stalled}) == 1  # one finding, run after run: no flapping between codes
    assert {f.first_seen for f in stalled} == {at(timedelta(0))}  # the wait counts from the first sighting
    assert [f.status for f in stalled] == ["new", "open", "open", "open"]  # news once, when it stalled
    assert [resolved for _, resolved in seen] == [[]] * 5  # turning HIGH resolves nothing
    assert f"since {at(timedelta(0))}" in stalled[0].message
    assert "TTL (300 s)" in stalled[0].message


def test_given_a_long_ttl_when_a_day_has_passed_then_the_record_is_still_only_waiting():
    week = Finding.about(APEX, Code.DNS_NOT_PROPAGATED, "waiting", ttl=7 * 86400)

    seen = runs([[week]] * 2, [timedelta(0), timedelta(days=1)])

    assert seen[1][0][0].code is Code.DNS_NOT_PROPAGATED


def test_given_a_stalled_record_that_finally_appears_when_run_then_the_stalled_finding_is_resolved():
    late = timedelta(days=1)

    seen = runs([[WAITING], [WAITING], []], [timedelta(0), late, late + timedelta(days=1)])

    assert seen[1][0][0].code is Code.DNS_PROPAGATION_STALLED
    assert seen[2][1] == ["DNS_PROPAGATION_STALLED"]


def test_given_no_memory_when_recalled_then_nothing_stalls():
    result = recall([WAITING], State(), at(timedelta(days=30)))

    assert [f.code for f in result.findings] == [Code.DNS_NOT_PROPAGATED]
