"""Requested identities may be names or fnmatch globs; both are normalised the way SES names compare."""

from __future__ import annotations

import pytest

from core.kernel.errors import EventError
from core.kernel.events import parse_event
from core.kernel.names import identity_pattern, is_glob


def test_given_globs_and_names_when_parsed_then_globs_survive_and_every_name_part_is_normalised():
    request = parse_event({"identities": ["*.Example.COM.", "Noreply@*", "shop.Bücher.example", "*.bücher.example"]})

    assert request.identities == ("*.example.com", "noreply@*", "shop.xn--bcher-kva.example", "*.xn--bcher-kva.example")


@pytest.mark.parametrize(
    ("pattern", "glob"),
    [("example.com", False), ("*.example.com", True), ("ex?mple.com", True), ("[ab].example.com", True)],
)
def test_given_a_pattern_when_asked_then_only_wildcards_make_it_a_glob(pattern, glob):
    assert is_glob(pattern) is glob


@pytest.mark.parametrize("raw", ["*.Bücher.example", "Ops@Example.com.", "[Ab]*.example.com", "example.com"])
def test_given_a_pattern_when_normalised_twice_then_nothing_changes(raw):
    once = identity_pattern(raw)

    assert identity_pattern(once) == once


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("a.example.com,b.example.com", "is not one identity name or glob"),
        ("a.example.com b.example.com", "is not one identity name or glob"),
        ("[ab.example.com", "unclosed"),
    ],
)
def test_given_a_list_typed_as_one_identity_or_a_broken_glob_when_parsed_then_it_is_rejected(value, words):
    with pytest.raises(EventError, match=words):
        parse_event({"identities": [value]})
