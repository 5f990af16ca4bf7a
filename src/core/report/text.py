"""How findings read as text, the same in every renderer: records labelled by role, long values shortened, the
identities a shared finding affects."""

from __future__ import annotations

import json
from collections.abc import Sequence

from core.kernel.models import Finding, Record, SkippedRegion, SkippedZone

LONG_VALUE = 80  # longer values (DKIM keys) are shortened in text; JSON keeps them whole
_KEY_PREFIX = 16


def value_text(rtype: str, value: str) -> str:
    if len(value) > LONG_VALUE:
        value = _short(value)
    return json.dumps(value, ensure_ascii=False) if rtype == "TXT" else value


def _short(value: str) -> str:
    head, found, key = value.partition("p=")
    if found and len(key) > _KEY_PREFIX:
        return f"{head}p={key[:_KEY_PREFIX]}... ({len(key)}-character key)"
    return f"{value[:LONG_VALUE]}... ({len(value)} characters)"


def record_text(record: Record) -> str:
    values = " | ".join(value_text(record.type, v) for v in record.values) or "(nothing)"
    return f"{record.name} {record.type} {values}"


def record_line(finding: Finding, record: Record) -> str:
    """`now:` for what is there, `needed:` for what must exist, and who makes it exist."""
    if record.role == "found":
        return f"now:    {record_text(record)}"
    return f"needed: {record_text(record)}  ({who(finding)})"


def who(finding: Finding) -> str:
    """Who makes a finding's required records exist."""
    if finding.fixed:
        return "created by ses-guard in this run"
    if finding.fixable:
        return "ses-guard creates it on a live run"
    return "set by hand"


def by_hand(finding: Finding) -> list[Record]:
    """The required records a person must set: those ses-guard could not create."""
    return [] if finding.fixable or finding.fixed else list(finding.required())


def affected(finding: Finding, limit: int = 3) -> str:
    """`a.example.com (eu-west-1)`, or the first few of many and how many more."""
    names = [f"{key.name} ({key.region})" for key in finding.identities[:limit]]
    more = len(finding.identities) - limit
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def skipped_zones(skipped: Sequence[SkippedZone], limit: int = 5) -> str:
    """`1 zone skipped, nothing written there: example.net (receivers may not see ...)`, or ""."""
    if not skipped:
        return ""
    count = f"{len(skipped)} zone{'' if len(skipped) == 1 else 's'}"
    more = f"; {len(skipped) - limit} more in the report" if len(skipped) > limit else ""
    return f"{count} skipped, nothing written there: {'; '.join(map(str, skipped[:limit]))}{more}"


def skipped_regions(skipped: Sequence[SkippedRegion]) -> str:
    """`2 regions skipped, not enabled in this account: ap-east-2 (disabled), me-central-1 (enabling)`, or ""."""
    if not skipped:
        return ""
    count = f"{len(skipped)} region{'' if len(skipped) == 1 else 's'}"
    return f"{count} skipped, not enabled in this account: {', '.join(map(str, skipped))}"
