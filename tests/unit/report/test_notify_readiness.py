"""DMARC readiness in notifications: a domain that became ready for the next policy step is said plainly, with the
record to publish; one no longer ready says why; the rest is counted; every size bound holds."""

from __future__ import annotations

import dataclasses
from typing import Any

from core.kernel.models import CATALOGUE, Code, IdentityKey, Resolved, RunSummary, Severity, Suppression
from core.kernel.traffic import DomainTraffic
from core.report.mail import READINESS_LISTED
from core.report.notify import MAX_PUBLISHES, SLACK_DESCRIPTION_MAX_CHARS, SNS_MAX_BYTES, Notification, render
from core.report.slack import READINESS_LISTED as SLACK_LISTED
from tests.unit.report.published import bodies, chatbot, machine
from tests.unit.report.sample import NEXT, NOISY, READY, READY_FINDING, RUA, START

SAID = "example.com is ready for p=quarantine: 99.5% of 12,340 messages passed DMARC over 30 days"
NEEDED = f'needed: _dmarc.example.com TXT "{NEXT}"'
DAY_1, DAY_2 = "2026-12-01T06:00:00+00:00", "2026-12-02T06:00:00+00:00"


def run(traffic: list[DomainTraffic], findings: list[Any], **fields: Any) -> RunSummary:
    return RunSummary(
        run_id="run-3",
        dry_run=True,
        regions=["eu-west-1"],
        identities_audited=2,
        findings=findings,
        traffic=traffic,
        **fields,
    )


def notify(summary: RunSummary, notify_on: str = "changes") -> list[Notification]:
    return render(summary, min_severity=Severity.LOW, always=True, notify_on=notify_on)


def email(note: Notification) -> str:
    return bodies(note)["email"]


def slack(note: Notification) -> str:
    description: str = chatbot(note)["content"]["description"]
    return description


def gone(domain: str) -> Resolved:
    code = Code.DMARC_READY_TO_ENFORCE
    return Resolved(f"id-{domain}", code, domain, CATALOGUE[code].severity, DAY_1, DAY_2)


def test_given_a_domain_newly_ready_then_email_slack_and_json_say_so_plainly_with_the_next_record() -> None:
    [note] = notify(run([NOISY, READY], [READY_FINDING]))

    text = email(note)
    assert f"DMARC READINESS (2 domains with aggregate reports, 1 ready for the next policy step):\n  {SAID}\n" in text
    assert f"    {NEEDED}  (set by hand)\n" in text
    assert f':arrow_up: {SAID}\n    needed: `_dmarc.example.com TXT "{NEXT}"`' in slack(note)
    assert any(
        step.startswith("Move each ready domain one DMARC policy step")
        for step in chatbot(note)["content"]["nextSteps"]
    )
    data = machine(note)
    assert data["counts"]["traffic"] == {"domains": 2, "ready": 1}
    assert data["readiness"] == [
        {
            "domain": "example.com",
            "state": "new",
            "text": SAID,
            "records": [{"name": "_dmarc.example.com", "type": "TXT", "values": [NEXT], "role": "required"}],
        }
    ]


def test_given_a_domain_ready_before_then_a_changes_message_does_not_announce_it_again() -> None:
    reported = dataclasses.replace(READY_FINDING, status="open", first_seen=DAY_1)

    [note] = notify(run([NOISY, READY], [reported]))

    assert "DMARC READINESS" not in email(note)
    assert "DMARC readiness" not in slack(note)
    assert machine(note)["readiness"] == []
    assert machine(note)["counts"]["traffic"] == {"domains": 2, "ready": 1}  # still counted


def test_given_a_domain_no_longer_ready_then_the_message_says_so_and_why() -> None:
    [note] = notify(run([NOISY], [], resolved=[gone("shop.example.com")]))

    said = f"shop.example.com is no longer ready for the next DMARC policy step: {NOISY.reason}"
    assert f"  {said}\n" in email(note)
    assert f":warning: {said}" in slack(note)
    assert [(r["domain"], r["state"], r["records"]) for r in machine(note)["readiness"]] == [
        ("shop.example.com", "gone", [])
    ]


def test_given_a_domain_whose_reports_stopped_then_it_is_no_longer_ready_for_lack_of_reports() -> None:
    [note] = notify(run([], [], resolved=[gone("quiet.example")]))

    said = "quiet.example is no longer ready for the next DMARC policy step: no aggregate reports in this run's window"
    assert said in email(note)


def test_given_a_suppressed_readiness_finding_then_it_is_not_announced() -> None:
    accepted = dataclasses.replace(READY_FINDING, suppressed=Suppression("waiting for the CRM vendor", "2027-01-31"))

    [note] = notify(run([READY], [accepted]), notify_on="all")

    assert SAID not in email(note)
    assert machine(note)["readiness"] == []


def test_given_a_digest_then_every_ready_domain_is_listed_and_the_new_ones_marked() -> None:
    reported = dataclasses.replace(READY_FINDING, status="open", first_seen=DAY_1)
    other = dataclasses.replace(READY, domain="other.example")
    fresh = dataclasses.replace(READY_FINDING, subject="other.example", status="new")

    [note] = notify(run([READY, other], [reported, fresh], digest=True))

    text = email(note)
    assert "  other.example is ready for p=quarantine" in text
    assert "over 30 days (new)\n" in text  # other.example, listed first
    assert f"  {SAID}\n" in text


def test_given_traffic_and_no_domain_ready_then_the_full_message_says_none_is_ready() -> None:
    [note] = notify(run([NOISY], []), notify_on="all")

    assert "DMARC READINESS (1 domain with aggregate reports, none ready for the next policy step).\n" in email(note)
    assert "*DMARC readiness:* 1 domain with aggregate reports, none ready for the next policy step" in slack(note)


def test_given_a_run_without_traffic_then_no_message_mentions_readiness() -> None:
    [note] = notify(run([], []), notify_on="all")

    assert "READINESS" not in email(note).upper()
    assert "readiness" not in slack(note).lower()
    assert machine(note)["counts"]["traffic"] == {"domains": 0, "ready": 0}


def test_given_3000_domains_newly_ready_then_each_channel_lists_a_few_and_counts_the_rest_within_every_bound() -> None:
    long_rua = RUA + ", mailto:" + "r" * 150 + "@reports.example"
    domains = [f"d{i:05d}.example.com" for i in range(3000)]
    traffic = [dataclasses.replace(READY, domain=d) for d in domains]
    findings = [
        dataclasses.replace(
            READY_FINDING,
            identities=(IdentityKey("eu-west-1", d),),
            subject=d,
            records=tuple(dataclasses.replace(r, values=(long_rua,)) for r in READY_FINDING.records),
        )
        for d in domains
    ]

    notes = notify(run(traffic, findings))

    assert 1 <= len(notes) <= MAX_PUBLISHES
    for note in notes:
        assert note.size <= SNS_MAX_BYTES
        assert len(slack(note)) <= SLACK_DESCRIPTION_MAX_CHARS
        text = email(note)
        assert text.count(" is ready for p=quarantine: ") == READINESS_LISTED  # findings read `<domain>: 99.5%...`
        assert f"  and {3000 - READINESS_LISTED} more domains; run `ses-guard audit` to list every one" in text
        assert slack(note).count(":arrow_up:") <= SLACK_LISTED
        assert "more domains: the email and the full report list them_" in slack(note)
        assert len(machine(note)["readiness"]) == READINESS_LISTED
        assert machine(note)["counts"]["traffic"] == {"domains": 3000, "ready": 3000}


def test_given_a_window_start_then_the_sentence_counts_its_days() -> None:
    shorter = dataclasses.replace(READY, start=START.replace(day=15))

    [note] = notify(run([shorter], [READY_FINDING]))

    assert "messages passed DMARC over 16 days" in email(note)
