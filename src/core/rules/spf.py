"""SPF records (RFC 7208): find them among a name's TXT values, check their syntax, count DNS lookups.

Only the record itself is judged: the terms inside `include:` targets need DNS, so `lookup_terms` counts this
record's own DNS-querying terms - a lower bound of what receivers spend on the 10-lookup limit (§4.6.4).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from core.kernel.names import normalise

MAX_LOOKUPS = 10
SES_DOMAIN = "amazonses.com"

# §4.6.4: the terms that make receivers query DNS.
_LOOKUP_TERMS = frozenset({"include", "a", "mx", "ptr", "exists", "redirect"})
_MECHANISMS = frozenset({"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"})
_NEEDS_DOMAIN = frozenset({"include", "exists"})
_VERSION = re.compile(r"^v=spf1( |$)", re.IGNORECASE)
_LOOSE_VERSION = re.compile(r"^\s*v\s*=\s*spf1\b", re.IGNORECASE)
_MODIFIER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
# §7.1 macro-string: literals %x21-24 / %x26-7E, or a macro-expand.
_MACRO_STRING = re.compile(r"^(?:[\x21-\x24\x26-\x7e]|%\{[slodiphcrtvSLODIPHCRTV]\d*r?[.\-+,/_=]*\}|%%|%_|%-)*$")
_TOPLABEL = re.compile(r"^(?:[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*|[A-Za-z0-9]+-[A-Za-z0-9-]*[A-Za-z0-9])$")
_CIDR = re.compile(r"^(?P<address>[^/]*)(?:/(?P<v4>\d{1,3}))?(?://(?P<v6>\d{1,3}))?$")


@dataclass(frozen=True)
class SpfResult:
    record: str
    valid: bool
    errors: tuple[str, ...]
    warnings: tuple[str, ...]
    lookup_terms: int
    authorises_ses: bool


def is_spf_record(txt: str) -> bool:
    """§4.5: a TXT value is an SPF record when it starts with `v=spf1` (any case) then a space or its end."""
    return bool(_VERSION.match(txt))


def looks_like_spf(txt: str) -> bool:
    """Broader than `is_spf_record`: also a malformed attempt at one, which must never get a sibling."""
    return bool(_LOOSE_VERSION.match(txt))


def spf_records(values: Iterable[str]) -> list[str]:
    return [value for value in values if is_spf_record(value)]


@dataclass(frozen=True)
class SpfTerm:
    """One well-formed term of a record: its text as published, qualifier ("" for modifiers), lower-case name and
    argument (for a and mx without the CIDR lengths)."""

    text: str
    qualifier: str
    name: str
    value: str

    @property
    def queries_dns(self) -> bool:
        return self.name in _LOOKUP_TERMS


def spf_terms(record: str) -> list[SpfTerm]:
    """The well-formed terms of `record` in order (malformed ones are `parse_spf`'s errors, and skipped here)."""
    terms = []
    for text in record.split(" ")[1:]:
        if not text:
            continue
        name, value, problem = _term(text)
        if problem:
            continue
        head, equals, _ = text.partition("=")
        is_modifier = bool(equals) and ":" not in head and "/" not in head
        qualifier = "" if is_modifier else (text[0] if text[0] in "+-~?" else "+")
        if name in ("a", "mx"):
            value = value.split("/", 1)[0]
        terms.append(SpfTerm(text, qualifier, name, value))
    return terms


def parse_spf(record: str) -> SpfResult:
    """Judge one SPF record. `authorises_ses` needs an `include:amazonses.com` (or `+include:`) that receivers
    reach: evaluation stops at the first `all`, so an include after it never counts. A `redirect=amazonses.com`
    counts only without any `all` (§6.1: redirect is ignored when the record has an `all`). Authorisation through
    another include cannot be seen without DNS and is not assumed."""
    if not is_spf_record(record):
        return SpfResult(record, False, ("it does not start with v=spf1",), (), 0, False)
    tally = _Tally()
    if not record.isascii():
        tally.errors.append("it contains characters outside ASCII")
    for term in record.split(" ")[1:]:
        if term:
            tally.add(term)
    redirect = tally.modifiers.get("redirect")
    if redirect is not None and tally.seen_all:
        tally.lookups -= 1  # never followed, so it costs no lookup
    elif redirect is not None and _is_ses(redirect):
        tally.authorised = True
    if tally.lookups > MAX_LOOKUPS:
        tally.errors.append(f"it has {tally.lookups} DNS-querying terms; receivers stop at {MAX_LOOKUPS} (permerror)")
    errors = tuple(tally.errors)
    return SpfResult(record, not errors, errors, tuple(tally.warnings), tally.lookups, tally.authorised)


@dataclass
class _Tally:
    """What the terms of one record add up to, read left to right as receivers evaluate them."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    modifiers: dict[str, str] = field(default_factory=dict)
    lookups: int = 0
    seen_all: bool = False
    authorised: bool = False

    def add(self, term: str) -> None:
        name, value, problem = _term(term)
        if problem:
            self.errors.append(problem)
            return
        if name in ("redirect", "exp"):
            if name in self.modifiers:
                self.errors.append(f"{name}= appears more than once")
            self.modifiers[name] = value
        self.lookups += name in _LOOKUP_TERMS
        if name == "ptr":
            self.warnings.append("it uses ptr, which RFC 7208 says not to publish: slow, and receivers may skip it")
        qualifier = term[0] if term[0] in "+-~?" else "+"
        if name == "all" and qualifier == "+":
            self.warnings.append("it ends in +all, which lets every host on the internet pass SPF")
        if name == "include" and _is_ses(value) and qualifier == "+" and not self.seen_all:
            self.authorised = True
        self.seen_all = self.seen_all or name == "all"


def _is_ses(domain: str) -> bool:
    return normalise(domain) == SES_DOMAIN


def _term(term: str) -> tuple[str, str, str]:
    """(lower-case name, argument, problem) of one term; names are case-insensitive (§4.6.1)."""
    body = term[1:] if term[0] in "+-~?" else term
    head, equals, modifier_value = body.partition("=")
    if equals and ":" not in head and "/" not in head:
        if body is not term:
            return "", "", f"{term!r} puts a qualifier on a modifier"
        return _modifier(head, modifier_value, term)
    match = re.match(r"^([A-Za-z0-9]+)(.*)$", body)
    name = match.group(1).lower() if match else ""
    rest = match.group(2) if match else body
    if name not in _MECHANISMS:
        return "", "", f"{term!r} is not an SPF mechanism or modifier"
    return name, rest.removeprefix(":"), _mechanism_problem(name, rest, term)


def _modifier(head: str, value: str, term: str) -> tuple[str, str, str]:
    name = head.lower()
    if not _MODIFIER_NAME.match(head):
        return "", "", f"{term!r} has an invalid modifier name"
    if name in ("redirect", "exp"):
        return name, value, "" if _domain_spec(value) else f"{term!r} does not name a valid domain"
    return name, value, "" if _MACRO_STRING.match(value) else f"{term!r} has an invalid value"


def _mechanism_problem(name: str, rest: str, term: str) -> str:
    if name == "all":
        return "" if not rest else f"{term!r}: all takes no argument"
    if name in ("ip4", "ip6"):
        return _network_problem(name, rest, term)
    if name in _NEEDS_DOMAIN:
        return "" if rest.startswith(":") and _domain_spec(rest[1:]) else f"{term!r} does not name a valid domain"
    # a, mx, ptr: [":" domain-spec] and, except for ptr, a dual CIDR length.
    domain, cidr = rest, ""
    if name != "ptr" and "/" in rest:
        domain, cidr = rest[: rest.index("/")], rest[rest.index("/") :]
    if domain and not (domain.startswith(":") and _domain_spec(domain[1:])):
        return f"{term!r} does not name a valid domain"
    return _dual_cidr_problem(cidr, term)


def _network_problem(name: str, rest: str, term: str) -> str:
    if not rest.startswith(":"):
        return f"{term!r} needs an address"
    address, _, length = rest[1:].partition("/")
    limit = 32 if name == "ip4" else 128
    try:
        parsed = ipaddress.ip_address(address.replace("%", "!"))  # no scoped IPv6 zones
    except ValueError:
        return f"{term!r} does not hold a valid {name[:2].upper()}v{name[2]} address"
    if parsed.version != int(name[2]):
        return f"{term!r} does not hold a valid {name[:2].upper()}v{name[2]} address"
    if "/" in rest and not _valid_length(length, limit):
        return f"{term!r} has an invalid prefix length (0-{limit})"
    return ""


def _dual_cidr_problem(cidr: str, term: str) -> str:
    if not cidr:
        return ""
    match = _CIDR.match(cidr)
    if match is None or match.group("address"):
        return f"{term!r} has an invalid prefix length"
    v4, v6 = match.group("v4"), match.group("v6")
    if (v4 is not None and not _valid_length(v4, 32)) or (v6 is not None and not _valid_length(v6, 128)):
        return f"{term!r} has an invalid prefix length"
    return ""


def _valid_length(text: str, limit: int) -> bool:
    # §5.6: leading zeros are not allowed ("ip4-cidr-length = '/' ('0' / %x31-39 0*1DIGIT)").
    return text.isdigit() and (text == "0" or not text.startswith("0")) and int(text) <= limit


def _domain_spec(spec: str) -> bool:
    """§7.1 domain-spec: a macro-string whose end is a macro or a valid top label (optional trailing dot)."""
    if not spec or not _MACRO_STRING.match(spec):
        return False
    if re.search(r"(%\{[^}]*\}|%%|%_|%-)$", spec):
        return True
    labels = spec.rstrip(".").split(".")
    return len(labels) > 1 and bool(_TOPLABEL.match(labels[-1])) and all(labels)
