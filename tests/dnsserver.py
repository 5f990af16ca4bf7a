"""A DNS server on loopback that answers as a recursive resolver would answer for the public internet.

Tests load it with the records "the world" publishes (which may differ from Route 53), point ses-guard's resolver at
`LocalDns.nameserver` and can inject failures per name. It runs in-process on dnslib's socketserver classes, UDP and
TCP on the same port, and starts in milliseconds.

Record values are parsed with dnspython's presentation-form parser (RFC 1035 escapes are decimal; dnslib's own zone
parser reads them as octal) and served through dnslib's wire encoder, so client and server do not share an encoder.
"""

from __future__ import annotations

import builtins
import contextlib
import re
import socket
import socketserver
import struct
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CNAME
import dns.rdtypes.ANY.TXT
from dnslib import EDNS0, QTYPE, RCODE, RD, RR, DNSError, DNSHeader, DNSRecord
from dnslib.dns import RDMAP
from dnslib.label import DNSBuffer
from dnslib.server import DNSHandler, TCPServer, UDPServer

from core.kernel.names import normalise

FAILURE_MODES = ("SERVFAIL", "REFUSED", "TIMEOUT", "YXDOMAIN", "FORMERR", "NOTIMP")
_CLASSIC_UDP_LIMIT = 512
_SERVER_EDNS_PAYLOAD = 1232
_MAX_CHAIN = 16
_ROUTE53_OCTAL = re.compile(r"\\([0-7]{3}|.)", re.DOTALL)


@dataclass(frozen=True)
class _Rr:
    ttl: int
    rdata: dns.rdata.Rdata
    wire: RD  # converted when stored, so a value dnslib cannot encode fails in the test, not in the server thread

    @classmethod
    def of(cls, ttl: int, rdata: dns.rdata.Rdata) -> _Rr:
        return cls(ttl, rdata, _to_dnslib(rdata))


@dataclass(frozen=True)
class QueryLogEntry:
    name: str
    rdtype: str
    transport: str  # "udp" or "tcp"


def route53_to_rfc1035(text: str) -> str:
    """Route 53 writes `\\ooo` escapes in octal (`*` is `\\052`); zone files mean decimal. Other escapes stay."""

    def convert(match: re.Match[str]) -> str:
        escaped = match.group(1)
        if len(escaped) == 3:
            return f"\\{int(escaped, 8):03d}"
        return match.group(0)

    return _ROUTE53_OCTAL.sub(convert, text)


def name_key(name: str | dns.name.Name) -> str:
    """The server's spelling of a name: A-labels, lower case, no trailing dot, RFC 1035 escapes."""
    if isinstance(name, str):
        name = dns.name.from_text(normalise(name) or ".")
    text: str = name.to_text(omit_final_dot=True)
    return "" if text in (".", "@") else text.lower()


def _rdtype(rdtype: str | int) -> int:
    return int(dns.rdatatype.RdataType.make(rdtype))


def _parse_value(rdtype: int, value: str) -> dns.rdata.Rdata:
    """TXT/SPF: a value starting with `"` is zone-file text (quoted, possibly several strings, decimal escapes);
    anything else is the literal text, UTF-8 encoded and split into 255-byte strings here. Other types: zone-file
    text, names relative to the root."""
    if rdtype in (dns.rdatatype.TXT, dns.rdatatype.SPF) and not value.lstrip().startswith('"'):
        raw = value.encode()
        chunks = [raw[i : i + 255] for i in range(0, len(raw), 255)] or [b""]
        return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.RdataType(rdtype), chunks)
    return dns.rdata.from_text(
        dns.rdataclass.IN, dns.rdatatype.RdataType(rdtype), value, origin=dns.name.root, relativize=False
    )


def _to_dnslib(rdata: dns.rdata.Rdata) -> RD:
    wire = rdata.to_wire()
    assert wire is not None  # given no file, to_wire returns the bytes
    rd_class = RDMAP.get(dns.rdatatype.to_text(rdata.rdtype), RD)
    if rd_class is RD:
        return RD(wire)
    return rd_class.parse(DNSBuffer(wire), len(wire))


class LocalDns:
    """Answers every query from its own mutable data, like a recursive resolver in front of the whole internet.

    - CNAMEs are chased within the data; a name that exists with other types, or has descendants (an empty
      non-terminal), answers NODATA; anything else NXDOMAIN. `*` labels synthesise answers (RFC 4592).
    - UDP answers larger than 512 bytes, or the client's EDNS payload size, come back empty with TC=1 and the
      question kept, so the client retries over TCP, where the full answer is sent.
    - `fail(name, mode)` makes a name (any type, also as a CNAME target) answer SERVFAIL, REFUSED, ... or, for
      TIMEOUT, not at all (over TCP the connection is closed unanswered).
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._lock = threading.RLock()
        self._data: dict[str, dict[int, list[_Rr]]] = {}
        self._existing: set[str] | None = None  # names with data plus empty non-terminals; rebuilt lazily
        self._failures: dict[str, str] = {}
        self._log: list[QueryLogEntry] = []
        self._in_flight = 0
        self._max_in_flight = 0
        self._gate: threading.Barrier | None = None
        self._gate_slots = 0
        self._servers: list[socketserver.BaseServer] = []
        self._threads: list[threading.Thread] = []
        self._port = 0

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> LocalDns:
        for _ in range(20):
            udp = UDPServer((self.host, 0), _Handler)
            port = udp.server_address[1]
            try:
                tcp = TCPServer((self.host, port), _Handler)
            except OSError:
                udp.server_close()
                continue
            self._port = port
            udp.local_dns = tcp.local_dns = self  # how _Handler finds its server's data
            self._servers = [udp, tcp]
            break
        else:
            raise OSError(f"no port free for both UDP and TCP on {self.host}")
        for server in self._servers:
            # A short poll interval keeps stop() fast; the default waits up to half a second per server.
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join()
        self._servers, self._threads = [], []

    def __enter__(self) -> LocalDns:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self._port)

    @property
    def nameserver(self) -> str:
        """The server in DNS_NAMESERVERS syntax."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self._port}"

    # -- data ------------------------------------------------------------------------------------------------

    def add(self, name: str, rdtype: str, value: str, ttl: int = 300) -> None:
        """Add one record. Names are case-insensitive, may carry a trailing dot and be IDN (U-labels).
        TXT/SPF `value`: zone-file text when it starts with `"` (e.g. '"v=DKIM1; k=rsa; p=MIIB" "...rest"', each
        string ≤255 bytes, decimal `\\ddd` escapes); otherwise the literal text, split into 255-byte strings."""
        rtype = _rdtype(rdtype)
        record = _Rr.of(ttl, _parse_value(rtype, value))
        with self._lock:
            rrs = self._data.setdefault(name_key(name), {}).setdefault(rtype, [])
            if all(existing.rdata != record.rdata for existing in rrs):
                rrs.append(record)
            self._existing = None

    def set(self, name: str, rdtype: str, values: Iterable[str], ttl: int = 300) -> None:
        """Replace the record set at (name, type) with `values` (same forms as `add`); no values removes it."""
        self.remove(name, rdtype)
        for value in values:
            self.add(name, rdtype, value, ttl)

    def remove(self, name: str, rdtype: str | None = None) -> None:
        key = name_key(name)
        with self._lock:
            node = self._data.get(key, {})
            if rdtype is None:
                node.clear()
            else:
                node.pop(_rdtype(rdtype), None)
            if not node:
                self._data.pop(key, None)
            self._existing = None

    def clear(self) -> None:
        """Drop all records (failures and counters stay; see `reset`)."""
        with self._lock:
            self._data.clear()
            self._existing = None

    def reset(self) -> None:
        """Back to a fresh server: no records, no failures, counters at zero, no concurrency gate."""
        with self._lock:
            self.clear()
            self._failures.clear()
            self._log.clear()
            self._max_in_flight = 0
            self._gate, self._gate_slots = None, 0

    def records(self, name: str, rdtype: str) -> tuple[str, ...]:
        """The values held at exactly (name, type), in RFC 1035 presentation form (TXT quoted)."""
        with self._lock:
            rrs = self._data.get(name_key(name), {}).get(_rdtype(rdtype), [])
            return tuple(rr.rdata.to_text() for rr in rrs)

    def load_rrsets(self, rrsets: Iterable[Mapping[str, Any]], *, zone: str | None = None) -> None:
        """Set data from Route 53 record sets (`list_resource_record_sets()["ResourceRecordSets"]`).

        Values are in Route 53's presentation form: TXT quoted, possibly several strings; names and values may carry
        `\\ooo` octal escapes (`\\052` is `*`). Each record set replaces the set at its (name, type). With `zone`,
        everything at or below the zone is removed first, so the server mirrors the zone (propagation done).
        Alias record sets have no values to serve and are skipped."""
        parsed: list[tuple[str, int, list[_Rr]]] = []
        for rrset in rrsets:
            if "ResourceRecords" not in rrset:
                continue
            key = name_key(dns.name.from_text(route53_to_rfc1035(rrset["Name"])))
            rtype = _rdtype(rrset["Type"])
            ttl = int(rrset.get("TTL", 300))
            rrs = [_Rr.of(ttl, _parse_value(rtype, route53_to_rfc1035(rr["Value"]))) for rr in rrset["ResourceRecords"]]
            parsed.append((key, rtype, rrs))
        with self._lock:
            if zone is not None:
                apex = name_key(zone)
                for key in [k for k in self._data if k == apex or k.endswith("." + apex)]:
                    del self._data[key]
            for key, rtype, rrs in parsed:
                self._data.setdefault(key, {})[rtype] = rrs
            self._existing = None

    # -- failure injection and observation ---------------------------------------------------------------------

    def fail(self, name: str, mode: str) -> None:
        """Make `name` (any type) answer with `mode`: SERVFAIL, REFUSED, TIMEOUT (no answer), YXDOMAIN, ..."""
        if mode not in FAILURE_MODES:
            raise ValueError(f"mode must be one of {FAILURE_MODES}, not {mode!r}")
        with self._lock:
            self._failures[name_key(name)] = mode

    def heal(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name_key(name), None)

    def gate(self, parties: int, timeout: float = 2.0) -> None:
        """Hold the next `parties` queries until all of them have arrived (or `timeout` passes): a client that
        sends them concurrently gets through at once and `max_in_flight` reaches `parties`."""
        with self._lock:
            self._gate = threading.Barrier(parties, timeout=timeout)
            self._gate_slots = parties

    @property
    def queries_received(self) -> int:
        with self._lock:
            return len(self._log)

    @property
    def query_log(self) -> list[QueryLogEntry]:
        with self._lock:
            return list(self._log)

    def queries_for(self, name: str, rdtype: str | None = None) -> int:
        key = name_key(name)
        return sum(1 for q in self.query_log if q.name == key and (rdtype is None or q.rdtype == rdtype.upper()))

    @property
    def max_in_flight(self) -> int:
        with self._lock:
            return self._max_in_flight

    # -- answering -----------------------------------------------------------------------------------------------

    def respond(self, request: DNSRecord, transport: str) -> DNSRecord | None:
        """The full reply to `request`, or None to stay silent."""
        qname = name_key(dns.name.Name((*request.q.qname.label, b"")))
        qtype = dns.rdatatype.RdataType.make(int(request.q.qtype))
        with self._lock:
            self._log.append(QueryLogEntry(qname, dns.rdatatype.to_text(qtype), transport))
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            gate = None
            if self._gate is not None and self._gate_slots > 0:
                gate, self._gate_slots = self._gate, self._gate_slots - 1
        try:
            if gate is not None:
                with contextlib.suppress(threading.BrokenBarrierError):
                    gate.wait()
            return self._answer(request, qname, qtype)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _answer(self, request: DNSRecord, qname: str, qtype: int) -> DNSRecord | None:
        reply = request.reply(ra=1, aa=1)
        if request.header.opcode != 0:
            reply.header.rcode = RCODE.NOTIMP
            return reply
        name = qname
        seen: set[str] = set()
        with self._lock:
            for _ in range(_MAX_CHAIN):
                mode = self._failures.get(name)
                if mode == "TIMEOUT":
                    return None
                if mode is not None:
                    reply.rr.clear()
                    reply.header.rcode = getattr(RCODE, mode)
                    return reply
                node = self._node(name)
                if node is None:
                    reply.header.rcode = RCODE.NXDOMAIN
                    return reply
                cname = node.get(dns.rdatatype.CNAME)
                if cname and qtype not in (dns.rdatatype.CNAME, dns.rdatatype.ANY):
                    if name in seen:
                        break
                    seen.add(name)
                    self._add_answers(reply, name, dns.rdatatype.CNAME, cname)
                    name = name_key(cast(dns.rdtypes.ANY.CNAME.CNAME, cname[0].rdata).target)
                    continue
                for rtype, rrs in node.items():
                    if qtype in (rtype, dns.rdatatype.ANY):
                        self._add_answers(reply, name, rtype, rrs)
                return reply
        reply.rr.clear()
        reply.header.rcode = RCODE.SERVFAIL  # CNAME loop or chain too long
        return reply

    @staticmethod
    def _add_answers(reply: DNSRecord, owner: str, rtype: int, rrs: list[_Rr]) -> None:
        for rr in rrs:
            reply.add_answer(RR(owner + ".", rtype, ttl=rr.ttl, rdata=rr.wire))

    def _node(self, name: str) -> dict[int, list[_Rr]] | None:
        """Data at `name`: its records, {} for NODATA, None for NXDOMAIN; wildcards per RFC 4592 §3.3.1."""
        if name in self._data:
            return self._data[name]
        existing = self._existing_names()
        if name in existing:
            return {}
        labels = name.split(".")
        for i in range(1, len(labels) + 1):
            encloser = ".".join(labels[i:])
            if encloser in existing or not encloser:
                wildcard = f"*.{encloser}" if encloser else "*"
                return self._data.get(wildcard)
        return None

    def _existing_names(self) -> builtins.set[str]:  # `set` in this class is LocalDns.set
        if self._existing is None:
            names: set[str] = set()
            for key in self._data:
                labels = key.split(".")
                names.update(".".join(labels[i:]) for i in range(len(labels)))
            self._existing = names
        return self._existing


class _Handler(DNSHandler):  # type: ignore[misc]  # dnslib has no type information
    """Like dnslib's handler, but can stay silent, and truncates oversized UDP answers keeping the question
    (dnslib's `truncate()` drops it, and dnspython then ignores the reply as not matching its query)."""

    def handle(self) -> None:
        local: LocalDns = self.server.local_dns
        tcp = self.server.socket_type == socket.SOCK_STREAM
        data = self._read_tcp() if tcp else self.request[0]
        if not data:
            return
        try:
            request = DNSRecord.parse(data)
        except DNSError:
            return
        reply = local.respond(request, "tcp" if tcp else "udp")
        if reply is None:
            return
        client_payload = _edns_payload(request)
        if client_payload is not None:
            reply.add_ar(EDNS0(udp_len=_SERVER_EDNS_PAYLOAD))
        wire = reply.pack()
        if tcp:
            self.request.sendall(struct.pack("!H", len(wire)) + wire)
            return
        limit = max(_CLASSIC_UDP_LIMIT, client_payload or 0)
        if len(wire) > limit:
            header = DNSHeader(id=reply.header.id, bitmap=reply.header.bitmap, tc=1)
            truncated = DNSRecord(header, q=request.q)
            if client_payload is not None:
                truncated.add_ar(EDNS0(udp_len=_SERVER_EDNS_PAYLOAD))
            wire = truncated.pack()
        self.request[1].sendto(wire, self.client_address)

    def _read_tcp(self) -> bytes:
        data = b""
        while len(data) < 2 or len(data) - 2 < struct.unpack("!H", data[:2])[0]:
            chunk = self.request.recv(65537)
            if not chunk:
                return b""
            data += chunk
        return bytes(data[2:])


def _edns_payload(request: DNSRecord) -> int | None:
    for rr in request.ar:
        if rr.rtype == QTYPE.OPT:
            return int(rr.edns_len)
    return None
