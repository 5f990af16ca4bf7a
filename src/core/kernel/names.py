"""Domain-name normalisation shared by every module that compares names."""

from __future__ import annotations

from collections.abc import Iterable


def normalise(name: str) -> str:
    """Lower case, no trailing dot, IDN labels as A-labels (xn--), so names compare as DNS does."""
    name = name.strip().rstrip(".")
    try:
        return name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return name.lower()


def is_subdomain(name: str, parent: str) -> bool:
    """True if `name` equals `parent` or lies below it (both normalised)."""
    return name == parent or name.endswith("." + parent)


def ancestors(name: str) -> list[str]:
    """`name` and each parent down to the top-level domain: a.b.example.com, b.example.com, example.com, com."""
    labels = name.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


def within_zone(names: Iterable[str], apex: str) -> set[str]:
    """The names and each of their parents down to the zone apex: what a zone must be read for to see whether an
    NS record on a parent delegates a name away."""
    return {parent for name in names for parent in ancestors(name) if is_subdomain(parent, apex)}


def identity_name(name: str) -> str:
    """An SES identity name in comparable form: a domain normalised, an address with its domain normalised.

    Addresses compare lower-cased, local part included, so an event or exclusion matches however it is typed.
    """
    local, at, domain = name.strip().rpartition("@")
    return f"{local.lower()}@{normalise(domain)}" if at else normalise(name)
