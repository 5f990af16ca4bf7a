"""A small run summary for the renderer tests: a per-identity finding, a shared one, an address, a change, an error;
and what DMARC aggregate reports say about two domains, one ready for the next policy step, with its finding."""

from __future__ import annotations

from datetime import date, timedelta

from core.kernel.models import Change, Code, Finding, IdentityKey, Record, RunError, RunSummary
from core.kernel.traffic import DayTraffic, DomainTraffic, Source

EU = "eu-west-1"
APEX = IdentityKey(EU, "example.com")
SHOP = IdentityKey(EU, "shop.example.com")
OPS = IdentityKey(EU, "ops@example.com")
SPF = "v=spf1 include:amazonses.com ~all"

MX_MISSING = Finding.about(
    SHOP,
    Code.MAIL_FROM_MX_MISSING,
    "bounce.shop.example.com has no MX record",
    fixable=True,
    records=(Record("bounce.shop.example.com", "MX", (f"10 feedback-smtp.{EU}.amazonses.com",)),),
)
POLICY_NONE = Finding(
    Code.DMARC_POLICY_NONE,
    (APEX, SHOP),
    "The DMARC record at _dmarc.example.com applies p=none | no action",
    subject="_dmarc.example.com",
    records=(Record("_dmarc.example.com", "TXT", ("v=DMARC1; p=none",), role="found"),),
)
CHANGE = Change(
    zone_id="Z1",
    zone_name="example.com",
    action="CREATE",
    name="bounce.shop.example.com",
    type="TXT",
    values=(f'"{SPF}"',),
    ttl=1800,
    applied=False,
    reason=Code.MAIL_FROM_SPF_MISSING,
)


def summary(**overrides: object) -> RunSummary:
    fields: dict[str, object] = {
        "run_id": "run-1",
        "dry_run": True,
        "regions": [EU],
        "identities_audited": 3,
        "identities": [SHOP, OPS, APEX],
        "findings": [MX_MISSING, POLICY_NONE],
        "changes": [CHANGE],
        "errors": [RunError("zone", "example.net", "route53 ListResourceRecordSets failed: AccessDenied: no")],
    }
    fields.update(overrides)
    return RunSummary(**fields)  # type: ignore[arg-type]


START = date(2026, 11, 1)
END = date(2026, 11, 30)
RUA = "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com"
NEXT = "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@example.com"


def days(messages: int, failed: int, count: int = 30, skip: tuple[int, ...] = ()) -> tuple[DayTraffic, ...]:
    """`count` days from START, each with `messages` and `failed` of them failing, but for the `skip` ones."""
    return tuple(
        DayTraffic(START + timedelta(days=i), messages, messages - failed) for i in range(count) if i not in skip
    )


# 30 days of 411 or 412 messages: 12,340 in all, 50 failing, 99.5% passing.
READY = DomainTraffic(
    domain="example.com",
    start=START,
    end=END,
    messages=12_340,
    passed=12_290,
    ses_messages=12_000,
    ses_passed=11_990,
    days=tuple(
        DayTraffic(START + timedelta(days=i), 411 + (i < 10), 411 + (i < 10) - (2 if i % 3 else 1)) for i in range(30)
    ),
    failing=(Source("203.0.113.7", "mail.vendor.example", ses=False, messages=40, passed=0, share=40 / 12_340),),
    policy="none",
    ready_for="quarantine",
    reason=(
        "99.5% of 12340 messages passed DMARC under p=none over the window, no day below 99%: ready for p=quarantine"
    ),
)
# A third-party sender failing, a day at 80%, and no reports on the 10th and 11th of the window.
NOISY = DomainTraffic(
    domain="shop.example.com",
    start=START,
    end=END,
    messages=2_800,
    passed=2_564,
    ses_messages=2_000,
    ses_passed=2_000,
    days=(*days(100, 8, count=29, skip=(9, 10)), DayTraffic(END, 100, 80)),
    failing=(
        Source("198.51.100.20", "smtp.crm.example", ses=False, messages=500, passed=300, share=200 / 2_800),
        Source("2001:db8::25", "", ses=False, messages=300, passed=264, share=36 / 2_800),
    ),
    policy="none",
    ready_for=None,
    reason="91.5% of 2800 messages passed DMARC; 99% needed",
)
READY_FINDING = Finding(
    Code.DMARC_READY_TO_ENFORCE,
    (APEX,),
    f"example.com: {READY.reason}. Publish at _dmarc.example.com: {NEXT}",
    subject="example.com",
    records=(
        Record("_dmarc.example.com", "TXT", (RUA,), role="found"),
        Record("_dmarc.example.com", "TXT", (NEXT,)),
    ),
)
