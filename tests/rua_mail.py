"""DMARC aggregate reports as receivers send them: RFC 7489 XML, gzip- or zip-compressed, attached to a mail."""

from __future__ import annotations

import gzip
import hashlib
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

DAY = datetime(2026, 11, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Row:
    source_ip: str
    count: int
    dkim: str = "pass"
    spf: str = "pass"


def aggregate_xml(
    report_id: str = "5717107811868587391",
    *,
    org: str = "google.com",
    domain: str = "example.com",
    begin: datetime = DAY,
    rows: Sequence[Row] = (Row("203.0.113.7", 12),),
) -> bytes:
    """A report as Google writes it: no namespace, one <record> per source."""
    end = begin + timedelta(days=1) - timedelta(seconds=1)
    records = "".join(
        f"<record><row><source_ip>{r.source_ip}</source_ip><count>{r.count}</count><policy_evaluated>"
        f"<disposition>none</disposition><dkim>{r.dkim}</dkim><spf>{r.spf}</spf></policy_evaluated></row>"
        f"<identifiers><header_from>{domain}</header_from></identifiers><auth_results><dkim><domain>{domain}</domain>"
        f"<result>{r.dkim}</result><selector>s1</selector></dkim><spf><domain>bounce.{domain}</domain>"
        f"<result>{r.spf}</result></spf></auth_results></record>"
        for r in rows
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" ?>\n<feedback><report_metadata>'
        f"<org_name>{org}</org_name><email>noreply-dmarc-support@{org}</email>"
        f"<extra_contact_info>https://support.{org}/a/answer/2466580</extra_contact_info>"
        f"<report_id>{report_id}</report_id><date_range><begin>{int(begin.timestamp())}</begin>"
        f"<end>{int(end.timestamp())}</end></date_range></report_metadata><policy_published>"
        f"<domain>{domain}</domain><adkim>r</adkim><aspf>r</aspf><p>none</p><sp>none</sp><pct>100</pct>"
        f"</policy_published>{records}</feedback>\n"
    ).encode()


def report_mail(xml: bytes, *, org: str = "google.com", domain: str = "example.com", kind: str = "gzip") -> bytes:
    """The mail a receiver sends to the rua address: a short text and the report attached (.xml.gz or .zip)."""
    message = EmailMessage()
    message["From"] = f"noreply-dmarc-support@{org}"
    message["To"] = f"dmarc-reports@{domain}"
    message["Subject"] = f"Report domain: {domain} Submitter: {org}"
    message["Date"] = "Tue, 01 Dec 2026 05:12:09 -0800"
    message["Message-ID"] = f"<{hashlib.sha256(xml).hexdigest()[:24]}@{org}>"
    message.set_content(f"This is an aggregate report from {org}.")
    stem = f"{org}!{domain}!1764460800!1764547199"
    if kind == "zip":
        message.add_attachment(
            zipped(f"{stem}.xml", xml), maintype="application", subtype="zip", filename=f"{stem}.zip"
        )
    else:
        message.add_attachment(gzip.compress(xml), maintype="application", subtype="gzip", filename=f"{stem}.xml.gz")
    return message.as_bytes()


def zipped(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()
