"""Reports out of what arrives in the inbox: receivers' mails with zip and gzip attachments, bare files judged by
their bytes, and hostile input (bombs, archives of the wrong shape, garbage) refused with a reason and bounded
memory."""

from __future__ import annotations

import io
import random
import tracemalloc
import zipfile
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from core.rules.rua import unpack as unpack_module
from core.rules.rua.errors import ReportRejected
from core.rules.rua.unpack import (
    CHUNK,
    MAX_DEPTH,
    MAX_INPUT_BYTES,
    MAX_MEMBERS,
    MAX_PARTS,
    MAX_REPORT_BYTES,
    Attachment,
    unpack,
)
from tests.unit.rules.rua.samples import (
    MB,
    deflated_zeros,
    gzip_bomb,
    gzipped,
    report_mail,
    sample,
    zip_bomb,
    zip_with,
    zipped,
)

GOOGLE, OUTLOOK, YAHOO = sample("google.xml"), sample("outlook.xml"), sample("yahoo.xml")
GOOGLE_NAME = "google.com!example.com!1777593600!1777679999"


@pytest.fixture(scope="module")
def gigabyte_gzip() -> bytes:
    return gzip_bomb(1024 * MB)


@pytest.fixture(scope="module")
def gigabyte_zip() -> bytes:
    return zip_bomb(1024 * MB)


def _rejected(data: bytes, name: str = "") -> str:
    with pytest.raises(ReportRejected) as caught:
        unpack(data, name)
    return caught.value.reason


def _peak_while_rejecting(data: bytes) -> tuple[str, int]:
    """The reason `data` is rejected and the most memory Python held above the start while deciding so."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start = tracemalloc.get_traced_memory()[0]
        reason = _rejected(data)
        return reason, tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()


# --- receivers' deliveries ----------------------------------------------------------------------------------------


def test_given_a_google_mail_with_a_zip_when_unpacked_then_the_xml_inside_is_returned() -> None:
    mail = report_mail((f"{GOOGLE_NAME}.zip", "application/zip", zipped({f"{GOOGLE_NAME}.xml": GOOGLE})))

    assert unpack(mail) == [Attachment(f"{GOOGLE_NAME}.xml", GOOGLE)]


def test_given_an_outlook_mail_with_a_gzip_when_unpacked_then_the_gz_suffix_goes_from_the_name() -> None:
    name = "outlook.com!example.com!1777593600!1777680000"
    mail = report_mail((f"{name}.xml.gz", "application/gzip", gzipped(OUTLOOK)), sender="dmarcreport@microsoft.com")

    assert unpack(mail) == [Attachment(f"{name}.xml", OUTLOOK)]


@pytest.mark.parametrize(
    "media_type", ["application/x-gzip", "application/octet-stream", "application/gzip-compressed"]
)
def test_given_a_gzip_attachment_under_another_media_type_when_unpacked_then_its_file_name_makes_it_a_report(
    media_type,
) -> None:
    mail = report_mail(("yahoo.com!example.com!1777593600!1777679999.xml.gz", media_type, gzipped(YAHOO)))

    assert [a.xml for a in unpack(mail)] == [YAHOO]


@pytest.mark.parametrize(("filename", "media_type"), [("report.xml", "text/xml"), ("r.xml", "application/xml")])
def test_given_a_plain_xml_attachment_when_unpacked_then_it_is_returned_as_is(filename, media_type) -> None:
    mail = report_mail((filename, media_type, YAHOO))

    assert [a.xml for a in unpack(mail)] == [YAHOO]


def test_given_a_mail_with_two_reports_when_unpacked_then_both_are_returned_in_order() -> None:
    mail = report_mail(
        ("a.xml.gz", "application/gzip", gzipped(GOOGLE)), ("b.zip", "application/zip", zipped({"b.xml": YAHOO}))
    )

    assert [a.xml for a in unpack(mail)] == [GOOGLE, YAHOO]


def test_given_a_report_forwarded_inside_another_mail_when_unpacked_then_the_report_is_found() -> None:
    inner = report_mail(("r.xml.gz", "application/gzip", gzipped(GOOGLE)))
    outer = EmailMessage()
    outer["Subject"] = "Fwd: Report domain: example.com"
    outer.set_content("see attached")
    outer.add_attachment(message_from_bytes(inner, policy=policy.default))

    assert [a.xml for a in unpack(outer.as_bytes())] == [GOOGLE]


@pytest.mark.parametrize(
    ("name", "data", "xml"),
    [
        ("report.xml", GOOGLE, GOOGLE),
        ("report.xml.gz", gzipped(GOOGLE), GOOGLE),
        ("report.zip", zipped({"report.xml": GOOGLE}), GOOGLE),
        ("report.zip", gzipped(GOOGLE), GOOGLE),  # the name says zip, the bytes say gzip
        ("", gzipped(GOOGLE), GOOGLE),
        ("upload.bin", b"\xef\xbb\xbf\r\n  " + GOOGLE, b"\xef\xbb\xbf\r\n  " + GOOGLE),  # BOM, blank lines
    ],
)
def test_given_a_bare_file_when_unpacked_then_its_kind_comes_from_its_bytes(name, data, xml) -> None:
    assert [a.xml for a in unpack(data, name)] == [xml]


def test_given_a_gzip_of_several_members_with_zero_padding_when_unpacked_then_the_members_are_joined() -> None:
    half = len(GOOGLE) // 2

    assert unpack(gzipped(GOOGLE[:half]) + gzipped(GOOGLE[half:]) + bytes(512))[0].xml == GOOGLE


def test_given_a_zip_with_a_folder_and_a_readme_when_unpacked_then_only_the_xml_is_read() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.mkdir("reports")
        archive.writestr("README.txt", b"not a report")
        archive.writestr("reports/r.xml", YAHOO)

    assert unpack(buffer.getvalue(), "r.zip") == [Attachment("r.xml", YAHOO)]


def test_given_attacker_names_when_unpacked_then_control_characters_are_gone_and_length_bounded() -> None:
    name = "evil\r\nX-Injected: 1\x1b[31m" + "a" * 500 + ".xml"

    [attachment] = unpack(zipped({name: YAHOO}), "r.zip")

    assert attachment.name.startswith("evil X-Injected: 1 [31maaa")
    assert len(attachment.name) == 200


# --- hostile input --------------------------------------------------------------------------------------------------


def test_given_a_gzip_of_a_gigabyte_of_zeros_when_unpacked_then_rejected_before_more_than_the_limit_is_held(
    gigabyte_gzip,
) -> None:
    reason, peak = _peak_while_rejecting(gigabyte_gzip)

    assert "more than 10 MB once decompressed" in reason
    assert peak < MAX_REPORT_BYTES + 4 * CHUNK + MB


def test_given_a_zip_of_a_gigabyte_of_zeros_when_unpacked_then_rejected_before_more_than_the_limit_is_held(
    gigabyte_zip,
) -> None:
    reason, peak = _peak_while_rejecting(gigabyte_zip)

    assert "more than 10 MB once decompressed" in reason
    assert peak < MAX_REPORT_BYTES + 4 * CHUNK + MB


def test_given_a_zip_whose_headers_claim_a_tiny_member_when_unpacked_then_the_lie_is_caught() -> None:
    stream, crc = deflated_zeros(64 * MB)

    reason = _rejected(zip_with("r.xml", stream, crc, 64 * MB, declared_size=100))

    assert reason == "report: not a readable zip archive (Bad CRC-32 for file 'r.xml')"


def test_given_a_small_zip_bomb_when_unpacked_then_the_ratio_stops_it_early() -> None:
    stream, crc = deflated_zeros(64 * MB)
    bomb = zip_with("r.xml", stream, crc, 64 * MB)

    reason, peak = _peak_while_rejecting(bomb)

    assert reason == f"report: r.xml: decompresses to more than 100 times its {len(bomb)} bytes"
    assert peak < 100 * len(bomb) + 4 * CHUNK + MB


def test_given_a_small_gzip_bomb_when_unpacked_then_the_ratio_stops_it_early() -> None:
    bomb = gzip_bomb(64 * MB)

    reason, peak = _peak_while_rejecting(bomb)

    assert f"decompresses to more than 100 times its {len(bomb)} bytes" in reason
    assert peak < 100 * len(bomb) + 4 * CHUNK + MB


def test_given_a_bomb_attached_to_a_mail_when_unpacked_then_rejected_naming_the_attachment() -> None:
    mail = report_mail(("evil.xml.gz", "application/gzip", gzip_bomb(64 * MB)))

    assert _rejected(mail).startswith("evil.xml.gz: decompresses to more than 100 times")


def test_given_a_zip_with_many_members_when_unpacked_then_rejected_for_their_number() -> None:
    archive = zipped({f"r{i}.xml": YAHOO for i in range(MAX_MEMBERS + 1)})

    assert _rejected(archive, "many.zip") == f"many.zip: the zip holds {MAX_MEMBERS + 1} entries; at most 16 are read"


def test_given_a_zip_without_a_report_when_unpacked_then_rejected_naming_what_it_holds() -> None:
    archive = zipped({"invoice.pdf": b"%PDF-1.7", "notes.txt": b"hello"})

    assert _rejected(archive, "x.zip") == "x.zip: the zip holds no .xml report (it holds invoice.pdf, notes.txt)"


def test_given_an_xml_member_that_is_not_xml_when_unpacked_then_rejected() -> None:
    assert _rejected(zipped({"r.xml": b"MZ\x90\x00 a program"}), "x.zip") == (
        "x.zip: r.xml: the decompressed content is not XML"
    )


def test_given_an_encrypted_member_when_unpacked_then_rejected() -> None:
    stream, crc = deflated_zeros(MB)

    assert _rejected(zip_with("r.xml", stream, crc, MB, flags=0x1), "x.zip") == "x.zip: r.xml is encrypted"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "the input is empty"),
        (gzipped(GOOGLE)[:-20], "report: the gzip stream is truncated"),
        (gzipped(GOOGLE) + b"trailing", "report: 8 bytes that are not gzip follow the gzip stream"),
        (gzipped(b"%PDF-1.7 not a report"), "report: the decompressed content is not XML"),
        (b"\x1f\x8b\x08\x00" + bytes(6) + b"\xff" * 40, "report: not a readable gzip stream"),
        (zipped({"r.xml": GOOGLE})[:100], "report: not a readable zip archive"),
        (b"PK\x05\x06" + bytes(18), "report: the zip holds no .xml report (it holds nothing)"),
        (b"\x00\x01\x02 random \xff\xfe bytes", "the message has no report attachment"),
    ],
)
def test_given_broken_or_foreign_bytes_when_unpacked_then_rejected_with_the_reason(data, reason) -> None:
    assert _rejected(data).startswith(reason)


def test_given_a_header_that_trips_the_stdlib_parser_when_unpacked_then_rejected_as_malformed() -> None:
    # CPython's header parser raises IndexError on this parameter list.
    assert _rejected(b"Content-Disposition: ;x*\r\n\r\nbody") == (
        "the message is malformed: IndexError: string index out of range"
    )


def test_given_a_mail_with_more_report_attachments_than_read_when_unpacked_then_rejected() -> None:
    mail = report_mail(*[(f"r{i}.xml", "text/xml", YAHOO) for i in range(MAX_MEMBERS + 1)])

    assert _rejected(mail) == "the message has 17 report attachments; at most 16 are read"


def test_given_a_gzip_of_more_members_than_read_when_unpacked_then_rejected() -> None:
    assert _rejected(gzipped(b"<") * (MAX_MEMBERS + 1), "r.gz") == "r.gz: more than 16 gzip members"


def test_given_a_zip_member_compressed_with_another_method_when_unpacked_then_rejected() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_BZIP2) as archive:
        archive.writestr("r.xml", YAHOO)

    assert _rejected(buffer.getvalue(), "r.zip") == "r.zip: r.xml uses compression method 12; reports use deflate"


def test_given_more_than_the_input_limit_when_unpacked_then_rejected_before_reading() -> None:
    assert _rejected(bytes(MAX_INPUT_BYTES + 1)).startswith(f"the input is {MAX_INPUT_BYTES + 1} bytes")


def test_given_a_mail_without_attachments_when_unpacked_then_rejected_naming_its_parts() -> None:
    assert _rejected(report_mail()) == (
        "the message has no report attachment (.xml, .xml.gz or .zip); its parts: text/plain"
    )


def test_given_an_attachment_that_is_not_a_report_when_unpacked_then_rejected_naming_it() -> None:
    mail = report_mail(("r.xml.gz", "application/gzip", b"%PDF-1.7"))

    assert _rejected(mail) == "r.xml.gz: a application/gzip attachment that is neither XML, gzip nor zip"


def _nested(depth: int, media_type: bytes) -> bytes:
    if media_type.startswith(b"message/"):
        return b"Content-Type: %s\r\n\r\n" % media_type * depth + b"Subject: hi\r\n\r\nhi\r\n"
    opening = b"".join(b'Content-Type: %s; boundary="b%d"\r\n\r\n--b%d\r\n' % (media_type, i, i) for i in range(depth))
    return b"MIME-Version: 1.0\r\n" + opening + b"Content-Type: text/plain\r\n\r\nhi\r\n"


@pytest.mark.parametrize(
    ("depth", "media_type"),
    [
        (100_000, b"multipart/mixed"),
        (1_500, b"=?utf-8?q?multipart?=/mixed"),  # an encoded word the parser decodes
        (1_500, b"=?utf-8?b?bXVsdGlwYXJ0L21peGVk?="),
        (1_500, b"\x1cmultipart/mixed"),  # whitespace to str.strip(), not to a bytes pattern
        (1_500, b"message/rfc822"),
    ],
)
def test_given_parts_nested_thousands_deep_however_spelled_when_unpacked_then_parsing_stops_at_the_depth_limit(
    monkeypatch, depth, media_type
) -> None:
    # Each level multiplies the parser's work per line and deepens its recursion; it must stop opening parts at the
    # limit, not after.
    opened = []
    new_message = unpack_module._BoundedParser._new_message

    def counted(parser: unpack_module._BoundedParser) -> None:
        opened.append(1)
        new_message(parser)

    monkeypatch.setattr(unpack_module._BoundedParser, "_new_message", counted)

    assert (
        _rejected(_nested(depth, media_type))
        == f"the message nests parts more than {MAX_DEPTH} deep; reports nest a few"
    )
    assert len(opened) == MAX_DEPTH + 1


def test_given_a_report_nested_as_deep_as_a_forwarded_one_when_unpacked_then_it_is_read() -> None:
    inner = report_mail(("r.xml", "text/xml", YAHOO))
    outer = EmailMessage()
    outer.set_content("forwarded")
    outer.add_attachment(message_from_bytes(inner, policy=policy.default))
    wrapper = EmailMessage()
    wrapper.set_content("forwarded again")
    wrapper.add_attachment(outer)

    assert unpack(wrapper.as_bytes()) == [Attachment("r.xml", YAHOO)]


def test_given_a_flat_mail_of_more_parts_than_read_when_unpacked_then_rejected_for_their_number() -> None:
    mail = report_mail(*[(f"n{i}.txt", "text/plain", b"note") for i in range(MAX_PARTS)])

    assert _rejected(mail) == f"the message has more than {MAX_PARTS} parts; reports have a few"


def test_given_a_header_nesting_comments_thousands_deep_when_unpacked_then_rejected_as_malformed() -> None:
    header = b"Content-Type: " + b"(" * 5_000 + b"x" + b")" * 5_000 + b"multipart/mixed; boundary=b"
    mail = header + b"\r\n\r\n--b\r\nContent-Type: text/xml\r\n\r\n<feedback/>\r\n--b--\r\n"

    assert _rejected(mail).startswith("the message is malformed: RecursionError: maximum recursion depth exceeded")


def test_given_reports_within_the_limit_each_but_over_20_mb_together_when_unpacked_then_rejected() -> None:
    # Four symbols a byte: it compresses four times, well within the ratio, so only the total can stop it.
    padding = random.Random(0).randbytes(8 * MB).translate(bytes(b"abcd"[i % 4] for i in range(256)))
    report = GOOGLE.replace(b"<feedback>", b"<feedback><!--" + padding + b"-->")
    archive = zipped({f"r{i}.xml": report for i in range(3)})

    assert _rejected(archive, "r.zip") == "r.zip: r2.xml: the reports together exceed 20 MB decompressed"


def test_given_reports_over_the_total_budget_when_unpacked_then_rejected(monkeypatch) -> None:
    monkeypatch.setattr(unpack_module, "MAX_TOTAL_BYTES", MB)
    padded = GOOGLE.replace(b"<feedback>", b"<feedback><!--" + b" " * (600 * 1024) + b"-->")
    mail = report_mail(("a.xml.gz", "application/gzip", gzipped(padded)), ("b.xml", "text/xml", padded))

    assert _rejected(mail) == "b.xml: the reports together exceed 1 MB decompressed"


# --- who sent it, as SES saw it -----------------------------------------------------------------------------------

SES_RESULTS = (
    b"Authentication-Results: amazonses.com;\r\n spf=pass (spf: domain of bounce.google.com designates 209.85.1.2 "
    b"as permitted sender) smtp.mailfrom=bounce.google.com;\r\n dkim=pass header.i=@google.com;\r\n"
    b" dmarc=pass header.from=google.com;\r\n"
)


def test_given_a_mail_ses_received_with_dmarc_passing_when_unpacked_then_each_report_names_the_reporter() -> None:
    mail = SES_RESULTS + report_mail(("a.xml", "text/xml", YAHOO), ("b.xml.gz", "application/gzip", gzipped(GOOGLE)))

    assert [a.reporter for a in unpack(mail)] == ["google.com", "google.com"]


@pytest.mark.parametrize(
    "headers",
    [
        b"",
        SES_RESULTS.replace(b"dmarc=pass", b"dmarc=fail"),
        SES_RESULTS.replace(b"amazonses.com;", b"mx.example.net;"),
        SES_RESULTS.replace(b"header.from=google.com", b"header.from=google.com header.from=evil.example"),
        SES_RESULTS.replace(b"google.com;\r\n", b"goo gle;\r\n"),
        # The sender's own header sits below the one SES wrote on top.
        b"Authentication-Results: amazonses.com; dmarc=fail header.from=evil.example\r\n" + SES_RESULTS,
        b"Authentication-Results: amazonses.com; dmarc=pass header.from=google.com" + b" " * 3_000 + b"\r\n",
    ],
)
def test_given_no_passing_verdict_on_top_from_ses_when_unpacked_then_no_reporter_but_the_report_is_read(
    headers,
) -> None:
    [attachment] = unpack(headers + report_mail(("a.xml", "text/xml", YAHOO)))

    assert (attachment.xml, attachment.reporter) == (YAHOO, "")


def test_given_a_sender_forging_ses_below_the_real_verdict_when_unpacked_then_only_the_top_one_counts() -> None:
    forged = b"Authentication-Results: amazonses.com; dmarc=pass header.from=google.com\r\n"
    real = SES_RESULTS.replace(b"header.from=google.com", b"header.from=evil.example")

    [attachment] = unpack(real + forged + report_mail(("a.xml", "text/xml", YAHOO)))

    assert attachment.reporter == "evil.example"


def test_given_a_bare_file_when_unpacked_then_it_has_no_reporter() -> None:
    assert unpack(gzipped(GOOGLE), "r.xml.gz")[0].reporter == ""
