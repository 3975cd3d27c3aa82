"""Finding input files: expand the paths given to ingest into the files it reads.

Folders are walked recursively in name order. Links to folders are followed, each real
folder read once (a link back to a folder already read, such as a loop, is not followed and
is listed as ignored); hidden files and folders (names starting with ``.``) are skipped;
files of other types are listed as ignored (in the result and the manifest), not errors. A
file reached twice (two links to it, or input paths that overlap) is read once, where it was
first reached.

:class:`InputFiles` streams the files without holding a list of them (a million one-article
files are a million paths): a first walk counts them and gathers the bad inputs and the
files left unread, a second one yields the files. Only when a file can be reached twice
(a link met in the first walk, or input paths that overlap) does the second walk keep the
real path of each file it yields, to drop a second visit.
"""

from __future__ import annotations

import itertools
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from corpus.errors import Problem, display_path

MARKDOWN_SUFFIXES = {".md", ".markdown"}
TEXT_SUFFIXES = {".txt", *MARKDOWN_SUFFIXES}
TABLE_SUFFIXES = {".jsonl", ".ndjson", ".csv", ".parquet"}


@dataclass
class Inputs:
    """What the input paths hold: the files to read, bad inputs, and files left unread."""

    files: list[Path]
    problems: list[Problem]
    ignored: list[Problem]  # unsupported files and folder links already read: not errors


class InputFiles:
    """The files the input paths hold, in reading order, walked twice instead of listed.

    Making one walks the folders once: :attr:`count` files (a file reached twice counts
    twice when :attr:`revisits`), their bad inputs (:attr:`problems`) and the files left
    unread (:attr:`ignored`), and :attr:`bytes`, the files' sizes summed up to
    ``bytes_up_to`` (enough to tell a small ingest from a large one without a ``stat`` of
    every file). Iterating walks them again and yields each file once, in the order of
    :func:`find_inputs` (the folders should not change meanwhile).
    """

    def __init__(self, paths: list[Path], *, bytes_up_to: int = 0) -> None:
        self.paths = list(paths)
        self.problems: list[Problem] = []
        self.ignored: list[Problem] = []
        self.count = 0
        self.bytes = 0
        self.revisits = _overlap(self.paths)
        for path in _walk_inputs(self.paths, self.problems, self.ignored, self._linked):
            self.count += 1
            if self.bytes < bytes_up_to:
                self.bytes += _size(path)

    def _linked(self) -> None:
        self.revisits = True

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Path]:
        files = _walk_inputs(self.paths, [], [], lambda: None)
        return _once(files) if self.revisits else files


def discover(paths: list[Path]) -> tuple[list[Path], list[Problem]]:
    """Expand folders into supported files; report the rest (see :func:`find_inputs`)."""
    found = find_inputs(paths)
    return found.files, found.problems


def find_inputs(paths: list[Path]) -> Inputs:
    """Expand folders (recursively, sorted) into a list of supported files (one walk).

    Links to folders inside a folder are followed, each real folder read once (a link back
    to a folder already read, a loop, is listed as ignored); hidden files and folders (names
    starting with ``.``) are skipped; files of other types are listed as ignored; a file
    reached twice (two links, or a folder given twice) is listed once, where first reached.
    """
    problems: list[Problem] = []
    ignored: list[Problem] = []
    files = list(_once(_walk_inputs(paths, problems, ignored, lambda: None)))
    return Inputs(files, problems, ignored)


SUPPORTED = TEXT_SUFFIXES | TABLE_SUFFIXES


def _once(files: Iterator[Path]) -> Iterator[Path]:
    """Each file once, where first reached (by real path)."""
    seen: set[str] = set()
    for file in files:
        real = os.path.realpath(file)
        if real not in seen:
            seen.add(real)
            yield file


def _overlap(paths: list[Path]) -> bool:
    """Whether two input paths are, or hold, the same file or folder."""
    if len(paths) < 2:
        return False
    # sorted by components, a folder comes right before the paths inside it
    reals = sorted(Path(os.path.realpath(p)).parts for p in paths)
    return any(b[: len(a)] == a for a, b in itertools.pairwise(reals))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _walk_inputs(
    paths: list[Path],
    problems: list[Problem],
    ignored: list[Problem],
    linked: Callable[[], None],
) -> Iterator[Path]:
    """Every supported file under ``paths`` in order (a file reached twice, twice)."""
    for path in paths:
        if path.is_dir():
            found = 0
            before = len(problems)
            for file in _walk(path, problems, ignored, set(), linked):
                found += 1
                yield file
            if not found and len(problems) == before:
                problems.append(
                    Problem(
                        display_path(path), "the folder holds no .txt/.md/.jsonl/.csv/.parquet file"
                    )
                )
        elif path.is_file():
            if path.suffix.lower() in SUPPORTED:
                yield path
            else:
                problems.append(
                    Problem(
                        display_path(path),
                        f"unsupported file type {path.suffix or '(none)'!r}",
                        "Use .txt/.md (title, blank line, paragraphs) or .jsonl/.csv/.parquet.",
                    )
                )
        elif path.exists() or path.is_symlink():
            kind = _special(path) or "not a regular file or folder"
            problems.append(Problem(display_path(path), f"{kind}: not read"))
        else:
            problems.append(
                Problem(display_path(path), "no such file or folder", "Check the path.")
            )


def _walk(
    folder: Path,
    problems: list[Problem],
    ignored: list[Problem],
    seen: set[tuple[int, int]],
    linked: Callable[[], None],
) -> Iterator[Path]:
    """Depth-first, sorted by name; ``seen`` holds the real folders of this walk.

    Entries that are not links are typed from the folder listing (no ``stat``); a link is
    typed by following it, and ``linked()`` is called for each link followed or yielded.
    """
    try:
        info = folder.stat()
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError as exc:
        problems.append(Problem(display_path(folder), f"cannot read the folder: {exc.strerror}"))
        return
    seen.add((info.st_dev, info.st_ino))
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = folder / entry.name
        link = entry.is_symlink()
        if path.is_dir() if link else entry.is_dir(follow_symlinks=False):
            target = path.stat()
            if (target.st_dev, target.st_ino) in seen:
                ignored.append(
                    Problem(
                        display_path(path),
                        "a link to a folder already read (a loop, or a second link to it): "
                        "not followed",
                    )
                )
                continue
            if link:
                linked()
            yield from _walk(path, problems, ignored, seen, linked)
        elif path.suffix.lower() not in SUPPORTED:
            if path.is_file() if link else entry.is_file(follow_symlinks=False):
                ignored.append(
                    Problem(
                        display_path(path),
                        f"unsupported file type {path.suffix or '(none)'!r}: not read",
                        "Only .txt/.md/.markdown/.jsonl/.ndjson/.csv/.parquet files are read.",
                    )
                )
        elif path.is_file() if link else entry.is_file(follow_symlinks=False):
            if link:
                linked()
            yield path
        elif (kind := _special(path)) is not None:
            problems.append(
                Problem(
                    display_path(path),
                    f"{kind}, not a regular file: not read",
                    "Move it out of the folder, or copy its content into a file.",
                )
            )


def _special(path: Path) -> str | None:
    """What a path that is neither a file nor a folder is (a FIFO, socket, device...)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return "a broken link" if path.is_symlink() else None
    for test, kind in (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return kind
    return None


__all__ = [
    "MARKDOWN_SUFFIXES",
    "SUPPORTED",
    "TABLE_SUFFIXES",
    "TEXT_SUFFIXES",
    "InputFiles",
    "Inputs",
    "discover",
    "find_inputs",
]
