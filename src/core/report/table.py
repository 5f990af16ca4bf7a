"""Plain-text rendering of a run summary (its JSON form, as the handler returns it) for people at a terminal."""

from __future__ import annotations

from collections import Counter
from typing import Any

_HEADERS = ("SEVERITY", "CODE", "IDENTITY", "REGION", "FIX")


def format_table(summary: dict[str, Any]) -> str:
    findings = summary["findings"]
    rows = [(f["severity"], f["code"], f["identity"], f["region"], _fix(f)) for f in findings]
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(_HEADERS)]
    lines = [_line(_HEADERS, widths), _line(tuple("-" * w for w in widths), widths)]
    for finding, row in zip(findings, rows, strict=True):
        lines.append(_line(row, widths))
        lines.append(f"    {finding['message']}")
        lines.extend(
            f"      {r['name']} {r['type']} {' | '.join(r['values'])}" for r in finding["records"] if r["values"]
        )
    if summary["changes"]:
        lines.append("")
        lines.append(
            "CHANGES (applied)" if summary["changes"][0]["applied"] else "CHANGES (planned; --apply writes them)"
        )
        lines.extend(
            f"  {c['action']:<6} {c['zone_name']}  {c['name']} {c['type']} {' '.join(c['values'])}  ttl {c['ttl']}"
            f"  ({c['reason']})"
            for c in summary["changes"]
        )
    counts = Counter(f["severity"] for f in findings)
    mode = "dry run" if summary["dry_run"] else "live run"
    lines.append("")
    lines.append(
        f"{summary['identities_audited']} identities in {', '.join(summary['regions']) or 'no region'} ({mode}): "
        f"{len(findings)} findings (HIGH {counts['HIGH']}, MEDIUM {counts['MEDIUM']}, LOW {counts['LOW']}), "
        f"{len(summary['changes'])} changes, {len(summary['errors'])} errors"
    )
    lines.extend(f"error: {e['scope']} {e['subject']}: {e['message']}" for e in summary["errors"])
    return "\n".join(lines)


def _fix(finding: dict[str, Any]) -> str:
    if finding.get("fixed"):
        return "fixed"
    return "yes" if finding["fixable"] else "-"


def _line(cells: tuple[str, ...], widths: list[int]) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
