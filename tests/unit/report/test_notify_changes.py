"""Notifying on change (NOTIFY_ON=changes): when a run is worth a message now that runs remember, what a changes
message and a digest say, and that NOTIFY_ON=all still sends what it always sent."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest

from core.kernel.models import (
    CATALOGUE,
    Change,
    Code,
    Finding,
    IdentityKey,
    Record,
    Resolved,
    RunError,
    RunSummary,
    Severity,
    Suppression,
)
from core.report.notify import (
    MAX_PUBLISHES,
    SLACK_DESCRIPTION_MAX_CHARS,
    SNS_MAX_BYTES,
    Notification,
    render,
    should_notify,
)
from tests.unit.report.published import bodies, chatbot, machine

DAY_1 = "2026-12-01T06:00:00+00:00"
DAY_2 = "2026-12-02T06:00:00+00:00"
DAY_3 = "2026-12-03T06:00:00+00:00"
REPORT = "s3://ses-guard-reports/reports/2026-12-03/run-3/report.json"


def finding(code: Code, identity: str, *, status: str = "open", **kwargs: Any) -> Finding:
    # An open finding was first seen on day 1; a new one is first seen by this run, on day 3.
    first_seen = kwargs.pop("first_seen", DAY_3 if status == "new" else DAY_1)
    key = IdentityKey("eu-west-1", identity)
    return Finding.about(key, code, f"{code.value} on {identity}", status=status, first_seen=first_seen, **kwargs)


def gone(code: Code, subject: str) -> Resolved:
    """Open on days 1 and 2, not seen on day 3."""
    return Resolved(f"id-{code.value}-{subject}", code, subject, CATALOGUE[code].severity, DAY_1, DAY_2)


def summary(
    findings: Sequence[Finding] = (),
    *,
    resolved: Sequence[Resolved] = (),
    changes: Sequence[Change] = (),
    errors: Sequence[RunError] = (),
    digest: bool = False,
    report: str = REPORT,
) -> RunSummary:
    return RunSummary(
        run_id="run-3",
        dry_run=True,
        regions=["eu-west-1"],
        identities_audited=4,
        findings=list(findings),
        changes=list(changes),
        errors=list(errors),
        report=report,
        resolved=list(resolved),
        digest=digest,
    )


def changes_render(run: RunSummary, min_severity: Severity = Severity.LOW, always: bool = False) -> list[Notification]:
    return render(run, min_severity=min_severity, always=always, notify_on="changes")


OPEN_HIGH = finding(Code.DKIM_RECORD_MISSING, "old-high.example")
OPEN_MEDIUM = finding(Code.MAIL_FROM_NOT_CONFIGURED, "old-medium.example")
NEW_HIGH = finding(Code.DMARC_MISSING, "new-high.example", status="new")
NEW_LOW = finding(Code.DMARC_POLICY_NONE, "new-low.example", status="new")
SUPPRESSED = finding(
    Code.DKIM_KEY_WEAK, "accepted.example", status="new", suppressed=Suppression("vendor rotates in Q1", "2027-03-31")
)
GONE_HIGH = gone(Code.MAIL_FROM_MX_MISSING, "shop.example.com")
GONE_LOW = gone(Code.DMARC_NO_REPORTING, "_dmarc.example.com")
APPLIED = Change("Z1", "example.com", "CREATE", "_dmarc.a.example", "TXT", ('"v=DMARC1; p=none"',), 1800, True,
                 Code.DMARC_MISSING)  # fmt: skip
ERROR = RunError("region", "us-east-1", "ses ListEmailIdentities failed: AccessDenied")


# --- when a run is worth a message ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "run", "min_severity", "expected"),
    [
        ("only what was reported before", summary([OPEN_HIGH, OPEN_MEDIUM]), Severity.LOW, False),
        ("a new finding", summary([OPEN_HIGH, NEW_LOW]), Severity.LOW, True),
        ("a new finding below the threshold", summary([OPEN_HIGH, NEW_LOW]), Severity.MEDIUM, False),
        ("a new finding, suppressed", summary([OPEN_HIGH, SUPPRESSED]), Severity.LOW, False),
        ("a resolved finding", summary([OPEN_HIGH], resolved=[GONE_HIGH]), Severity.HIGH, True),
        ("a resolved finding below the threshold", summary([OPEN_HIGH], resolved=[GONE_LOW]), Severity.MEDIUM, False),
        ("an applied change", summary([OPEN_HIGH], changes=[APPLIED]), Severity.LOW, True),
        ("an error", summary([OPEN_HIGH], errors=[ERROR]), Severity.LOW, True),
        ("a digest due", summary([OPEN_HIGH], digest=True), Severity.LOW, True),
    ],
)
def test_given_notify_on_changes_then_a_run_is_worth_a_message_only_when_something_changed(
    case: str, run: RunSummary, min_severity: Severity, expected: bool
) -> None:
    # When / Then: the same rule decides whether render sends anything
    assert should_notify(run, min_severity=min_severity, always=False, notify_on="changes") is expected, case
    assert bool(changes_render(run, min_severity)) is expected, case


def test_given_notify_on_changes_and_always_then_a_quiet_run_still_says_nothing_changed() -> None:
    (note,) = changes_render(summary([OPEN_HIGH]), always=True)

    email = bodies(note)["email"]
    assert "Nothing new or resolved since the last run." in email
    assert "STILL OPEN: 1 reported before (HIGH 1), not listed again" in email


def test_given_notify_on_all_then_every_run_with_an_unsuppressed_finding_at_the_threshold_notifies() -> None:
    # Given runs that, with memory, have nothing new
    quiet = summary([OPEN_HIGH])
    only_suppressed = summary([replace(OPEN_HIGH, suppressed=Suppression("accepted", "2027-01-01"))])

    # Then "all" notifies as it did before runs had memory, except about what is suppressed
    assert should_notify(quiet, min_severity=Severity.LOW, always=False, notify_on="all")
    assert not should_notify(only_suppressed, min_severity=Severity.LOW, always=False, notify_on="all")
    assert render(only_suppressed, min_severity=Severity.LOW, always=False, notify_on="all") == []


# --- what a changes message says -----------------------------------------------------------------------------------


def test_given_new_open_and_resolved_findings_then_the_message_leads_with_new_and_resolved_and_counts_the_rest() -> (
    None
):
    # Given a run with a new HIGH, a new LOW, two findings reported before, and one resolved
    run = summary([OPEN_HIGH, OPEN_MEDIUM, NEW_HIGH, NEW_LOW], resolved=[GONE_HIGH])

    # When rendered for NOTIFY_ON=changes
    (note,) = changes_render(run)

    # Then the email says what changed, in that order, and only counts what was reported before
    email = bodies(note)["email"]
    assert email.startswith("ses-guard dry run: 2 new, 1 resolved, 2 still open in 4 identities,")
    new_at, resolved_at, open_at = (email.index(h) for h in ("NEW since the last", "RESOLVED since", "STILL OPEN:"))
    assert new_at < resolved_at < open_at
    assert re.findall(r"^== (\S+) ==$", email, re.MULTILINE) == ["new-high.example", "new-low.example"]
    assert "  [HIGH] DMARC_MISSING (eu-west-1)\n    DMARC_MISSING on new-high.example\n" in email  # full detail
    assert "old-high.example" not in email
    assert "old-medium.example" not in email
    assert (
        "  [HIGH] MAIL_FROM_MX_MISSING at shop.example.com (first seen 2026-12-01 06:00 UTC, "
        "last seen 2026-12-02 06:00 UTC)"
    ) in email
    assert (
        f"STILL OPEN: 2 reported before (HIGH 1, MEDIUM 1), not listed again; every one is in the full report: {REPORT}"
    ) in email
    # ...the subject says which kind it is
    assert note.subject == "ses-guard: 2 new (1 HIGH), 1 resolved, 2 still open, 0 changes (dry run)"
    assert note.attributes["kind"] == {"DataType": "String", "StringValue": "changes"}
    # ...the JSON body lists the new and the resolved, and counts
    data = machine(note)
    assert data["kind"] == "changes"
    assert [(f["code"], f["status"], f["first_seen"]) for f in data["findings"]] == [
        ("DMARC_MISSING", "new", DAY_3),
        ("DMARC_POLICY_NONE", "new", DAY_3),
    ]
    assert data["resolved"] == [GONE_HIGH.to_dict()]
    assert data["by_status"] == {"new": 2, "still_open": 2, "resolved": 1, "suppressed": 0}
    assert data["counts"]["findings"] == 4
    # ...and Slack leads the same way
    card = chatbot(note)["content"]
    assert card["title"] == ":red_circle: ses-guard: 2 new, 1 resolved, 2 still open, 0 changes applied (dry run)"
    description = card["description"]
    assert description.startswith("*4* identities in eu-west-1: *2 new*, *1 resolved* since the last run\n")
    assert description.index("*new-high.example*") < description.index("*Resolved since the last run:*")
    assert ":white_check_mark: `MAIL_FROM_MX_MISSING` (shop.example.com), first seen 2026-12-01 06:00 UTC" in (
        description
    )
    assert description.endswith(
        f"*Still open:* 2 reported before (HIGH 1, MEDIUM 1), not listed again. *Full report:* `{REPORT}`"
    )
    assert "old-high.example" not in description


def test_given_only_a_resolved_finding_then_the_message_is_good_news() -> None:
    (note,) = changes_render(summary([OPEN_MEDIUM], resolved=[GONE_HIGH], report=""))

    # A subscription filtering on HIGH hears of new HIGH findings, not of a HIGH one going away.
    assert note.attributes["highest_severity"]["StringValue"] == "NONE"
    assert chatbot(note)["content"]["title"].startswith(":white_check_mark: ses-guard: 0 new, 1 resolved")
    email = bodies(note)["email"]
    assert "NEW since the last run" not in email
    assert "STILL OPEN: 1 reported before (MEDIUM 1), not listed again; run `ses-guard audit` to list" in email


def test_given_suppressed_and_below_threshold_new_findings_then_they_are_counted_but_never_listed() -> None:
    # Given a new finding at the threshold, one below it, and a suppressed one
    run = summary([NEW_HIGH, NEW_LOW, SUPPRESSED, OPEN_HIGH])

    # When rendered with NOTIFY_MIN_SEVERITY=MEDIUM
    (note,) = changes_render(run, Severity.MEDIUM)

    # Then only the one at the threshold is listed; the others are only counted, each apart
    data = machine(note)
    assert [f["code"] for f in data["findings"]] == ["DMARC_MISSING"]
    assert data["findings_below_threshold"] == 1
    assert data["by_status"] == {"new": 2, "still_open": 1, "resolved": 0, "suppressed": 1}
    assert (data["counts"]["findings"], data["counts"]["suppressed"]) == (3, 1)
    email = bodies(note)["email"]
    assert "1 new finding below MEDIUM counted but not listed." in email
    assert "1 finding suppressed (accepted for now): neither counted above nor listed." in email
    everything = email + chatbot(note)["content"]["description"] + note.message
    assert "DKIM_KEY_WEAK" not in everything
    assert "accepted.example" not in everything


# --- the digest ----------------------------------------------------------------------------------------------------


def test_given_a_digest_due_then_the_summary_leads_and_every_open_finding_follows_with_what_is_new_marked() -> None:
    # Given a run due its digest, with one new finding and one resolved since the last run
    run = summary([OPEN_HIGH, OPEN_MEDIUM, NEW_LOW, SUPPRESSED], resolved=[GONE_HIGH], digest=True)

    # When rendered for NOTIFY_ON=changes
    (note,) = changes_render(run)

    # Then it is the digest: the summary first, then everything open, each saying since when
    assert note.subject == "ses-guard digest: 3 open (1 HIGH), 1 new, 1 resolved, 0 changes (dry run)"
    email = bodies(note)["email"]
    assert email.startswith(
        "ses-guard digest: 3 open findings (HIGH 1, MEDIUM 1, LOW 1) in 4 identities, 1 new, 1 resolved,"
    )
    head = email[: email.index("\n== ")]
    assert f"Full report: {REPORT}" in head
    assert re.findall(r"^  (HIGH|MEDIUM|LOW) +([A-Z_]+) +(\d+)$", head, re.MULTILINE) == [
        ("HIGH", "DKIM_RECORD_MISSING", "1"),
        ("MEDIUM", "MAIL_FROM_NOT_CONFIGURED", "1"),
        ("LOW", "DMARC_POLICY_NONE", "1"),
    ]
    assert "Worst identities:\n  old-high.example (eu-west-1): HIGH 1\n" in head
    assert "  [HIGH] DKIM_RECORD_MISSING (eu-west-1) - open since 2026-12-01 06:00 UTC\n" in email
    assert "  [LOW] DMARC_POLICY_NONE (eu-west-1) - new\n" in email
    assert "RESOLVED since the last run:\n  [HIGH] MAIL_FROM_MX_MISSING at shop.example.com" in email
    assert "STILL OPEN" not in email  # the digest lists them
    data = machine(note)
    assert data["kind"] == "digest"
    assert {f["code"] for f in data["findings"]} == {
        "DKIM_RECORD_MISSING",
        "MAIL_FROM_NOT_CONFIGURED",
        "DMARC_POLICY_NONE",
    }
    assert [r["code"] for r in data["resolved"]] == ["MAIL_FROM_MX_MISSING"]
    card = chatbot(note)["content"]
    assert card["title"] == ":red_circle: ses-guard digest: 3 open, 1 new, 1 resolved, 0 changes applied (dry run)"
    assert "`DKIM_RECORD_MISSING` (eu-west-1) _open since 2026-12-01 06:00 UTC_" in card["description"]
    assert "DKIM_KEY_WEAK" not in email + card["description"] + note.message


def test_given_a_digest_too_big_for_3_publishes_then_the_cap_holds_and_what_is_left_out_is_counted() -> None:
    # Given a digest of 3,000 open findings and 50 resolved ones
    keys = [IdentityKey("eu-west-1", f"d{i:04d}.example.com") for i in range(3000)]
    records = (Record("_dmarc.example.com", "TXT", ("v=DMARC1; p=none",)),)
    open_ = [
        Finding.about(key, Code.DMARC_MISSING, f"{key.name}: no DMARC " * 8, records=records, status="open",
                      first_seen=DAY_1)
        for key in keys
    ]  # fmt: skip
    resolved = [gone(Code.DKIM_RECORD_MISSING, f"r{i:02d}.example.com") for i in range(50)]
    run = summary(open_, resolved=resolved, digest=True)

    # When rendered
    notes = changes_render(run)

    # Then it stays within SNS, Slack and the publish cap, and the resolved that did not fit are counted
    assert len(notes) == MAX_PUBLISHES
    assert all(note.size <= SNS_MAX_BYTES for note in notes)
    assert all(len(chatbot(n)["content"]["description"]) <= SLACK_DESCRIPTION_MAX_CHARS for n in notes)
    parts = [machine(note) for note in notes]
    listed = sum(len(p["findings"]) for p in parts)
    told = sum(len(p["resolved"]) for p in parts)
    assert all(p["kind"] == "digest" for p in parts)
    assert parts[-1]["left_out"]["findings"] == 3000 - listed > 0
    assert parts[-1]["left_out"]["resolved"] == 50 - told
    assert f"every one is in the full report: {REPORT}" in bodies(notes[-1])["email"]


def test_given_many_new_findings_then_every_changes_part_ends_with_the_still_open_line_within_the_limits() -> None:
    new = [
        finding(Code.DKIM_RECORD_MISSING, f"d{i:04d}.example.com", status="new", records=(
            Record(f"tok{i}._domainkey.d{i:04d}.example.com", "CNAME", (f"tok{i}.dkim.amazonses.com",)),
        ))
        for i in range(4000)
    ]  # fmt: skip
    run = summary([*new, OPEN_HIGH], resolved=[GONE_HIGH])

    notes = changes_render(run)

    assert len(notes) == MAX_PUBLISHES
    assert all(note.size <= SNS_MAX_BYTES for note in notes)
    assert all("STILL OPEN: 1 reported before (HIGH 1)" in bodies(n)["email"] for n in notes)
    assert all(
        chatbot(n)["content"]["description"].count("*Still open:* 1 reported before (HIGH 1)") == 1 for n in notes
    )
    parts = [machine(note) for note in notes]
    assert all(f["status"] == "new" for p in parts for f in p["findings"])
    # The resolved one comes after every new finding, so it is left out, and counted, with the rest
    assert parts[-1]["left_out"]["resolved"] == 1
    assert "and 1 resolved did not fit in these messages" in bodies(notes[-1])["email"]


# --- NOTIFY_ON=all -------------------------------------------------------------------------------------------------


def test_given_notify_on_all_then_the_message_is_the_one_sent_before_runs_had_memory() -> None:
    # Given the same run with memory (statuses, first sightings, resolved, a digest due) and without
    remembered = summary([OPEN_HIGH, NEW_LOW], resolved=[GONE_HIGH], digest=True)
    plain = summary([replace(f, status="new", first_seen="") for f in remembered.findings])

    # When both are rendered for NOTIFY_ON=all
    (with_memory,) = render(remembered, min_severity=Severity.LOW, always=False, notify_on="all")
    (without,) = render(plain, min_severity=Severity.LOW, always=False)

    # Then memory changes nothing people read: the same subject, email and Slack card
    assert with_memory.subject == without.subject == "ses-guard: 2 findings (1 HIGH), 0 changes (dry run)"
    assert bodies(with_memory)["email"] == bodies(without)["email"]
    assert bodies(with_memory)["https"] == bodies(without)["https"]
    assert machine(with_memory)["kind"] == "all"
    assert machine(with_memory)["resolved"] == []
