"""Route53Zones against moto's server on loopback, and the Route 53 behaviour the fidelity layer restores."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from core.adapters.aws import Clients
from core.adapters.route53 import Route53Zones
from core.kernel.errors import AwsError
from core.kernel.models import RecordSet, Zone
from core.rules.zones import apex_name_servers, pick_zone
from tests.fixtures_aws import REGION, LocalAws

SPLIT_DKIM_KEY = '"v=DKIM1; k=rsa; p=' + "A" * 240 + '" "' + "B" * 150 + '"'


def create_zone(aws: LocalAws, name: str, *, private: bool = False) -> str:
    route53 = aws.client("route53")
    kwargs: dict[str, Any] = {"Name": name, "CallerReference": f"{name}-{private}"}
    if private:
        kwargs["VPC"] = {"VPCRegion": REGION, "VPCId": "vpc-12345678"}
        kwargs["HostedZoneConfig"] = {"PrivateZone": True, "Comment": "inside only"}
    return str(route53.create_hosted_zone(**kwargs)["HostedZone"]["Id"]).rsplit("/", 1)[-1]


def change(action: str, name: str, rtype: str, *values: str, ttl: int = 300) -> dict[str, Any]:
    return {
        "Action": action,
        "ResourceRecordSet": {
            "Name": name,
            "Type": rtype,
            "TTL": ttl,
            "ResourceRecords": [{"Value": value} for value in values],
        },
    }


def apply(aws: LocalAws, zone_id: str, *changes: dict[str, Any]) -> None:
    aws.client("route53").change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": list(changes)})


# What a sending domain holds besides DKIM: its DMARC policy and its MAIL FROM domain's MX and SPF.
MAIL_RECORDS = (
    change("CREATE", "_dmarc.example.com", "TXT", '"v=DMARC1; p=reject"'),
    change("CREATE", "bounce.example.com", "MX", "10 feedback-smtp.eu-west-1.amazonses.com"),
    change("CREATE", "bounce.example.com", "TXT", '"v=spf1 include:amazonses.com ~all"'),
)


def reader(aws: LocalAws) -> Route53Zones:
    return Route53Zones(Clients.for_region(aws.session(), REGION).route53)


def test_given_public_private_and_delegated_zones_when_listing_then_each_is_read_with_its_kind(aws: LocalAws) -> None:
    public = create_zone(aws, "example.com")
    private = create_zone(aws, "example.com", private=True)
    delegated = create_zone(aws, "mail.example.com")
    route53 = reader(aws)

    zones = route53.list_zones()

    assert sorted(zones, key=lambda zone: zone.id) == sorted(
        [
            Zone(public, "example.com", private=False),
            Zone(private, "example.com", private=True),
            Zone(delegated, "mail.example.com", private=False),
        ],
        key=lambda zone: zone.id,
    )
    assert route53.calls_made == aws.calls.count(operation="ListHostedZones") == 1
    assert pick_zone("bounce.mail.example.com", zones) == Zone(delegated, "mail.example.com", private=False)
    assert pick_zone("_dmarc.example.com", zones) == Zone(public, "example.com", private=False)


def test_given_many_zones_when_listing_then_every_page_is_followed_and_counted(aws: LocalAws) -> None:
    for i in range(130):
        create_zone(aws, f"zone{i}.example")
    aws.calls.clear()
    route53 = reader(aws)

    zones = route53.list_zones()

    assert len(zones) == 130
    assert route53.calls_made == aws.calls.count(operation="ListHostedZones") == 2  # 100 per page


def test_given_record_sets_when_reading_then_names_are_decoded_and_values_kept_raw(aws: LocalAws) -> None:
    zone_id = create_zone(aws, "example.com")
    apply(
        aws,
        zone_id,
        change("CREATE", "Sel1._DomainKey.Example.COM.", "TXT", SPLIT_DKIM_KEY),
        change("CREATE", "*.example.com", "TXT", '"v=spf1 -all"'),
        change("CREATE", "bounce.example.com", "MX", "10 feedback-smtp.eu-west-1.amazonses.com"),
        change("CREATE", "_dmarc.example.com", "TXT", '"v=DMARC1; p=none"', '"google-site-verification=abc"'),
        {
            "Action": "CREATE",
            "ResourceRecordSet": {
                "Name": "www.example.com",
                "Type": "A",
                "AliasTarget": {
                    "HostedZoneId": zone_id,
                    "DNSName": "bounce.example.com",
                    "EvaluateTargetHealth": False,
                },
            },
        },
    )
    zone = Zone(zone_id, "example.com", private=False)
    route53 = reader(aws)

    records = route53.record_sets(zone)

    assert records[("sel1._domainkey.example.com", "TXT")] == RecordSet(
        "sel1._domainkey.example.com", "TXT", 300, (SPLIT_DKIM_KEY,)
    )
    assert records[("*.example.com", "TXT")].values == ('"v=spf1 -all"',)
    assert records[("bounce.example.com", "MX")].values == ("10 feedback-smtp.eu-west-1.amazonses.com",)
    assert records[("_dmarc.example.com", "TXT")].values == ('"v=DMARC1; p=none"', '"google-site-verification=abc"')
    assert records[("www.example.com", "A")] == RecordSet("www.example.com", "A", None, (), alias=True)
    assert ("example.com", "SOA") in records
    assert apex_name_servers(zone, records) == records[("example.com", "NS")].values
    assert route53.calls_made == aws.calls.count(operation="ListResourceRecordSets") == 1


def test_given_names_when_reading_record_sets_then_only_those_names_come_back(aws: LocalAws) -> None:
    zone_id = create_zone(aws, "example.com")
    apply(
        aws,
        zone_id,
        *MAIL_RECORDS,
        change("CREATE", "www.example.com", "CNAME", "elsewhere.example.net"),
    )
    zone = Zone(zone_id, "example.com", private=False)

    records = reader(aws).record_sets(zone, ["BOUNCE.example.com.", "_dmarc.example.com", "absent.example.com"])

    assert sorted(records) == [
        ("_dmarc.example.com", "TXT"),
        ("bounce.example.com", "MX"),
        ("bounce.example.com", "TXT"),
    ]


def test_given_a_zone_with_more_than_one_page_when_reading_then_every_page_is_read_and_counted(aws: LocalAws) -> None:
    zone_id = create_zone(aws, "example.com")
    names = [f"t{i}._domainkey.example.com" for i in range(400)]
    apply(aws, zone_id, *(change("CREATE", name, "CNAME", f"t{i}.dkim.amazonses.com") for i, name in enumerate(names)))
    aws.calls.clear()
    route53 = reader(aws)

    records = route53.record_sets(Zone(zone_id, "example.com", private=False), names[-3:])

    assert sorted(name for name, _ in records) == sorted(names[-3:])
    assert route53.calls_made == aws.calls.count(operation="ListResourceRecordSets") == 2  # 300 per page


def test_given_a_zone_when_asking_name_servers_then_the_apex_ns_set_answers(aws: LocalAws) -> None:
    zone_id = create_zone(aws, "example.com")
    delegation = aws.client("route53").get_hosted_zone(Id=zone_id)["DelegationSet"]["NameServers"]

    zone = Zone(zone_id, "example.com", private=False)

    servers = apex_name_servers(zone, reader(aws).record_sets(zone, [zone.name]))

    assert servers == tuple(server.rstrip(".").lower() for server in delegation)
    assert len(servers) == 4


def test_given_an_unknown_zone_when_reading_then_aws_error_names_the_operation(aws: LocalAws) -> None:
    with pytest.raises(AwsError) as raised:
        reader(aws).record_sets(Zone("Z0000000000000000000", "gone.example", private=False))

    assert (raised.value.service, raised.value.operation, raised.value.code) == (
        "route53",
        "ListResourceRecordSets",
        "NoSuchHostedZone",
    )


def test_given_route53_throttles_when_listing_zones_then_aws_error_names_the_operation(aws: LocalAws) -> None:
    aws.fail("ListHostedZones", "AccessDenied", "not authorized to perform: route53:ListHostedZones", status=403)

    with pytest.raises(AwsError) as raised:
        reader(aws).list_zones()

    assert (raised.value.operation, raised.value.code) == ("ListHostedZones", "AccessDenied")
    assert aws.calls.count(operation="ListHostedZones") == 1  # not retryable


# The loopback Route 53 behaves as Route 53 does where remediation depends on it.


def test_given_an_existing_name_and_type_when_creating_it_again_then_route53_rejects_the_batch(aws: LocalAws) -> None:
    zone_id = create_zone(aws, "example.com")
    apply(aws, zone_id, change("CREATE", "_dmarc.example.com", "TXT", '"v=DMARC1; p=none"'))

    with pytest.raises(ClientError) as raised:
        apply(aws, zone_id, change("CREATE", "_DMARC.Example.com.", "TXT", '"v=DMARC1; p=reject"'))

    assert raised.value.response["Error"]["Code"] == "InvalidChangeBatch"
    assert raised.value.response["Error"]["Message"] == (
        "Tried to create resource record set [name='_dmarc.example.com.', type='TXT'] but it already exists"
    )
    records = reader(aws).record_sets(Zone(zone_id, "example.com", private=False), ["_dmarc.example.com"])
    assert records[("_dmarc.example.com", "TXT")].values == ('"v=DMARC1; p=none"',)


def test_given_a_batch_with_one_bad_change_when_applying_then_nothing_is_applied(aws: LocalAws) -> None:
    zone_id = create_zone(aws, "example.com")
    apply(aws, zone_id, change("CREATE", "taken.example.com", "TXT", '"keep me"'))
    before = reader(aws).record_sets(Zone(zone_id, "example.com", private=False))

    with pytest.raises(ClientError):
        apply(
            aws,
            zone_id,
            change("CREATE", "new1.example.com", "TXT", '"one"'),
            change("UPSERT", "new2.example.com", "TXT", '"two"'),
            change("CREATE", "other.example.org", "TXT", '"outside the zone"'),
        )
    with pytest.raises(ClientError):
        apply(
            aws,
            zone_id,
            change("CREATE", "new3.example.com", "TXT", '"three"'),
            change("CREATE", "TAKEN.example.com", "TXT", '"clobber"'),
        )

    assert reader(aws).record_sets(Zone(zone_id, "example.com", private=False)) == before


def test_given_mixed_case_names_when_upserting_then_one_lower_case_set_is_kept(aws: LocalAws) -> None:
    zone_id = create_zone(aws, "Example.COM")
    apply(aws, zone_id, change("CREATE", "Bounce.Example.com", "TXT", '"v=spf1 include:amazonses.com ~all"'))
    apply(aws, zone_id, change("UPSERT", "bounce.example.COM.", "TXT", '"v=spf1 include:amazonses.com -all"'))

    records = aws.client("route53").list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]

    txt = [(r["Name"], [v["Value"] for v in r["ResourceRecords"]]) for r in records if r["Type"] == "TXT"]
    assert txt == [("bounce.example.com.", ['"v=spf1 include:amazonses.com -all"'])]


def test_given_a_wildcard_when_listing_then_route53_returns_the_octal_escape(aws: LocalAws) -> None:
    zone_id = create_zone(aws, "example.com")
    apply(aws, zone_id, change("CREATE", "*.example.com", "MX", "10 mx.example.com"))

    records = aws.client("route53").list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]

    assert "\\052.example.com." in [record["Name"] for record in records]


def test_given_a_large_zone_and_a_few_names_when_reading_then_each_name_costs_one_short_read(aws: LocalAws) -> None:
    zone_id = create_zone(aws, "example.com")
    filler = [change("CREATE", f"host{i}.example.com", "A", "192.0.2.1") for i in range(900)]
    apply(aws, zone_id, *filler)
    apply(
        aws,
        zone_id,
        *MAIL_RECORDS,
        change("CREATE", "bounce.example.com.sub.example.com", "TXT", '"not at the name"'),
    )
    route53 = reader(aws)
    [zone] = [z for z in route53.list_zones() if z.id == zone_id]
    aws.calls.clear()

    records = route53.record_sets(zone, ["bounce.example.com", "_dmarc.example.com", "absent.example.com"])

    assert zone.record_count == 906  # the filler, the four above, and the apex SOA and NS
    assert sorted(records) == [
        ("_dmarc.example.com", "TXT"),
        ("bounce.example.com", "MX"),
        ("bounce.example.com", "TXT"),
    ]
    assert records[("bounce.example.com", "TXT")].values == ('"v=spf1 include:amazonses.com ~all"',)
    assert aws.calls.count(operation="ListResourceRecordSets") == 3  # a whole read would take 4 pages


def test_given_a_name_with_more_sets_than_one_short_read_when_reading_then_the_read_goes_on(aws: LocalAws) -> None:
    zone_id = create_zone(aws, "example.com")
    apply(aws, zone_id, *(change("CREATE", f"h{i}.example.com", "A", "192.0.2.1") for i in range(700)))
    types = {"A": "192.0.2.1", "AAAA": "2001:db8::1", "CAA": '0 issue "amazon.com"', "MX": "10 mx.example.com",
             "NAPTR": '100 10 "S" "SIP+D2U" "" _sip._udp.example.com.', "SPF": '"v=spf1 -all"',
             "SRV": "1 1 5060 sip.example.com", "SSHFP": "1 1 " + "a" * 40, "TXT": '"x"', "TLSA": "3 1 1 " + "b" * 64,
             "DS": "12345 13 2 " + "c" * 64}  # fmt: skip
    apply(aws, zone_id, *(change("CREATE", "busy.example.com", rtype, value) for rtype, value in types.items()))
    route53 = reader(aws)
    [zone] = [z for z in route53.list_zones() if z.id == zone_id]

    records = route53.record_sets(zone, ["busy.example.com"])

    assert sorted(rtype for _, rtype in records) == sorted(types)
