"""The opt-in SES-side fixes through the real handler: a custom MAIL FROM domain, and 2048-bit DKIM keys."""

from __future__ import annotations

import pytest

from tests import scenario
from tests.fidelity import seed_identity
from tests.scenario import EU, KEY_1024, SPF_SES, quoted


@pytest.fixture
def world(aws, dns_server, monkeypatch):
    monkeypatch.setenv("CONFIGURE_MAIL_FROM", "true")
    monkeypatch.setenv("MAIL_FROM_SUBDOMAIN", "mail")
    world = scenario.World(aws, dns_server)
    world.zone("example.com")
    for name in ("news.example.com", "used.example.com"):
        tokens = seed_identity(aws, EU, name).tokens
        world.keys(tokens)
        world.dkim("example.com", name, tokens)
    world.r53("example.com", "_dmarc.example.com", "TXT", quoted("v=DMARC1; p=reject; rua=mailto:d@example.com"))
    world.sync("example.com")
    dns_server.set("mail.used.example.com", "A", ["192.0.2.10"])  # served by another provider for another purpose
    return world


def mail_from(aws, identity):
    return aws.client("sesv2", EU).get_email_identity(EmailIdentity=identity)["MailFromAttributes"]


def test_given_configure_mail_from_when_run_live_then_ses_gets_the_domain_and_route53_its_mx_and_spf(aws, world, run):
    summary = run({"regions": [EU]})

    assert mail_from(aws, "news.example.com")["MailFromDomain"] == "mail.news.example.com"
    assert mail_from(aws, "news.example.com")["BehaviorOnMxFailure"] == "USE_DEFAULT_VALUE"
    zone = world.records(world.zones["example.com"])
    assert zone[("mail.news.example.com.", "MX")] == (1800, (f"10 feedback-smtp.{EU}.amazonses.com",))
    assert zone[("mail.news.example.com.", "TXT")] == (1800, (quoted(SPF_SES),))
    ses = [c for c in summary["changes"] if c["action"] == "SES_SET_MAIL_FROM"]
    assert [(c["name"], c["values"], c["applied"]) for c in ses] == [
        ("news.example.com", ["mail.news.example.com"], True)
    ]
    [finding] = [f for f in summary["findings"] if f["subject"] == "news.example.com"]
    assert (finding["code"], finding["fixed"]) == ("MAIL_FROM_NOT_CONFIGURED", True)


def test_given_a_mail_from_name_in_use_elsewhere_when_run_then_ses_is_not_changed(aws, world, run):
    summary = run({"regions": [EU]})

    assert "MailFromDomain" not in mail_from(aws, "used.example.com")
    assert not [c for c in summary["changes"] if c["name"] in ("used.example.com", "mail.used.example.com")]
    [finding] = [f for f in summary["findings"] if f["subject"] == "used.example.com"]
    assert "mail.used.example.com is already in use" in finding["message"]
    assert finding["fixed"] is False


def test_given_a_dry_run_when_mail_from_would_be_configured_then_the_plan_shows_it_and_nothing_changes(aws, world, run):
    before = world.records(world.zones["example.com"])

    summary = run({"regions": [EU], "dry_run": True})

    assert "MailFromDomain" not in mail_from(aws, "news.example.com")
    assert world.records(world.zones["example.com"]) == before
    planned = {(c["action"], c["name"], c["type"]) for c in summary["changes"]}
    assert planned == {
        ("SES_SET_MAIL_FROM", "news.example.com", "SES"),
        ("CREATE", "mail.news.example.com", "MX"),
        ("CREATE", "mail.news.example.com", "TXT"),
    }
    assert not any(c["applied"] for c in summary["changes"])


def test_given_upgrade_dkim_keys_when_a_key_is_1024_bit_then_ses_is_asked_for_2048_bit_keys(
    aws, dns_server, run, monkeypatch
):
    monkeypatch.setenv("UPGRADE_DKIM_KEYS", "true")
    world = scenario.World(aws, dns_server)
    world.zone("example.com")
    weak = seed_identity(aws, EU, "old.example.com", key_length="RSA_1024_BIT").tokens
    byod = seed_identity(aws, EU, "own.example.com", origin="EXTERNAL", key_length="RSA_1024_BIT").tokens
    # Copies its keys from the same domain in us-east-1: asking for keys of its own would change its tokens.
    copied = seed_identity(aws, EU, "copy.example.com", origin="AWS_SES_US_EAST_1", key_length="RSA_1024_BIT").tokens
    for name, tokens in (("old.example.com", weak), ("copy.example.com", copied)):
        world.keys(tokens, KEY_1024)
        world.dkim("example.com", name, tokens)
    world.sync("example.com")
    dns_server.set(f"{byod[0]}._domainkey.own.example.com", "TXT", [KEY_1024])

    summary = run({"regions": [EU]})
    second = run({"regions": [EU]})

    ses = aws.client("sesv2", EU)
    assert ses.get_email_identity(EmailIdentity="old.example.com")["DkimAttributes"]["NextSigningKeyLength"] == (
        "RSA_2048_BIT"
    )
    copy = ses.get_email_identity(EmailIdentity="copy.example.com")["DkimAttributes"]
    assert (copy["SigningAttributesOrigin"], tuple(copy["Tokens"])) == ("AWS_SES_US_EAST_1", copied)
    upgrades = [(c["name"], c["applied"]) for c in summary["changes"] if c["action"] == "SES_DKIM_2048"]
    assert upgrades == [("old.example.com", True)]
    weak_finding = next(f for f in summary["findings"] if f["code"] == "DKIM_KEY_WEAK" and "old." in f["subject"])
    assert "SES was asked for 2048-bit keys" in weak_finding["message"]
    # The key stays 1024-bit until SES rotates it; the request is not repeated meanwhile.
    assert [c for c in second["changes"] if c["action"] == "SES_DKIM_2048"] == []
    pending = next(f for f in second["findings"] if f["code"] == "DKIM_KEY_WEAK" and "old." in f["subject"])
    assert "SES moves to 2048-bit keys at its next rotation" in pending["message"]


def test_given_one_domain_in_two_regions_when_mail_from_would_be_configured_then_neither_region_is_changed(
    aws, world, run
):
    tokens = seed_identity(aws, scenario.US, "news.example.com").tokens
    world.keys(tokens)

    summary = run({"regions": [EU, scenario.US]})

    for region in (EU, scenario.US):
        attributes = aws.client("sesv2", region).get_email_identity(EmailIdentity="news.example.com")
        assert "MailFromDomain" not in attributes["MailFromAttributes"]
    assert not [c for c in summary["changes"] if c["action"] == "SES_SET_MAIL_FROM" or c["name"].startswith("mail.")]
    messages = [
        f["message"]
        for f in summary["findings"]
        if f["subject"] == "news.example.com" and f["code"] == "MAIL_FROM_NOT_CONFIGURED"
    ]
    assert len(messages) == 2
    assert all("in another region too" in m for m in messages)
