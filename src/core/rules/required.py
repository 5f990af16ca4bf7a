"""The DNS records SES needs for an identity: one source for the checks, the plan and hand-made instructions."""

from __future__ import annotations

from dataclasses import dataclass

from core.kernel.models import Code, Identity, Record

DEFAULT_SIGNING_ZONE = "dkim.amazonses.com"
SPF_VALUE = "v=spf1 include:amazonses.com ~all"


@dataclass(frozen=True)
class Required:
    record: Record
    reason: Code  # the finding that its absence raises


def dkim_name(token: str, domain: str) -> str:
    return f"{token}._domainkey.{domain}"


def dkim_target(token: str, signing_zone: str) -> str:
    # SES gives the zone per region and cell; dkim.amazonses.com is only the common case.
    return f"{token}.{signing_zone or DEFAULT_SIGNING_ZONE}"


def mail_from_mx_value(region: str) -> str:
    return f"10 feedback-smtp.{region}.amazonses.com"


def receiving_mx_value(region: str) -> str:
    return f"10 inbound-smtp.{region}.amazonaws.com"


def receiving_domain(identity: Identity, address: str, region: str) -> str:
    """The identity's domain when it is the one SES receives the reports address's mail for, else ""."""
    domain = address.rpartition("@")[2].lower()
    return domain if address and identity.is_domain and identity.region == region and identity.domain == domain else ""


def receiving_records(identity: Identity, address: str, region: str) -> list[Required]:
    """SES receipt rules need the domain's MX to point at the region's inbound endpoint; only for the identity of
    that domain in the region the rule lives in."""
    if not receiving_domain(identity, address, region):
        return []
    return [Required(Record(identity.domain, "MX", (receiving_mx_value(region),)), Code.REPORTS_MX_MISSING)]


def new_mail_from_domain(identity: Identity, subdomain: str) -> str:
    """The custom MAIL FROM domain ses-guard gives an identity that has none (CONFIGURE_MAIL_FROM)."""
    return f"{subdomain}.{identity.domain}"


def dmarc_name(domain: str) -> str:
    return f"_dmarc.{domain}"


def dmarc_value(policy: str, rua: str = "") -> str:
    return f"v=DMARC1; p={policy}" + (f"; rua=mailto:{rua}" if rua else "")


def dkim_records(identity: Identity) -> list[Required]:
    """Easy DKIM's token CNAMEs; for a replica (origin AWS_SES_<REGION>) they are its parent's, which it reuses:
    the checks judge them but leave creating them to the parent's finding."""
    dkim = identity.dkim
    if dkim is None or dkim.origin == "EXTERNAL":
        return []
    return [
        Required(
            Record(dkim_name(token, identity.domain), "CNAME", (dkim_target(token, dkim.signing_hosted_zone),)),
            Code.DKIM_RECORD_MISSING,
        )
        for token in dkim.tokens
    ]


def mail_from_records(identity: Identity) -> list[Required]:
    domain = identity.mail_from.domain if identity.mail_from else ""
    if not domain:
        return []
    return [
        Required(Record(domain, "MX", (mail_from_mx_value(identity.region),)), Code.MAIL_FROM_MX_MISSING),
        Required(Record(domain, "TXT", (SPF_VALUE,)), Code.MAIL_FROM_SPF_MISSING),
    ]


def dmarc_record(identity: Identity, policy: str, rua: str) -> Required:
    return Required(Record(dmarc_name(identity.domain), "TXT", (dmarc_value(policy, rua),)), Code.DMARC_MISSING)


def required_records(identity: Identity, dmarc_policy: str = "none", dmarc_rua: str = "") -> list[Required]:
    """Every record a domain identity needs, DMARC included; the checks decide which are missing."""
    if not identity.is_domain:
        return []
    return [*dkim_records(identity), *mail_from_records(identity), dmarc_record(identity, dmarc_policy, dmarc_rua)]
