"""The one boundary to DNS: queries through an injected dnspython resolver, answers as core.kernel.models.Answer."""

from __future__ import annotations

import threading
from concurrent.futures import Future

import dns.exception
import dns.message
import dns.name
import dns.nameserver
import dns.rdata
import dns.rdatatype
import dns.rdtypes.mxbase
import dns.rdtypes.nsbase
import dns.rdtypes.txtbase
import dns.resolver

from core.kernel.errors import ConfigError
from core.kernel.models import Answer
from core.kernel.names import normalise
from core.kernel.settings import Nameserver

# Large enough for a 2048-bit DKIM key plus a few TXT records without TCP, small enough to avoid IP fragmentation
# (the DNS Flag Day 2020 value).
EDNS_PAYLOAD = 1232

Query = tuple[str, str]


def make_resolver(nameservers: tuple[Nameserver, ...], timeout: float) -> dns.resolver.Resolver:
    """A resolver that sends every query to `nameservers` (host, port), or the system resolver when none are given.

    `timeout` bounds each lookup as a whole (dnspython's `lifetime`), retries and the TCP retry included; a
    further nameserver is tried only when an earlier one fails fast (SERVFAIL, REFUSED, unreachable).
    """
    if nameservers:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [dns.nameserver.Do53Nameserver(ns.host, ns.port) for ns in nameservers]
    else:
        try:
            resolver = dns.resolver.Resolver()
        except dns.resolver.NoResolverConfiguration as exc:
            raise ConfigError("DNS_NAMESERVERS is empty and the system has no resolver configured") from exc
    resolver.timeout = timeout
    resolver.lifetime = timeout
    resolver.use_edns(0, 0, EDNS_PAYLOAD)
    return resolver


class DnsClient:
    """Looks names up once per run: answers are memoised per (normalised name, type), in-flight lookups shared.

    Thread-safe; callers bring the concurrency (the audit checks DNS_CONCURRENCY identities at once)."""

    def __init__(self, resolver: dns.resolver.Resolver) -> None:
        self._resolver = resolver
        self._lock = threading.Lock()
        self._answers: dict[Query, Future[Answer]] = {}
        self._sent = 0

    @property
    def queries_sent(self) -> int:
        """Lookups handed to the resolver (memoised answers are not counted; dnspython's own retries are not
        counted separately)."""
        with self._lock:
            return self._sent

    def lookup(self, name: str, rdtype: str) -> Answer:
        """The answer for (name, type); DNS trouble of any kind is a FAILED answer, an unknown type a ValueError."""
        key = _key(name, rdtype)
        with self._lock:
            future = self._answers.get(key)
            owner = future is None
            if future is None:
                future = self._answers[key] = Future()
        if owner:
            try:
                future.set_result(self._query(*key))
            except BaseException as exc:
                # A bug, not a DNS outcome: let the next caller try again rather than replay the exception.
                with self._lock:
                    del self._answers[key]
                future.set_exception(exc)
                raise
        return future.result()

    def _query(self, name: str, rdtype: str) -> Answer:
        try:
            qname = dns.name.from_text(name) if name else None
        except dns.exception.DNSException as exc:
            return Answer(name, rdtype, "FAILED", error=f"not a valid DNS name: {exc}")
        if qname is None:
            return Answer(name, rdtype, "FAILED", error="not a valid DNS name: empty")
        with self._lock:
            self._sent += 1
        try:
            result = self._resolver.resolve(qname, rdtype, search=False, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN as exc:
            response = exc.kwargs.get("responses", {}).get(qname)
            return Answer(name, rdtype, "NXDOMAIN", cname=_alias_target(response, qname, rdtype))
        except dns.exception.DNSException as exc:
            return Answer(name, rdtype, "FAILED", error=self._describe(exc))
        cname = _alias_target(result.response, qname, rdtype)
        if result.rrset is None:
            return Answer(name, rdtype, "NODATA", cname=cname)
        return Answer(name, rdtype, "OK", tuple(_present(rdata) for rdata in result.rrset), cname=cname)

    def _describe(self, exc: dns.exception.DNSException) -> str:
        if isinstance(exc, dns.exception.Timeout):
            return f"timeout after {self._resolver.lifetime:g}s"
        if isinstance(exc, dns.resolver.YXDOMAIN):
            return "YXDOMAIN: the name is too long after DNAME substitution"
        if isinstance(exc, dns.resolver.NoNameservers):
            failures = [
                f"{str(error[3]) or type(error[3]).__name__} from {_server(error[0], error[2])}"
                for error in exc.kwargs.get("errors", [])
            ]
            return "; ".join(failures) or "no nameserver could answer"
        return str(exc)


def _key(name: str, rdtype: str) -> Query:
    rdtype = rdtype.strip().upper()
    try:
        dns.rdatatype.from_text(rdtype)
    except dns.rdatatype.UnknownRdatatype:
        raise ValueError(f"unknown DNS record type {rdtype!r}") from None
    return normalise(name), rdtype


def _target(name: dns.name.Name) -> str:
    if name == dns.name.root:
        return "."
    text: str = name.to_text(omit_final_dot=True)
    return text.lower()


def _present(rdata: dns.rdata.Rdata) -> str:
    if isinstance(rdata, dns.rdtypes.txtbase.TXTBase):
        # Non-UTF-8 bytes cannot be part of a valid SPF, DKIM or DMARC record; replacing them keeps the rest readable.
        return b"".join(rdata.strings).decode("utf-8", errors="replace")
    if isinstance(rdata, dns.rdtypes.mxbase.MXBase):
        return f"{rdata.preference} {_target(rdata.exchange)}"
    if isinstance(rdata, dns.rdtypes.nsbase.NSBase):
        return _target(rdata.target)
    text: str = rdata.to_text()
    return text


def _alias_target(response: dns.message.Message | None, qname: dns.name.Name, rdtype: str) -> str:
    """The target of the CNAME the resolver followed from `qname`, if it followed one."""
    if response is None or rdtype == "CNAME":
        return ""
    for rrset in response.answer:
        if rrset.name == qname and rrset.rdtype == dns.rdatatype.CNAME:
            for rdata in rrset:
                return _present(rdata)
    return ""


def _server(label: str | None, port: int) -> str:
    """dnspython names a server "Do53:<address>@<port>"; people read "<address>:<port>"."""
    address = (label or "?").rpartition("@")[0] or (label or "?")
    address = address.removeprefix("Do53:")
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
