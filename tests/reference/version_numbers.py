"""Reference of the version-number rule, written from docs/concepts/versions.md ("Versions"):

    Version numbers (versions and releases alike) are MAJOR.MINOR.PATCH: three integers
    without leading zeros, compared as numbers.

Plain string handling, no regular expression and nothing from ``corpus``. Stable names:
:func:`is_version`, :func:`version_tuple`, :func:`older`.
"""

from __future__ import annotations

DIGITS = "0123456789"


def _integer(part: str) -> bool:
    """A non-negative integer without a leading zero ("0" itself is one)."""
    if part == "" or any(c not in DIGITS for c in part):
        return False
    return part == "0" or part[0] != "0"


def is_version(text: str) -> bool:
    """Three integers joined by two dots, each without a leading zero."""
    parts = text.split(".")
    return len(parts) == 3 and all(_integer(p) for p in parts)


def version_tuple(text: str) -> tuple[int, int, int]:
    """The three numbers of a version number (ValueError for anything else)."""
    if not is_version(text):
        raise ValueError(text)
    major, minor, patch = (int(p) for p in text.split("."))
    return major, minor, patch


def older(a: str, b: str) -> bool:
    """Whether version ``a`` comes before ``b``: compare MAJOR, then MINOR, then PATCH."""
    (a1, a2, a3), (b1, b2, b3) = version_tuple(a), version_tuple(b)
    if a1 != b1:
        return a1 < b1
    if a2 != b2:
        return a2 < b2
    return a3 < b3
