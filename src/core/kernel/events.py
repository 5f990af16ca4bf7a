"""The invocation event, validated before any work starts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.kernel.errors import ConfigError, EventError
from core.kernel.names import identity_pattern
from core.kernel.settings import parse_regions

_MANUAL_KEYS = frozenset({"dry_run", "regions", "identities"})
# EventBridge delivers these envelope keys for scheduled rules; their content carries no request.
_EVENTBRIDGE_KEYS = frozenset(
    {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
)


@dataclass(frozen=True)
class RunRequest:
    """What one invocation asks for; None means "as configured"."""

    dry_run: bool | None = None
    regions: tuple[str, ...] | None = None
    identities: tuple[str, ...] | None = None


def parse_event(event: Any) -> RunRequest:
    """`{}` or an EventBridge/Scheduler event is a full run; a manual event may narrow or dry-run it."""
    if event is None:
        return RunRequest()
    if not isinstance(event, Mapping):
        raise EventError(f"event must be a JSON object, got {type(event).__name__}")
    if "detail-type" in event and "source" in event:
        unknown = set(event) - _EVENTBRIDGE_KEYS
        if unknown:
            raise EventError(f"unknown keys in scheduled event: {', '.join(sorted(unknown))}")
        return RunRequest()
    unknown = set(event) - _MANUAL_KEYS
    if unknown:
        raise EventError(
            f"unknown keys in event: {', '.join(sorted(map(str, unknown)))}; allowed: dry_run, regions, identities"
        )
    dry_run = event.get("dry_run")
    if dry_run is not None and not isinstance(dry_run, bool):
        raise EventError(f"dry_run must be true or false, got {dry_run!r}")
    return RunRequest(
        dry_run=dry_run,
        regions=_regions(event["regions"]) if "regions" in event else None,
        identities=_identities(event["identities"]) if "identities" in event else None,
    )


def _strings(key: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise EventError(f"{key} must be a non-empty list of non-empty strings, got {value!r}")
    return [v.strip() for v in value]


def _regions(value: Any) -> tuple[str, ...]:
    try:
        return parse_regions("regions", ",".join(_strings("regions", value)), "")
    except ConfigError as err:
        raise EventError(str(err)) from None


def _identities(value: Any) -> tuple[str, ...]:
    patterns = []
    for raw in _strings("identities", value):
        # A list typed as one string, or a name pasted with a blank, would otherwise match nothing in silence.
        if any(c.isspace() or c == "," for c in raw):
            raise EventError(f"identities: {raw!r} is not one identity name or glob")
        if raw.count("[") != raw.count("]"):
            raise EventError(f"identities: {raw!r} has an unclosed [ ] in its glob")
        patterns.append(identity_pattern(raw))
    return tuple(dict.fromkeys(patterns))
