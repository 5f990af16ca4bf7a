"""SPF trees served by the loopback DNS server: walked through the real DnsClient, and judged through the handler."""

from __future__ import annotations

from typing import Any

from core.rules.spftree import evaluate_spf
from tests import scenario
from tests.fidelity import seed_identity
from tests.scenario import EU, SPF_SES

SES_TXT = "v=spf1 ip4:199.255.192.0/22 ip4:54.240.0.0/18 ip6:2a01:111:f400::/48 -all"
GOOGLE = {
    "_spf.google.com": "v=spf1 include:_netblocks.google.com include:_netblocks2.google.com ~all",
    "_netblocks.google.com": "v=spf1 ip4:35.190.247.0/24 ip4:64.233.160.0/19 ~all",
    "_netblocks2.google.com": "v=spf1 ip6:2001:4860:4000::/36 ~all",
}


def publish(dns_server: Any, records: dict[str, str]) -> None:
    for name, value in records.items():
        dns_server.set(name, "TXT", [value])


def spf_findings(summary: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in summary["findings"] if f["code"].startswith("MAIL_FROM_SPF")]


def test_given_a_google_style_tree_on_dns_when_walked_with_the_dns_client_then_valid_and_each_name_read_once(
    dns_server, dns_client
):
    publish(dns_server, {**GOOGLE, "amazonses.com": SES_TXT})
    publish(dns_server, {"_spf.example.com": "v=spf1 include:_spf.google.com include:amazonses.com ~all"})
    record = "v=spf1 include:_spf.example.com ~all"

    first = evaluate_spf("bounce.example.com", record, dns_client.lookup)
    again = evaluate_spf("bounce.shop.example.com", record, dns_client.lookup)

    assert first.errors == ()
    assert first.authorises_ses
    assert first.lookups == 5
    assert again.records[1:] == first.records[1:]
    # The DnsClient memoises for the run: the second identity's walk sends nothing.
    assert dns_server.queries_for("_spf.google.com", "TXT") == 1
    assert dns_server.queries_for("amazonses.com", "TXT") == 1


def test_given_two_spf_records_at_an_include_on_dns_when_walked_then_permerror_at_that_term(dns_server, dns_client):
    dns_server.set("_spf.partner.example", "TXT", ["v=spf1 ip4:192.0.2.1 ~all", "v=spf1 ip4:192.0.2.2 ~all"])

    result = evaluate_spf("bounce.example.com", "v=spf1 include:_spf.partner.example ~all", dns_client.lookup)

    [error] = result.errors
    assert error.term == "include:_spf.partner.example"
    assert "holds 2 SPF records (permerror)" in error.message


def test_given_an_mx_with_eleven_names_on_dns_when_walked_then_permerror(dns_server, dns_client):
    dns_server.set("example.com", "MX", [f"10 mx{i}.example.com." for i in range(11)])

    result = evaluate_spf("bounce.example.com", "v=spf1 mx:example.com include:amazonses.com ~all", dns_client.lookup)

    [error] = result.errors
    assert error.term == "mx:example.com"
    assert "finds 11 MX names" in error.message


def test_given_three_names_that_do_not_exist_on_dns_when_walked_then_the_third_void_lookup_is_a_permerror(
    dns_server, dns_client
):
    dns_server.set("www.example.com", "TXT", ["not an address"])  # exists, but has no A: a void lookup too
    record = "v=spf1 a:gone.example.com a:www.example.com exists:gone2.example.com include:amazonses.com ~all"

    result = evaluate_spf("bounce.example.com", record, dns_client.lookup)

    [error] = result.errors
    assert error.term == "exists:gone2.example.com"
    assert result.void_lookups == 3
    assert dns_server.queries_for("amazonses.com", "TXT") == 0  # receivers stop at the permerror; so does the walk


def test_given_a_nested_include_mail_from_record_when_run_then_spf_is_valid(aws, dns_server, run):
    world = scenario.World(aws, dns_server)
    world.zone("example.com")
    names = ("news.example.com", "shop.example.com", "blog.example.com")
    for name in names:
        seed_identity(aws, EU, name, mail_from=f"bounce.{name}")
        dns_server.set(f"bounce.{name}", "MX", ["10 feedback-smtp.eu-west-1.amazonses.com."])
        dns_server.set(f"bounce.{name}", "TXT", ["v=spf1 include:_spf.example.com ~all"])
    publish(dns_server, {"_spf.example.com": "v=spf1 include:_spf.google.com include:amazonses.com ~all", **GOOGLE})
    publish(dns_server, {"amazonses.com": SES_TXT})

    summary = run({"regions": [EU]})

    assert spf_findings(summary) == []
    # Shared includes are read once for the whole run, not once per identity.
    assert dns_server.queries_for("_spf.example.com", "TXT") == 1
    assert dns_server.queries_for("_spf.google.com", "TXT") == 1
    assert dns_server.queries_for("amazonses.com", "TXT") == 1


def test_given_a_tree_broken_two_includes_down_when_run_then_invalid_names_path_count_and_term(aws, dns_server, run):
    world = scenario.World(aws, dns_server)
    world.zone("example.com")
    seed_identity(aws, EU, "news.example.com", mail_from="bounce.news.example.com")
    dns_server.set("bounce.news.example.com", "MX", ["10 feedback-smtp.eu-west-1.amazonses.com."])
    dns_server.set("bounce.news.example.com", "TXT", ["v=spf1 include:amazonses.com include:_spf.example.com ~all"])
    publish(
        dns_server,
        {
            "_spf.example.com": "v=spf1 include:_spf.google.com include:_spf2.example.com ~all",
            "_spf2.example.com": "v=spf1 include:_spf.crm.example ~all",  # published nowhere: permerror
            **GOOGLE,
        },
    )

    summary = run({"regions": [EU]})

    [finding] = spf_findings(summary)
    assert finding["code"] == "MAIL_FROM_SPF_INVALID"
    assert finding["subject"] == "bounce.news.example.com"
    assert (
        "(7 DNS lookups counted): bounce.news.example.com → _spf.example.com → _spf2.example.com: "
        "'include:_spf.crm.example' points to _spf.crm.example, which has no SPF record (permerror)"
    ) in finding["message"]
    assert [(r["name"], r["role"]) for r in finding["records"]] == [
        ("bounce.news.example.com", "found"),
        ("_spf2.example.com", "found"),
    ]


def test_given_the_record_ses_documents_when_run_then_the_only_added_query_is_amazonses_once(aws, dns_server, run):
    world = scenario.World(aws, dns_server)
    world.zone("example.com")
    names = ("news.example.com", "shop.example.com")
    for name in names:
        seed_identity(aws, EU, name, mail_from=f"bounce.{name}")
        dns_server.set(f"bounce.{name}", "MX", ["10 feedback-smtp.eu-west-1.amazonses.com."])
        dns_server.set(f"bounce.{name}", "TXT", [SPF_SES])
    publish(dns_server, {"amazonses.com": SES_TXT})

    summary = run({"regions": [EU]})

    assert spf_findings(summary) == []
    assert [dns_server.queries_for(f"bounce.{name}", "TXT") for name in names] == [1, 1]
    assert dns_server.queries_for("amazonses.com") == 1
    # Apart from that one lookup, every query is about the identities' own names, as before SPF trees were walked.
    # ("_dmarc.com" is the DMARC tree walk's last step.)
    outside = {q.name for q in dns_server.query_log} - {"amazonses.com", "_dmarc.com"}
    assert all(name.endswith("example.com") for name in outside), outside
