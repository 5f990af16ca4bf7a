"""Easy DKIM: SES's signing state, the token CNAMEs as the world sees them, and the keys they lead to."""

from __future__ import annotations

from dataclasses import replace

from core.checks.findings import Findings, may_propagate, ttl_at, undecided
from core.kernel.models import Answer, Code, DkimObservation, DomainObservation, Finding, Identity, Record, ZoneView
from core.kernel.names import normalise
from core.rules.dkimkey import rsa_key_bits
from core.rules.records import values_at
from core.rules.required import dkim_records
from core.rules.safety import blocker

STRONG_KEY_BITS = 2048


def check_dkim(identity: Identity, obs: DomainObservation, view: ZoneView) -> list[Finding]:
    dkim = identity.dkim
    if not identity.is_domain or dkim is None:
        return []
    found = Findings(identity)
    if not dkim.signing_enabled:
        found.add(
            Code.DKIM_SIGNING_DISABLED,
            f"DKIM signing is turned off for {identity.domain} in SES, so its mail carries no DKIM signature of "
            "its own and relies on SPF alone for DMARC.",
        )
    # BYODKIM (origin EXTERNAL) selectors are TXT keys the owner publishes, not CNAMEs to SES: there is no
    # expected target, so observe_domain gathers nothing for them and no CNAME check applies.
    required = {normalise(r.record.name): r.record for r in dkim_records(identity)}
    missing: list[Record] = []
    for token in obs.dkim:
        if _check_token(found, token, view):
            fallback = Record(token.name, "CNAME", (normalise(token.expected_target),))
            missing.append(required.get(normalise(token.name), fallback))
    fixable = _report_missing(found, identity, view, missing) if missing else False
    if identity.verification_status != "SUCCESS":
        _not_verified(found, identity, missing, fixable)
    return found.build()


def _check_token(found: Findings, token: DkimObservation, view: ZoneView) -> bool:
    """Judge one token; True when its CNAME is missing from live DNS and, as far as this run can tell, Route 53."""
    expected = normalise(token.expected_target)
    cname = cname_at(token)
    if cname.failed:
        found.query_failed(f"the CNAME at {token.name}", cname)
        return False
    if cname.status == "OK" and cname.values:
        actual = normalise(cname.values[0])
        if actual != expected and not _ses_signing_target(actual, token.token):
            found.add(
                Code.DKIM_RECORD_CONFLICT,
                f"{token.name} is a CNAME to {actual}, not to {expected}, so SES cannot verify or sign with it.",
                (Record(token.name, "CNAME", (actual,), "found"), Record(token.name, "CNAME", (expected,))),
            )
        else:
            _check_key(found, token)
        return False
    # No CNAME at the name: other data there (a TXT key, an A record) blocks the CNAME SES needs.
    if token.txt.status == "OK" and token.txt.values and not token.txt.cname:
        found.add(
            Code.DKIM_RECORD_CONFLICT,
            f"{token.name} holds TXT data instead of the CNAME to {expected} that SES needs.",
            (Record(token.name, "TXT", token.txt.values, "found"), Record(token.name, "CNAME", (expected,))),
        )
        return False
    wanted = Record(token.name, "CNAME", (expected,))
    held = values_at(view, token.name, "CNAME") == (expected,)
    if held and may_propagate(view):
        found.add(
            Code.DNS_NOT_PROPAGATED,
            f"Route 53 holds the CNAME {token.name} -> {expected}, but live DNS does not show it yet.",
            (replace(wanted, role="found"),),
            ttl=ttl_at(view, token.name, "CNAME"),
        )
        return False
    return not undecided(view, held)


def cname_at(token: DkimObservation) -> Answer:
    """The CNAME at the token's name, as a CNAME query would answer it, read from the TXT answer: a resolver answers
    TXT at a name holding a CNAME with the chain from that CNAME, whatever its end holds (a key, NODATA, NXDOMAIN).
    Without a CNAME in the chain the name holds none: NXDOMAIN when the name does not exist, else NODATA (it may hold
    a TXT key or other data). A failed TXT answer says nothing about the name: the CNAME query's answer is read."""
    txt = token.txt
    if txt.failed:
        return token.cname_query or replace(txt, rdtype="CNAME")
    if txt.cname:
        return Answer(token.name, "CNAME", "OK", (txt.cname,))
    return Answer(token.name, "CNAME", "NXDOMAIN" if txt.status == "NXDOMAIN" else "NODATA")


def _ses_signing_target(target: str, token: str) -> bool:
    """`<token>.<zone>.amazonses.com`: SES's own signing zone, perhaps another region's or cell's than the one read
    for the region (a copied key, say); the key behind it is still checked."""
    return target.startswith(f"{token}.") and target.endswith(".amazonses.com")


def _check_key(found: Findings, token: DkimObservation) -> None:
    txt = token.txt
    if txt.failed:
        found.query_failed(f"the DKIM key behind {token.name}", txt)
        return
    bits = [b for b in (rsa_key_bits(value) for value in txt.values) if b is not None]
    if bits and min(bits) < STRONG_KEY_BITS:
        target = normalise(token.expected_target)
        found.add(
            Code.DKIM_KEY_WEAK,
            f"The DKIM key behind {token.name} is {min(bits)}-bit RSA; {STRONG_KEY_BITS}-bit is the current norm. "
            "Ask SES for 2048-bit keys (NextSigningKeyLength RSA_2048_BIT).",
            (Record(txt.cname or target, "TXT", txt.values, "found"),),
        )


def _report_missing(found: Findings, identity: Identity, view: ZoneView, missing: list[Record]) -> bool:
    """Adds the one DKIM_RECORD_MISSING finding; True when remediation can create every missing record."""
    reasons = list(dict.fromkeys(reason for reason in (blocker(view, record) for record in missing) if reason))
    names = ", ".join(record.name for record in missing)
    parent = _parent(identity)
    if parent:
        # A replica's CNAMEs are its parent's: the parent identity's own finding plans them, never the replica's,
        # so that two regions never ask for the same names and a replica never gets records of its own.
        found.add(
            Code.DKIM_RECORD_MISSING,
            f"{len(missing)} of the DKIM CNAME records {identity.domain} relies on are missing from DNS: {names}. "
            f"{identity.domain} in {identity.region} copies its DKIM from {parent} (Deterministic Easy DKIM), so "
            "these are the parent identity's records: fix them for the parent.",
            tuple(missing),
            fixable=False,
        )
        return False
    found.add(
        Code.DKIM_RECORD_MISSING,
        f"{len(missing)} of {identity.domain}'s DKIM CNAME records are missing from DNS: {names}."
        + (f" They cannot be created automatically: {'; '.join(reasons)}." if reasons else ""),
        tuple(missing),
        fixable=not reasons,
    )
    return not reasons


def _parent(identity: Identity) -> str:
    """The identity a Deterministic Easy DKIM replica copies, as `<name> in <region>`; "" for any other."""
    region = identity.dkim.parent_region if identity.dkim else ""
    return f"{identity.domain} in {region}" if region else ""


def _not_verified(found: Findings, identity: Identity, missing: list[Record], fixable: bool) -> None:
    status = identity.verification_status or "unknown"
    if identity.verification_error.startswith("REPLICATION_"):
        parent = _parent(identity) or f"its parent identity {identity.domain}"
        found.add(
            Code.IDENTITY_NOT_VERIFIED,
            f"SES could not copy DKIM to {identity.domain} in {identity.region} from {parent} "
            f"({identity.verification_error}), so SES does not sign its mail. The parent must exist, use Easy DKIM "
            "(not BYODKIM) and not itself be a copy; fix the parent or the replication, not DNS.",
            tuple(missing),
            fixable=False,
        )
        return
    origin = identity.dkim.origin if identity.dkim else ""
    how = "its BYODKIM public key record" if origin == "EXTERNAL" else "its DKIM CNAME records"
    parent = _parent(identity)
    if parent:
        how = f"the DKIM CNAME records of {parent}, which it copies"
    remedy = "; creating the missing ones lets SES verify it" if missing else ""
    found.add(
        Code.IDENTITY_NOT_VERIFIED,
        f"SES has not verified {identity.domain} (status {status}); SES verifies a domain through {how}{remedy}.",
        tuple(missing),
        fixable=bool(missing) and fixable and not parent,
    )
