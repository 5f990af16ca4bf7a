"""core.adapters.dns against a DNS server on loopback: formats, statuses, failures, TCP fallback, memo, concurrency."""

from __future__ import annotations

import socket
import threading

import pytest

from core.adapters.dns import DnsClient, make_resolver
from core.kernel.settings import Nameserver, parse_nameservers
from tests.dnsserver import LocalDns
from tests.fixtures_dns import DNS_TEST_TIMEOUT

DKIM_KEY = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" + "q" * 340 + "IDAQAB"


def client_for(*servers: LocalDns) -> DnsClient:
    nameservers = tuple(Nameserver(*server.address) for server in servers)
    return DnsClient(make_resolver(nameservers, timeout=DNS_TEST_TIMEOUT))


# -- TXT -----------------------------------------------------------------------------------------------------


def test_given_dkim_key_split_in_255_char_strings_when_looked_up_then_one_joined_value(dns_server, dns_client):
    record = f"v=DKIM1; k=rsa; p={DKIM_KEY}"
    dns_server.add("s1._domainkey.example.com", "TXT", f'"{record[:255]}" "{record[255:]}"')

    answer = dns_client.lookup("s1._domainkey.example.com", "TXT")

    assert answer.status == "OK"
    assert answer.values == (record,)


def test_given_plain_600_char_txt_when_looked_up_then_value_is_whole_and_unquoted(dns_server, dns_client):
    spf = "v=spf1 " + " ".join(f"ip4:192.0.2.{i}" for i in range(50)) + " ~all"
    assert len(spf) > 255
    dns_server.add("example.com", "TXT", spf)
    dns_server.add("example.com", "TXT", "google-site-verification=abc")

    answer = dns_client.lookup("example.com", "TXT")

    assert sorted(answer.values) == sorted([spf, "google-site-verification=abc"])


def test_given_txt_with_escaped_quote_and_backslash_when_looked_up_then_escapes_are_removed(dns_server, dns_client):
    dns_server.add("_dmarc.example.com", "TXT", r'"v=DMARC1; p=none; x=\"q\" \\ end"')

    answer = dns_client.lookup("_dmarc.example.com", "TXT")

    assert answer.values == ('v=DMARC1; p=none; x="q" \\ end',)


def test_given_txt_with_bytes_that_are_not_utf8_when_looked_up_then_they_become_replacement_characters(
    dns_server, dns_client
):
    dns_server.add("odd.example.com", "TXT", r'"v=spf1 \255-all"')

    answer = dns_client.lookup("odd.example.com", "TXT")

    assert answer.status == "OK"
    assert answer.values == ("v=spf1 \ufffd-all",)


# -- names ---------------------------------------------------------------------------------------------------


def test_given_upper_case_name_with_trailing_dot_when_looked_up_then_answer_name_is_normalised(dns_server, dns_client):
    dns_server.add("_dmarc.example.com", "TXT", "v=DMARC1; p=reject")

    answer = dns_client.lookup("_DMARC.Example.COM.", "txt")

    assert (answer.name, answer.rdtype, answer.status) == ("_dmarc.example.com", "TXT", "OK")
    assert dns_client.lookup("_dmarc.example.com", "TXT") is answer
    assert dns_server.queries_received == 1


def test_given_idn_domain_when_looked_up_in_unicode_then_the_a_label_is_queried(dns_server, dns_client):
    dns_server.add("_dmarc.bücher.example", "TXT", "v=DMARC1; p=none")

    answer = dns_client.lookup("_dmarc.BÜCHER.example", "TXT")

    assert answer.name == "_dmarc.xn--bcher-kva.example"
    assert answer.values == ("v=DMARC1; p=none",)
    assert [q.name for q in dns_server.query_log] == ["_dmarc.xn--bcher-kva.example"]


def test_given_label_longer_than_63_chars_when_looked_up_then_failed_with_reason_and_nothing_sent(
    dns_server, dns_client
):
    answer = dns_client.lookup("x" * 64 + ".example.com", "TXT")

    assert answer.status == "FAILED"
    assert "label" in answer.error
    assert dns_server.queries_received == 0
    assert dns_client.queries_sent == 0


def test_given_name_longer_than_255_octets_when_looked_up_then_failed_not_raised(dns_server, dns_client):
    answer = dns_client.lookup(".".join(["a" * 60] * 5), "TXT")

    assert answer.status == "FAILED"
    assert answer.error.startswith("not a valid DNS name")


def test_given_unknown_record_type_when_looked_up_then_value_error(dns_client):
    with pytest.raises(ValueError, match="BOGUS"):
        dns_client.lookup("example.com", "bogus")


# -- CNAME ---------------------------------------------------------------------------------------------------


def test_given_dkim_cname_when_txt_looked_up_then_key_returned_and_cname_reported(dns_server, dns_client):
    dns_server.add("tok1._domainkey.example.com", "CNAME", "TOK1.dkim.us-east-1.AmazonSES.com.")
    dns_server.add("tok1.dkim.us-east-1.amazonses.com", "TXT", f"p={DKIM_KEY}")

    txt = dns_client.lookup("tok1._domainkey.example.com", "TXT")
    cname = dns_client.lookup("tok1._domainkey.example.com", "CNAME")

    assert (txt.status, txt.values, txt.cname) == ("OK", (f"p={DKIM_KEY}",), "tok1.dkim.us-east-1.amazonses.com")
    assert (cname.status, cname.values, cname.cname) == ("OK", ("tok1.dkim.us-east-1.amazonses.com",), "")


def test_given_cname_to_missing_target_when_looked_up_then_nxdomain_with_cname(dns_server, dns_client):
    dns_server.add("tok2._domainkey.example.com", "CNAME", "tok2.dkim.amazonses.com")

    answer = dns_client.lookup("tok2._domainkey.example.com", "TXT")

    assert (answer.status, answer.cname) == ("NXDOMAIN", "tok2.dkim.amazonses.com")


def test_given_cname_to_target_without_txt_when_looked_up_then_nodata_with_cname(dns_server, dns_client):
    dns_server.add("tok3._domainkey.example.com", "CNAME", "tok3.dkim.amazonses.com")
    dns_server.add("tok3.dkim.amazonses.com", "A", "192.0.2.7")

    answer = dns_client.lookup("tok3._domainkey.example.com", "TXT")

    assert (answer.status, answer.values, answer.cname) == ("NODATA", (), "tok3.dkim.amazonses.com")


def test_given_a_chain_of_two_cnames_when_txt_looked_up_then_key_at_its_end_and_first_hop_reported(
    dns_server, dns_client
):
    dns_server.add("tok4._domainkey.example.com", "CNAME", "tok4.dkim.amazonses.com")
    dns_server.add("tok4.dkim.amazonses.com", "CNAME", "tok4.dkim.eu-west-1.amazonses.com")
    dns_server.add("tok4.dkim.eu-west-1.amazonses.com", "TXT", f"p={DKIM_KEY}")

    answer = dns_client.lookup("tok4._domainkey.example.com", "TXT")

    assert (answer.status, answer.values, answer.cname) == ("OK", (f"p={DKIM_KEY}",), "tok4.dkim.amazonses.com")
    assert dns_server.queries_received == 1


def test_given_a_chain_of_two_cnames_to_nowhere_when_txt_looked_up_then_nxdomain_with_first_hop(dns_server, dns_client):
    dns_server.add("tok5._domainkey.example.com", "CNAME", "hop.example.com")
    dns_server.add("hop.example.com", "CNAME", "tok5.dkim.amazonses.com")

    answer = dns_client.lookup("tok5._domainkey.example.com", "TXT")

    assert (answer.status, answer.cname) == ("NXDOMAIN", "hop.example.com")


def test_given_a_cname_beside_a_txt_when_txt_looked_up_then_the_cname_is_followed(dns_server, dns_client):
    # No valid zone holds both; a resolver that meets a CNAME follows it, whatever else the name holds.
    dns_server.add("tok6._domainkey.example.com", "CNAME", "tok6.dkim.amazonses.com")
    dns_server.add("tok6._domainkey.example.com", "TXT", "p=beside")
    dns_server.add("tok6.dkim.amazonses.com", "TXT", f"p={DKIM_KEY}")

    answer = dns_client.lookup("tok6._domainkey.example.com", "TXT")

    assert (answer.values, answer.cname) == ((f"p={DKIM_KEY}",), "tok6.dkim.amazonses.com")


def test_given_a_txt_key_at_the_name_itself_when_txt_looked_up_then_no_cname_reported(dns_server, dns_client):
    dns_server.add("tok7._domainkey.example.com", "TXT", f"p={DKIM_KEY}")

    answer = dns_client.lookup("tok7._domainkey.example.com", "TXT")

    assert (answer.status, answer.values, answer.cname) == ("OK", (f"p={DKIM_KEY}",), "")


# -- NXDOMAIN / NODATA -----------------------------------------------------------------------------------------


def test_given_name_with_other_types_only_when_looked_up_then_nodata(dns_server, dns_client):
    dns_server.add("bounce.example.com", "TXT", "v=spf1 include:amazonses.com ~all")

    assert dns_client.lookup("bounce.example.com", "MX").status == "NODATA"


def test_given_empty_non_terminal_when_looked_up_then_nodata_not_nxdomain(dns_server, dns_client):
    dns_server.add("example.com._report._dmarc.reports.example.net", "TXT", "v=DMARC1")

    assert dns_client.lookup("_dmarc.reports.example.net", "TXT").status == "NODATA"
    assert dns_client.lookup("_report._dmarc.reports.example.net", "TXT").status == "NODATA"
    assert dns_client.lookup("other.com._report._dmarc.reports.example.net", "TXT").status == "NXDOMAIN"


def test_given_no_such_name_when_looked_up_then_nxdomain_without_values(dns_server, dns_client):
    dns_server.add("example.com", "TXT", "v=spf1 -all")

    answer = dns_client.lookup("_dmarc.example.com", "TXT")

    assert (answer.status, answer.values, answer.error, answer.failed) == ("NXDOMAIN", (), "", False)


# -- MX / NS -----------------------------------------------------------------------------------------------------


def test_given_mail_from_mx_when_looked_up_then_preference_and_lower_case_exchange(dns_server, dns_client):
    dns_server.add("bounce.example.com", "MX", "10 Feedback-SMTP.us-east-1.AmazonSES.com.")
    dns_server.add("bounce.example.com", "MX", "20 backup.example.com")

    answer = dns_client.lookup("bounce.example.com", "MX")

    assert sorted(answer.values) == ["10 feedback-smtp.us-east-1.amazonses.com", "20 backup.example.com"]


def test_given_zone_ns_when_looked_up_then_lower_case_targets_without_dot(dns_server, dns_client):
    dns_server.add("example.com", "NS", "NS-1.AWSDNS-01.ORG.")
    dns_server.add("example.com", "NS", "ns-2.awsdns-02.com.")

    answer = dns_client.lookup("example.com", "NS")

    assert sorted(answer.values) == ["ns-1.awsdns-01.org", "ns-2.awsdns-02.com"]


# -- failures --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "expected_error"),
    [
        ("SERVFAIL", "SERVFAIL from 127.0.0.1:"),
        ("REFUSED", "REFUSED from 127.0.0.1:"),
        ("TIMEOUT", f"timeout after {DNS_TEST_TIMEOUT:g}s"),
        ("YXDOMAIN", "YXDOMAIN"),
    ],
)
def test_given_server_failing_a_name_when_looked_up_then_failed_answer_with_reason(
    dns_server, dns_client, mode, expected_error
):
    dns_server.add("_dmarc.example.com", "TXT", "v=DMARC1; p=none")
    dns_server.fail("_dmarc.example.com", mode)

    answer = dns_client.lookup("_dmarc.example.com", "TXT")

    assert answer.status == "FAILED"
    assert answer.failed
    assert answer.error.startswith(expected_error)
    assert answer.values == ()


def test_given_cname_target_failing_when_txt_looked_up_then_failed(dns_server, dns_client):
    dns_server.add("tok._domainkey.example.com", "CNAME", "tok.dkim.amazonses.com")
    dns_server.fail("tok.dkim.amazonses.com", "SERVFAIL")

    assert dns_client.lookup("tok._domainkey.example.com", "TXT").status == "FAILED"


def test_given_first_nameserver_refuses_when_looked_up_then_second_nameserver_answers(dns_server):
    dns_server.add("example.com", "TXT", "from the first")
    dns_server.fail("example.com", "REFUSED")
    with LocalDns() as second:
        second.add("example.com", "TXT", "from the second")

        answer = client_for(dns_server, second).lookup("example.com", "TXT")

        assert answer.values == ("from the second",)
        assert (dns_server.queries_received, second.queries_received) == (1, 1)


# -- size and transport ----------------------------------------------------------------------------------------


def test_given_answer_larger_than_edns_payload_when_looked_up_then_complete_via_tcp(dns_server, dns_client):
    values = [f"record-{i}=" + str(i) * 600 for i in range(3)]
    for value in values:
        dns_server.add("big.example.com", "TXT", value)

    answer = dns_client.lookup("big.example.com", "TXT")

    assert sorted(answer.values) == sorted(values)
    assert [q.transport for q in dns_server.query_log] == ["udp", "tcp"]


def test_given_answer_over_512_but_within_edns_payload_when_looked_up_then_udp_suffices(dns_server, dns_client):
    value = "v=DKIM1; k=rsa; p=" + "A" * 700
    dns_server.add("mid.example.com", "TXT", value)

    answer = dns_client.lookup("mid.example.com", "TXT")

    assert answer.values == (value,)
    assert [q.transport for q in dns_server.query_log] == ["udp"]


# -- memo and concurrency ----------------------------------------------------------------------------------------


def test_given_answer_already_looked_up_when_looked_up_again_then_no_query_is_sent(dns_server, dns_client):
    dns_server.add("_dmarc.example.com", "TXT", "v=DMARC1; p=none")
    first = dns_client.lookup("_dmarc.example.com", "TXT")
    dns_server.remove("_dmarc.example.com")

    second = dns_client.lookup("_DMARC.Example.com.", "txt")

    assert second == first
    assert dns_server.queries_received == 1
    assert dns_client.queries_sent == 1


def test_given_failed_answer_when_looked_up_again_then_it_is_memoised_too(dns_server, dns_client):
    dns_server.fail("example.com", "SERVFAIL")

    dns_client.lookup("example.com", "NS")
    dns_client.lookup("example.com", "NS")

    assert dns_server.queries_received == 1


def test_given_two_threads_asking_the_same_question_when_in_flight_together_then_one_query_is_sent(
    dns_server, dns_client
):
    dns_server.add("example.com", "TXT", "v=spf1 -all")
    # Two parties: a second query for the same name would meet the first at the gate.
    dns_server.gate(2, timeout=0.2)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(dns_client.lookup("example.com", "TXT"))) for _ in range(2)
    ]

    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [answer.values for answer in results] == [("v=spf1 -all",)] * 2
    assert dns_server.queries_received == 1


# -- nameserver syntax -----------------------------------------------------------------------------------------


def _ipv6_loopback_server() -> LocalDns | None:
    if not socket.has_ipv6:
        return None
    try:
        return LocalDns(host="::1").start()
    except OSError:
        return None


def test_given_ipv6_nameserver_syntax_when_looked_up_then_server_on_ipv6_loopback_answers():
    server = _ipv6_loopback_server()
    if server is None:
        pytest.skip("this machine has no IPv6 loopback")
    try:
        server.add("example.com", "TXT", "over ipv6")
        nameservers = parse_nameservers(server.nameserver)
        assert server.nameserver.startswith("[::1]:")

        answer = DnsClient(make_resolver(nameservers, timeout=DNS_TEST_TIMEOUT)).lookup("example.com", "TXT")

        assert answer.values == ("over ipv6",)
        assert server.queries_received == 1
    finally:
        server.stop()


def test_given_ipv4_nameserver_syntax_when_looked_up_then_the_named_port_is_used(dns_server):
    dns_server.add("example.com", "TXT", "over ipv4")
    client = DnsClient(make_resolver(parse_nameservers(dns_server.nameserver), timeout=DNS_TEST_TIMEOUT))

    assert client.lookup("example.com", "TXT").values == ("over ipv4",)
    assert dns_server.queries_received == 1
