"""Gathers the live-DNS observations one domain identity needs; the checks judge them without I/O."""

from __future__ import annotations

from core.checks import dmarc
from core.kernel.models import Answer, DkimObservation, DomainObservation, Identity, Zone
from core.rules.required import dkim_name, dkim_target
from core.run.ports import Lookup


def observe_domain(identity: Identity, dns: Lookup, zone: Zone | None) -> DomainObservation:
    """Query what the checks of `identity` read, in the order a receiver would: DKIM, MAIL FROM, DMARC walk."""
    domain = identity.domain
    mail_from = identity.mail_from.domain if identity.mail_from else ""
    dmarc_answers = _dmarc_walk(domain, dns)
    return DomainObservation(
        domain=domain,
        dkim=_dkim(identity, dns),
        mail_from_mx=dns.lookup(mail_from, "MX") if mail_from else None,
        mail_from_txt=dns.lookup(mail_from, "TXT") if mail_from else None,
        dmarc=dmarc_answers,
        report_auth=_report_auth(dmarc_answers, dns),
        zone_ns=dns.lookup(zone.name, "NS") if zone else None,
    )


def _dkim(identity: Identity, dns: Lookup) -> tuple[DkimObservation, ...]:
    dkim = identity.dkim
    # BYODKIM selectors are TXT keys the owner publishes, not CNAMEs to SES: nothing to compare them with.
    if dkim is None or dkim.origin == "EXTERNAL":
        return ()
    observations = []
    for token in dkim.tokens:
        name = dkim_name(token, identity.domain)
        observations.append(
            DkimObservation(
                token=token,
                name=name,
                expected_target=dkim_target(token, dkim.signing_hosted_zone),
                cname=dns.lookup(name, "CNAME"),
                txt=dns.lookup(name, "TXT"),
            )
        )
    return tuple(observations)


def _dmarc_walk(domain: str, dns: Lookup) -> tuple[Answer, ...]:
    """RFC 9989 discovery: the domain's own record ends the walk; otherwise the walk goes on to the TLD, since the
    organisational domain's record (not the nearest one) applies. A failed query ends it: the policy is unknown."""
    answers = []
    for name in dmarc.walk_names(domain):
        answer = dns.lookup(name, "TXT")
        answers.append(answer)
        own = len(answers) == 1 and sum(map(dmarc.is_dmarc_record, answer.values)) == 1
        if answer.failed or own:
            break
    return tuple(answers)


def _report_auth(dmarc_answers: tuple[Answer, ...], dns: Lookup) -> tuple[Answer, ...]:
    """Fetch the RFC 9990 authorisation record for every external aggregate-report destination."""
    found = dmarc.discover(dmarc_answers)
    if found.record is None:
        return ()
    destinations = dict.fromkeys(dmarc.report_destinations(found.record))
    return tuple(
        dns.lookup(dmarc.report_auth_name(found.policy_domain, destination), "TXT")
        for destination in destinations
        if dmarc.is_external(found.policy_domain, destination)
    )
