"""The I/O edge of ingest: find input files and turn them into raw records.

Text files (``.txt``, ``.md``) become work items that a worker reads, decodes and parses;
tabular files (``.jsonl``, ``.csv``, ``.parquet``) are streamed here, in the main process,
in batches of records. Every bad input becomes a :class:`~corpus.errors.Problem`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from corpus.errors import IngestError, Problem, display_path
from corpus.ids import bytes_sha256, file_sha256
from corpus.ingestion.core import RawRecord, RecordProblem, normalize, split_title

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
TABLE_SUFFIXES = {".jsonl", ".ndjson", ".csv", ".parquet"}
FIELDS = ("title", "text", "id", "url", "source", "published_at", "language")
DEFAULT_MAX_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class ReadOptions:
    encoding: str = "utf-8"
    max_bytes: int = DEFAULT_MAX_BYTES
    fields: Mapping[str, str] | None = None  # our field name -> column name in the input

    def column(self, name: str) -> str:
        return (self.fields or {}).get(name, name)


@dataclass(frozen=True)
class TextFile:
    """A ``.txt``/``.md`` file, read and parsed by a worker."""

    path: str


def parse_field_mapping(pairs: list[str]) -> dict[str, str]:
    """``["title=headline", "text=body"]`` -> ``{"title": "headline", "text": "body"}``."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        ours, sep, theirs = pair.partition("=")
        if not sep or ours not in FIELDS or not theirs:
            raise IngestError(
                f"bad --field {pair!r}",
                hint=f"Use FIELD=COLUMN, FIELD one of {', '.join(FIELDS)}; e.g. title=headline.",
            )
        mapping[ours] = theirs
    return mapping


def discover(paths: list[Path]) -> tuple[list[Path], list[Problem]]:
    """Expand folders (recursively, sorted) into supported files; report the rest."""
    files: list[Path] = []
    problems: list[Problem] = []
    supported = TEXT_SUFFIXES | TABLE_SUFFIXES
    for path in paths:
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in supported and not p.name.startswith(".")
            )
            if not found:
                problems.append(
                    Problem(
                        display_path(path), "the folder holds no .txt/.md/.jsonl/.csv/.parquet file"
                    )
                )
            files.extend(found)
        elif path.is_file():
            if path.suffix.lower() in supported:
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
            problems.append(Problem(display_path(path), "not a regular file or folder"))
        else:
            problems.append(
                Problem(display_path(path), "no such file or folder", "Check the path.")
            )
    unique = list(dict.fromkeys(files))
    return unique, problems


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise RecordProblem(
                f"the file is {size:,} bytes, over the limit of {max_bytes:,}",
                "Split it, or raise the limit with --max-bytes.",
            )
        with path.open("rb") as fh:
            return fh.read()
    except PermissionError:
        raise RecordProblem("permission denied", "Make the file readable.") from None
    except OSError as exc:
        raise RecordProblem(f"cannot read the file: {exc.strerror}") from None


def decode(data: bytes, encoding: str) -> str:
    """Decode strictly; a NUL byte means a binary file, a bad byte is named by offset."""
    if b"\x00" in data[:8192]:
        raise RecordProblem(
            "looks like a binary file (it contains NUL bytes)", "Ingest only text articles."
        )
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise RecordProblem(
            f"not valid {encoding} at byte offset {exc.start}",
            "Convert the file to UTF-8, or pass --encoding (for example cp1252 or latin-1) "
            "for legacy files.",
        ) from None
    except LookupError:
        raise RecordProblem(f"unknown encoding {encoding!r}", "Pass a Python codec name.") from None


def read_text_file(item: TextFile, options: ReadOptions) -> RawRecord:
    """Read one seed-layout file (runs in a worker)."""
    path = Path(item.path)
    data = _read_bytes(path, options.max_bytes)
    if not data.strip():
        raise RecordProblem("the file is empty", "Remove it or add a title line and paragraphs.")
    content = normalize(decode(data, options.encoding))
    title, body = split_title(content)
    return RawRecord(
        source_path=display_path(item.path),
        source_sha256=bytes_sha256(data),
        source_record=None,
        title=title,
        text=body,
    )


def _str_or_none(value: object) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def record_from_mapping(
    row: Mapping[str, object], *, path: str, sha256: str, number: int, options: ReadOptions
) -> RawRecord:
    """One JSONL/CSV/Parquet row -> RawRecord, checking the mapped fields."""
    title_col, text_col = options.column("title"), options.column("text")
    missing = [c for c in (title_col, text_col) if c not in row]
    if missing:
        raise RecordProblem(
            f"missing field(s) {', '.join(map(repr, missing))}",
            "Map your columns with --field title=COLUMN --field text=COLUMN.",
        )
    title, text = row[title_col], row[text_col]
    if not isinstance(title, str) or not isinstance(text, str):
        raise RecordProblem("title and text must be strings")
    for name, value in row.items():
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise RecordProblem(
                    f"field {name!r} holds a lone surrogate (\\u{ord(value[exc.start]):04x}) "
                    f"at character {exc.start}: not valid Unicode text",
                    "Fix the escape in the source data (a JSON \\ud800-style escape without "
                    "its pair).",
                ) from None
    if len(text.encode()) > options.max_bytes:
        raise RecordProblem(
            f"the text is over the limit of {options.max_bytes:,} bytes", "Raise --max-bytes."
        )
    return RawRecord(
        source_path=path,
        source_sha256=sha256,
        source_record=number,
        title=title,
        text=text,
        external_id=_str_or_none(row.get(options.column("id"))),
        url=_str_or_none(row.get(options.column("url"))),
        source=_str_or_none(row.get(options.column("source"))),
        published_at=_str_or_none(row.get(options.column("published_at"))),
        language=_str_or_none(row.get(options.column("language"))) or "en",
    )


Row = tuple[int, Mapping[str, object] | RecordProblem]


def _jsonl_rows(path: Path, options: ReadOptions) -> Iterator[Row]:
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(decode(line, options.encoding))
            except RecordProblem as exc:
                yield number, exc
                continue
            except json.JSONDecodeError as exc:
                yield (
                    number,
                    RecordProblem(
                        f"line {number} is not valid JSON: {exc.msg}",
                        "Each line of a JSONL file must be one JSON object.",
                    ),
                )
                continue
            if not isinstance(value, dict):
                yield (
                    number,
                    RecordProblem(
                        f"line {number} is not a JSON object",
                        "Each line of a JSONL file must be one JSON object.",
                    ),
                )
                continue
            yield number, value


def _csv_rows(path: Path, options: ReadOptions) -> Iterator[Row]:
    with path.open(encoding=options.encoding, newline="") as fh:
        reader = csv.DictReader(fh)
        number = 0
        try:
            for number, row in enumerate(reader, start=1):
                if None in row:
                    yield number, RecordProblem(f"row {number} has more cells than the header")
                    continue
                yield number, row
        except csv.Error as exc:
            yield number + 1, RecordProblem(f"malformed CSV: {exc}")
        except UnicodeDecodeError as exc:
            yield (
                number + 1,
                RecordProblem(
                    f"not valid {options.encoding} (byte {exc.start} of a read block)",
                    "Convert the file to UTF-8 or pass --encoding.",
                ),
            )


def _parquet_rows(path: Path, options: ReadOptions) -> Iterator[Row]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for broken files
        yield 0, RecordProblem(f"not a readable Parquet file: {exc}")
        return
    number = 0
    for batch in pf.iter_batches(batch_size=1024):
        for row in batch.to_pylist():
            number += 1
            yield number, row


def iter_table_records(
    path: Path, options: ReadOptions
) -> Iterator[tuple[int, RawRecord | RecordProblem]]:
    """Stream the records of a tabular file, one problem per bad row."""
    try:
        sha = file_sha256(path)
    except OSError as exc:
        yield 0, RecordProblem(f"cannot read the file: {exc.strerror}")
        return
    if path.stat().st_size == 0:
        yield 0, RecordProblem("the file is empty")
        return
    suffix = path.suffix.lower()
    rows = (
        _csv_rows(path, options)
        if suffix == ".csv"
        else _parquet_rows(path, options)
        if suffix == ".parquet"
        else _jsonl_rows(path, options)
    )
    for number, row in rows:
        if isinstance(row, RecordProblem):
            yield number, row
            continue
        try:
            yield (
                number,
                record_from_mapping(
                    row, path=display_path(path), sha256=sha, number=number, options=options
                ),
            )
        except RecordProblem as exc:
            yield number, exc
