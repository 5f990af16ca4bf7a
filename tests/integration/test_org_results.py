"""The Distributed Map's ResultWriter files, read back from S3 as TargetResults: streamed, and never failing the
summary over one bad file or one bad execution."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from core.adapters import orgresults
from core.adapters.orgresults import MapResults, write_targets
from core.kernel.org import Target, TargetResult

BUCKET = "org-results-test"
EU = "eu-west-1"


@pytest.fixture
def s3(aws):
    client = aws.client("s3")
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": EU})
    return client


def execution(account: str, status: str, **rest: Any) -> dict[str, Any]:
    return {
        "ExecutionArn": f"arn:aws:states:{EU}:123456789012:execution:org/Map:{uuid.uuid4()}",
        "Input": json.dumps({"target": {"account": account, "region": EU}, "org_run": "run"}),
        "InputDetails": {"Included": True},
        "Name": str(uuid.uuid4()),
        "StartDate": "2026-12-01T06:00:00.000Z",
        "StateMachineArn": f"arn:aws:states:{EU}:123456789012:stateMachine:org/Map",
        "Status": status,
        "StopDate": "2026-12-01T06:00:09.000Z",
        **rest,
    }


def put(s3, key: str, data) -> dict[str, Any]:
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    return {"Key": key, "Size": len(body)}


def manifest(s3, **files) -> str:
    put(s3, "org-results/m/manifest.json", {
        "DestinationBucket": BUCKET,
        "MapRunArn": f"arn:aws:states:{EU}:123456789012:mapRun:org/Map:m",
        "ResultFiles": {"FAILED": [], "PENDING": [], "SUCCEEDED": [], **files},
    })  # fmt: skip
    return "org-results/m/manifest.json"


def ok(account: str, high: int = 0) -> str:
    return json.dumps(TargetResult(account, EU, unfixed={"HIGH": high}).to_dict())


def test_given_result_files_when_read_in_small_chunks_then_every_execution_becomes_a_target_result(s3, monkeypatch):
    monkeypatch.setattr(orgresults, "CHUNK", 7)  # every record spans many chunks, multi-byte characters included
    succeeded = [execution(f"{i:012d}", "SUCCEEDED", Output=ok(f"{i:012d}", i)) for i in range(1, 40)]
    succeeded[3]["Name"] = "exécution-é"
    # lambda:invoke's whole response, when the Task keeps it: the function's result is its Payload.
    wrapped = {"ExecutedVersion": "$LATEST", "Payload": json.loads(ok("000000000077")), "StatusCode": 200}
    succeeded.append(execution("000000000077", "SUCCEEDED", Output=json.dumps(wrapped)))
    failed = [execution("000000000099", "FAILED", Error="Lambda.Unknown", Cause="timed out after 900 s")]
    key = manifest(
        s3,
        SUCCEEDED=[put(s3, "org-results/m/SUCCEEDED_0.json", succeeded)],
        FAILED=[put(s3, "org-results/m/FAILED_0.json", failed)],
    )

    reader = MapResults(s3, BUCKET, key)
    results = list(reader)

    assert reader.errors == []
    assert [r.account for r in results] == [f"{i:012d}" for i in range(1, 40)] + ["000000000077", "000000000099"]
    assert results[5].unfixed == {"HIGH": 6}
    assert results[-1].status == "failed"
    assert "Lambda.Unknown: timed out after 900 s" in results[-1].errors[0]


def test_given_a_bad_file_or_a_bad_output_when_read_then_the_rest_is_kept_and_the_problem_said(s3):
    good = put(
        s3, "org-results/m/SUCCEEDED_1.json", [execution("000000000001", "SUCCEEDED", Output=ok("000000000001"))]
    )
    odd = put(s3, "org-results/m/SUCCEEDED_2.json", [execution("000000000002", "SUCCEEDED", Output='{"hello": 1}')])
    cut = put(s3, "org-results/m/SUCCEEDED_3.json", b'[{"Status": "SUCCEEDED", "Output": "{}"')
    missing = {"Key": "org-results/m/SUCCEEDED_4.json", "Size": 10}
    pending = put(s3, "org-results/m/PENDING_0.json", [execution("000000000005", "PENDING")])
    key = manifest(s3, SUCCEEDED=[good, odd, cut, missing], PENDING=[pending])

    reader = MapResults(s3, BUCKET, key)
    results = list(reader)

    assert [(r.account, r.status) for r in results] == [
        ("000000000001", "ok"), ("000000000002", "failed"), ("000000000005", "failed")
    ]  # fmt: skip
    assert "not a target result" in results[1].errors[0]
    assert "pending" in results[2].errors[0]
    assert len(reader.errors) == 2
    assert "SUCCEEDED_3.json" in reader.errors[0]
    assert "cut short" in reader.errors[0]
    assert "SUCCEEDED_4.json" in reader.errors[1]
    assert "NoSuchKey" in reader.errors[1]


def test_given_no_manifest_when_read_then_no_results_and_the_error_names_it(s3):
    reader = MapResults(s3, BUCKET, "org-results/none/manifest.json")

    assert list(reader) == []
    [error] = reader.errors
    assert "org-results/none/manifest.json" in error
    assert "NoSuchKey" in error


def test_given_targets_when_written_then_the_map_reads_a_json_array_of_account_and_region(s3):
    key = write_targets(s3, BUCKET, "run-1", [Target("000000000001", EU), Target("000000000002", "us-east-1")])

    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert key == "org/run-1/targets.json"
    assert json.loads(body) == [
        {"account": "000000000001", "region": EU}, {"account": "000000000002", "region": "us-east-1"}
    ]  # fmt: skip
