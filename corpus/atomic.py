"""Crash-safe file writes: a temporary name in the same folder, fsync, rename, fsync the folder.

A reader (or the next run after a crash) sees the old file or the new one, never half of
one. Temporary names start with ``.`` and end with ``.tmp`` so that every later command
can recognise and remove leftovers of a killed run.

:func:`seal_folder` is the one definition of *sealing* a finished folder (a store version,
a release, a model): every file made read-only (0444) and fsynced, then every folder
fsynced, so that the rename that publishes it follows durable, unchangeable content.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from pathlib import Path

from corpus.faults import fault_point

TMP_SUFFIX = ".tmp"


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new entry in ``folder`` durable (no-op where folders cannot sync)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def seal_file(path: Path) -> None:
    """Make a finished file read-only (0444) and durable (a file already read-only, e.g. a
    hard link to a sealed file, keeps its bits)."""
    if path.stat().st_mode & 0o222:
        path.chmod(0o444)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def seal_folder(folder: Path) -> None:
    """Seal every file under ``folder`` (:func:`seal_file`), then fsync every folder in it,
    deepest first, and ``folder`` itself: what a rename publishes next is on disk and
    read-only."""
    folders = [folder]
    for path in sorted(folder.rglob("*")):
        if path.is_dir() and not path.is_symlink():
            folders.append(path)
        elif path.is_file():
            seal_file(path)
    for sub in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        fsync_dir(sub)


def temporary_name(path: Path) -> Path:
    """A fresh temporary name beside ``path`` (hidden, ``.tmp``; unique per writer)."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}{TMP_SUFFIX}")


def _written_temporary(path: Path, data: bytes, mode: int) -> Path:
    """``data`` in a fresh, fsynced temporary file beside ``path`` (removed on failure)."""
    tmp = temporary_name(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def write_bytes_atomic(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` so that a crash leaves the old content or the new one."""
    tmp = _written_temporary(path, data, mode)
    try:
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def create_bytes_atomic(
    path: Path, data: bytes, *, mode: int = 0o644, fault: str | None = None
) -> bool:
    """Create ``path`` holding ``data`` unless it exists (then False, the file untouched).

    Written under a temporary name and fsynced, then linked into place (a link never
    replaces a file, so of two writers exactly one creates it): a crash leaves no file or
    the whole one, never an empty one. ``fault`` names the fault point (tests) just before
    the file appears.
    """
    tmp = _written_temporary(path, data, mode)
    try:
        if fault is not None:
            fault_point(fault)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)
    return True


def write_text_atomic(path: Path, text: str, *, mode: int = 0o644) -> None:
    write_bytes_atomic(path, text.encode("utf-8"), mode=mode)


def write_json_atomic(path: Path, value: object, *, mode: int = 0o644) -> None:
    """``value`` as indented JSON (characters kept), written atomically."""
    text = json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    write_bytes_atomic(path, text.encode("utf-8"), mode=mode)


__all__ = [
    "TMP_SUFFIX",
    "create_bytes_atomic",
    "fsync_dir",
    "seal_file",
    "seal_folder",
    "temporary_name",
    "write_bytes_atomic",
    "write_json_atomic",
    "write_text_atomic",
]
