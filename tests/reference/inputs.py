"""Reference: how ingest finds its input files, as ``corpus.ingestion.inputs.find_inputs`` did
before issue 20 made discovery stream (a list of every path, and a dict of real paths to drop a
file reached twice). Kept verbatim so that the streaming walk can be compared with it on random
folder trees (``tests/test_input_walk.py``); imports from ``corpus`` only the problem record and
the path display the results are made of.

The rule (docs/concepts/store.md, "Ingest"): folders are walked recursively in name order;
links to folders are followed, each real folder read once per input path (a link back to a
folder already read is listed as ignored); hidden files and folders are skipped; files of
other types are listed as ignored; a file reached twice (two links, or an input given twice)
is read once, where it was first reached.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from corpus.errors import Problem, display_path

SUPPORTED = {".txt", ".md", ".markdown", ".jsonl", ".ndjson", ".csv", ".parquet"}


@dataclass
class Inputs:
    files: list[Path]
    problems: list[Problem]
    ignored: list[Problem]


def find_inputs(paths: list[Path]) -> Inputs:
    """Expand folders (recursively, sorted) into supported files.

    Links to folders inside a folder are followed, each real folder read once (a link back
    to a folder already read, a loop, is listed as ignored); hidden files and folders (names
    starting with ``.``) are skipped; files of other types are listed as ignored.
    """
    files: list[Path] = []
    problems: list[Problem] = []
    ignored: list[Problem] = []
    for path in paths:
        if path.is_dir():
            found: list[Path] = []
            before = len(problems)
            _walk(path, found, problems, ignored, seen=set())
            if not found and len(problems) == before:
                problems.append(
                    Problem(
                        display_path(path), "the folder holds no .txt/.md/.jsonl/.csv/.parquet file"
                    )
                )
            files.extend(found)
        elif path.is_file():
            if path.suffix.lower() in SUPPORTED:
                files.append(path)
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
    unique: dict[str, Path] = {}
    for file in files:  # a file reached twice (two links, or a folder given twice): once
        unique.setdefault(os.path.realpath(file), file)
    return Inputs(list(unique.values()), problems, ignored)


def _walk(
    folder: Path,
    files: list[Path],
    problems: list[Problem],
    ignored: list[Problem],
    seen: set[tuple[int, int]],
) -> None:
    """Depth-first, sorted by name; ``seen`` holds the real folders of this walk."""
    try:
        info = folder.stat()
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
    except OSError as exc:
        problems.append(Problem(display_path(folder), f"cannot read the folder: {exc.strerror}"))
        return
    seen.add((info.st_dev, info.st_ino))
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            target = entry.stat()
            if (target.st_dev, target.st_ino) in seen:
                ignored.append(
                    Problem(
                        display_path(entry),
                        "a link to a folder already read (a loop, or a second link to it): "
                        "not followed",
                    )
                )
                continue
            _walk(entry, files, problems, ignored, seen)
        elif entry.suffix.lower() not in SUPPORTED:
            if entry.is_file():
                ignored.append(
                    Problem(
                        display_path(entry),
                        f"unsupported file type {entry.suffix or '(none)'!r}: not read",
                        "Only .txt/.md/.markdown/.jsonl/.ndjson/.csv/.parquet files are read.",
                    )
                )
        elif entry.is_file():
            files.append(entry)
        elif (kind := _special(entry)) is not None:
            problems.append(
                Problem(
                    display_path(entry),
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
