"""The invocation event, validated before any work starts."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.kernel.errors import ConfigError, EventError
from core.kernel.names import identity_pattern
from core.kernel.org import Target
from core.kernel.settings import parse_regions

_MANUAL_KEYS = frozenset({"dry_run", "regions", "identities", "target", "org_run"})
# A Step Functions execution name as org mode uses it: in S3 keys and in the member role's session name.
_ORG_RUN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.=@+-]{0,79}$")
# EventBridge delivers these envelope keys for scheduled rules; their content carries no request.
_EVENTBRIDGE_KEYS = frozenset(
    {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
)
LIVE_RUN_REFUSED = (
    "dry_run false refused: this function is deployed with DRY_RUN=true (the stack's DryRun parameter), and an "
    "event may narrow the deployed mode but never widen it (the function's role holds no Route 53 or SES write "
    "permission). To let ses-guard write, update the stack with DryRun=false: "
    "sam deploy --parameter-overrides DryRun=false. To plan only, leave dry_run out or send true"
)


@dataclass(frozen=True)
class RunRequest:
    """What one invocation asks for; None means "as configured"."""

    dry_run: bool | None = None
    regions: tuple[str, ...] | None = None
    identities: tuple[str, ...] | None = None
    target: Target | None = None  # organisation mode: the one account and region this invocation audits
    org_run: str = ""  # organisation mode: the run (the state machine's execution name) the target belongs to


def parse_event(
    event: Any,
    *,
    writes_allowed: bool = True,
    configured_regions: tuple[str, ...] = ("all",),
    org_mode: bool = False,
) -> RunRequest:
    """`{}` or an EventBridge/Scheduler event is a full run; a manual event may narrow or dry-run it.

    `writes_allowed=False` is a deployment that only plans: an event asking for a live run is refused here, before
    any work, rather than failing on the role's missing permissions halfway through a run. Likewise an event's
    regions must lie within `configured_regions` (AUDIT_REGIONS): it may narrow the audit, never widen it."""
    if event is None:
        return RunRequest()
    if not isinstance(event, Mapping):
        raise EventError(f"event must be a JSON object, got {type(event).__name__}")
    if "detail-type" in event and "source" in event:
        return _scheduled(event)
    unknown = set(event) - _MANUAL_KEYS
    if unknown:
        raise EventError(
            f"unknown keys in event: {', '.join(sorted(map(str, unknown)))}; allowed: dry_run, regions, identities, "
            "target, org_run"
        )
    if "target" in event or "org_run" in event:
        _check_target_event(event, org_mode)
    request = RunRequest(
        dry_run=_dry_run(event["dry_run"]) if "dry_run" in event else None,
        regions=_regions(event["regions"]) if "regions" in event else None,
        identities=_identities(event["identities"]) if "identities" in event else None,
        target=Target.from_dict(event["target"]) if "target" in event else None,
        org_run=org_run(event["org_run"]) if "org_run" in event else "",
    )
    if request.dry_run is False and not writes_allowed:
        raise EventError(LIVE_RUN_REFUSED)
    asked = request.regions or ((request.target.region,) if request.target else ())
    wider = sorted(set(asked) - set(configured_regions)) if configured_regions != ("all",) else []
    if wider:
        raise EventError(
            f"regions {', '.join(wider)} refused: this function audits {', '.join(configured_regions)} "
            "(AUDIT_REGIONS, the stack's AuditRegions parameter), and an event may narrow that, never widen it"
        )
    return request


def _check_target_event(event: Mapping[str, Any], org_mode: bool) -> None:
    if not org_mode:
        raise EventError(
            "target refused: this function audits its own account only (MEMBER_ROLE_NAME is not set; the stack's "
            "OrgMode parameter turns organisation mode on)"
        )
    if "target" not in event:
        raise EventError('org_run needs a target: {"target": {"account": ..., "region": ...}, "org_run": ...}')
    if "regions" in event:
        raise EventError("a target event names its one region in target.region; regions is not allowed with it")


def org_run(value: Any) -> str:
    """An org run's name (the state machine's execution name): it goes into S3 keys and a role session name."""
    if not isinstance(value, str) or not _ORG_RUN.match(value):
        raise EventError(
            f"org_run must be 1 to 80 letters, digits and _.=@+- (not starting with one of those signs), got "
            f"{_shown(value)}"
        )
    return value


def _scheduled(event: Mapping[str, Any]) -> RunRequest:
    unknown = set(event) - _EVENTBRIDGE_KEYS
    if unknown:
        raise EventError(f"unknown keys in scheduled event: {', '.join(sorted(map(str, unknown)))}")
    for key in ("detail-type", "source"):
        if not isinstance(event[key], str):
            raise EventError(f"scheduled event: {key} must be a string, got {_shown(event[key])}")
    if not isinstance(event.get("detail", {}), Mapping):
        raise EventError(f"scheduled event: detail must be a JSON object, got {_shown(event['detail'])}")
    return RunRequest()


def _shown(value: Any) -> str:
    """A value as the caller wrote it: JSON (null, "yes"), not Python (None, 'yes')."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _dry_run(value: Any) -> bool:
    # A present key must hold a real boolean: null would otherwise fall back to the configured mode in silence.
    if not isinstance(value, bool):
        raise EventError(f"dry_run must be true or false, got {_shown(value)}")
    return value


def _strings(key: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise EventError(f"{key} must be a non-empty list of non-empty strings, got {_shown(value)}")
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
