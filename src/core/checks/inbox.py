"""The MX the reports address's domain needs, so SES receives the DMARC aggregate reports sent to it."""

from __future__ import annotations

from core.checks.findings import Findings
from core.kernel.models import Code, DomainObservation, Finding, Identity, Record, ZoneView
from core.rules.required import receiving_records
from core.rules.safety import normalise_mx


def check_receiving(
    identity: Identity, obs: DomainObservation, view: ZoneView, *, address: str, region: str
) -> list[Finding]:
    answer = obs.receiving_mx
    wanted = receiving_records(identity, address, region)
    if answer is None or not wanted:
        return []
    record = wanted[0].record
    name, expected = record.name, normalise_mx(record.values[0])
    found = Findings(identity)
    if answer.failed:
        found.query_failed(f"the MX of {name}", answer)
    elif answer.status == "OK" and answer.values:
        if expected not in [normalise_mx(value) for value in answer.values]:
            # Mail for the domain already goes somewhere: adding SES beside it would split it, so a person decides.
            found.add(
                Code.REPORTS_MX_CONFLICT,
                f"{name} has MX {', '.join(answer.values)}, so mail to {address} (the DMARC reports address) goes "
                f"there, not to SES's inbound endpoint {expected}: reports never reach the inbox. Use an address at "
                "a domain that receives with SES, or forward the reports into the inbox.",
                (Record(name, "MX", answer.values, "found"),),
            )
    else:
        found.absent(
            Code.REPORTS_MX_MISSING,
            f"{name} has no MX record, so SES in {region} does not receive mail to {address}, where DMARC aggregate "
            "reports are sent.",
            record,
            view,
        )
    return found.build()
