"""Rendering a run summary as SNS notifications: when, what, and how it fits SNS, Slack (AWS Chatbot) and email."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from core.kernel.models import Change, Code, Finding, Record, RunError, RunSummary, Severity
from core.report.notify import (
    SLACK_DESCRIPTION_MAX_CHARS,
    SNS_MAX_BYTES,
    Notification,
    render,
    should_notify,
)

CHATBOT_CONTENT_KEYS = {"textType", "title", "description", "nextSteps", "keywords"}
CHATBOT_METADATA_KEYS = {"threadId", "summary", "eventType", "relatedResources", "additionalContext"}


def finding(code: Code, identity: str = "example.com", message: str = "", **kwargs: Any) -> Finding:
    return Finding(
        code, identity, kwargs.pop("region", "eu-west-1"), message or f"{code.value} on {identity}", **kwargs
    )


def summary(
    findings: list[Finding] = (), changes: list[Change] = (), errors: list[RunError] = (), **kwargs: Any
) -> RunSummary:  # type: ignore[assignment]
    return RunSummary(
        run_id=kwargs.pop("run_id", "run-1"),
        dry_run=kwargs.pop("dry_run", True),
        regions=["eu-west-1"],
        identities_audited=kwargs.pop("identities_audited", 3),
        findings=list(findings),
        changes=list(changes),
        errors=list(errors),
    )


def bodies(notification: Notification) -> dict[str, str]:
    assert notification.message_structure == "json"
    parsed: dict[str, str] = json.loads(notification.message)
    return parsed


def chatbot(notification: Notification) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(bodies(notification)["https"])
    return payload


def machine(notification: Notification) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(bodies(notification)["default"])
    return payload


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
    assert "DMARC_MISSING" in email
    assert "DMARC_POLICY_NONE" not in email
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

    order = [(f["identity"], f["code"]) for f in machine(note)["findings"]]
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


def test_given_a_finding_ses_guard_cannot_fix_then_both_renderings_give_the_exact_records_to_add_by_hand() -> None:
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
    assert "add by hand: `bounce.example.org MX 10 feedback-smtp.eu-west-1.amazonses.com`" in description
    assert 'add by hand: `bounce.example.org TXT "v=spf1 include:amazonses.com ~all"`' in description
    assert "_dmarc.example.net" not in description  # ses-guard creates it; Slack lists only manual work
    email = bodies(note)["email"]
    assert (
        "Records to set by hand:\n"
        "      bounce.example.org MX 10 feedback-smtp.eu-west-1.amazonses.com\n"
        '      bounce.example.org TXT "v=spf1 include:amazonses.com ~all"'
    ) in email
    assert 'Records ses-guard can create:\n      _dmarc.example.net TXT "v=DMARC1; p=none"' in email
    assert "Add the listed records by hand in the DNS that serves each domain" in chatbot(note)["content"]["nextSteps"]


def test_given_a_finding_fixed_in_this_run_then_both_renderings_say_so() -> None:
    record = Record("_dmarc.example.com", "TXT", ("v=DMARC1; p=none",))
    run = summary([finding(Code.DMARC_MISSING, fixable=True, fixed=True, records=(record,))], dry_run=False)

    (note,) = render(run, min_severity=Severity.LOW, always=False)

    email = bodies(note)["email"]
    assert "[HIGH] DMARC_MISSING (eu-west-1) - fixed in this run" in email
    assert 'Records ses-guard created:\n      _dmarc.example.com TXT "v=DMARC1; p=none"' in email
    assert "`DMARC_MISSING` (eu-west-1) :white_check_mark: fixed" in chatbot(note)["content"]["description"]


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
    assert 'invoke with `{"dry_run": false}`' in " ".join(content["nextSteps"])


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
    run = summary(many_findings(60), errors=[RunError("zone", "a.example", "e1"), RunError("zone", "b.example", "e2")])

    notes = render(run, min_severity=Severity.LOW, always=False, max_bytes=20_000)

    assert len(notes) > 9  # two-digit part numbers make the longest subject
    for note in notes:
        assert len(note.subject) < 100
        assert note.subject.isascii()
        assert not re.search(r"[\r\n]", note.subject)
    assert notes[-1].subject.endswith(f"[{len(notes)}/{len(notes)}]")


# --- how it fits ------------------------------------------------------------------------------------------------------


def test_given_5000_findings_then_they_split_into_parts_under_256_kb_holding_every_finding_once() -> None:
    run = summary(many_findings(1000), identities_audited=1000)

    notes = render(run, min_severity=Severity.LOW, always=False)

    assert len(notes) > 1
    assert all(note.size <= SNS_MAX_BYTES for note in notes)
    assert all(len(note.message.encode()) < SNS_MAX_BYTES for note in notes)
    parts = [machine(note) for note in notes]
    assert [(p["part"], p["parts"]) for p in parts] == [(k, len(notes)) for k in range(1, len(notes) + 1)]
    sent = [f for p in parts for f in p["findings"]]
    assert sorted(json.dumps(f, sort_keys=True) for f in sent) == sorted(
        json.dumps(f.to_dict(), sort_keys=True) for f in run.findings
    )
    emailed = "".join(bodies(note)["email"] for note in notes)
    assert emailed.count("  [") == 5000
    assert [n.attributes["part"]["StringValue"] for n in notes] == [
        f"{k}/{len(notes)}" for k in range(1, len(notes) + 1)
    ]
    assert len({chatbot(n)["metadata"]["threadId"] for n in notes}) == 1


def test_given_a_part_too_long_for_slack_then_the_digest_says_exactly_how_much_it_leaves_out() -> None:
    run = summary(many_findings(200), identities_audited=200)

    (note, *_) = render(run, min_severity=Severity.LOW, always=False)

    description = chatbot(note)["content"]["description"]
    assert len(description) <= SLACK_DESCRIPTION_MAX_CHARS
    part_findings = machine(note)["findings"]
    shown = len(re.findall(r"^:\w+: `", description, re.MULTILINE))
    identities_shown = len(re.findall(r"^\*d\d+\.example\.com\*$", description, re.MULTILINE))
    left = re.search(r"_\.\.\.(\d+) more findings on (\d+) identities are not shown here", description)
    assert left is not None
    assert shown + int(left.group(1)) == len(part_findings)
    assert identities_shown + int(left.group(2)) == len({f["identity"] for f in part_findings})


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
