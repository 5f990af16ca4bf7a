"""Domain-name normalisation shared by every module that compares names."""

from __future__ import annotations


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
