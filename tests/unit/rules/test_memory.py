"""The run's memory as pure rules: new, open and resolved findings, the merge of overlapping runs, the digest clock,
and a state file that says what is wrong with it."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from core.kernel.models import Code, Finding, IdentityKey, Severity, Suppression
from core.rules.memory import Entry, State, digest_due, dump_state, merge, notified, parse_state, recall

EU, US = "eu-west-1", "us-east-1"
APEX = IdentityKey(EU, "example.com")
SHOP = IdentityKey(EU, "shop.example.com")
OTHER = IdentityKey(US, "example.com")
DAY1 = "2026-06-01T06:00:00+00:00"
DAY2 = "2026-06-02T06:00:00+00:00"
DAY3 = "2026-06-03T06:00:00+00:00"

MX = Finding.about(SHOP, Code.MAIL_FROM_MX_MISSING, "bounce.shop.example.com has no MX record")
DMARC = Finding(Code.DMARC_POLICY_NONE, (APEX, SHOP), "p=none", subject="_dmarc.example.com")
US_MAIL_FROM = Finding.about(OTHER, Code.MAIL_FROM_NOT_CONFIGURED, "no MAIL FROM")


def _entry(finding: Finding, *, first: str, last: str, notified: str = "") -> Entry:
    identities = tuple((k.region, k.name) for k in finding.identities)
    return Entry(
        finding.id, finding.code.value, finding.topic, finding.severity.value, identities, first, last, notified
    )


def _state_text(*, drop: str = "", twice: bool = False, **fields: object) -> str:
    entry: dict[str, object] = {
        "id": MX.id,
        "code": "MAIL_FROM_MX_MISSING",
        "subject": "shop.example.com",
        "severity": "HIGH",
        "identities": [[EU, "shop.example.com"]],
        "first_seen": DAY1,
        "last_seen": DAY1,
        "last_notified": "",
        **fields,
    }
    entry.pop(drop, None)
    return json.dumps({"version": 1, "last_digest": "", "findings": [entry, entry] if twice else [entry]})


OPEN_MX = _entry(MX, first=DAY1, last=DAY1)


def told(findings: list[Finding], now: str) -> State:
    """The state a run over `findings` leaves after reporting every new one."""
    result = recall(findings, State(), now)
    return notified(result.state, [f.id for f in result.findings], now, digest=False)


def test_given_no_state_when_recalled_then_every_finding_is_new_first_seen_now_and_nothing_is_resolved():
    result = recall([MX, DMARC], State(), DAY1)

    assert [(f.status, f.first_seen) for f in result.findings] == [("new", DAY1), ("new", DAY1)]
    assert result.resolved == []
    assert set(result.state.entries) == {MX.id, DMARC.id}
    entry = result.state.entries[DMARC.id]
    assert (entry.code, entry.subject, entry.severity) == ("DMARC_POLICY_NONE", "_dmarc.example.com", "LOW")
    assert entry.identities == ((EU, "example.com"), (EU, "shop.example.com"))
    assert (entry.first_seen, entry.last_seen, entry.last_notified) == (DAY1, DAY1, "")


def test_given_a_reported_state_when_the_same_findings_return_then_they_are_open_and_keep_their_first_sighting():
    result = recall([MX, DMARC], told([MX, DMARC], DAY1), DAY2)

    assert [(f.status, f.first_seen) for f in result.findings] == [("open", DAY1), ("open", DAY1)]
    assert result.resolved == []
    assert {e.last_seen for e in result.state.entries.values()} == {DAY2}
    assert {e.last_notified for e in result.state.entries.values()} == {DAY1}


def test_given_a_reported_finding_suppressed_for_a_while_when_its_rule_expires_then_it_comes_back_as_new():
    accepted = replace(MX, suppressed=Suppression("known", "2026-06-02"))

    while_suppressed = recall([accepted], told([MX], DAY1), DAY2)
    after = recall([MX], while_suppressed.state, DAY3)

    assert [(f.status, f.first_seen) for f in after.findings] == [("new", DAY1)]


def test_given_a_finding_gone_when_recalled_then_it_is_resolved_with_its_first_and_last_sighting():
    result = recall([DMARC], told([MX, DMARC], DAY1), DAY2)

    [resolved] = result.resolved
    assert (resolved.id, resolved.code, resolved.subject) == (MX.id, Code.MAIL_FROM_MX_MISSING, "shop.example.com")
    assert (resolved.severity, resolved.first_seen, resolved.last_seen) == (Severity.HIGH, DAY1, DAY1)
    assert set(result.state.entries) == {DMARC.id}  # a resolved finding is forgotten: if it returns, it is new


def test_given_a_finding_never_reported_when_it_returns_then_it_is_still_new_with_its_first_sighting():
    # The run that first saw it could not notify anyone: the news must not be lost.
    unreported = recall([MX], State(), DAY1).state

    [finding] = recall([MX], unreported, DAY2).findings

    assert (finding.status, finding.first_seen) == ("new", DAY1)


def test_given_a_region_that_could_not_be_read_when_recalled_then_its_findings_are_kept_not_resolved():
    previous = told([MX, US_MAIL_FROM], DAY1)

    result = recall([MX], previous, DAY2, unread_regions={US})

    assert result.resolved == []
    assert result.state.entries[US_MAIL_FROM.id] == previous.entries[US_MAIL_FROM.id]  # not refreshed either


def test_given_an_identity_whose_checks_failed_when_recalled_then_its_findings_are_kept_and_the_others_resolve():
    previous = told([MX, DMARC, US_MAIL_FROM], DAY1)
    failed = Finding.about(SHOP, Code.CHECK_FAILED, "time budget")

    result = recall([failed], previous, DAY2)

    # DMARC affects shop.example.com too, so it cannot be called gone; us-east-1 was checked and is clean.
    assert [r.id for r in result.resolved] == [US_MAIL_FROM.id]
    assert set(result.state.entries) == {MX.id, DMARC.id, failed.id}


def test_given_a_failed_check_that_no_longer_fails_when_another_check_fails_then_the_old_failure_resolves():
    old = Finding.about(SHOP, Code.CHECK_FAILED, "lookup of _dmarc.shop.example.com timed out", subject="_dmarc.x")
    new = Finding.about(SHOP, Code.CHECK_FAILED, "time budget")

    result = recall([new], told([old], DAY1), DAY2)

    assert [r.id for r in result.resolved] == [old.id]


def test_given_resolved_findings_when_listed_then_the_worst_come_first():
    result = recall([], told([DMARC, MX, US_MAIL_FROM], DAY1), DAY2)

    assert [r.severity for r in result.resolved] == [Severity.HIGH, Severity.MEDIUM, Severity.LOW]


def test_given_a_notification_when_marked_then_only_the_named_entries_and_the_digest_time_change():
    state = recall([MX, DMARC], State(), DAY1).state

    after = notified(state, [MX.id, "not-in-the-state"], DAY2, digest=True)

    assert after.entries[MX.id].last_notified == DAY2
    assert after.entries[DMARC.id].last_notified == ""
    assert after.last_digest == DAY2
    assert notified(state, [], DAY2, digest=False).last_digest == ""


def test_given_overlapping_runs_when_merged_then_an_entry_only_the_other_run_saw_after_ours_started_survives():
    ours = recall([MX], State(), DAY2).state
    theirs = State({DMARC.id: _entry(DMARC, first=DAY2, last=DAY2)})

    merged = merge(ours, theirs, started=DAY2)

    assert set(merged.entries) == {MX.id, DMARC.id}


def test_given_overlapping_runs_when_merged_then_an_entry_the_other_run_last_saw_before_ours_started_is_gone():
    # Ours looked after that sighting and found it gone.
    ours = recall([MX], State(), DAY2).state
    theirs = State({DMARC.id: _entry(DMARC, first=DAY1, last=DAY1)})

    merged = merge(ours, theirs, started=DAY2)

    assert set(merged.entries) == {MX.id}


def test_given_both_runs_saw_a_finding_when_merged_then_dates_keep_the_earliest_sighting_and_latest_news():
    ours = State({MX.id: _entry(MX, first=DAY2, last=DAY3, notified="")}, last_digest=DAY1)
    theirs = State({MX.id: _entry(MX, first=DAY1, last=DAY2, notified=DAY2)}, last_digest=DAY2)

    merged = merge(ours, theirs, started=DAY2)

    entry = merged.entries[MX.id]
    assert (entry.first_seen, entry.last_seen, entry.last_notified) == (DAY1, DAY3, DAY2)
    assert merged.last_digest == DAY2
    assert list(merged.entries) == [MX.id]  # one entry per finding id


def test_given_the_other_run_saw_a_finding_later_when_merged_then_its_identities_win():
    wider = Finding(Code.DMARC_POLICY_NONE, (APEX, SHOP, OTHER), "p=none", subject="_dmarc.example.com")
    ours = State({DMARC.id: _entry(DMARC, first=DAY1, last=DAY2)})
    theirs = State({DMARC.id: _entry(wider, first=DAY1, last=DAY3)})

    merged = merge(ours, theirs, started=DAY2)

    assert len(merged.entries[DMARC.id].identities) == 3


@pytest.mark.parametrize(
    ("state", "now", "days", "due"),
    [
        (State(), DAY3, 1, False),  # nothing open: nothing to digest
        (State({MX.id: OPEN_MX}), DAY2, 1, True),  # before any digest, the clock starts at the first sighting
        (State({MX.id: OPEN_MX}), "2026-06-02T05:59:59+00:00", 1, False),
        (State({MX.id: OPEN_MX}, last_digest=DAY2), DAY3, 2, False),
        (State({MX.id: OPEN_MX}, last_digest=DAY1), DAY3, 2, True),
        (State({MX.id: OPEN_MX}, last_digest=DAY1), DAY3, 0, False),  # 0 turns digests off
    ],
)
def test_given_a_digest_period_when_asked_then_one_is_due_once_the_period_since_the_last_has_passed(
    state, now, days, due
):
    assert digest_due(state, now, days) is due


def test_given_a_state_when_dumped_and_parsed_then_it_reads_back_the_same():
    state = notified(recall([MX, DMARC], State(), DAY1).state, [MX.id], DAY2, digest=True)

    assert parse_state(dump_state(state)) == state


def test_given_times_with_another_offset_when_parsed_then_they_read_as_utc():
    text = _state_text(first_seen="2026-06-01T08:00:00+02:00")

    assert parse_state(text).entries[MX.id].first_seen == DAY1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not JSON"),
        ("[]", "a JSON object is expected, not list"),
        ('{"version": 2, "findings": []}', "state version 2; this ses-guard reads version 1"),
        ('{"version": 1}', "`findings` is missing or not a list"),
        (_state_text(code="DMARC_NONE"), "findings[0].code: unknown finding code 'DMARC_NONE'"),
        (_state_text(severity="CRITICAL"), "findings[0].severity: unknown severity 'CRITICAL'"),
        (_state_text(first_seen="yesterday"), "findings[0].first_seen: 'yesterday' is not an ISO 8601 time"),
        (_state_text(last_seen="2026-06-01T06:00:00"), "findings[0].last_seen: '2026-06-01T06:00:00' has no UTC"),
        (_state_text(identities=["eu-west-1"]), "findings[0].identities: a list of [region, name] pairs"),
        (_state_text(drop="subject"), "findings[0]: no `subject`"),
        (_state_text(id=7), "findings[0].id: a string is expected, not 7"),
        (_state_text(twice=True), f"findings[1]: id {MX.id} appears twice"),
        ('{"version": 1, "findings": [], "last_digest": 3}', "last_digest: a time is expected, not 3"),
    ],
)
def test_given_a_broken_state_when_parsed_then_the_error_names_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_state(text)
