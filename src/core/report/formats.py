"""A run summary in each format the CLI offers: the terminal table, JSON, CSV and Markdown."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from core.kernel.models import RunSummary
from core.report.matrix import COLUMNS, matrix
from core.report.table import MEANINGS, SYMBOLS, change_text, ordered, render_table, summary_line
from core.report.text import affected, record_line, skipped_regions, skipped_zones
from core.report.traffic import traffic_heading, traffic_lines

FORMATS = ("table", "json", "csv", "markdown")
CSV_COLUMNS = ("id", "severity", "code", "subject", "identity", "region", "fixable", "fixed", "message")


def render(summary: RunSummary, fmt: str, *, colour: bool = False) -> str:
    """The summary as text in `fmt`, one of FORMATS; only the table has colour."""
    if fmt == "table":
        return render_table(summary, colour=colour)
    if fmt == "json":
        return render_json(summary)
    if fmt == "csv":
        return render_csv(summary)
    if fmt == "markdown":
        return render_markdown(summary)
    raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")


def render_json(summary: RunSummary) -> str:
    """The full summary: every finding, change and error, values whole."""
    return json.dumps(summary.to_dict(), indent=2, ensure_ascii=False)


def render_csv(summary: RunSummary) -> str:
    """One row per finding and identity it affects, so a spreadsheet can filter by either."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for f in summary.findings:
        for key in f.identities:
            row = (f.id, f.severity.value, f.code.value, f.topic, key.name, key.region, f.fixable, f.fixed, f.message)
            writer.writerow(["true" if v is True else "false" if v is False else v for v in row])
    return out.getvalue().rstrip("\n")


def render_markdown(summary: RunSummary) -> str:
    rows = matrix(summary.identities, summary.findings)
    lines = ["# ses-guard run", "", summary_line(summary), ""]
    lines += [skipped, ""] if (skipped := skipped_regions(summary.regions_skipped)) else []
    lines += [zones, ""] if (zones := skipped_zones(summary.zones_skipped)) else []
    if rows:
        lines += _table(
            ("identity", "region", *COLUMNS),
            [(r.identity.name, r.identity.region, *(SYMBOLS[s] for s in r.cells)) for r in rows],
        )
        lines += ["", ", ".join(f"`{SYMBOLS[s]}` {MEANINGS[s]}" for s in SYMBOLS)]
    else:
        lines.append("No identity was audited.")
    if summary.findings:
        lines += ["", "## Findings", ""]
        lines += _table(
            ("severity", "code", "about", "affects", "message", "records"),
            [
                (
                    f.severity.value,
                    f"`{f.code.value}`",
                    f.topic,
                    affected(f) if f.subject else f.region,
                    f.message + (" (fixed in this run)" if f.fixed else ""),
                    "<br>".join(_code(record_line(f, r)) for r in f.records),
                )
                for f in ordered(summary.findings)
            ],
        )
    if summary.traffic:
        heading = traffic_heading(summary.traffic)
        lines += [
            "",
            "## DMARC traffic",
            "",
            heading + ":",
            "",
            *(f"- {_cell(t)}" for t in traffic_lines(summary.traffic)),
        ]
    if summary.changes:
        heading = "Changes planned (`--apply` writes them)" if summary.dry_run else "Changes applied"
        lines += ["", f"## {heading}", "", *(f"- {_cell(change_text(c))}" for c in summary.changes)]
    if summary.errors:
        lines += ["", "## Errors", "", *(f"- {_cell(str(e))}" for e in summary.errors)]
    return "\n".join(lines)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return [
        _row(headers),
        _row(["---"] * len(headers)),
        *(_row([_cell(c) for c in row]) for row in rows),
    ]


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _code(text: str) -> str:
    """Record names start with `_` and values hold `*`: as code they cannot turn into emphasis."""
    return "`" + text.replace("`", "'") + "`"


def _cell(text: str) -> str:
    """A pipe would end the cell and a line break the row; `<br>` is left as the one markup a cell may hold."""
    return text.replace("|", "\\|").replace("\n", " ")
