"""Property: whatever bytes arrive, unpacking either returns XML reports or raises ReportRejected, never anything
else; that holds for random bytes and for real deliveries with bytes changed, cut or inserted."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.rules.rua.errors import ReportRejected
from core.rules.rua.parse import parse
from core.rules.rua.unpack import sniff, unpack
from tests.unit.rules.rua.samples import gzipped, report_mail, sample, zipped

YAHOO = sample("yahoo.xml")
DELIVERIES = [
    report_mail(("r.zip", "application/zip", zipped({"r.xml": YAHOO}))),
    report_mail(("r.xml.gz", "application/gzip", gzipped(YAHOO)), ("r.xml", "text/xml", YAHOO)),
    gzipped(YAHOO),
    zipped({"r.xml": YAHOO}),
    YAHOO,
]
# Bytes that steer parsers into their less travelled paths: MIME syntax, encoded words, archive signatures.
SPICE = [
    b"\r\n",
    b"\r\n--",
    b";",
    b'"',
    b"=?utf-8?q?",
    b"filename*=",
    b"boundary=",
    b"PK\x03\x04",
    b"\x1f\x8b",
    b"<!",
    b";x*",
]


def _unpacks_or_rejects(data: bytes) -> None:
    """Anything but ReportRejected propagates and fails the test."""
    try:
        attachments, reason = unpack(data, "fuzzed"), ""
    except ReportRejected as rejected:
        attachments, reason = [], rejected.reason
    assert bool(attachments) != bool(reason)
    assert all(sniff(attachment.xml) == "xml" for attachment in attachments)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_given_random_bytes_when_unpacked_then_reports_or_report_rejected(data) -> None:
    _unpacks_or_rejects(data)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(DELIVERIES)))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["flip", "cut", "insert", "spice"]))
        if action == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif action == "cut":
            del data[at : at + draw(st.integers(1, 64))]
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        else:
            data[at:at] = draw(st.sampled_from(SPICE))
    return bytes(data)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_given_a_damaged_delivery_when_unpacked_then_reports_or_report_rejected(data) -> None:
    _unpacks_or_rejects(data)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_given_a_damaged_delivery_when_unpacked_and_parsed_then_a_report_or_report_rejected(data) -> None:
    reason = ""
    try:
        reports = [parse(attachment.xml) for attachment in unpack(data)]
    except ReportRejected as rejected:
        reason, reports = rejected.reason, []
    assert reason or all(report.records for report in reports)
