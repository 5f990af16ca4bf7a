"""S3 event notifications shaped as S3 delivers them to Lambda (event structure version 2.1)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote_plus

ACCOUNT = "123456789012"


def object_created(bucket: str, *keys: str, size: int = 1024, event_name: str = "ObjectCreated:Put") -> dict[str, Any]:
    """One record per key; S3 sends each key form-encoded (a space as "+", a "+" as "%2B")."""
    return {"Records": [_record(bucket, key, size, event_name, index) for index, key in enumerate(keys)]}


def _record(bucket: str, key: str, size: int, event_name: str, index: int) -> dict[str, Any]:
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "eu-west-1",
        "eventTime": "2026-12-01T06:00:00.000Z",
        "eventName": event_name,
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "192.0.2.10"},
        "responseElements": {
            "x-amz-request-id": f"C3D13FE58DE4C81{index}",
            "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD",
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "reports-inbox",
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": {
                "key": quote_plus(key, safe="/"),
                "size": size,
                "eTag": "0123456789abcdef0123456789abcdef",
                "sequencer": f"0A1B2C3D4E5F67890{index}",
            },
        },
    }


def s3_test_event() -> dict[str, Any]:
    """What S3 sends once when a notification configuration is saved."""
    return {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": "2026-12-01T06:00:00.000Z",
        "Bucket": "ses-guard-reports",
        "RequestId": "5582815E1AEA5ADF",
        "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
    }
