"""Version numbers: the one definition of what ``MAJOR.MINOR.PATCH`` is, for dataset
versions and releases alike.

A version number is three non-negative integers without leading zeros joined by dots
(``0.1.0``, ``1.12.3``; not ``01.1.0``, ``1.0``, ``v1.0.0``); numbers compare as integer
triples. A folder whose name is not a version number is not a version: listings ignore it
and say so (:func:`version_folders`), it never breaks a command.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from corpus.errors import StoreError

VERSION_PATTERN = r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
_VERSION = re.compile(rf"^{VERSION_PATTERN}$")


def is_version(text: object) -> bool:
    """Whether ``text`` is a version number (see the module doc)."""
    return isinstance(text, str) and _VERSION.match(text) is not None


def parse_version(version: str) -> tuple[int, int, int]:
    """``"1.2.0"`` -> ``(1, 2, 0)``; :class:`StoreError` for anything else."""
    m = _VERSION.match(version) if isinstance(version, str) else None
    if m is None:
        raise StoreError(
            f"{version!r} is not a version number",
            hint="Use MAJOR.MINOR.PATCH without leading zeros, for example 1.2.0.",
        )
    return int(m[1]), int(m[2]), int(m[3])


def format_version(major: int, minor: int, patch: int) -> str:
    return f"{major}.{minor}.{patch}"


def next_minor(version: str | None) -> str:
    """The next minor version after ``version`` (``0.1.0`` after none)."""
    if version is None:
        return "0.1.0"
    major, minor, _ = parse_version(version)
    return format_version(major, minor + 1, 0)


def sort_versions(names: Iterable[str]) -> list[str]:
    """Version numbers, oldest first."""
    return sorted(names, key=parse_version)


@dataclass
class VersionFolders:
    """The sub-folders of a folder of versions (``versions/``, ``releases/``)."""

    versions: list[str] = field(default_factory=list)  # oldest first
    stray: list[str] = field(default_factory=list)  # folders that are not version numbers

    def warnings(self, folder: Path) -> list[str]:
        return [
            f"{folder / name} is not a version number (MAJOR.MINOR.PATCH): ignored"
            for name in self.stray
        ]


def version_folders(folder: Path) -> VersionFolders:
    """The folders in ``folder`` named by a version number, and the others (ignored);
    hidden entries (``.tmp`` leftovers) and plain files are neither."""
    found = VersionFolders()
    if not folder.is_dir():
        return found
    for path in folder.iterdir():
        if path.name.startswith(".") or not path.is_dir():
            continue
        (found.versions if is_version(path.name) else found.stray).append(path.name)
    found.versions = sort_versions(found.versions)
    found.stray.sort()
    return found


__all__ = [
    "VERSION_PATTERN",
    "VersionFolders",
    "format_version",
    "is_version",
    "next_minor",
    "parse_version",
    "sort_versions",
    "version_folders",
]
