"""Turns one identity's observations into findings: pure, and the single place the checks are composed."""

from __future__ import annotations

from collections.abc import Iterable

from core.checks.dkim import check_dkim
from core.checks.dmarc import check_dmarc
from core.checks.mailfrom import check_mail_from
from core.checks.zone import check_zone
from core.kernel.models import Code, DomainObservation, Finding, Identity, Record, ZoneView


def evaluate_domain(
    identity: Identity, obs: DomainObservation, view: ZoneView, *, dmarc_policy: str = "none", dmarc_rua: str = ""
) -> list[Finding]:
    """`dmarc_policy` and `dmarc_rua` shape the DMARC record a DMARC_MISSING finding asks for."""
    findings = [
        *check_dkim(identity, obs, view),
        *check_mail_from(identity, obs, view),
        *check_dmarc(identity, obs, view, policy=dmarc_policy, rua=dmarc_rua),
    ]
    return merge([*findings, *check_zone(identity, obs, view, findings)])


def check_failed(identity: Identity, reason: str) -> Finding:
    return Finding(Code.CHECK_FAILED, identity.name, identity.region, reason)


def merge(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per (identity, region, code): several causes of one code become one finding."""
    merged: dict[tuple[str, str, Code], Finding] = {}
    for finding in findings:
        key = (finding.identity, finding.region, finding.code)
        earlier = merged.get(key)
        if earlier is None:
            merged[key] = finding
            continue
        merged[key] = Finding(
            finding.code,
            finding.identity,
            finding.region,
            f"{earlier.message} {finding.message}",
            fixable=earlier.fixable and finding.fixable,
            records=_union(earlier.records, finding.records),
        )
    return list(merged.values())


def _union(first: tuple[Record, ...], second: tuple[Record, ...]) -> tuple[Record, ...]:
    return tuple(dict.fromkeys((*first, *second)))
