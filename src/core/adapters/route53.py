"""Reads Route 53 hosted zones and record sets; every call counted so a run can report it."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from core.adapters.aws import translated
from core.kernel.models import Change, RecordSet, Zone
from core.kernel.names import normalise

if TYPE_CHECKING:
    from mypy_boto3_route53 import Route53Client

PAGE_SIZE = 300  # record sets per ListResourceRecordSets page
_OCTAL = re.compile(r"\\([0-3][0-7]{2})")
T = TypeVar("T")


def decode_name(name: str) -> str:
    """A record name as Route 53 returns it, in comparable form: `\\052` and other `\\ooo` escapes decoded."""
    return normalise(_OCTAL.sub(lambda match: chr(int(match.group(1), 8)), name))


def zone_id(raw: str) -> str:
    """A hosted zone id without its `/hostedzone/` prefix."""
    return raw.rsplit("/", 1)[-1]


class Route53Zones:
    """Lists hosted zones and reads record sets through an injected client. `calls_made` counts API pages."""

    def __init__(self, client: Route53Client) -> None:
        self._client = client
        self.calls_made = 0

    def list_zones(self) -> list[Zone]:
        """Every hosted zone of the account, public and private (Config.PrivateZone tells them apart)."""
        zones: list[Zone] = []
        for page in self._pages("ListHostedZones", self._client.get_paginator("list_hosted_zones").paginate()):
            for raw in page.get("HostedZones", []):
                private = bool(raw.get("Config", {}).get("PrivateZone", False))
                count = int(raw.get("ResourceRecordSetCount", 0))
                zones.append(Zone(zone_id(raw["Id"]), normalise(raw["Name"]), private, count))
        return zones

    def record_sets(self, zone: Zone, names: Collection[str] | None = None) -> dict[tuple[str, str], RecordSet]:
        """The zone's record sets keyed by (decoded name, type); only those at `names` when given.

        Alias record sets carry `alias=True` and no values. Weighted or other routing sets sharing a name and type
        are rare for mail records; the last one read wins.
        """
        wanted = {normalise(name) for name in names} if names is not None else None
        if wanted is not None and len(wanted) < -(-zone.record_count // PAGE_SIZE):
            # A few names in a large zone: one short read per name costs fewer calls than every page of the zone.
            return {key: found for name in sorted(wanted) for key, found in self._at(zone, name).items()}
        records: dict[tuple[str, str], RecordSet] = {}
        paginator = self._client.get_paginator("list_resource_record_sets")
        for page in self._pages("ListResourceRecordSets", paginator.paginate(HostedZoneId=zone.id)):
            for raw in page.get("ResourceRecordSets", []):
                found = _record_set(raw)
                if wanted is None or found.name in wanted:
                    records[(found.name, found.type)] = found
        return records

    def _at(self, zone: Zone, name: str) -> dict[tuple[str, str], RecordSet]:
        """The record sets at one name. Route 53 lists in name order from StartRecordName, so the name's own sets
        come first; the read stops at the first set of another name."""
        records: dict[tuple[str, str], RecordSet] = {}
        request: dict[str, Any] = {"HostedZoneId": zone.id, "MaxItems": "10", "StartRecordName": name}
        while True:
            self.calls_made += 1
            with translated("route53", "ListResourceRecordSets"):
                page = self._client.list_resource_record_sets(**request)
            for raw in page.get("ResourceRecordSets", []):
                found = _record_set(raw)
                if found.name != name:
                    return records
                records[(found.name, found.type)] = found
            if not page.get("IsTruncated"):
                return records
            request.update(StartRecordName=page["NextRecordName"], StartRecordType=page["NextRecordType"])

    def apply(self, zone: Zone, changes: Sequence[Change]) -> str:
        """One atomic ChangeResourceRecordSets call; returns the change id. CREATE and UPSERT only, by design."""
        batch = [
            {
                "Action": change.action,
                "ResourceRecordSet": {
                    "Name": change.name,
                    "Type": change.type,
                    "TTL": change.ttl,
                    "ResourceRecords": [{"Value": value} for value in change.values],
                },
            }
            for change in changes
        ]
        comment = "ses-guard: " + ", ".join(sorted({c.reason.value for c in changes}))
        self.calls_made += 1
        response = _translated(
            "ChangeResourceRecordSets",
            lambda: self._client.change_resource_record_sets(
                HostedZoneId=zone.id,
                ChangeBatch={"Comment": comment[:256], "Changes": batch},  # type: ignore[typeddict-item]
            ),
        )
        return str(response["ChangeInfo"]["Id"])

    def _pages(self, operation: str, pages: Iterable[Any]) -> Iterator[dict[str, Any]]:
        """Each page of a paginated call, counted; the paginator sends a request as each page is taken."""
        iterator = iter(pages)
        while True:
            page = _translated(operation, lambda: next(iterator, None))
            if page is None:
                return
            self.calls_made += 1
            yield page


def _record_set(raw: Mapping[str, Any]) -> RecordSet:
    return RecordSet(
        name=decode_name(raw["Name"]),
        type=raw["Type"],
        ttl=raw.get("TTL"),
        values=tuple(record["Value"] for record in raw.get("ResourceRecords", [])),
        alias="AliasTarget" in raw,
    )


def _translated(operation: str, call: Callable[[], T]) -> T:
    with translated("route53", operation):
        return call()
