"""Gathers the live-DNS observations one domain identity needs; the checks judge them without I/O."""

from __future__ import annotations

from core.checks import dmarc
from core.kernel.models import Answer, DkimObservation, DomainObservation, Identity
from core.kernel.names import normalise
from core.rules.required import dkim_name, dkim_target
from core.rules.spf import spf_records
from core.rules.spftree import evaluate_spf
from core.run.ports import Lookup


def observe_domain(identity: Identity, dns: Lookup, *, receiving: str = "") -> DomainObservation:
    """Query what the checks of `identity` read, in the order a receiver would: DKIM, MAIL FROM, DMARC walk; and
    the MX of `receiving`, the domain SES receives the reports address's mail for, when it is this one."""
    domain = identity.domain
    mail_from = identity.mail_from.domain if identity.mail_from else ""
    dmarc_answers = _dmarc_walk(domain, dns)
    dkim = _dkim(identity, dns)
    mail_from_mx = dns.lookup(mail_from, "MX") if mail_from else None
    mail_from_txt = dns.lookup(mail_from, "TXT") if mail_from else None
    return DomainObservation(
        domain=domain,
        dkim=dkim,
        mail_from_mx=mail_from_mx,
        mail_from_txt=mail_from_txt,
        mail_from_spf=_spf_tree(mail_from, mail_from_txt, dns) if mail_from_txt else (),
        dmarc=dmarc_answers,
        report_auth=_report_auth(dmarc_answers, dns),
        receiving_mx=dns.lookup(receiving, "MX") if receiving else None,
    )


def _spf_tree(name: str, txt: Answer, dns: Lookup) -> tuple[Answer, ...]:
    """What a receiver reads to evaluate the SPF record at `name`: the judging walk is run here over live DNS and
    every answer it read is kept, so the check can walk again without I/O. The DNS client memoises, so an include
    shared by many identities (amazonses.com, _spf.google.com) is queried once per run."""
    records = spf_records(txt.values) if txt.status == "OK" else []
    if len(records) != 1:
        return ()
    read: dict[tuple[str, str], Answer] = {}

    def lookup(target: str, rdtype: str) -> Answer:
        answer = dns.lookup(target, rdtype)
        read[(normalise(target), rdtype)] = answer
        return answer

    evaluate_spf(name, records[0], lookup)
    return tuple(read.values())


def _dkim(identity: Identity, dns: Lookup) -> tuple[DkimObservation, ...]:
    dkim = identity.dkim
    # BYODKIM selectors are TXT keys the owner publishes, not CNAMEs to SES: nothing to compare them with.
    if dkim is None or dkim.origin == "EXTERNAL":
        return ()
    # A Deterministic Easy DKIM replica's tokens and zone are its parent's (core.rules.replicas), so the names looked
    # up here are the parent's records, the ones SES checks for the replica too.
    observations = []
    for token in dkim.tokens:
        name = dkim_name(token, identity.domain)
        # One TXT query shows both the CNAME (the chain's first hop, also when its end is NODATA or NXDOMAIN) and the
        # key. A failed one shows neither: the CNAME query then tells a failing name from a failing key behind it.
        txt = dns.lookup(name, "TXT")
        observations.append(
            DkimObservation(
                token=token,
                name=name,
                expected_target=dkim_target(token, dkim.signing_hosted_zone),
                txt=txt,
                cname_query=dns.lookup(name, "CNAME") if txt.failed else None,
            )
        )
    return tuple(observations)


def _dmarc_walk(domain: str, dns: Lookup) -> tuple[Answer, ...]:
    """RFC 9989 discovery: the domain's own record ends the walk; otherwise the walk goes on to the TLD, since the
    organisational domain's record (not the nearest one) applies. Records receivers discard (several at the own
    name, or text that is no DMARC record, such as " v=DMARC1") are no own record: the walk goes on, so the check
    can name the policy that applies instead. A failed query ends it: the policy is unknown."""
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
