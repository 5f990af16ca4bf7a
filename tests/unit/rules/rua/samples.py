"""Reports as receivers deliver them, and archives as attackers build them, for the report tests.

The XML samples under tests/data/dmarc/ are shaped after what Google, Outlook.com, Yahoo and an RFC 9990 reporter
send; the mails and archives around them are built here, so each test shows what it wraps its report in.
"""

from __future__ import annotations

import gzip
import io
import struct
import zipfile
import zlib
from email.message import EmailMessage
from pathlib import Path

DATA = Path(__file__).parents[3] / "data" / "dmarc"
MB = 1024 * 1024


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def report_mail(*attachments: tuple[str, str, bytes], sender: str = "noreply-dmarc-support@google.com") -> bytes:
    """A report mail as receivers send it: headers per RFC 9990 "Email", a short text part, the attachments
    (filename, media type, content)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "dmarc-reports@example.com"
    message["Subject"] = "Report domain: example.com Submitter: google.com Report-ID: 7382615293746120394"
    message["Message-ID"] = "<7382615293746120394@google.com>"
    message.set_content("This is an aggregate report from google.com.\n")
    for filename, media_type, content in attachments:
        maintype, subtype = media_type.split("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


def deflated_zeros(size: int) -> tuple[bytes, int]:
    """A raw deflate stream of `size` zero bytes (a multiple of 1 MB) and its CRC-32, without compressing `size`
    bytes: one megabyte is compressed with a full flush, which makes its output a block that can be repeated."""
    assert size % MB == 0
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(MB)) + compressor.flush(zlib.Z_FULL_FLUSH)
    final = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros, crc = bytes(MB), 0
    for _ in range(size // MB):
        crc = zlib.crc32(zeros, crc)
    return block * (size // MB) + final.flush(zlib.Z_FINISH), crc


def gzip_bomb(size: int) -> bytes:
    """A valid gzip file that inflates to `size` zero bytes."""
    stream, crc = deflated_zeros(size)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + stream + struct.pack("<II", crc, size & 0xFFFFFFFF)


def zip_with(
    name: str, stream: bytes, crc: int, size: int, *, declared_size: int | None = None, flags: int = 0
) -> bytes:
    """A one-member zip around a raw deflate stream; `declared_size` lets its headers lie about the size."""
    declared = size if declared_size is None else declared_size
    encoded = name.encode()
    common = struct.pack("<HHHHHIII", 20, flags, 8, 0, 0, crc, len(stream), declared)
    local = b"PK\x03\x04" + common + struct.pack("<HH", len(encoded), 0) + encoded
    # name length, extra, comment, disk, internal and external attributes, offset of the local header
    central = b"PK\x01\x02" + struct.pack("<H", 20) + common + struct.pack("<HHHHHII", len(encoded), 0, 0, 0, 0, 0, 0)
    central += encoded
    offset = len(local) + len(stream)
    end = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 1, 1, len(central), offset, 0)
    return local + stream + central + end


def zip_bomb(size: int) -> bytes:
    stream, crc = deflated_zeros(size)
    return zip_with("google.com!example.com!1777593600!1777679999.xml", stream, crc, size)


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)
