"""The full report as one self-contained HTML page: counts, the identity matrix, what DMARC aggregate reports say
about each domain (a row each, a panel with its pass rate by day as inline SVG), every finding, change and error.

One file, nothing fetched: the style and the filter script are inline, and the page's Content-Security-Policy allows
exactly those two by hash, so even a value that slipped past escaping could neither run script nor load anything.
Every value goes through Jinja2's autoescaping.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import cache
from importlib import resources

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from core.kernel.models import CATALOGUE, Code, Finding, Record, RunSummary, Severity
from core.kernel.traffic import DomainTraffic
from core.report.brief import counts
from core.report.chart import chart
from core.report.matrix import COLUMNS, matrix
from core.report.text import affected, who
from core.report.traffic import (
    ordered_traffic,
    percent,
    policy_text,
    readiness_findings,
    share_of,
    verdict,
    window_days,
)

TEMPLATES = "templates"
# A shared finding lists its identities folded away beyond this many, so one DMARC record behind thousands of
# identities does not bury the findings after it.
FOLD_IDENTITIES = 10
# Domains with a full traffic panel (chart, failing sources), ready ones first, then the busiest; the overview table
# above the panels has a row for every domain.
TRAFFIC_PANELS = 100


def render_html(summary: RunSummary) -> str:
    """The page for one run, from the summary alone (the same summary renders the same page)."""
    tally = counts(summary)
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            summary=summary,
            counts=tally,
            columns=COLUMNS,
            rows=matrix(summary.identities, summary.findings),
            severities=[s.value for s in sorted(Severity, key=lambda s: -s.rank)],
            codes=[(code.value, CATALOGUE[code].severity.value, tally["by_code"].get(code.value, 0)) for code in Code],
            catalogue={code.value: entry.summary for code, entry in CATALOGUE.items()},
            fold=FOLD_IDENTITIES,
            traffic=ordered_traffic(summary.traffic),
            panels=TRAFFIC_PANELS,
            ready=readiness_findings(summary),
            style=Markup(_asset("report.css")),  # noqa: S704 - our own file, shipped with the package
            script=Markup(_asset("report.js")),  # noqa: S704 - our own file, shipped with the package
            policy=_policy(),
        )
    )


def record_values(record: Record) -> list[str]:
    """Values whole (this is the full report); TXT quoted, so leading or trailing spaces and empty strings show."""
    if record.type == "TXT":
        return [json.dumps(value, ensure_ascii=False) for value in record.values]
    return list(record.values)


def code_spans(text: str) -> Markup:
    """The catalogue's `backticked` spans as <code>, every part escaped."""
    parts = text.split("`")
    return Markup("").join(Markup("<code>{}</code>").format(p) if i % 2 else escape(p) for i, p in enumerate(parts))


def every_identity(finding: Finding) -> str:
    """All of them: this is the full report."""
    return affected(finding, limit=len(finding.identities))


def thousands(count: int) -> str:
    return f"{count:,}"


def verdict_class(traffic: DomainTraffic) -> str:
    if traffic.ready_for:
        return "ready"
    return "enforced" if traffic.policy == "reject" else "not-ready"


def state(finding: Finding) -> str:
    if finding.fixed:
        return "fixed"
    return "fixable" if finding.fixable else "by hand"


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("core.report", TEMPLATES),
        autoescape=True,  # every value, whatever the template's name
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(record_values=record_values, who=who, state=state, affected=every_identity)
    env.globals.update(
        chart=chart,
        percent=percent,
        share_of=share_of,
        verdict=verdict,
        verdict_class=verdict_class,
        policy_text=policy_text,
        window_days=window_days,
    )
    env.filters["code_spans"] = code_spans
    env.filters["thousands"] = thousands
    return env


@cache
def _asset(name: str) -> str:
    return (resources.files("core.report") / TEMPLATES / name).read_text(encoding="utf-8")


@cache
def _policy() -> str:
    """Nothing but the page's own style and script, identified by their hashes."""
    return (
        "default-src 'none'; "
        f"style-src {_hash(_asset('report.css'))}; "
        f"script-src {_hash(_asset('report.js'))}; "
        "base-uri 'none'; form-action 'none'"
    )


def _hash(text: str) -> str:
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    return f"'sha256-{digest}'"
