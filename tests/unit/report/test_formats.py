"""The machine and document formats: JSON is the full summary, CSV a row per finding and identity, Markdown tables."""

from __future__ import annotations

import csv
import io
import json

import pytest

from core.report.formats import CSV_COLUMNS, FORMATS, render
from tests.unit.report.sample import EU, MX_MISSING, POLICY_NONE, summary


def test_given_json_when_rendered_then_it_is_the_whole_summary():
    run = summary()

    assert json.loads(render(run, "json")) == run.to_dict()


def test_given_csv_when_rendered_then_a_shared_finding_has_a_row_per_identity_it_affects():
    rows = list(csv.DictReader(io.StringIO(render(summary(), "csv"))))

    assert tuple(rows[0]) == CSV_COLUMNS
    assert [(r["id"], r["code"], r["identity"], r["region"], r["fixable"], r["fixed"]) for r in rows] == [
        (MX_MISSING.id, "MAIL_FROM_MX_MISSING", "shop.example.com", EU, "true", "false"),
        (POLICY_NONE.id, "DMARC_POLICY_NONE", "example.com", EU, "false", "false"),
        (POLICY_NONE.id, "DMARC_POLICY_NONE", "shop.example.com", EU, "false", "false"),
    ]
    assert rows[1]["subject"] == "_dmarc.example.com"
    assert rows[0]["subject"] == "shop.example.com"


def test_given_markdown_when_rendered_then_each_table_has_one_cell_count_and_pipes_in_text_are_escaped():
    text = render(summary(), "markdown")

    tables = [block.splitlines() for block in text.split("\n\n") if block.startswith("|")]
    assert len(tables) == 2
    for table in tables:
        assert len({line.replace("\\|", "").count("|") for line in table}) == 1
    assert "| shop.example.com | eu-west-1 | ✓ | ✗ | ! |" in tables[0]
    assert "applies p=none \\| no action" in text
    assert '`now:    _dmarc.example.com TXT "v=DMARC1; p=none"`' in text
    assert "## Errors" in text


@pytest.mark.parametrize("fmt", FORMATS)
def test_given_colour_when_rendered_then_only_the_table_is_coloured(fmt):
    text = render(summary(), fmt, colour=True)

    assert ("\x1b[" in text) is (fmt == "table")


def test_given_an_unknown_format_when_rendered_then_it_is_refused():
    with pytest.raises(ValueError, match="unknown format 'yaml'"):
        render(summary(), "yaml")
