"""Security Hub export through the real handler: moto's Security Hub (made faithful by tests/fidelity.py) holds one
active finding per open finding, run after run, and the resolved one archived; the report bucket keeps the run's
memory, which is how the second run knows what was resolved."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from core.adapters.securityhub import SecurityHubImporter
from core.kernel.errors import AwsError
from core.kernel.models import Code, Finding, IdentityKey
from core.report import asff
from tests import scenario

BUCKET = "ses-guard-reports"
ACCOUNT = "123456789012"  # moto's account, which STS answers for the test credentials
HUB = asff.Hub("aws", scenario.EU, ACCOUNT)
IMPORTS = {"service": "securityhub", "operation": "BatchImportFindings"}


@pytest.fixture
def hub(aws, monkeypatch) -> Any:
    """Security Hub enabled in the function's region, the export on, and a report bucket for the run's memory."""
    aws.client("s3").create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": scenario.EU})
    monkeypatch.setenv("REPORT_BUCKET", BUCKET)
    monkeypatch.setenv("SECURITY_HUB", "true")
    # A dry run: records a live run created would resolve findings too, and this test resolves exactly one.
    monkeypatch.setenv("DRY_RUN", "true")
    client = aws.client("securityhub", scenario.EU)
    client.enable_security_hub()
    return client


def held(client: Any) -> dict[str, dict[str, Any]]:
    """Every finding the hub holds, by Id."""
    return {f["Id"]: f for page in client.get_paginator("get_findings").paginate() for f in page["Findings"]}


def states(findings: dict[str, dict[str, Any]]) -> dict[str, tuple[str, str]]:
    return {i: (f["RecordState"], f["Compliance"]["Status"]) for i, f in findings.items()}


def synthetic(count: int) -> Iterator[dict[str, Any]]:
    for n in range(count):
        finding = Finding.about(IdentityKey(scenario.EU, f"d{n}.example.com"), Code.DMARC_MISSING, "no DMARC")
        yield asff.active(finding, HUB, "2026-12-01T06:00:00+00:00")


def test_given_two_runs_when_a_record_is_fixed_between_them_then_security_hub_archives_exactly_that_finding(
    aws, dns_server, run, hub
):
    world = scenario.build(aws, dns_server)
    first = run()
    open_ids = {f"ses-guard/{ACCOUNT}/{f['id']}" for f in first["findings"]}
    [missing] = [
        f
        for f in first["findings"]
        if (f["code"], f["identities"][0]["identity"]) == ("DMARC_MISSING", "legacy.example.org")
    ]
    fixed_id = f"ses-guard/{ACCOUNT}/{missing['id']}"
    # Its zone lives at another DNS provider: the owner publishes the record there, and the world sees it.
    world.dns.set("_dmarc.legacy.example.org", "TXT", ["v=DMARC1; p=reject; rua=mailto:dmarc@legacy.example.org"])

    after_first = held(hub)
    second = run()
    after_second = held(hub)

    # One active, failed finding per finding of the first run, named by its stable id.
    assert first["truncated"] is False
    assert first["errors"] == []
    assert set(after_first) == open_ids
    assert set(states(after_first).values()) == {("ACTIVE", "FAILED")}
    # The second run overwrote the same records: none added, the fixed one archived and passed, the rest untouched.
    assert second["errors"] == []
    assert {f"ses-guard/{ACCOUNT}/{f['id']}" for f in second["findings"]} == open_ids - {fixed_id}
    assert set(after_second) == open_ids
    assert states(after_second)[fixed_id] == ("ARCHIVED", "PASSED")
    assert {s for i, s in states(after_second).items() if i != fixed_id} == {("ACTIVE", "FAILED")}
    archived = after_second[fixed_id]
    assert archived["Title"] == after_first[fixed_id]["Title"] == "DMARC_MISSING: _dmarc.legacy.example.org"
    assert archived["Resources"] == after_first[fixed_id]["Resources"]
    assert archived["Resources"][0]["Id"] == f"arn:aws:ses:{scenario.EU}:{ACCOUNT}:identity/legacy.example.org"
    # Triage is the user's: no finding ever carried a Workflow from us.
    assert not any("Workflow" in f for f in [*after_first.values(), *after_second.values()])


def test_given_the_export_off_when_the_handler_runs_then_security_hub_is_never_called(
    aws, dns_server, run, hub, monkeypatch
):
    monkeypatch.setenv("SECURITY_HUB", "false")
    scenario.build(aws, dns_server)

    summary = run()

    assert summary["findings"]
    assert aws.calls.count(service="securityhub") == 1  # the fixture's EnableSecurityHub, nothing from the run
    assert held(hub) == {}


def test_given_security_hub_refusing_the_import_when_the_handler_runs_then_the_run_returns_with_an_error(
    aws, dns_server, run, hub
):
    scenario.build(aws, dns_server)
    aws.fail(
        "BatchImportFindings", "AccessDeniedException", "not authorized to perform BatchImportFindings", status=403
    )

    summary = run()

    [error] = summary["errors"]
    assert (error["scope"], error["subject"]) == ("security_hub", HUB.arn)
    assert "AccessDeniedException" in error["message"]
    assert f"{len(summary['findings'])} of {len(summary['findings'])} findings not imported" in error["message"]
    # Everything before the export is whole: the report, the findings and the memory.
    assert summary["report"].startswith(f"s3://{BUCKET}/")
    assert scenario.codes_by_identity(summary) == {k: v for k, v in scenario.EXPECTED.items() if v}


def test_given_security_hub_not_enabled_when_the_handler_runs_then_the_error_says_so(aws, dns_server, run, hub):
    hub.disable_security_hub()
    scenario.build(aws, dns_server)

    summary = run()

    [error] = summary["errors"]
    assert error["scope"] == "security_hub"
    assert "InvalidAccessException" in error["message"]


def test_given_more_findings_than_one_import_takes_when_exported_then_they_go_in_batches_of_100(aws, hub):
    importer = SecurityHubImporter(hub)

    imported = importer.import_findings(list(synthetic(250)))

    assert imported == 250
    assert aws.calls.count(**IMPORTS) == 3  # 100 + 100 + 50: the server refuses more than 100 in one call
    assert len(held(hub)) == 250


def test_given_findings_the_hub_refuses_one_by_one_when_exported_then_the_error_names_them_and_the_rest_land(aws, hub):
    findings = list(synthetic(5))
    findings[1] = {**findings[1], "Description": "x" * 1025}  # over ASFF's 1024 characters
    findings[3] = {**findings[3], "Title": "t" * 257}  # over 256 (botocore checks only presence, not lengths)

    with pytest.raises(AwsError) as raised:
        SecurityHubImporter(hub).import_findings(findings)

    message = str(raised.value)
    assert "2 of 5 findings not imported" in message
    assert findings[1]["Id"] in message
    assert findings[3]["Id"] in message
    assert set(held(hub)) == {findings[i]["Id"] for i in (0, 2, 4)}
