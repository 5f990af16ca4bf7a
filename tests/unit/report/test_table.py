"""The terminal view: the matrix first, findings grouped by topic, the summary line, colour only when asked."""

from __future__ import annotations

import re

from core.report.table import render_table
from tests.unit.report.sample import EU, summary

NA = "\u2013"  # the en dash the matrix shows for "not applicable"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_given_a_run_when_rendered_then_the_matrix_comes_first_one_row_per_identity_sorted_by_name():
    lines = render_table(summary()).splitlines()

    assert [line.split() for line in lines[:4]] == [
        ["IDENTITY", "REGION", "DKIM", "MAIL", "FROM/SPF", "DMARC"],
        ["example.com", EU, "✓", "✓", "!"],
        ["ops@example.com", EU, "✓", NA, NA],
        ["shop.example.com", EU, "✓", "✗", "!"],
    ]
    assert lines[5].startswith("✓ pass  ! warning  ✗ failing  \u2013 not applicable")


def test_given_the_matrix_when_rendered_then_the_symbols_line_up_under_their_headers():
    lines = render_table(summary()).splitlines()

    header = lines[0]
    for column in ("DKIM", "MAIL FROM/SPF", "DMARC"):
        assert len({line[header.index(column)] for line in lines[1:4]} - {"✓", "!", "✗", NA}) == 0


def test_given_a_shared_finding_when_rendered_then_it_appears_once_under_its_subject_with_the_identities():
    text = render_table(summary())

    assert text.count("DMARC_POLICY_NONE") == 1
    assert (
        "== _dmarc.example.com ==\n"
        "  [LOW] DMARC_POLICY_NONE (affects example.com (eu-west-1), shop.example.com (eu-west-1))\n"
        "    The DMARC record at _dmarc.example.com applies p=none | no action\n"
        '    now:    _dmarc.example.com TXT "v=DMARC1; p=none"'
    ) in text


def test_given_findings_when_rendered_then_the_worst_topic_comes_first_with_who_sets_each_record():
    text = render_table(summary())

    assert text.index("== shop.example.com ==") < text.index("== _dmarc.example.com ==")
    assert (
        "  [HIGH] MAIL_FROM_MX_MISSING (eu-west-1)\n"
        "    bounce.shop.example.com has no MX record\n"
        "    needed: bounce.shop.example.com MX 10 feedback-smtp.eu-west-1.amazonses.com"
        "  (ses-guard creates it on a live run)"
    ) in text


def test_given_a_planned_txt_change_when_rendered_then_its_value_is_quoted_once():
    text = render_table(summary())

    assert "CHANGES (planned; --apply writes them)" in text
    assert (
        '  CREATE bounce.shop.example.com TXT "v=spf1 include:amazonses.com ~all"  '
        "(zone example.com, ttl 1800, for MAIL_FROM_SPF_MISSING)"
    ) in text


def test_given_a_run_with_an_error_when_rendered_then_the_summary_line_is_followed_by_the_error():
    lines = render_table(summary()).splitlines()

    assert lines[-2:] == [
        "3 identities in eu-west-1 (dry run): 2 findings (HIGH 1, MEDIUM 0, LOW 1), 1 change, 1 error",
        "error: zone example.net: route53 ListResourceRecordSets failed: AccessDenied: no",
    ]


def test_given_colour_when_rendered_then_only_escape_codes_are_added():
    plain = render_table(summary())
    coloured = render_table(summary(), colour=True)

    assert "\x1b[" not in plain
    assert "\x1b[31m✗" in coloured  # failing in red
    assert "\x1b[32m✓" in coloured  # passing in green
    assert ANSI.sub("", coloured) == plain


def test_given_an_empty_run_when_rendered_then_it_says_so_and_still_counts():
    text = render_table(summary(identities=[], findings=[], changes=[], errors=[], identities_audited=0))

    assert text.splitlines() == [
        "No identity was audited.",
        "",
        "0 identities in eu-west-1 (dry run): 0 findings (HIGH 0, MEDIUM 0, LOW 0), 0 changes, 0 errors",
    ]
