"""Checks on address identities, which have no DNS of their own."""

from __future__ import annotations

from collections.abc import Collection

from core.kernel.models import Code, Finding, Identity
from core.kernel.names import ancestors


def signing_domains(identities: Collection[Identity]) -> frozenset[str]:
    """Domains in one region whose Easy DKIM or BYODKIM signature SES applies: verified, signing, keys valid."""
    return frozenset(
        i.name
        for i in identities
        if i.is_domain
        and i.verification_status == "SUCCESS"
        and i.dkim is not None
        and i.dkim.signing_enabled
        and i.dkim.status == "SUCCESS"
    )


def check_address(identity: Identity, signers: Collection[str]) -> list[Finding]:
    """An address identity passes DMARC only if SES signs its mail with a key of its domain (or a parent,
    which relaxed alignment accepts); otherwise SES signs as amazonses.com, which never aligns."""
    domain = identity.domain
    if any(name in signers for name in ancestors(domain)):
        return []
    return [
        Finding.about(
            identity.key,
            Code.ADDRESS_IDENTITY_UNALIGNED,
            f"{identity.name} is verified as an address, but no domain identity for {domain} in {identity.region} "
            "signs with DKIM, so its mail is signed as amazonses.com and fails DMARC alignment. "
            f"Verify {domain} as a domain identity in {identity.region}.",
        )
    ]
