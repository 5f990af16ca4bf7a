"""Attacker-controlled text (org names, report ids, file names) made safe to store, log and show."""

from __future__ import annotations

import unicodedata

# Cc: control characters (newlines forge log lines); Cf: format characters (bidi overrides reorder what is shown).
_HIDDEN = frozenset({"Cc", "Cf"})


def clean(value: str | None, limit: int) -> str:
    """`value` without control or format characters, trimmed, at most `limit` characters."""
    if not value:
        return ""
    if value.isprintable():  # no Cc or Cf characters: the common case, without a look at each character
        return " ".join(value[: limit * 4].split())[:limit]
    visible = "".join(" " if unicodedata.category(c) in _HIDDEN else c for c in value[: limit * 4])
    return " ".join(visible.split())[:limit]
