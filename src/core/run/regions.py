"""Which regions a run audits: those asked for (by name, or `all`) that the account has enabled.

`all` is every region SES is offered in that account:ListRegions reports ENABLED or ENABLED_BY_DEFAULT. A region
asked for that the account has not enabled (DISABLED; ENABLING and DISABLING are not usable yet, or any more) is
skipped and counted, never an error: every call there would fail with an authentication error, on every run, about
a choice the account made on purpose.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from core.kernel.errors import AwsError
from core.kernel.models import RunError, SkippedRegion
from core.run.ports import Wiring

USABLE = frozenset({"ENABLED", "ENABLED_BY_DEFAULT"})
# Regions launched before 20 March 2019 are enabled in every account of the aws partition and cannot be disabled,
# so a run naming only these needs no ListRegions call and no permission for it.
ALWAYS_ENABLED = frozenset(
    {
        "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
        "ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1",
        "us-east-1", "us-east-2", "us-west-1", "us-west-2",
    }
)  # fmt: skip


@dataclass
class Regions:
    """`audit`: the regions to read, in order. `unknown`: regions `all` would cover whose opt-in status could not be
    read, so they were not audited: like the skipped ones, their earlier findings are neither resolved nor refreshed.
    """

    audit: list[str]
    skipped: list[SkippedRegion] = field(default_factory=list)
    errors: list[RunError] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    @property
    def unseen(self) -> set[str]:
        """Regions asked for whose identities this run could not see."""
        return {s.region for s in self.skipped} | set(self.unknown)


def select_regions(requested: Sequence[str], wiring: Wiring) -> Regions:
    """Asks ListRegions only when the answer can change what is audited."""
    everything = list(requested) == ["all"]
    if not everything and ALWAYS_ENABLED.issuperset(requested):
        return Regions(audit=list(requested))
    offered = wiring.all_regions() if everything else []
    try:
        status = wiring.region_opt_in()
    except AwsError as err:
        return unverified(requested, offered, str(err))
    return choose(requested, offered, status)


def choose(requested: Sequence[str], offered: Sequence[str], status: Mapping[str, str]) -> Regions:
    """`status`: the opt-in status of each region ListRegions lists; `offered`: the SES regions `all` stands for.

    A region `all` stands for that ListRegions does not list (botocore may know a region before the account does)
    is left out. A region asked for by name that it does not list is an error: no account has it, so it is a typo
    or a region of another partition."""
    if list(requested) == ["all"]:
        listed = [r for r in offered if r in status]
        return Regions(
            audit=[r for r in listed if status[r] in USABLE],
            skipped=[SkippedRegion(r, status[r]) for r in listed if status[r] not in USABLE],
        )
    regions = Regions(audit=[])
    for region in requested:
        if region not in status:
            message = "no such region in this account: account:ListRegions does not list it"
            regions.errors.append(RunError("region", region, message))
        elif status[region] in USABLE:
            regions.audit.append(region)
        else:
            regions.skipped.append(SkippedRegion(region, status[region]))
    return regions


def unverified(requested: Sequence[str], offered: Sequence[str], reason: str) -> Regions:
    """Without ListRegions (a role deployed before it held account:ListRegions, say): regions named are audited as
    named, as they were before this check existed, and one that is not enabled fails as that region's error. `all`
    falls back to the regions every account has enabled, and says once what it left out: auditing every region
    botocore lists would turn each opt-in region the account has not enabled into an error of its own."""
    if list(requested) != ["all"]:
        return Regions(audit=list(requested))
    audit = [r for r in offered if r in ALWAYS_ENABLED]
    unknown = [r for r in offered if r not in ALWAYS_ENABLED]
    message = (
        f"{reason}; audited only the {len(audit)} SES regions every account has enabled. Which of the "
        f"{len(unknown)} opt-in SES regions ({', '.join(unknown)}) this account has enabled is unknown, so none of "
        "them was audited: allow account:ListRegions to audit those it has enabled"
    )
    return Regions(audit=audit, errors=[RunError("run", "regions", message)], unknown=unknown)
