"""One DMARC record (RFC 9989 "General Record Format" and "Formal Definition"): its tags, its errors, its
aggregate-report destinations and whether they need RFC 9990 authorisation."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.kernel.names import normalise
from core.kernel.settings import DMARC_POLICIES

# The value of v= is case-sensitive (%s"DMARC1"), the tag name is not: "V=DMARC1" is a record, "v=dmarc1" is not.
_VERSION = re.compile(r"^[vV][ \t]*=[ \t]*DMARC1[ \t]*(;|$)")
# Text at a `_dmarc` name that was meant as DMARC: a version anywhere (mistyped, misplaced, after whitespace), or
# a record that starts with a policy tag and forgot the version.
_LOOSE_VERSION = re.compile(r"v\s*=\s*dmarc|^\s*p\s*=", re.IGNORECASE)
_MISCASED_VERSION = re.compile(r"^v\s*=\s*dmarc1\s*(;|$)", re.IGNORECASE)
# RFC 9989 removed these RFC 7489 tags: receivers ignore them, so no value of theirs is an error.
REMOVED_TAGS = ("pct", "rf", "ri")
_TAG_NAME = re.compile(r"^[A-Za-z]+$")
_VALUE = re.compile(r"^[\x20-\x3a\x3c-\x7e]+$")  # printing characters but ";"
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s,!]+$")
# Report-size suffixes ("!10m") are obsolete syntax receivers ignore; RFC 9989 keeps them legal.
_SIZE = re.compile(r"![0-9]+[kmgtKMGT]?$")
_MAILTO = re.compile(r"^mailto:[^@?]+@(?P<domain>[^?@]+)(\?.*)?$", re.IGNORECASE)
_ALLOWED: Mapping[str, tuple[str, ...]] = {
    "p": DMARC_POLICIES,
    "sp": DMARC_POLICIES,
    "np": DMARC_POLICIES,
    "adkim": ("r", "s"),
    "aspf": ("r", "s"),
    "t": ("y", "n"),
    "psd": ("y", "n", "u"),
}
_FO = re.compile(r"^[01ds](:[01ds])*$")


@dataclass(frozen=True)
class DmarcRecord:
    text: str
    tags: Mapping[str, str] = field(default_factory=dict)  # lower-case names, values as written
    errors: tuple[str, ...] = ()
    rua: tuple[str, ...] = ()  # valid URIs, report-size suffixes removed
    warnings: tuple[str, ...] = ()  # harmless but misleading content (removed tags), never an error

    @property
    def valid(self) -> bool:
        return not self.errors

    def value(self, tag: str) -> str:
        """A tag's value in lower case when it is valid for the tag, else ""."""
        raw = self.tags.get(tag, "").strip().lower()
        allowed = _ALLOWED.get(tag)
        return raw if allowed is None or raw in allowed else ""

    @property
    def policy_tags_valid(self) -> bool:
        """A valid p, and sp/np valid where present."""
        return bool(self.value("p")) and all(self.value(tag) for tag in ("sp", "np") if tag in self.tags)

    @property
    def policy(self) -> str:
        """The p= receivers apply. RFC 9989 ("DMARC Policy Discovery"): a record without a valid p, or with an
        invalid sp or np, is read as p=none when its rua holds a valid URI, and otherwise gives receivers nothing
        to apply (""); that passage also covers a missing p, which the p tag's own text calls p=none."""
        if self.policy_tags_valid:
            return self.value("p")
        return "none" if self.rua else ""

    @property
    def usable(self) -> bool:
        return bool(self.policy)

    def subdomain_policy(self) -> str:
        """What a record found at an ancestor applies to an existing subdomain: sp, else p."""
        return (self.value("sp") or self.value("p")) if self.policy_tags_valid else self.policy


def is_dmarc_record(txt: str) -> bool:
    """A TXT value receivers treat as a DMARC record: `v=DMARC1` first, exactly, then `;` or the end. RFC 9989
    allows no leading whitespace (" v=DMARC1; p=reject" is discarded); blanks around `=` are allowed."""
    return bool(_VERSION.match(txt))


def looks_like_dmarc(txt: str) -> bool:
    """Also text meant as a DMARC record that receivers discard (`v=dmarc1`, " v=DMARC1", "p=reject; v=DMARC1"),
    which still must not get a sibling."""
    return bool(_LOOSE_VERSION.search(txt))


def discard_reason(txt: str) -> str:
    """Why receivers discard `txt` (which looks like DMARC but is no DMARC record), for a finding's message."""
    if txt[:1].isspace():
        return "a DMARC record must start with v=DMARC1, not with whitespace"
    if _MISCASED_VERSION.match(txt):
        return "a DMARC record must start with exactly v=DMARC1 (the version is case-sensitive)"
    return "a DMARC record must start with v=DMARC1"


def parse_record(txt: str) -> DmarcRecord:
    if not is_dmarc_record(txt):
        return DmarcRecord(txt, errors=("it does not start with exactly v=DMARC1",))
    tags: dict[str, str] = {}
    errors: list[str] = []
    for part in txt.strip().split(";")[1:]:
        if not part.strip():
            continue
        name, equals, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not equals or not _TAG_NAME.match(name) or not _VALUE.match(value):
            errors.append(f"{part.strip()!r} is not a tag=value pair")
            continue
        if name.lower() in tags:
            errors.append(f"the tag {name.lower()} appears more than once")
            continue
        tags[name.lower()] = value
    rua, rua_errors = _uris(tags.get("rua"), "rua")
    _, ruf_errors = _uris(tags.get("ruf"), "ruf")  # checked for errors; failure reports are not ses-guard's concern
    errors.extend(_value_errors(tags) + rua_errors + ruf_errors)
    warnings = tuple(
        f"{tag}={tags[tag]} is ignored: RFC 9989 removed the {tag} tag" for tag in REMOVED_TAGS if tag in tags
    )
    record = DmarcRecord(txt, tags, (), rua)
    if not record.usable:
        lack = "it has no valid p=" if not record.value("p") else "its sp= or np= is invalid"
        errors.append(f"{lack} and no valid rua=, so receivers apply no DMARC at all")
    return DmarcRecord(txt, tags, tuple(errors), rua, warnings)


def report_destinations(record: DmarcRecord) -> list[str]:
    """The domains of the record's mailto: aggregate-report addresses, normalised, first occurrence kept."""
    domains = []
    for uri in record.rua:
        match = _MAILTO.match(uri)
        if match:
            domains.append(normalise(match.group("domain")))
    return list(dict.fromkeys(domains))


def report_auth_name(policy_domain: str, destination: str) -> str:
    """RFC 9990: the destination publishes `v=DMARC1` here to accept reports about the policy domain."""
    return f"{normalise(policy_domain)}._report._dmarc.{normalise(destination)}"


def is_external(policy_domain: str, destination: str) -> bool:
    """True when the destination lies in another organisational domain, so it must authorise the reports.

    The organisational domain comes from the Public Suffix List here: RFC 9989 finds it by a DNS tree walk, which
    would mean more queries per destination for an answer that agrees for every registrable domain.
    """
    return organisational_domain(policy_domain) != organisational_domain(destination)


@functools.cache
def _public_suffix_list() -> Any:
    # Built on first use, not at import: it reads the bundled list from disk.
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def organisational_domain(domain: str) -> str:
    """The registrable domain (example.com for a.b.example.com), from the Public Suffix List."""
    domain = normalise(domain)
    found = _public_suffix_list().privatesuffix(domain)
    return str(found) if found else domain


def _value_errors(tags: Mapping[str, str]) -> list[str]:
    errors = []
    for tag, allowed in _ALLOWED.items():
        if tag in tags and tags[tag].lower() not in allowed:
            errors.append(f"{tag}={tags[tag]} is not one of {', '.join(allowed)}")
    if "fo" in tags and not _FO.match(tags["fo"].lower().replace(" ", "")):
        errors.append(f"fo={tags['fo']} is not a colon-separated list of 0, 1, d, s")
    # pct, rf and ri are not checked: RFC 9989 removed them and receivers ignore them (see `warnings`).
    return errors


def _uris(raw: str | None, tag: str) -> tuple[tuple[str, ...], list[str]]:
    if raw is None:
        return (), []
    uris, errors = [], []
    for item in raw.split(","):
        uri = _SIZE.sub("", item.strip())
        if _URI.match(uri) and (not uri.lower().startswith("mailto:") or _MAILTO.match(uri)):
            uris.append(uri)
        else:
            errors.append(f"{tag}: {item.strip()!r} is not a URI")
    return tuple(uris), errors
