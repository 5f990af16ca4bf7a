"""Checks on the SES account in one region (sesv2 GetAccount): sending paused, under review, still in the sandbox.

Such a finding is about the account, not a DNS name, yet it stops or limits mail from every identity of the region:
it is one shared finding per code and region, its subject naming the account in that region and its identities
being the region's audited identities (so suppressions, run memory and every report treat it like any shared one).
"""

from __future__ import annotations

from collections.abc import Sequence

from core.kernel.models import AccountState, Code, Finding, IdentityKey


def account_subject(region: str) -> str:
    return f"SES account in {region}"


def account_page(region: str) -> str:
    """The SES console's account dashboard for the region: status, sending, and "Request production access"."""
    return f"https://console.aws.amazon.com/ses/home?region={region}#/account"


def check_account(account: AccountState, identities: Sequence[IdentityKey]) -> list[Finding]:
    """One finding per root cause. Without audited identities in the region there is none: SES sends only from
    verified identities, so no audited mail is affected (and a finding must name whom it affects); the first run
    after an identity is added there reports the state."""
    keys = tuple(k for k in identities if k.region == account.region)
    if not keys:
        return []
    region, page = account.region, account_page(account.region)
    found: list[tuple[Code, str]] = []
    if account.enforcement_status == "SHUTDOWN":
        found.append(
            (
                Code.ACCOUNT_SHUTDOWN,
                f"SES has paused this account's sending in {region} (enforcement status SHUTDOWN) because of the "
                f"mail it sent: no identity there can send. Fix the cause named in AWS's notice, then ask AWS to "
                f"resume sending: {page}",
            )
        )
    elif not account.sending_enabled:
        # Under SHUTDOWN sending is off as a consequence, not a second cause; otherwise someone turned it off.
        found.append(
            (
                Code.ACCOUNT_SENDING_PAUSED,
                f"Sending is disabled for this SES account in {region} (SendingEnabled false): no identity there "
                f"can send. Re-enable it on the account dashboard once that is intended: {page}",
            )
        )
    if account.enforcement_status == "PROBATION":
        found.append(
            (
                Code.ACCOUNT_PROBATION,
                f"This SES account is under review in {region} (enforcement status PROBATION): unless the bounce "
                f"or complaint problem AWS named is fixed within the review period, SES pauses sending. See the "
                f"account's reputation and the notice: {page}",
            )
        )
    if not account.production_access_enabled:
        found.append(
            (
                Code.ACCOUNT_SANDBOX,
                f"This SES account is in the sandbox in {region}: it sends only to verified identities, at most "
                f"200 messages a day. Request production access on the account dashboard: {page}",
            )
        )
    subject = account_subject(region)
    return [Finding(code, keys, message, subject=subject) for code, message in found]
