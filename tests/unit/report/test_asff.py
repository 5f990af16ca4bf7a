"""Findings as ASFF: the required attributes, a stable Id shared by the open and the resolved record, the limits
Security Hub enforces, and nothing of what belongs to the user's triage."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.kernel.models import Code, Finding, IdentityKey, Resolved, Severity, Suppression
from core.report import asff
from tests.unit.report.sample import APEX, EU, MX_MISSING, POLICY_NONE, SHOP

HUB = asff.Hub("aws", EU, "123456789012")
NOW = "2026-12-02T06:00:00+00:00"
FIRST = "2026-11-20T06:00:00+00:00"
REQUIRED = {"SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId", "Types", "CreatedAt", "UpdatedAt",
            "Severity", "Title", "Description", "Resources"}  # fmt: skip
# What Security Hub's customers own; a finding provider that sends them overrides the user's triage on creation.
USER_OWNED = {"Workflow", "WorkflowState", "Note", "UserDefinedFields", "VerificationState"}


def resolved_of(finding: Finding, last_seen: str = "2026-12-01T06:00:00+00:00") -> Resolved:
    """The memory's record of a finding that is gone, as the run hands it over."""
    return Resolved(finding.id, finding.code, finding.topic, finding.severity, FIRST, last_seen)


def test_given_an_open_finding_when_rendered_then_it_is_an_active_failed_asff_finding_of_this_account():
    finding = replace(POLICY_NONE, first_seen=FIRST, status="open")

    document = asff.active(finding, HUB, NOW)

    assert set(document) >= REQUIRED
    assert document["SchemaVersion"] == "2018-10-08"
    assert document["Id"] == f"ses-guard/123456789012/{finding.id}"
    assert document["ProductArn"] == "arn:aws:securityhub:eu-west-1:123456789012:product/123456789012/default"
    assert document["AwsAccountId"] == "123456789012"
    assert document["GeneratorId"] == "ses-guard/DMARC_POLICY_NONE"
    assert document["Title"] == "DMARC_POLICY_NONE: _dmarc.example.com"
    assert document["Description"] == finding.message
    assert document["Severity"] == {"Label": "LOW"}
    assert document["FindingProviderFields"]["Severity"] == {"Label": "LOW"}
    assert document["Types"] == [asff.TYPE] == document["FindingProviderFields"]["Types"]
    assert (document["CreatedAt"], document["UpdatedAt"]) == (FIRST, NOW)
    assert (document["RecordState"], document["Compliance"]) == ("ACTIVE", {"Status": "FAILED"})
    assert document["Resources"] == [
        {"Type": "Other", "Id": "arn:aws:ses:eu-west-1:123456789012:identity/example.com", "Region": EU},
        {"Type": "Other", "Id": "arn:aws:ses:eu-west-1:123456789012:identity/shop.example.com", "Region": EU},
    ]
    assert document["ProductFields"]["ses-guard/Subject"] == "_dmarc.example.com"
    assert document["ProductFields"]["ses-guard/Code"] == "DMARC_POLICY_NONE"
    assert not USER_OWNED & set(document)


@pytest.mark.parametrize(("severity", "finding"), [("HIGH", MX_MISSING), ("LOW", POLICY_NONE)])
def test_given_a_finding_when_rendered_then_its_severity_label_is_the_catalogue_severity(severity, finding):
    assert asff.active(finding, HUB, NOW)["Severity"] == {"Label": severity}


def test_given_a_finding_with_records_to_create_when_rendered_then_the_recommendation_names_them():
    document = asff.active(MX_MISSING, HUB, NOW)

    text = document["Remediation"]["Recommendation"]["Text"]
    assert "bounce.shop.example.com MX 10 feedback-smtp.eu-west-1.amazonses.com" in text


def test_given_a_finding_in_another_partition_when_rendered_then_every_arn_is_of_that_partition():
    hub = asff.Hub("aws-cn", "cn-north-1", "123456789012")
    finding = Finding.about(IdentityKey("cn-north-1", "example.cn"), Code.DMARC_MISSING, "no DMARC")

    document = asff.active(finding, hub, NOW)

    assert document["ProductArn"].startswith("arn:aws-cn:securityhub:cn-north-1:")
    assert document["Resources"][0]["Id"] == "arn:aws-cn:ses:cn-north-1:123456789012:identity/example.cn"


def test_given_a_resolved_finding_when_rendered_then_it_overwrites_the_open_one_archived_and_passed():
    finding = replace(POLICY_NONE, first_seen=FIRST)
    opened = asff.active(finding, HUB, "2026-12-01T06:00:00+00:00")

    document = asff.resolved(resolved_of(finding), finding.identities, HUB, NOW)

    # Same Id and ProductArn: Security Hub updates the record it holds rather than adding one.
    assert (document["Id"], document["ProductArn"]) == (opened["Id"], opened["ProductArn"])
    assert (document["RecordState"], document["Compliance"]) == ("ARCHIVED", {"Status": "PASSED"})
    assert (document["Title"], document["GeneratorId"]) == (opened["Title"], opened["GeneratorId"])
    assert document["Resources"] == opened["Resources"]
    assert document["Severity"] == opened["Severity"]
    assert (document["CreatedAt"], document["UpdatedAt"]) == (FIRST, NOW)
    assert "Resolved" in document["Description"]
    # Every key the open record had is sent again, so nothing stale survives a hub that merges updates.
    assert set(document) == set(opened)
    assert not USER_OWNED & set(document)


def test_given_a_resolved_finding_whose_identities_are_unknown_when_rendered_then_its_subject_is_the_resource():
    document = asff.resolved(resolved_of(POLICY_NONE), (), HUB, NOW)

    assert document["Resources"] == [{"Type": "Other", "Id": "_dmarc.example.com", "Region": EU}]


def test_given_a_suppressed_finding_when_rendered_then_it_is_archived_but_still_failed():
    finding = replace(MX_MISSING, suppressed=Suppression("migrating mail provider", "2027-01-31"))

    document = asff.active(finding, HUB, NOW)

    assert (document["RecordState"], document["Compliance"]) == ("ARCHIVED", {"Status": "FAILED"})
    assert document["Description"].startswith("Accepted until 2027-01-31: migrating mail provider.")
    assert document["ProductFields"]["ses-guard/Status"] == "suppressed"


def test_given_a_finding_never_recalled_when_rendered_then_it_was_created_now():
    assert asff.active(MX_MISSING, HUB, NOW)["CreatedAt"] == NOW  # first_seen is "" outside a run with memory


def test_given_a_finding_shared_by_more_identities_than_asff_holds_when_rendered_then_the_description_says_so():
    keys = tuple(IdentityKey(EU, f"d{n}.example.com") for n in range(3000))
    finding = Finding(Code.DMARC_POLICY_NONE, keys, "p=none " * 400, subject="_dmarc.example.com")

    document = asff.active(finding, HUB, NOW)

    assert len(document["Resources"]) == asff.MAX_RESOURCES == 32
    assert document["Resources"][0]["Id"].endswith("identity/d0.example.com")
    assert len(document["Description"]) <= 1024
    assert document["Description"].endswith("(Resources lists 32 of the 3000 identities it affects.)")
    assert document["ProductFields"]["ses-guard/Identities"] == "3000"


def test_given_the_longest_finding_ses_guard_can_produce_when_rendered_then_it_is_well_under_the_import_limits():
    # Names as long as DNS and SES allow (253-character domains, 320-character addresses), a message far over the
    # Description limit and records far over the Recommendation limit.
    label = "a" * 63
    domain = ".".join([label, label, label, "a" * 57]) + ".com"
    address = f"{'b' * 64}@{domain}"[:320]
    keys = tuple(IdentityKey("ap-southeast-5", name) for n in range(50) for name in (f"{n}{domain}"[:253], address))
    records = tuple(replace(r, name=domain, values=("v" * 2000,)) for r in MX_MISSING.records * 40)
    finding = Finding(Code.DMARC_MISSING, keys, "m" * 100_000, subject=domain, records=records)

    document = asff.active(finding, HUB, NOW)

    assert len(document["Title"]) <= 256
    assert len(document["Remediation"]["Recommendation"]["Text"]) <= 512
    assert asff.size(document) <= asff.MAX_BYTES
    # A full batch of the largest findings stays under BatchImportFindings' 6 MB per request.
    assert 100 * asff.MAX_BYTES < 6 * 1024 * 1024


def test_given_a_finding_larger_than_the_budget_when_rendered_then_it_is_refused_rather_than_sent(monkeypatch):
    monkeypatch.setattr(asff, "MAX_BYTES", 1024)

    with pytest.raises(ValueError, match="over 1024"):
        asff.active(POLICY_NONE, HUB, NOW)


def test_given_findings_of_every_severity_when_rendered_then_each_label_is_a_security_hub_label():
    labels = {
        asff.active(Finding.about(APEX, code, "x"), HUB, NOW)["Severity"]["Label"]
        for code in (Code.DMARC_MISSING, Code.DKIM_KEY_WEAK, Code.DMARC_POLICY_NONE)
    }

    assert labels == {s.value for s in Severity} <= {"INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"}


def test_given_the_same_root_cause_in_two_runs_when_rendered_then_the_id_is_the_same():
    later = Finding.about(SHOP, MX_MISSING.code, "a reworded message", fixable=True)

    assert asff.active(later, HUB, NOW)["Id"] == asff.active(MX_MISSING, HUB, FIRST)["Id"]
