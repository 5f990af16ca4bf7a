"""Deterministic Easy DKIM: finding the identities that copy DKIM from a parent in another region, cheaply.

The v1 batch call gives tokens but no SigningAttributesOrigin. A replica's tokens are its parent's (the same-named
identity in the parent region), while two identities with Easy DKIM of their own never share tokens. So an
identity whose tokens equal those of its namesake in another audited region is a candidate, and only candidates
need a GetEmailIdentity call, and only one per name: it tells the parent region, which settles the others.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

from core.kernel.models import Identity, IdentityKey


def _groups(identities: Sequence[Identity]) -> list[list[Identity]]:
    """Domain identities of one name sharing their tokens across two regions or more: a parent and its replicas."""
    by_tokens: dict[tuple[str, tuple[str, ...]], list[Identity]] = defaultdict(list)
    for identity in identities:
        if identity.is_domain and identity.dkim and identity.dkim.tokens and identity.dkim.origin != "EXTERNAL":
            by_tokens[(identity.name, tuple(sorted(identity.dkim.tokens)))].append(identity)
    return [group for group in by_tokens.values() if len({identity.region for identity in group}) > 1]


def replica_candidates(identities: Sequence[Identity]) -> dict[str, list[Identity]]:
    """By region, the identities to read the origin of: one per group whose origins nobody read yet, since one
    member's origin names the parent region and so settles the whole group (`settle_origins`). Each pick goes to
    the region with the fewest so far: every region has a quota of its own."""
    load: dict[str, int] = defaultdict(int)
    candidates: dict[str, list[Identity]] = defaultdict(list)
    for group in _groups(identities):
        if any(identity.dkim and identity.dkim.origin for identity in group):
            continue
        pick = min(group, key=lambda identity: (load[identity.region], identity.region))
        load[pick.region] += 1
        candidates[pick.region].append(pick)
    return dict(candidates)


def settle_origins(identities: Sequence[Identity]) -> list[Identity]:
    """Gives every unread member of a group the origin its read member implies: the parent is the namesake in
    the parent region (AWS_SES), every other member copies it (AWS_SES_<PARENT REGION>)."""
    settled: dict[IdentityKey, Identity] = {}
    for group in _groups(identities):
        known = next((i.dkim for i in group if i.dkim and i.dkim.origin), None)
        if known is None:
            continue
        parent_region = known.parent_region or next(i.region for i in group if i.dkim is known)
        for identity in group:
            if identity.dkim and not identity.dkim.origin:
                origin = "AWS_SES" if identity.region == parent_region else _origin_of(parent_region)
                settled[identity.key] = replace(identity, dkim=replace(identity.dkim, origin=origin))
    return [settled.get(identity.key, identity) for identity in identities]


def _origin_of(region: str) -> str:
    return "AWS_SES_" + region.upper().replace("-", "_")


def link_replicas(identities: Sequence[Identity]) -> list[Identity]:
    """Replicas whose parent was read take the parent's signing zone: the CNAMEs they rely on are the parent's."""
    by_key = {identity.key: identity for identity in identities}
    linked = []
    for identity in identities:
        dkim = identity.dkim
        parent = by_key.get(IdentityKey(dkim.parent_region, identity.name)) if dkim and dkim.parent_region else None
        if dkim and parent and parent.dkim and parent.dkim.tokens and parent.dkim.signing_hosted_zone:
            copied = replace(dkim, tokens=parent.dkim.tokens, signing_hosted_zone=parent.dkim.signing_hosted_zone)
            linked.append(replace(identity, dkim=copied))
        else:
            linked.append(identity)
    return linked
