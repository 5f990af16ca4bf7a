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


_GLOB = frozenset("*?[")


def is_glob(pattern: str) -> bool:
    """True when an identity pattern holds fnmatch wildcards (`*`, `?`, `[...]`) rather than naming one identity."""
    return not _GLOB.isdisjoint(pattern)


def identity_pattern(raw: str) -> str:
    """An identity name or glob in the form identities compare in; idempotent.

    A name is normalised as SES names are. In a glob only the labels without wildcards go through IDNA (a wildcard
    label has no A-label form), the rest is lower-cased, so `*.Bücher.example` matches `shop.xn--bcher-kva.example`.
    """
    if not is_glob(raw):
        return identity_name(raw)
    local, at, domain = raw.strip().rpartition("@")
    labels = domain.rstrip(".").split(".")
    domain = ".".join(label.lower() if is_glob(label) else normalise(label) for label in labels)
    return f"{local.lower()}@{domain}" if at else domain
