"""Turns one identity's observations into findings: pure, and the single place the checks are composed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from core.checks.dkim import check_dkim
from core.checks.dmarc import check_dmarc
from core.checks.inbox import check_receiving
from core.checks.mailfrom import check_mail_from
from core.checks.zone import check_zone
from core.kernel.models import Code, DomainObservation, Finding, Identity, ZoneView


def evaluate_domain(
    identity: Identity,
    obs: DomainObservation,
    view: ZoneView,
    *,
    dmarc_policy: str = "none",
    dmarc_rua: str = "",
    reports_address: str = "",
    receiving_region: str = "",
) -> list[Finding]:
    """`dmarc_policy` and `dmarc_rua` shape the DMARC record a DMARC_MISSING finding asks for; `reports_address`,
    received by SES in `receiving_region`, makes its domain need an MX to SES."""
    findings = [
        *check_dkim(identity, obs, view),
        *check_mail_from(identity, obs, view),
        *check_dmarc(identity, obs, view, policy=dmarc_policy, rua=dmarc_rua),
        *check_receiving(identity, obs, view, address=reports_address, region=receiving_region),
    ]
    return merge([*findings, *check_zone(identity, view, findings)])


def check_failed(identity: Identity, reason: str) -> Finding:
    return Finding.about(identity.key, Code.CHECK_FAILED, reason)


def merge(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per root cause: the same code about the same shared name (or the same identity) is one finding,
    for every identity it affects, whatever region they are in."""
    groups: dict[tuple[str, ...], list[Finding]] = {}
    for finding in findings:
        groups.setdefault(finding.group, []).append(finding)
    return [_joined(parts) if len(parts) > 1 else parts[0] for parts in groups.values()]


def _joined(parts: list[Finding]) -> Finding:
    return replace(
        parts[0],
        identities=tuple(dict.fromkeys(key for part in parts for key in part.identities)),
        message=" ".join(dict.fromkeys(part.message for part in parts)),
        fixable=all(part.fixable for part in parts),
        fixed=all(part.fixed for part in parts),
        records=tuple(dict.fromkeys(record for part in parts for record in part.records)),
        ttl=max(part.ttl for part in parts),
    )
