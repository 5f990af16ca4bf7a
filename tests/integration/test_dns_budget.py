"""Live-DNS queries per domain identity through the real handler, counted at the loopback server: a correct account
costs at most 6.5 an identity (one TXT query per DKIM token, MX and TXT at the MAIL FROM domain, the own `_dmarc`
record, and a few shared), and so does an account with mistakes, whose findings stay exactly those expected."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tests import scenario
from tests.dnsserver import LocalDns
from tests.fidelity import seed_identity
from tests.scenario import EU, KEY_1024, KEY_2048, SPF_SES, quoted

BUDGET = 6.5
ZONES = ("example.com", "example.org")
PER_ZONE = 30


def zone_of(i: int) -> str:
    return ZONES[i % len(ZONES)]


def domain(i: int) -> str:
    return f"d{i}.{zone_of(i)}"


def seed(aws: Any, dns: LocalDns, count: int) -> tuple[scenario.World, dict[str, tuple[str, ...]]]:
    """`count` domain identities across the two zones, each with nothing to find: three DKIM CNAMEs to SES and the
    keys behind them, a custom MAIL FROM with its MX and SPF, and `_dmarc` with p=reject and a rua in its own
    organisation. Route 53 holds the records and live DNS mirrors them; returns the world and each identity's
    tokens."""
    world = scenario.World(aws, dns)
    for zone in ZONES:
        world.zone(zone)
    # SES publishes amazonses.com's SPF record, which the MAIL FROM records include.
    dns.set("amazonses.com", "TXT", ["v=spf1 ip4:199.255.192.0/22 ip4:54.240.0.0/18 -all"])
    changes: dict[str, list[dict[str, Any]]] = {zone: [] for zone in ZONES}
    tokens: dict[str, tuple[str, ...]] = {}
    for i in range(count):
        name, zone = domain(i), zone_of(i)
        mail_from = f"mail.{name}"
        own = tuple(f"{i:03d}{kind}".ljust(32, "x") for kind in "abc")
        tokens[name] = seed_identity(aws, EU, name, tokens=own, mail_from=mail_from, through_api=False).tokens
        world.keys(tokens[name])
        records = [(f"{t}._domainkey.{name}", "CNAME", f"{t}.dkim.amazonses.com") for t in tokens[name]]
        records += [
            (mail_from, "MX", f"10 feedback-smtp.{EU}.amazonses.com"),
            (mail_from, "TXT", quoted(SPF_SES)),
            (f"_dmarc.{name}", "TXT", quoted(f"v=DMARC1; p=reject; rua=mailto:dmarc@{zone}")),
        ]
        changes[zone] += [change("CREATE", n, t, v) for n, t, v in records]
    for zone, batch in changes.items():
        client = aws.client("route53")
        client.change_resource_record_sets(HostedZoneId=world.zones[zone], ChangeBatch={"Changes": batch})
        world.sync(zone)
    return world, tokens


def change(action: str, name: str, rtype: str, value: str) -> dict[str, Any]:
    rrset = {"Name": name, "Type": rtype, "TTL": 300, "ResourceRecords": [{"Value": value}]}
    return {"Action": action, "ResourceRecordSet": rrset}


def per_identity(dns: LocalDns, summary: dict[str, Any]) -> float:
    audited: int = summary["identities_audited"]
    return dns.queries_received / audited


def dkim_names(tokens: dict[str, tuple[str, ...]]) -> set[str]:
    return {f"{t}._domainkey.{name}" for name, own in tokens.items() for t in own}


def test_given_a_correct_account_of_60_domains_when_audited_then_at_most_6_5_queries_an_identity_and_no_findings(
    aws, dns_server, run
):
    _, tokens = seed(aws, dns_server, 2 * PER_ZONE)

    summary = run({"regions": [EU]})

    assert summary["findings"] == []
    assert summary["errors"] == []
    assert summary["identities_audited"] == 2 * PER_ZONE
    assert per_identity(dns_server, summary) <= BUDGET
    # Each DKIM name once, by TXT: the answer's CNAME chain says where the name points, its end holds the key.
    dkim = Counter((q.name, q.rdtype) for q in dns_server.query_log if "._domainkey." in q.name)
    assert dkim == Counter({(name, "TXT"): 1 for name in dkim_names(tokens)})


def break_some(world: scenario.World, tokens: dict[str, tuple[str, ...]]) -> dict[str, set[str]]:
    """One mistake each for the first identities; returns the findings each must produce. Where only live DNS lacks a
    record, Route 53 still holds it (not propagated); where both lack it, it is missing."""
    dns = world.dns
    first = [tokens[domain(i)][0] for i in range(20)]

    def dkim(i: int) -> str:
        return f"{first[i]}._domainkey.{domain(i)}"

    def key(i: int) -> str:
        return f"{first[i]}.dkim.amazonses.com"

    def drop(i: int, name: str, rtype: str, value: str) -> None:
        world.aws.client("route53").change_resource_record_sets(
            HostedZoneId=world.zones[zone_of(i)], ChangeBatch={"Changes": [change("DELETE", name, rtype, value)]}
        )
        dns.remove(name, rtype)

    dns.remove(dkim(0))  # no record live (NXDOMAIN), but in Route 53
    dns.set(dkim(1), "CNAME", ["selector1.mailprovider.example."])  # a CNAME to another provider's key
    dns.set("selector1.mailprovider.example", "TXT", [KEY_1024])
    dns.remove(dkim(2))  # a key published at the name itself, no CNAME
    dns.set(dkim(2), "TXT", [KEY_2048])
    dns.set(key(3), "TXT", [KEY_1024])  # a weak key
    dns.set(key(4), "A", ["192.0.2.1"])  # the CNAME's target holds no key (NODATA): not judged here
    dns.remove(key(4), "TXT")
    dns.remove(key(5))  # the CNAME's target does not exist: not judged here either
    # Two hops, the second into a regional signing zone holding a weak key: the key at the chain's end is judged.
    dns.set(key(6), "CNAME", [f"{first[6]}.dkim.{EU}.amazonses.com."])
    dns.set(f"{first[6]}.dkim.{EU}.amazonses.com", "TXT", [KEY_1024])
    dns.fail(dkim(7), "SERVFAIL")  # the name fails: never "missing"
    dns.fail(key(8), "SERVFAIL")  # the key fails behind a good CNAME
    dns.set(dkim(9), "CNAME", ["broken.mailprovider.example."])  # a wrong target that fails: still a conflict
    dns.fail("broken.mailprovider.example", "SERVFAIL")
    dns.remove(f"mail.{domain(10)}")  # MAIL FROM MX and SPF not propagated
    dns.remove(f"_dmarc.{domain(11)}")  # DMARC not propagated
    drop(12, dkim(12), "CNAME", key(12))  # missing everywhere
    drop(13, f"mail.{domain(13)}", "MX", f"10 feedback-smtp.{EU}.amazonses.com")
    drop(13, f"mail.{domain(13)}", "TXT", quoted(SPF_SES))
    drop(14, f"_dmarc.{domain(14)}", "TXT", quoted(f"v=DMARC1; p=reject; rua=mailto:dmarc@{zone_of(14)}"))
    dns.set(f"_dmarc.{domain(15)}", "TXT", ["v=DMARC1; p=none"])  # Route 53 and live DNS disagree on the policy
    # Two CNAMEs at one name, which no valid zone holds: the client reads one of them (dnspython the last), here SES's.
    dns.set(dkim(16), "CNAME", ["selector2.mailprovider.example.", f"{key(16)}."])
    dns.set(dkim(17), "TXT", [KEY_1024])  # a TXT beside the good CNAME: resolvers follow the CNAME to the key
    dns.fail(dkim(18), "SERVFAIL")  # several failures at one identity
    dns.fail(f"{tokens[domain(18)][1]}.dkim.amazonses.com", "SERVFAIL")
    dns.set(dkim(19), "CNAME", [f"hop.{domain(19)}."])  # two hops through the owner's own name: its first is read
    dns.set(f"hop.{domain(19)}", "CNAME", [f"{key(19)}."])
    return {
        domain(0): {"DNS_NOT_PROPAGATED"},
        domain(1): {"DKIM_RECORD_CONFLICT"},
        domain(2): {"DKIM_RECORD_CONFLICT"},
        domain(3): {"DKIM_KEY_WEAK"},
        domain(6): {"DKIM_KEY_WEAK"},
        domain(7): {"CHECK_FAILED"},
        domain(8): {"CHECK_FAILED"},
        domain(9): {"DKIM_RECORD_CONFLICT"},
        domain(10): {"DNS_NOT_PROPAGATED"},
        domain(11): {"DNS_NOT_PROPAGATED"},
        domain(12): {"DKIM_RECORD_MISSING"},
        domain(13): {"MAIL_FROM_MX_MISSING", "MAIL_FROM_SPF_MISSING"},
        domain(14): {"DMARC_MISSING"},
        domain(15): {"DMARC_POLICY_NONE", "DMARC_NO_REPORTING"},
        domain(18): {"CHECK_FAILED"},
        domain(19): {"DKIM_RECORD_CONFLICT"},
    }


def test_given_an_account_with_mistakes_when_audited_then_the_findings_are_those_and_within_the_same_budget(
    aws, dns_server, run
):
    world, tokens = seed(aws, dns_server, 2 * PER_ZONE)
    expected = break_some(world, tokens)

    summary = run({"regions": [EU], "dry_run": True})

    found = {name: codes for (name, _), codes in scenario.codes_by_identity(summary).items()}
    assert found == expected
    assert summary["errors"] == []
    assert per_identity(dns_server, summary) <= BUDGET
    # A CNAME query only where the TXT query failed, to tell a failing name from a failing key behind its CNAME.
    first = {i: f"{tokens[domain(i)][0]}._domainkey.{domain(i)}" for i in range(20)}
    second = f"{tokens[domain(18)][1]}._domainkey.{domain(18)}"
    asked = [q.name for q in dns_server.query_log if q.rdtype == "CNAME"]
    assert sorted(asked) == sorted([first[7], first[8], first[9], first[18], second])
    messages = {(f["code"], i["identity"]): f["message"] for f in summary["findings"] for i in f["identities"]}
    assert f"Could not read the CNAME at {first[7]}" in messages[("CHECK_FAILED", domain(7))]
    assert f"Could not read the DKIM key behind {first[8]}" in messages[("CHECK_FAILED", domain(8))]
    assert "is a CNAME to broken.mailprovider.example" in messages[("DKIM_RECORD_CONFLICT", domain(9))]
    assert f"is a CNAME to hop.{domain(19)}," in messages[("DKIM_RECORD_CONFLICT", domain(19))]
    assert f"{first[2]} holds TXT data" in messages[("DKIM_RECORD_CONFLICT", domain(2))]
    weak = [f for f in summary["findings"] if f["code"] == "DKIM_KEY_WEAK"]
    # The weak key two hops away is named by the CNAME's target, the first hop, as the key behind one hop is.
    assert sorted(r["name"] for f in weak for r in f["records"]) == sorted(
        f"{tokens[domain(i)][0]}.dkim.amazonses.com" for i in (3, 6)
    )
