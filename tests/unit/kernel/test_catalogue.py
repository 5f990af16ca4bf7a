"""The README's finding catalogue and the code's are the same table."""

from __future__ import annotations

import re
from pathlib import Path

from core.kernel.models import CATALOGUE, Code

README = Path(__file__).parents[3] / "README.md"
ROW = re.compile(r"^\| `(?P<code>[A-Z_]+)` \| (?P<severity>[A-Z]+) \| (?P<fixable>[^|]+) \| (?P<summary>.+) \|$")


def test_given_the_readme_when_its_catalogue_is_read_then_it_matches_the_code_row_for_row():
    rows = [m.groupdict() for line in README.read_text().splitlines() if (m := ROW.match(line))]

    documented = [(r["code"], r["severity"], r["fixable"].strip(), r["summary"].strip()) for r in rows]
    in_code = [(c.value, e.severity.value, e.fixable, e.summary) for c, e in CATALOGUE.items()]
    assert documented == in_code


def test_given_every_code_when_the_catalogue_is_read_then_each_has_an_entry():
    assert set(CATALOGUE) == set(Code)
