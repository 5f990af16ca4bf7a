"""The loopback DNS server's data model and answers, without sockets: Route 53 loading, wildcards, NODATA."""

from __future__ import annotations

import pytest
from dnslib import QTYPE, RCODE, DNSRecord

from tests.dnsserver import LocalDns, route53_to_rfc1035


def ask(server: LocalDns, name: str, rdtype: str) -> tuple[str, list[tuple[str, str, object]]]:
    """rcode and answers as (owner, type, data); TXT data as its character-strings in bytes."""
    reply = server.respond(DNSRecord.question(name, rdtype), "udp")
    assert reply is not None
    answers = [
        (str(rr.rname), QTYPE[rr.rtype], rr.rdata.data if rr.rtype == QTYPE.TXT else rr.rdata.toZone())
        for rr in reply.rr
    ]
    return RCODE[reply.header.rcode], answers


def test_given_route53_octal_escapes_when_converted_then_decimal_escapes_and_escaped_backslash_kept():
    assert route53_to_rfc1035(r"\052.example.com.") == r"\042.example.com."
    assert route53_to_rfc1035(r'"caf\303\251" "\"q\""') == r'"caf\195\169" "\"q\""'
    assert route53_to_rfc1035(r'"\\052"') == r'"\\052"'


def test_given_route53_record_sets_when_loaded_then_served_like_the_zone():
    server = LocalDns()
    server.load_rrsets(
        [
            {"Name": "Example.com.", "Type": "MX", "TTL": 300, "ResourceRecords": [{"Value": "10 mx.example.com"}]},
            {
                "Name": "\\052.example.com.",
                "Type": "TXT",
                "TTL": 60,
                "ResourceRecords": [{"Value": '"v=spf1 " "-all"'}, {"Value": '"caf\\303\\251"'}],
            },
            {"Name": "www.example.com.", "Type": "A", "AliasTarget": {"DNSName": "d1.cloudfront.net."}},
        ]
    )

    assert server.records("*.EXAMPLE.com", "TXT") == ('"v=spf1 " "-all"', '"caf\\195\\169"')
    assert server.records("example.com", "MX") == ("10 mx.example.com.",)
    assert server.records("www.example.com", "A") == ()
    assert ask(server, "anything.example.com", "TXT") == (
        "NOERROR",
        [
            ("anything.example.com.", "TXT", [b"v=spf1 ", b"-all"]),
            ("anything.example.com.", "TXT", ["café".encode()]),
        ],
    )


def test_given_zone_reloaded_when_loaded_with_zone_then_records_gone_from_route53_are_gone_and_others_stay():
    server = LocalDns()
    server.add("old.example.com", "TXT", "stale")
    server.add("_report._dmarc.example.net", "TXT", "v=DMARC1")
    rrsets = [{"Name": "example.com.", "Type": "TXT", "TTL": 300, "ResourceRecords": [{"Value": '"fresh"'}]}]

    server.load_rrsets(rrsets, zone="example.com")

    assert server.records("old.example.com", "TXT") == ()
    assert server.records("example.com", "TXT") == ('"fresh"',)
    assert server.records("_report._dmarc.example.net", "TXT") == ('"v=DMARC1"',)


def test_given_wildcard_and_existing_name_when_asked_then_wildcard_does_not_cover_existing_or_deeper_names():
    server = LocalDns()
    server.add("*.example.com", "TXT", "wild")
    server.add("host.example.com", "A", "192.0.2.1")
    server.add("a.b.example.com", "A", "192.0.2.2")

    assert ask(server, "host.example.com", "TXT") == ("NOERROR", [])
    assert ask(server, "b.example.com", "TXT") == ("NOERROR", [])
    assert ask(server, "x.b.example.com", "TXT") == ("NXDOMAIN", [])
    assert ask(server, "x.y.example.com", "TXT")[1] == [("x.y.example.com.", "TXT", [b"wild"])]


def test_given_cname_loop_when_asked_then_servfail():
    server = LocalDns()
    server.add("a.example.com", "CNAME", "b.example.com")
    server.add("b.example.com", "CNAME", "a.example.com")

    assert ask(server, "a.example.com", "TXT") == ("SERVFAIL", [])


def test_given_plain_txt_longer_than_255_bytes_when_added_then_split_into_255_byte_strings():
    server = LocalDns()

    server.add("example.com", "TXT", "é" * 200)

    (value,) = server.records("example.com", "TXT")
    assert value.count('" "') == 1  # 400 bytes: two character-strings


def test_given_record_and_failure_when_reset_then_both_gone():
    server = LocalDns()
    server.add("example.com", "TXT", "x")
    server.fail("example.com", "SERVFAIL")

    server.reset()

    assert ask(server, "example.com", "TXT") == ("NXDOMAIN", [])
    assert server.queries_received == 1


def test_given_unknown_failure_mode_when_set_then_value_error():
    with pytest.raises(ValueError, match="mode"):
        LocalDns().fail("example.com", "SLOW")
