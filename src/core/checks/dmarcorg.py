"""DMARC_MISSING across identities: where several domains under one organisational domain have no policy, one record
at the organisational domain would cover them all (RFC 9989: a domain without a record of its own takes its
organisational domain's). The per-domain findings say so; with DMARC_RECORD_AT=organisation they become one finding
that asks for that one record instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace

from core.kernel.models import Code, Finding, IdentityKey, Record, ZoneView
from core.rules.dmarcrecord import organisational_domain
from core.rules.required import dmarc_name, dmarc_value
from core.rules.safety import blocker

_SHOWN = 5  # domains named in a message; the rest are counted


def by_organisation(
    findings: Sequence[Finding],
    *,
    policy: str,
    rua: str,
    at_organisation: bool,
    view_of: Callable[[IdentityKey], ZoneView | None],
) -> list[Finding]:
    groups: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.code is Code.DMARC_MISSING and finding.subject:
            groups[organisational_domain(finding.subject.removeprefix("_dmarc."))].append(finding)
    replaced: dict[int, Finding | None] = {}
    for org, group in groups.items():
        domains = sorted({f.subject.removeprefix("_dmarc.") for f in group})
        record = Record(dmarc_name(org), "TXT", (dmarc_value(policy, rua),))
        if at_organisation and domains != [org]:
            replaced |= {id(f): None for f in group}
            replaced[id(group[0])] = _one_for_all(org, domains, group, record, view_of(group[0].key))
        elif len(domains) > 1:
            hint = (
                f" One record at {record.name} would give all {len(domains)} domains under {org} without a policy one "
                "(DMARC_RECORD_AT=organisation makes ses-guard create that one instead)."
            )
            replaced |= {id(f): replace(f, message=f.message + hint) for f in group}
    result = []
    for finding in findings:
        new = replaced.get(id(finding), finding)
        if new is not None:
            result.append(new)
    return result


def _one_for_all(org: str, domains: list[str], group: list[Finding], record: Record, view: ZoneView | None) -> Finding:
    reason = blocker(view, record) if view is not None else "Route 53 could not be read"
    named = ", ".join(domains[:_SHOWN]) + (f" and {len(domains) - _SHOWN} more" if len(domains) > _SHOWN else "")
    return Finding(
        Code.DMARC_MISSING,
        tuple(dict.fromkeys(key for f in group for key in f.identities)),
        f"No DMARC policy applies to {len(domains)} domain(s) under {org} ({named}): one record at {record.name} "
        "gives them all one." + (f" It cannot be created automatically: {reason}." if reason else ""),
        subject=record.name,
        fixable=not reason,
        records=(record,),
    )
