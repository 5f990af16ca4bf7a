"""One aggregate report's XML into typed rows: RFC 9990 (namespace urn:ietf:params:xml:ns:dmarc-2.0) and the RFC 7489
format most receivers still send (no namespace, or the draft's http://dmarc.org/dmarc-xml/0.1).

The XML is read by defusedxml with DTDs forbidden, so entity expansion and external entities never happen, and
streamed record by record with limits on depth, elements and records: memory stays proportional to one record.
Elements in other namespaces (RFC 9990 extensions) are ignored; optional elements may be missing; a required one
missing or malformed rejects the whole report, since half a report would skew a day's pass rate unseen.
"""

from __future__ import annotations

import functools
import io
import ipaddress
import re
from collections import defaultdict
from datetime import UTC, datetime
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from core.kernel.names import normalise
from core.kernel.settings import DMARC_POLICIES
from core.rules.rua.errors import ReportRejected
from core.rules.rua.models import AggregateReport, DkimAuth, IpAddress, Policy, Row, SpfAuth
from core.rules.rua.text import clean

NAMESPACES = frozenset({"", "urn:ietf:params:xml:ns:dmarc-2.0", "http://dmarc.org/dmarc-xml/0.1"})
MAX_RECORDS = 50_000
MAX_AUTH_RESULTS = 100  # per record and kind; RFC 9990 asks reporters for at most 100 DKIM signatures a row
MAX_DEPTH = 16  # a report nests five deep; extensions get the rest
MAX_PART_ELEMENTS = 10_000  # elements under one child of <feedback> (a record with its extensions)
MAX_COUNT = 2**31 - 1
# Reports from before DMARC or from the far future are forged or broken; datetime could not even hold some.
_EARLIEST, _LATEST = 946_684_800, 4_102_444_800  # 2000-01-01, 2100-01-01
_DISPOSITIONS = frozenset({"none", "pass", "quarantine", "reject"})
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_DOMAIN = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")
_DIGITS = re.compile(r"^[0-9]{1,12}$")


def parse(xml: bytes) -> AggregateReport:
    """The report in `xml`, or ReportRejected naming what is wrong with it."""
    reader = _Reader()
    try:
        for event, element in iterparse(io.BytesIO(xml), events=("start", "end"), forbid_dtd=True):
            reader.feed(event, element)
    except DefusedXmlException as error:
        # DTDs are refused outright: entities (expansion bombs, external files) can only be declared in one.
        raise ReportRejected(
            f"the XML declares a DTD or entities ({type(error).__name__}); reports never carry them, and they are "
            f"how entity-expansion and external-entity attacks work"
        ) from None
    except (ParseError, LookupError, ValueError) as error:  # LookupError: an encoding Python does not know
        raise ReportRejected(f"the XML is not well-formed: {clean(str(error), 200)}") from None
    return reader.report()


@functools.lru_cache(maxsize=256)
def _local(tag: str) -> str:
    """An element's name when it is in a DMARC namespace (or none); "" for extensions."""
    namespace, _, name = tag[1:].rpartition("}") if tag.startswith("{") else ("", "", tag)
    return name if namespace in NAMESPACES else ""


class _Fields:
    """The children of one element by name (DMARC namespaces only), gathered once; empty for a missing element."""

    def __init__(self, element: Element | None) -> None:
        self.children: dict[str, list[Element]] = defaultdict(list)
        for child in element if element is not None else ():
            self.children[_local(child.tag)].append(child)

    def all(self, name: str) -> list[Element]:
        return self.children.get(name, [])

    def first(self, name: str) -> _Fields:
        found = self.all(name)
        return _Fields(found[0] if found else None)

    def one(self, name: str, where: str) -> _Fields:
        if not self.all(name):
            raise ReportRejected(f"{where} has no <{name}>")
        return self.first(name)

    def text(self, name: str, limit: int = 255) -> str:
        found = self.all(name)
        return clean(found[0].text, limit) if found else ""


class _Reader:
    """Takes iterparse's events; each child of <feedback> is read when it ends and then dropped."""

    def __init__(self) -> None:
        self.depth = 0
        self.elements = 0
        self.root: Element | None = None
        self.metadata: tuple[str, str, str, datetime, datetime] | None = None
        self.published: tuple[str, Policy] | None = None
        self.rows: list[Row] = []

    def feed(self, event: str, element: Element) -> None:
        if event == "start":
            self._start(element)
            return
        self.depth -= 1
        if self.depth != 1 or self.root is None:
            return
        name = _local(element.tag)
        if name == "report_metadata":
            self.metadata = _metadata(element)
        elif name == "policy_published":
            self.published = _policy(element)
        elif name == "record":
            if len(self.rows) == MAX_RECORDS:
                raise ReportRejected(f"the report has more than {MAX_RECORDS} records")
            self.rows.append(_row(element, f"record {len(self.rows) + 1}"))
        self.root.remove(element)

    def _start(self, element: Element) -> None:
        self.depth += 1
        if self.depth == 1:
            if _local(element.tag) != "feedback":
                raise ReportRejected(f"the root element is <{clean(str(element.tag), 100)}>, not a DMARC <feedback>")
            self.root = element
        elif self.depth == 2:
            self.elements = 0
        elif self.depth > MAX_DEPTH:
            raise ReportRejected(f"elements nest more than {MAX_DEPTH} deep")
        self.elements += 1
        if self.elements > MAX_PART_ELEMENTS:
            raise ReportRejected(f"one part of the report holds more than {MAX_PART_ELEMENTS} elements")

    def report(self) -> AggregateReport:
        if self.metadata is None:
            raise ReportRejected("the report has no <report_metadata>")
        if self.published is None:
            raise ReportRejected("the report has no <policy_published>")
        if not self.rows:
            raise ReportRejected("the report has no <record>")
        org, contact, report_id, begin, end = self.metadata
        domain, policy = self.published
        return AggregateReport(org, contact, report_id, begin, end, domain, policy, tuple(self.rows))


def _metadata(element: Element) -> tuple[str, str, str, datetime, datetime]:
    fields = _Fields(element)
    org, report_id = fields.text("org_name", 200), fields.text("report_id", 200)
    if not org:
        raise ReportRejected("report_metadata has no org_name")
    if not report_id:
        raise ReportRejected("report_metadata has no report_id")
    dates = fields.one("date_range", "report_metadata")
    begin, end = _time(dates.text("begin"), "begin"), _time(dates.text("end"), "end")
    if end < begin:
        raise ReportRejected(f"date_range ends ({end:%Y-%m-%d %H:%M}) before it begins ({begin:%Y-%m-%d %H:%M})")
    return org, fields.text("email", 254), report_id, begin, end


def _time(text: str, name: str) -> datetime:
    if not _DIGITS.match(text) or not _EARLIEST <= int(text) <= _LATEST:
        raise ReportRejected(f"date_range {name} {text!r} is not seconds since 1970 between 2000 and 2100")
    return datetime.fromtimestamp(int(text), UTC)


def _policy(element: Element) -> tuple[str, Policy]:
    fields = _Fields(element)
    domain = _domain(fields.text("domain"))
    if not domain:
        raise ReportRejected(f"policy_published domain {fields.text('domain', 60)!r} is not a domain name")
    p = fields.text("p", 20).lower()
    if p not in DMARC_POLICIES:
        raise ReportRejected(f"policy_published p {p!r} is not one of {', '.join(DMARC_POLICIES)}")
    pct = fields.text("pct", 20)
    return domain, Policy(
        p=p,
        sp=_choice(fields.text("sp", 20), DMARC_POLICIES),
        np=_choice(fields.text("np", 20), DMARC_POLICIES),
        pct=int(pct) if pct.isdigit() and int(pct) <= 100 else None,
        adkim=_choice(fields.text("adkim", 20), ("r", "s")) or "r",
        aspf=_choice(fields.text("aspf", 20), ("r", "s")) or "r",
        testing=_choice(fields.text("testing", 20), ("y", "n")),
    )


def _row(record: Element, where: str) -> Row:
    fields = _Fields(record)
    row = fields.one("row", where)
    evaluated = row.one("policy_evaluated", f"{where} row")
    identifiers, auth = fields.first("identifiers"), fields.first("auth_results")
    disposition = evaluated.text("disposition", 20).lower()
    return Row(
        source_ip=_address(row.text("source_ip", 60), where),
        count=_count(row.text("count", 20), where),
        disposition=disposition if disposition in _DISPOSITIONS else "other",
        dkim=_aligned(evaluated.text("dkim", 20)),
        spf=_aligned(evaluated.text("spf", 20)),
        header_from=_domain(identifiers.text("header_from")),
        envelope_from=_domain(identifiers.text("envelope_from")),
        dkim_auth=tuple(_dkim(_Fields(e)) for e in auth.all("dkim")[:MAX_AUTH_RESULTS]),
        spf_auth=tuple(_spf(_Fields(e)) for e in auth.all("spf")[:MAX_AUTH_RESULTS]),
    )


def _dkim(fields: _Fields) -> DkimAuth:
    return DkimAuth(_domain(fields.text("domain")), fields.text("selector", 63), fields.text("result", 20).lower())


def _spf(fields: _Fields) -> SpfAuth:
    scope = _choice(fields.text("scope", 20), ("mfrom", "helo"))
    return SpfAuth(_domain(fields.text("domain")), scope, fields.text("result", 20).lower())


def _address(text: str, where: str) -> IpAddress:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise ReportRejected(f"{where}: source_ip {text!r} is not an IPv4 or IPv6 address") from None
    # An IPv4 sender seen over IPv6 sockets is the same sender: compare it as IPv4.
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return mapped or address


def _count(text: str, where: str) -> int:
    if not _DIGITS.match(text) or int(text) > MAX_COUNT:
        raise ReportRejected(f"{where}: count {text!r} is not a whole number of messages")
    return int(text)


def _aligned(text: str) -> str:
    return "pass" if text.lower() == "pass" else "fail"


def _choice(text: str, allowed: tuple[str, ...]) -> str:
    return text.lower() if text.lower() in allowed else ""


def _domain(text: str) -> str:
    """A domain name in the form DNS compares; "" for anything else (never the attacker's text)."""
    name = normalise(text)
    return name if _DOMAIN.match(name) else ""
