"""Rendering a run summary as SNS notifications: when, what, and how it fits SNS, Slack (AWS Chatbot) and email."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest

from core.kernel.models import Change, Code, Finding, IdentityKey, Record, RunError, RunSummary, Severity
from core.report.notify import (
    MAX_PUBLISHES,
    SLACK_DESCRIPTION_MAX_CHARS,
    SNS_MAX_BYTES,
    Notification,
    render,
    should_notify,
)
from tests.keys import RSA_2048_SPKI
from tests.unit.report.published import bodies, chatbot, machine

CHATBOT_CONTENT_KEYS = {"textType", "title", "description", "nextSteps", "keywords"}
CHATBOT_METADATA_KEYS = {"threadId", "summary", "eventType", "relatedResources", "additionalContext"}


def finding(code: Code, identity: str = "example.com", message: str = "", **kwargs: Any) -> Finding:
    key = IdentityKey(kwargs.pop("region", "eu-west-1"), identity)
    return Finding.about(key, code, message or f"{code.value} on {identity}", **kwargs)


def summary(
    findings: Sequence[Finding] = (), changes: Sequence[Change] = (), errors: Sequence[RunError] = (), **kwargs: Any
) -> RunSummary:
    return RunSummary(
        run_id=kwargs.pop("run_id", "run-1"),
        dry_run=kwargs.pop("dry_run", True),
        regions=["eu-west-1"],
        identities_audited=kwargs.pop("identities_audited", 3),
        findings=list(findings),
        changes=list(changes),
        errors=list(errors),
        report=kwargs.pop("report", ""),
        resolved=list(kwargs.pop("resolved", [])),
        digest=kwargs.pop("digest", False),
    )


def dkim_change(applied: bool = True) -> Change:
    return Change(
        zone_id="Z1",
        zone_name="example.com",
        action="CREATE",
        name="tok1._domainkey.example.com",
        type="CNAME",
        values=("tok1.dkim.amazonses.com",),
        ttl=1800,
        applied=applied,
        reason=Code.DKIM_RECORD_MISSING,
    )


def many_findings(identities: int, per_identity: int = 5, text: str = "") -> list[Finding]:
    codes = [
        Code.DKIM_RECORD_MISSING,
        Code.DMARC_MISSING,
        Code.MAIL_FROM_SPF_MISSING,
        Code.ZONE_NOT_FOUND,
        Code.DMARC_POLICY_NONE,
    ]
    return [
        finding(
            code,
            f"d{i:05d}.example.com",
            f"{code.value} {text}".strip(),
            fixable=code is not Code.ZONE_NOT_FOUND,
            records=(Record(f"_dmarc.d{i:05d}.example.com", "TXT", ("v=DMARC1; p=none",)),),
        )
        for i in range(identities)
        for code in codes[:per_identity]
    ]


# --- when to notify ------------------------------------------------------------------------------------------------


def test_given_a_clean_run_when_rendered_then_nothing_is_sent() -> None:
    assert render(summary(), min_severity=Severity.LOW, always=False) == []


def test_given_a_clean_run_and_always_when_rendered_then_one_message_says_all_is_well() -> None:
    notes = render(summary(), min_severity=Severity.LOW, always=True)

    assert len(notes) == 1
    assert "Nothing to report" in bodies(notes[0])["email"]
    assert notes[0].attributes["highest_severity"]["StringValue"] == "NONE"


def test_given_only_findings_below_the_threshold_when_rendered_then_nothing_is_sent() -> None:
    run = summary([finding(Code.DMARC_POLICY_NONE), finding(Code.DMARC_NO_REPORTING)])

    assert render(run, min_severity=Severity.MEDIUM, always=False) == []


def test_given_findings_on_both_sides_of_the_threshold_then_those_below_are_counted_not_listed() -> None:
    run = summary([finding(Code.DMARC_POLICY_NONE, "low.example"), finding(Code.DMARC_MISSING, "high.example")])

    (note,) = render(run, min_severity=Severity.HIGH, always=False)

    email = bodies(note)["email"]
    assert "[HIGH] DMARC_MISSING (eu-west-1)" in email
    assert "] DMARC_POLICY_NONE" not in email
    assert re.search(r"^  LOW +DMARC_POLICY_NONE +1$", email, re.MULTILINE)  # still counted in the summary
    assert "1 finding below HIGH counted but not listed" in email
    assert [f["code"] for f in machine(note)["findings"]] == ["DMARC_MISSING"]
    assert machine(note)["findings_below_threshold"] == 1


def test_given_a_run_that_only_applied_changes_when_rendered_then_one_message_lists_the_changes() -> None:
    run = summary(changes=[dkim_change(applied=True)], dry_run=False)

    (note,) = render(run, min_severity=Severity.HIGH, always=False)

    assert "CREATE tok1._domainkey.example.com CNAME tok1.dkim.amazonses.com" in bodies(note)["email"]
    assert note.attributes["changes_applied"] == {"DataType": "Number", "StringValue": "1"}
    assert "Changes made" in chatbot(note)["content"]["description"]


def test_given_a_dry_run_that_only_planned_changes_when_rendered_then_nothing_is_sent() -> None:
    run = summary(changes=[dkim_change(applied=False)], dry_run=True)

    assert render(run, min_severity=Severity.LOW, always=False) == []


def test_given_a_run_with_errors_and_no_findings_then_the_errors_are_reported() -> None:
    error = RunError("region", "us-east-1", "ses ListEmailIdentities failed: AccessDenied")
    run = summary(errors=[error])

    assert should_notify(run, min_severity=Severity.HIGH, always=False)
    (note,) = render(run, min_severity=Severity.HIGH, always=False)
    assert "region us-east-1: ses ListEmailIdentities failed: AccessDenied" in bodies(note)["email"]
    assert machine(note)["errors"] == [
        {"scope": "region", "subject": "us-east-1", "message": "ses ListEmailIdentities failed: AccessDenied"}
    ]


# --- what a message says -------------------------------------------------------------------------------------------


def test_given_findings_on_several_identities_then_they_are_grouped_by_identity_worst_first() -> None:
    run = summary(
        [
            finding(Code.DMARC_POLICY_NONE, "a-low.example"),
            finding(Code.DKIM_KEY_WEAK, "b-mixed.example"),
            finding(Code.DMARC_NO_REPORTING, "b-mixed.example"),
            finding(Code.DKIM_RECORD_MISSING, "c-high.example"),
            finding(Code.DMARC_INVALID, "b-mixed.example"),
        ]
    )

    (note,) = render(run, min_severity=Severity.LOW, always=False)

    order = [(f["subject"], f["code"]) for f in machine(note)["findings"]]
    assert order == [
        ("b-mixed.example", "DMARC_INVALID"),
        ("b-mixed.example", "DKIM_KEY_WEAK"),
        ("b-mixed.example", "DMARC_NO_REPORTING"),
        ("c-high.example", "DKIM_RECORD_MISSING"),
        ("a-low.example", "DMARC_POLICY_NONE"),
    ]
    email = bodies(note)["email"]
    headers = re.findall(r"^== (\S+) ==$", email, re.MULTILINE)
    assert headers == ["b-mixed.example", "c-high.example", "a-low.example"]
    description = chatbot(note)["content"]["description"]
    assert description.index("*b-mixed.example*") < description.index("*c-high.example*")
    assert description.index("*c-high.example*") < description.index("*a-low.example*")


def test_given_a_finding_ses_guard_cannot_fix_then_both_renderings_give_the_exact_records_to_set_by_hand() -> None:
    records = (
        Record("bounce.example.org", "MX", ("10 feedback-smtp.eu-west-1.amazonses.com",)),
        Record("bounce.example.org", "TXT", ("v=spf1 include:amazonses.com ~all",)),
    )
    run = summary(
        [
            finding(Code.ZONE_NOT_FOUND, "example.org", records=records, fixable=False),
            finding(
                Code.DMARC_MISSING,
                "example.net",
                fixable=True,
                records=(Record("_dmarc.example.net", "TXT", ("v=DMARC1; p=none",)),),
            ),
        ]
    )

    (note,) = render(run, min_severity=Severity.LOW, always=False)

    description = chatbot(note)["content"]["description"]
    assert "needed: `bounce.example.org MX 10 feedback-smtp.eu-west-1.amazonses.com`  (set by hand)" in description
    assert 'needed: `bounce.example.org TXT "v=spf1 include:amazonses.com ~all"`  (set by hand)' in description
    assert 'needed: `_dmarc.example.net TXT "v=DMARC1; p=none"`  (ses-guard creates it on a live run)' in description
    email = bodies(note)["email"]
    assert (
        "    needed: bounce.example.org MX 10 feedback-smtp.eu-west-1.amazonses.com  (set by hand)\n"
        '    needed: bounce.example.org TXT "v=spf1 include:amazonses.com ~all"  (set by hand)'
    ) in email
    assert 'needed: _dmarc.example.net TXT "v=DMARC1; p=none"  (ses-guard creates it on a live run)' in email
    assert email.count("(set by hand)") == 2
    assert "Records to set by hand" not in email
    steps = chatbot(note)["content"]["nextSteps"]
    assert "Add the records marked `set by hand` in the DNS that serves each domain" in steps


def test_given_a_finding_fixed_in_this_run_then_both_renderings_say_so() -> None:
    record = Record("_dmarc.example.com", "TXT", ("v=DMARC1; p=none",))
    run = summary([finding(Code.DMARC_MISSING, fixable=True, fixed=True, records=(record,))], dry_run=False)

    (note,) = render(run, min_severity=Severity.LOW, always=False)

    email = bodies(note)["email"]
    assert "[HIGH] DMARC_MISSING (eu-west-1) - fixed in this run" in email
    assert 'needed: _dmarc.example.com TXT "v=DMARC1; p=none"  (created by ses-guard in this run)' in email
    description = chatbot(note)["content"]["description"]
    assert "`DMARC_MISSING` (eu-west-1) :white_check_mark: fixed" in description
    assert "(created by ses-guard in this run)" in description
    assert "set by hand" not in email + description


def test_given_a_message_with_slack_control_characters_then_slack_gets_them_escaped_and_email_verbatim() -> None:
    run = summary(
        [finding(Code.MAIL_FROM_MX_INVALID, message="MX is not `10 feedback-smtp.<region>.amazonses.com` & co")]
    )

    (note,) = render(run, min_severity=Severity.LOW, always=False)

    assert "feedback-smtp.&lt;region&gt;.amazonses.com` &amp; co" in chatbot(note)["content"]["description"]
    assert "feedback-smtp.<region>.amazonses.com` & co" in bodies(note)["email"]


def test_given_any_run_then_the_chatbot_body_follows_the_custom_notification_schema() -> None:
    run = summary([finding(Code.DKIM_RECORD_MISSING, fixable=True), finding(Code.ZONE_NOT_DELEGATED, "b.example")])

    (note,) = render(run, min_severity=Severity.LOW, always=False)

    payload = chatbot(note)
    assert set(payload) == {"version", "source", "id", "content", "metadata"}
    assert payload["version"] == "1.0"
    assert payload["source"] == "custom"
    content, metadata = payload["content"], payload["metadata"]
    assert set(content) <= CHATBOT_CONTENT_KEYS
    assert content["textType"] == "client-markdown"
    assert isinstance(content["title"], str)
    assert content["title"]
    assert isinstance(content["description"], str)
    assert len(content["description"]) <= SLACK_DESCRIPTION_MAX_CHARS
    assert content["nextSteps"]
    assert all(isinstance(step, str) for step in content["nextSteps"])
    assert all(isinstance(word, str) for word in content["keywords"])
    assert set(metadata) <= CHATBOT_METADATA_KEYS
    assert metadata["threadId"] == "ses-guard-run-1"
    assert all(isinstance(metadata[key], str) for key in ("threadId", "summary", "eventType"))
    assert re.fullmatch(r"[a-zA-Z0-9-]+", metadata["eventType"])  # the pattern custom actions match on
    assert all(isinstance(v, str) for v in metadata["relatedResources"])
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in metadata["additionalContext"].items())
    assert "redeploy with `DryRun=false`, or run `ses-guard audit --apply`" in " ".join(content["nextSteps"])


def test_given_any_run_then_each_protocol_gets_its_own_body_and_the_default_is_the_run_summary_json() -> None:
    run = summary([finding(Code.DKIM_RECORD_MISSING)])

    (note,) = render(run, min_severity=Severity.LOW, always=False)

    assert set(bodies(note)) == {"default", "https", "email", "sms"}
    assert not bodies(note)["email"].lstrip().startswith("{")
    assert "\n" not in bodies(note)["sms"]
    data = machine(note)
    assert {k: data[k] for k in ("run_id", "dry_run", "regions", "identities_audited", "part", "parts")} == {
        "run_id": "run-1",
        "dry_run": True,
        "regions": ["eu-west-1"],
        "identities_audited": 3,
        "part": 1,
        "parts": 1,
    }
    assert data["findings"] == [f.to_dict() for f in run.findings]


def test_given_findings_then_the_attributes_carry_the_highest_severity_and_the_finding_count() -> None:
    run = summary(
        [finding(Code.DMARC_POLICY_NONE), finding(Code.DKIM_KEY_WEAK), finding(Code.DKIM_KEY_WEAK, "b.example")]
    )

    (note,) = render(run, min_severity=Severity.LOW, always=False)

    assert note.attributes["highest_severity"] == {"DataType": "String", "StringValue": "MEDIUM"}
    assert note.attributes["finding_count"] == {"DataType": "Number", "StringValue": "3"}
    assert note.attributes["dry_run"]["StringValue"] == "true"
    assert all(a["DataType"] in {"String", "Number"} for a in note.attributes.values())


def test_given_any_run_then_the_subject_is_short_ascii_on_one_line() -> None:
    errors = [RunError("zone", "a.example", "e1"), RunError("zone", "b.example", "e2")]
    run = summary(many_findings(2000), errors=errors, identities_audited=2000)

    notes = render(run, min_severity=Severity.LOW, always=False, max_bytes=40_000)

    assert len(notes) == MAX_PUBLISHES  # the largest part number, and five-digit counts, make the longest subject
    for note in notes:
        assert len(note.subject) < 100
        assert note.subject.isascii()
        assert not re.search(r"[\r\n]", note.subject)
    assert notes[-1].subject == "ses-guard: 10000 findings (6000 HIGH), 0 changes, 2 errors (dry run) [3/3]"


def test_given_a_run_then_each_part_leads_with_counts_by_severity_and_code_the_worst_identities_and_the_report() -> (
    None
):
    run = summary(
        [
            finding(Code.DMARC_POLICY_NONE, "low.example"),
            finding(Code.DKIM_KEY_WEAK, "two-medium.example"),
            finding(Code.MAIL_FROM_NOT_CONFIGURED, "two-medium.example"),
            finding(Code.DMARC_MISSING, "high.example"),
            finding(Code.DKIM_RECORD_MISSING, "two-high.example"),
            finding(Code.DMARC_MISSING, "two-high.example"),
            finding(Code.DMARC_MISSING, "fixed.example", fixable=True, fixed=True),
            finding(Code.DKIM_KEY_WEAK, "medium.example"),
            finding(Code.DMARC_POLICY_NONE, "sixth.example"),
        ],
        report="s3://reports/runs/run-1.json",
    )

    (note,) = render(run, min_severity=Severity.LOW, always=False)

    email = bodies(note)["email"]
    head = email[: email.index("\n== ")]
    assert head.startswith("ses-guard dry run: 9 findings (HIGH 4, MEDIUM 3, LOW 2) in 3 identities,")
    assert "Full report: s3://reports/runs/run-1.json" in head
    codes = re.findall(r"^  (HIGH|MEDIUM|LOW) +([A-Z_]+) +(\d+)$", head, re.MULTILINE)
    assert codes == [
        ("HIGH", "DMARC_MISSING", "3"),
        ("HIGH", "DKIM_RECORD_MISSING", "1"),
        ("MEDIUM", "DKIM_KEY_WEAK", "2"),
        ("MEDIUM", "MAIL_FROM_NOT_CONFIGURED", "1"),
        ("LOW", "DMARC_POLICY_NONE", "2"),
    ]
    worst = head[head.index("Worst identities:") :].splitlines()[1:]
    assert worst == [  # open findings only: fixed.example was fixed in this run
        "  two-high.example (eu-west-1): HIGH 2",
        "  high.example (eu-west-1): HIGH 1",
        "  two-medium.example (eu-west-1): MEDIUM 2",
        "  medium.example (eu-west-1): MEDIUM 1",
        "  low.example (eu-west-1): LOW 1",
    ]
    description = chatbot(note)["content"]["description"]
    lead = description[: description.index("\n*two-high.example*")]
    assert lead.startswith("*3* identities in eu-west-1: HIGH 4, MEDIUM 3, LOW 2\n")
    assert "*By code:* `DMARC_MISSING` 3, `DKIM_RECORD_MISSING` 1, `DKIM_KEY_WEAK` 2," in lead
    assert "*Worst identities:* two-high.example (eu-west-1) HIGH 2; high.example (eu-west-1) HIGH 1;" in lead
    assert "*Full report:* `s3://reports/runs/run-1.json`" in lead
    assert machine(note)["counts"]["by_code"]["DMARC_MISSING"] == 3
    assert machine(note)["report"] == "s3://reports/runs/run-1.json"


def test_given_found_and_required_records_then_found_reads_now_and_only_unfixable_required_reads_set_by_hand() -> None:
    spf = "v=spf1 include:_spf.google.com ~all"
    invalid = finding(
        Code.MAIL_FROM_SPF_INVALID,
        "example.org",
        fixable=False,
        records=(
            Record("bounce.example.org", "TXT", (spf,), role="found"),
            Record("bounce.example.org", "TXT", ("v=spf1 include:amazonses.com ~all",)),
        ),
    )
    missing = finding(
        Code.DMARC_MISSING,
        "example.net",
        fixable=True,
        records=(
            Record("_dmarc.example.net", "TXT", (), role="found"),
            Record("_dmarc.example.net", "TXT", ("v=DMARC1; p=none",)),
        ),
    )

    (note,) = render(summary([invalid, missing], dry_run=True), min_severity=Severity.LOW, always=False)

    email = bodies(note)["email"]
    assert f'    now:    bounce.example.org TXT "{spf}"\n' in email
    assert '    needed: bounce.example.org TXT "v=spf1 include:amazonses.com ~all"  (set by hand)\n' in email
    assert "    now:    _dmarc.example.net TXT (nothing)\n" in email
    assert '    needed: _dmarc.example.net TXT "v=DMARC1; p=none"  (ses-guard creates it on a live run)\n' in email
    assert email.count("(set by hand)") == 1
    description = chatbot(note)["content"]["description"]
    assert f'    now: `bounce.example.org TXT "{spf}"`\n' in description
    assert '    needed: `bounce.example.org TXT "v=spf1 include:amazonses.com ~all"`  (set by hand)' in description
    assert (
        '    needed: `_dmarc.example.net TXT "v=DMARC1; p=none"`  (ses-guard creates it on a live run)' in description
    )
    assert description.count("(set by hand)") == 1
    roles = {f["code"]: [r["role"] for r in f["records"]] for f in machine(note)["findings"]}
    assert roles == {"MAIL_FROM_SPF_INVALID": ["found", "required"], "DMARC_MISSING": ["found", "required"]}


def test_given_a_dkim_key_then_email_and_slack_show_it_short_and_the_json_whole() -> None:
    value = f"v=DKIM1; k=rsa; p={RSA_2048_SPKI}"
    record = Record("tok1._domainkey.example.com", "TXT", (value,), role="found")
    run = summary([finding(Code.DKIM_KEY_WEAK, records=(record,))])

    (note,) = render(run, min_severity=Severity.LOW, always=False)

    short = f"v=DKIM1; k=rsa; p={RSA_2048_SPKI[:16]}... ({len(RSA_2048_SPKI)}-character key)"
    email, description = bodies(note)["email"], chatbot(note)["content"]["description"]
    assert f'now:    tok1._domainkey.example.com TXT "{short}"' in email
    assert f'now: `tok1._domainkey.example.com TXT "{short}"`' in description
    assert RSA_2048_SPKI not in email
    assert RSA_2048_SPKI not in description
    assert machine(note)["findings"][0]["records"][0]["values"] == [value]


def test_given_a_shared_finding_then_it_is_listed_once_under_its_subject_with_the_identities_it_affects() -> None:
    keys = tuple(IdentityKey("eu-west-1", f"s{i}.example.com") for i in range(5))
    shared = Finding(
        Code.DMARC_MISSING,
        keys,
        "no DMARC policy applies to example.com or its subdomains",
        subject="_dmarc.example.com",
        records=(Record("_dmarc.example.com", "TXT", ("v=DMARC1; p=none",)),),
    )
    run = summary(
        [shared, finding(Code.DKIM_KEY_WEAK, "s0.example.com"), finding(Code.DKIM_KEY_WEAK, "s1.example.com")]
    )

    (note,) = render(run, min_severity=Severity.LOW, always=False)

    email = bodies(note)["email"]
    assert re.findall(r"^== (\S+) ==$", email, re.MULTILINE) == [
        "_dmarc.example.com",
        "s0.example.com",
        "s1.example.com",
    ]
    assert email.count("] DMARC_MISSING") == 1
    affects = "affects s0.example.com (eu-west-1), s1.example.com (eu-west-1), s2.example.com (eu-west-1) and 2 more"
    assert f"  [HIGH] DMARC_MISSING ({affects})\n" in email
    description = chatbot(note)["content"]["description"]
    assert description.count(":red_circle: `DMARC_MISSING`") == 1
    assert f"*_dmarc.example.com*\n:red_circle: `DMARC_MISSING` ({affects})" in description
    (listed,) = [f for f in machine(note)["findings"] if f["code"] == "DMARC_MISSING"]
    assert [i["identity"] for i in listed["identities"]] == [k.name for k in keys]
    assert "  s0.example.com (eu-west-1): HIGH 1, MEDIUM 1\n" in email  # the shared finding counts for each identity


# --- how it fits ------------------------------------------------------------------------------------------------------


def test_given_5000_findings_then_at_most_3_parts_under_256_kb_list_the_worst_once_and_count_the_rest() -> None:
    run = summary(many_findings(1000), identities_audited=1000)

    notes = render(run, min_severity=Severity.LOW, always=False)

    assert len(notes) == MAX_PUBLISHES
    assert all(note.size <= SNS_MAX_BYTES for note in notes)
    assert all(len(note.message.encode()) < SNS_MAX_BYTES for note in notes)
    parts = [machine(note) for note in notes]
    assert [(p["part"], p["parts"]) for p in parts] == [(k, len(notes)) for k in range(1, len(notes) + 1)]
    sent = [(f["subject"], f["code"]) for p in parts for f in p["findings"]]
    # Every identity ties on severity and reach, so worst first is by name: what is listed is a prefix of the run.
    assert sent == [(f.topic, f.code.value) for f in run.findings[: len(sent)]]
    left = run.findings[len(sent) :]
    assert left
    expected = {
        "findings": len(left),
        "topics": len({f.topic for f in left}),
        "changes": 0,
        "errors": 0,
        "resolved": 0,
    }
    assert all(p["truncated"] and p["left_out"] == expected for p in parts)
    emailed = "".join(bodies(note)["email"] for note in notes)
    assert emailed.count("  [") == len(sent)
    note = f"NOT LISTED: {expected['findings']} findings on {expected['topics']} topics did not fit in these messages"
    assert note in bodies(notes[-1])["email"]
    assert "run `ses-guard audit` (add --json for JSON) to list every one" in bodies(notes[-1])["email"]
    assert all(note not in bodies(n)["email"] for n in notes[:-1])
    assert "List every finding: `ses-guard audit`" in chatbot(notes[-1])["content"]["description"]
    assert [n.attributes["part"]["StringValue"] for n in notes] == [
        f"{k}/{len(notes)}" for k in range(1, len(notes) + 1)
    ]
    assert len({chatbot(n)["metadata"]["threadId"] for n in notes}) == 1


def test_given_3000_identities_each_with_a_finding_and_one_shared_by_all_then_3_publishes_summarise_the_whole_run() -> (
    None
):
    keys = [IdentityKey("eu-west-1", f"d{i:04d}.example.com") for i in range(3000)]
    shared = Finding(
        Code.ZONE_NOT_DELEGATED,
        tuple(keys),
        "example.com's live NS differ from the Route 53 zone's name servers",
        subject="example.com",
    )
    own = [
        Finding.about(
            key,
            Code.MAIL_FROM_NOT_CONFIGURED if i % 3 else Code.DKIM_RECORD_MISSING,
            f"{key.name} needs attention",
            fixable=not i % 3,
            records=(Record(f"tok{i}._domainkey.{key.name}", "CNAME", (f"tok{i}.dkim.amazonses.com",)),),
        )
        for i, key in enumerate(keys)
    ]
    report = "s3://ses-guard-reports/runs/run-1.json"
    run = summary([*own, shared], identities_audited=3000, report=report)

    notes = render(run, min_severity=Severity.LOW, always=False)

    assert len(notes) <= MAX_PUBLISHES
    assert all(note.size < 262_144 for note in notes)
    parts = [machine(note) for note in notes]
    assert parts[0]["counts"]["by_severity"] == {"HIGH": 1001, "MEDIUM": 2000, "LOW": 0}
    assert parts[0]["counts"]["by_code"] == {
        "DKIM_RECORD_MISSING": 1000,
        "MAIL_FROM_NOT_CONFIGURED": 2000,
        "ZONE_NOT_DELEGATED": 1,
    }
    for note in notes:
        email = bodies(note)["email"]
        assert email.startswith("ses-guard dry run: 3001 findings (HIGH 1001, MEDIUM 2000, LOW 0) in 3000 identities")
        assert "  HIGH   DKIM_RECORD_MISSING        1000\n" in email
        assert "  MEDIUM MAIL_FROM_NOT_CONFIGURED   2000\n" in email
        assert "  d0000.example.com (eu-west-1): HIGH 2\n" in email  # its own finding and the shared one
        assert len(chatbot(note)["content"]["description"]) <= SLACK_DESCRIPTION_MAX_CHARS
    listed = [f for p in parts for f in p["findings"]]
    assert len({f["id"] for f in listed}) == len(listed)
    assert [f["code"] for f in listed].count("ZONE_NOT_DELEGATED") == 1
    unlisted = [f for f in run.findings if f.id not in {g["id"] for g in listed}]
    left = parts[-1]["left_out"]
    assert left == {
        "findings": len(unlisted),
        "topics": len({f.topic for f in unlisted}),
        "changes": 0,
        "errors": 0,
        "resolved": 0,
    }
    assert 0 < left["findings"] == 3001 - len(listed)
    last_email = bodies(notes[-1])["email"]
    assert (
        f"NOT LISTED: {left['findings']} findings on {left['topics']} topics did not fit in these messages; "
        f"every one is in the full report: {report}"
    ) in last_email
    assert f"Every finding is in the full report: `{report}`" in chatbot(notes[-1])["content"]["description"]


def test_given_a_finding_too_big_for_any_publish_then_it_is_left_out_and_counted_and_render_does_not_raise() -> None:
    keys = tuple(IdentityKey("eu-west-1", f"d{i:05d}.example.com") for i in range(8000))
    huge = Finding(Code.ZONE_NOT_DELEGATED, keys, "live NS differ", subject="example.com")
    run = summary([huge, finding(Code.DKIM_KEY_WEAK)], report="s3://r/run-1.json")

    (note,) = render(run, min_severity=Severity.LOW, always=False)

    assert note.size <= SNS_MAX_BYTES
    data = machine(note)
    assert [f["code"] for f in data["findings"]] == ["DKIM_KEY_WEAK"]
    assert data["truncated"] is True
    assert data["left_out"] == {"findings": 1, "topics": 1, "changes": 0, "errors": 0, "resolved": 0}
    assert "NOT LISTED: 1 finding on 1 topic did not fit" in bodies(note)["email"]


def test_given_a_part_too_long_for_slack_then_the_digest_says_exactly_how_much_it_leaves_out() -> None:
    run = summary(many_findings(200), identities_audited=200)

    (note, *_) = render(run, min_severity=Severity.LOW, always=False)

    description = chatbot(note)["content"]["description"]
    assert len(description) <= SLACK_DESCRIPTION_MAX_CHARS
    part_findings = machine(note)["findings"]
    shown = len(re.findall(r"^:\w+: `", description, re.MULTILINE))
    topics_shown = len(re.findall(r"^\*d\d+\.example\.com\*$", description, re.MULTILINE))
    left = re.search(r"_\.\.\.(\d+) more findings on (\d+) topics are not shown here", description)
    assert left is not None
    assert shown + int(left.group(1)) == len(part_findings)
    assert topics_shown + int(left.group(2)) == len({f["subject"] for f in part_findings})


def test_given_multibyte_text_then_sizes_are_counted_in_bytes_and_the_run_splits_where_characters_would_not() -> None:
    run = summary(many_findings(30, text="ドメイン bücher.例え.テスト の DKIM レコードがありません " * 8))
    (whole,) = render(run, min_severity=Severity.LOW, always=False, max_bytes=SNS_MAX_BYTES * 4)
    limit = (len(whole.message) + whole.size) // 2  # the whole run fits this limit in characters, not in bytes

    parts = render(run, min_severity=Severity.LOW, always=False, max_bytes=limit)

    assert len(whole.message) < limit < whole.size
    assert len(parts) > 1
    assert all(note.size <= limit for note in parts)
    assert sum(len(machine(n)["findings"]) for n in parts) == len(run.findings)


def test_given_the_size_then_attributes_and_subject_count_as_well() -> None:
    note = Notification(subject="s", message="é", attributes={"k": {"DataType": "String", "StringValue": "ü"}})

    assert note.size == len("é".encode()) + 1 + 1 + len("String") + len("ü".encode())


def test_given_an_enormous_finding_then_the_email_cuts_it_visibly_and_the_json_keeps_it_whole() -> None:
    long_message = "x" * 40_000
    run = summary([finding(Code.CHECK_FAILED, message=long_message)])

    (note,) = render(run, min_severity=Severity.LOW, always=False)

    assert "[cut: this finding's text is" in bodies(note)["email"]
    assert machine(note)["findings"][0]["message"] == long_message


def test_given_a_limit_too_small_for_any_message_then_render_refuses() -> None:
    with pytest.raises(ValueError, match="bytes"):
        render(summary([finding(Code.DMARC_MISSING)]), min_severity=Severity.LOW, always=False, max_bytes=2_000)
