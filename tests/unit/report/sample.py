"""A small run summary for the renderer tests: a per-identity finding, a shared one, an address, a change, an error."""

from __future__ import annotations

from core.kernel.models import Change, Code, Finding, IdentityKey, Record, RunError, RunSummary

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
