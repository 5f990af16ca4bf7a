"""The XML reports inside what receivers send: a MIME message (RFC 9990 "Email": the report attached as .xml.gz,
.xml, or Google's .zip), or a bare .xml, .xml.gz, .gz or .zip file dropped into the inbox.

Everything here is hostile until proven otherwise (RFC 9990 "Report Contents as an Attack"): the kind of a file is
read from its first bytes, not its name; decompression streams in chunks and stops at the limits below, whatever
sizes an archive declares; every failure is a ReportRejected naming what was wrong.
"""

from __future__ import annotations

import email.errors
import email.feedparser
import email.policy
import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from email.message import Message

from core.rules.rua.errors import ReportRejected
from core.rules.rua.text import clean

MB = 1024 * 1024
MAX_INPUT_BYTES = 10 * MB  # a message or file as delivered; receivers' reports are kilobytes to a few megabytes
# Parsing runs within the ingest timeout (60 s): these leave it ample room for the largest real reports.
MAX_REPORT_BYTES = 10 * MB  # one report's XML once decompressed
MAX_TOTAL_BYTES = 20 * MB  # every report of one message or archive together
MAX_MEMBERS = 16  # files in a zip, members in a gzip, report attachments in a message: receivers send one
MAX_RATIO = 100  # decompressed size over compressed size; report XML compresses 10 to 30 times
RATIO_FLOOR = 1 * MB  # below this much output any ratio is harmless, and tiny inputs have wild ratios
CHUNK = 64 * 1024  # the most bytes one decompression step may produce
# The stdlib parser checks each line against every enclosing boundary and recurses into each nested part: nesting
# costs time in proportion to depth times lines, and deep enough it overflows the stack. So the parser itself
# counts the parts it opens and stops at these. Receivers' messages nest two to four deep (a forwarded report
# five) and hold a few parts.
MAX_DEPTH = 8
MAX_PARTS = 64

GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_REPORT_TYPES = frozenset(
    {
        "application/gzip",
        "application/x-gzip",
        "application/zip",
        "application/x-zip-compressed",
        "text/xml",
        "application/xml",
    }
)
_REPORT_SUFFIXES = (".xml", ".gz", ".gzip", ".zip")
_NAME_LIMIT = 200
# The stdlib parser meets malformed headers with these (CPython's header parser has raised each on fuzzed input,
# and recursion on deeply nested comments or parts); anything else is a bug and should surface.
_EMAIL_ERRORS = (
    email.errors.MessageError,
    ValueError,
    IndexError,
    TypeError,
    AttributeError,
    LookupError,
    RecursionError,
)
# RFC 8601: SES puts its verdict on top of what it received, above anything the sender wrote.
_SES_AUTHSERV = "amazonses.com"
_RESULTS_LIMIT = 2000  # SES writes a few hundred characters
_COMMENT = re.compile(r"\([^()]*\)")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z0-9-]{2,63}$")
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError)


@dataclass(frozen=True)
class Attachment:
    name: str  # as the sender named it, cleaned; never a path to trust
    xml: bytes
    # The From domain SES verified by DMARC on the mail that carried the report; "" when SES did not receive it
    # (a file dropped in the inbox) or it did not pass. Only as trustworthy as the guarantee that SES wrote the
    # object: anyone who can write to the inbox can write this header too.
    reporter: str = ""


def unpack(data: bytes, name: str = "") -> list[Attachment]:
    """The XML reports in `data` (at least one), or ReportRejected. `name` (a file or object name) only labels them."""
    if not data:
        raise ReportRejected("the input is empty")
    if len(data) > MAX_INPUT_BYTES:
        raise ReportRejected(f"the input is {len(data)} bytes; reports over {MAX_INPUT_BYTES // MB} MB are refused")
    budget = _Budget()
    label = clean(name, _NAME_LIMIT) or "report"
    kind = sniff(data)
    return _open(data, label, kind, budget) if kind else _from_message(data, budget)


def sniff(data: bytes) -> str:
    """The kind of `data` by its first bytes: gzip, zip or xml; "" for anything else (a MIME message, or garbage)."""
    if data.startswith(GZIP_MAGIC):
        return "gzip"
    if data.startswith(_ZIP_MAGICS):
        return "zip"
    if data.startswith(_UTF16_BOMS) or data.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n").startswith(b"<"):
        return "xml"
    return ""


def _open(data: bytes, label: str, kind: str, budget: _Budget) -> list[Attachment]:
    if kind == "xml":
        budget.take(len(data), label)
        return [Attachment(label, data)]
    if kind == "gzip":
        xml = _gunzip(data, label, budget)
        _must_be_xml(xml, label)
        return [Attachment(_strip_suffix(label), xml)]
    return _unzip(data, label, budget)


def _from_message(data: bytes, budget: _Budget) -> list[Attachment]:
    try:
        message = _parse_message(data)
        reporter = ses_reporter(message)
        parts = [(part, _content_type(part), clean(part.get_filename(), _NAME_LIMIT)) for part in _leaves(message)]
        found = [(part, kind, name) for part, kind, name in parts if _is_report_part(kind, name)]
        if len(found) > MAX_MEMBERS:
            raise ReportRejected(f"the message has {len(found)} report attachments; at most {MAX_MEMBERS} are read")
        payloads = [(part.get_payload(decode=True), kind, name) for part, kind, name in found]
    except _EMAIL_ERRORS as error:
        raise ReportRejected(f"the message is malformed: {type(error).__name__}: {clean(str(error), 200)}") from None
    if not found:
        seen = ", ".join(sorted({kind for _, kind, _ in parts})[:8])
        raise ReportRejected(f"the message has no report attachment (.xml, .xml.gz or .zip); its parts: {seen}")
    attachments = []
    for index, (payload, kind, name) in enumerate(payloads, 1):
        label = name or f"attachment {index} ({kind})"
        content = payload if isinstance(payload, bytes) else b""
        found_kind = sniff(content)
        if not found_kind:
            raise ReportRejected(f"{label}: a {kind} attachment that is neither XML, gzip nor zip")
        attachments += _open(content, label, found_kind, budget)
    return [replace(attachment, reporter=reporter) for attachment in attachments]


class _BoundedParser(email.feedparser.BytesFeedParser):
    """The stdlib parser, stopped as it opens a part too many or too deep: the limits hold on the structure it
    sees, whatever spelling (encoded words, odd whitespace) made a header a multipart one. _new_message is the
    one place every part passes through as it opens, from Python 3.2 to 3.13."""

    def __init__(self) -> None:
        super().__init__(policy=email.policy.default)
        self.parts = 0

    def _new_message(self) -> None:
        super()._new_message()  # type: ignore[misc]
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise ReportRejected(f"the message has more than {MAX_PARTS} parts; reports have a few")
        depth: int = len(self._msgstack)  # type: ignore[attr-defined]
        if depth > MAX_DEPTH:
            raise ReportRejected(f"the message nests parts more than {MAX_DEPTH} deep; reports nest a few")


def _parse_message(data: bytes) -> Message:
    parser = _BoundedParser()
    parser.feed(data)
    message: Message = parser.close()
    return message


def ses_reporter(message: Message) -> str:
    """The header.from domain of a dmarc=pass result in the topmost Authentication-Results header when SES
    (amazonses.com) wrote it; "" otherwise. Headers further down are the sender's to forge, so only the top one
    counts."""
    # The raw value: SES writes plain ASCII, and nothing here needs the policy's decoding of encoded words.
    text = next((str(value) for name, value in message.raw_items() if name.lower() == "authentication-results"), "")
    if not text or len(text) > _RESULTS_LIMIT:
        return ""
    while _COMMENT.search(text):
        text = _COMMENT.sub(" ", text)
    authserv, *results = text.split(";")
    if authserv.lower().split()[:1] != [_SES_AUTHSERV]:
        return ""
    for result in results:
        words = result.lower().split()
        if not words or words[0].split("=", 1)[0].split("/", 1)[0] != "dmarc":
            continue
        if words[0].split("=", 1)[-1] != "pass":
            return ""
        found = [word.removeprefix("header.from=").strip('"') for word in words if word.startswith("header.from=")]
        domain = found[0].rstrip(".") if len(found) == 1 else ""
        return domain if _DOMAIN.match(domain) else ""
    return ""


def _leaves(message: Message) -> Iterator[Message]:
    for part in message.walk():
        if not part.is_multipart():
            yield part


def _content_type(part: Message) -> str:
    return clean(part.get_content_type(), 100)


def _is_report_part(content_type: str, filename: str) -> bool:
    """A report by its media type, or by its file name (application/octet-stream, or a type a receiver made up)."""
    if content_type in _REPORT_TYPES:
        return True
    return not content_type.startswith(("text/", "multipart/", "message/")) and filename.lower().endswith(
        _REPORT_SUFFIXES
    )


class _Budget:
    """Decompressed bytes left for one input, across all its reports."""

    def __init__(self) -> None:
        self.left = MAX_TOTAL_BYTES

    def take(self, size: int, label: str) -> None:
        self.left -= size
        if self.left < 0:
            raise ReportRejected(f"{label}: the reports together exceed {MAX_TOTAL_BYTES // MB} MB decompressed")


class _Sink:
    """Collects one report's decompressed bytes and stops at the limits as soon as they are crossed, so a bomb
    costs at most MAX_REPORT_BYTES plus one CHUNK of memory."""

    def __init__(self, label: str, compressed: int, budget: _Budget) -> None:
        self.label, self.compressed, self.budget = label, compressed, budget
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > MAX_REPORT_BYTES:
            raise ReportRejected(f"{self.label}: more than {MAX_REPORT_BYTES // MB} MB once decompressed")
        if self.size > RATIO_FLOOR and self.size > MAX_RATIO * self.compressed:
            raise ReportRejected(
                f"{self.label}: decompresses to more than {MAX_RATIO} times its {self.compressed} bytes"
            )
        self.budget.take(len(chunk), self.label)
        self.parts.append(chunk)

    def value(self) -> bytes:
        return b"".join(self.parts)


def _gunzip(data: bytes, label: str, budget: _Budget) -> bytes:
    """RFC 1952, several members allowed as gzip(1) allows them; zero padding after the last is tolerated."""
    sink = _Sink(label, len(data), budget)
    offset = 0
    for _ in range(MAX_MEMBERS):
        try:
            offset = _inflate_member(data, offset, sink)
        except zlib.error as error:
            raise ReportRejected(f"{label}: not a readable gzip stream ({error})") from None
        if data.count(0, offset) == len(data) - offset:
            return sink.value()
        if not data.startswith(GZIP_MAGIC, offset):
            raise ReportRejected(f"{label}: {len(data) - offset} bytes that are not gzip follow the gzip stream")
    raise ReportRejected(f"{label}: more than {MAX_MEMBERS} gzip members")


def _inflate_member(data: bytes, offset: int, sink: _Sink) -> int:
    """Inflate the gzip member at `offset` into `sink`; the offset just past it."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    while not inflater.eof:
        if offset >= len(data):
            raise ReportRejected(f"{sink.label}: the gzip stream is truncated")
        piece = data[offset : offset + CHUNK]
        offset += len(piece)
        while piece and not inflater.eof:
            sink.write(inflater.decompress(piece, CHUNK))
            piece = inflater.unconsumed_tail
    return offset - len(inflater.unused_data)


def _unzip(data: bytes, label: str, budget: _Budget) -> list[Attachment]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > MAX_MEMBERS:
                raise ReportRejected(f"{label}: the zip holds {len(members)} entries; at most {MAX_MEMBERS} are read")
            reports = [m for m in members if m.filename.lower().endswith(".xml")]
            if not reports:
                names = ", ".join(clean(m.filename, 60) for m in members[:5]) or "nothing"
                raise ReportRejected(f"{label}: the zip holds no .xml report (it holds {names})")
            return [_read_member(archive, member, label, len(data), budget) for member in reports]
    except _ZIP_ERRORS as error:
        raise ReportRejected(f"{label}: not a readable zip archive ({clean(str(error), 200)})") from None


def _read_member(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, label: str, compressed: int, budget: _Budget
) -> Attachment:
    name = clean(member.filename.rsplit("/", 1)[-1], _NAME_LIMIT) or "report.xml"
    where = f"{label}: {name}"
    if member.flag_bits & 0x1:
        raise ReportRejected(f"{where} is encrypted")
    if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ReportRejected(f"{where} uses compression method {member.compress_type}; reports use deflate")
    # The ratio is judged against the whole archive's size, which the archive cannot lie about.
    sink = _Sink(where, compressed, budget)
    with archive.open(member) as stream:
        while chunk := stream.read(CHUNK):
            sink.write(chunk)
    xml = sink.value()
    _must_be_xml(xml, where)
    return Attachment(name, xml)


def _must_be_xml(data: bytes, label: str) -> None:
    if sniff(data) != "xml":
        raise ReportRejected(f"{label}: the decompressed content is not XML")


def _strip_suffix(name: str) -> str:
    for suffix in (".gz", ".gzip"):
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name
