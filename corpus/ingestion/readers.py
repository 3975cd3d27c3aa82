"""The I/O edge of ingest: find input files and turn them into raw records.

Text files (``.txt``, ``.md``) become work items that a worker reads, decodes and parses;
tabular files (``.jsonl``, ``.csv``, ``.parquet``) are streamed here, in the main process,
in batches of records. Every bad input becomes a :class:`~corpus.errors.Problem`.
"""

from __future__ import annotations

import csv
import json
import stat
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from corpus.errors import IngestError, Problem, display_path
from corpus.ids import bytes_sha256, file_sha256
from corpus.ingestion import fields
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
            found = []
            for p in sorted(path.rglob("*")):
                if p.name.startswith(".") or p.suffix.lower() not in supported:
                    continue
                if p.is_file():
                    found.append(p)
                elif (kind := _special(p)) is not None:
                    problems.append(
                        Problem(
                            display_path(p),
                            f"{kind}, not a regular file: not read",
                            "Move it out of the folder, or copy its content into a file.",
                        )
                    )
            if not found and not problems:
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
            kind = _special(path) or "not a regular file or folder"
            problems.append(Problem(display_path(path), f"{kind}: not read"))
        else:
            problems.append(
                Problem(display_path(path), "no such file or folder", "Check the path.")
            )
    unique = list(dict.fromkeys(files))
    return unique, problems


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
    """Decode strictly; a bad byte is named by its offset. (NUL characters are refused for
    every format alike, when the record is segmented.)"""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        if b"\x00" in data[:8192]:
            raise RecordProblem(
                "looks like a binary file (NUL bytes, not valid text)", "Ingest only text."
            ) from None
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


def record_from_mapping(
    row: Mapping[str, object], *, path: str, sha256: str, number: int, options: ReadOptions
) -> RawRecord:
    """One JSONL/CSV/Parquet row -> RawRecord, checking and typing the mapped fields."""
    title_col, text_col = options.column("title"), options.column("text")
    missing = [c for c in (title_col, text_col) if c not in row]
    if missing:
        raise RecordProblem(
            f"missing field(s) {', '.join(map(repr, missing))}",
            "Map your columns with --field title=COLUMN --field text=COLUMN.",
        )
    title, text = row[title_col], row[text_col]
    if not isinstance(title, str) or not isinstance(text, str):
        raise RecordProblem(
            f"title and text must be text, not {type(title).__name__} and {type(text).__name__}",
            "Check the columns mapped to title and text (--field).",
        )
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
        external_id=fields.id_field(row.get(options.column("id"))),
        url=fields.text_field("url", row.get(options.column("url"))),
        source=fields.text_field("source", row.get(options.column("source"))),
        published_at=fields.published_at(row.get(options.column("published_at"))),
        language=fields.language(row.get(options.column("language"))),
    )


Row = tuple[int, Mapping[str, object] | RecordProblem]
_MAX_FIELD = min(sys.maxsize, 2**31 - 1)  # the csv module's own default is 131,072 characters
_BOM = "\ufeff"


def _missing_columns(columns: list[str], options: ReadOptions, kind: str) -> RecordProblem | None:
    """A file-level problem when the title and text columns are not among ``columns``."""
    wanted = [options.column("title"), options.column("text")]
    absent = [c for c in wanted if c not in columns]
    if not absent:
        return None
    found = ", ".join(repr(c) for c in columns[:8]) or "none"
    return RecordProblem(
        f"the {kind} has no column {' or '.join(map(repr, absent))} (its columns: {found})",
        "Name the columns title and text (a CSV needs a header row), or map yours with "
        "--field title=COLUMN --field text=COLUMN.",
    )


def _jsonl_rows(path: Path, options: ReadOptions) -> Iterator[Row]:
    records = 0
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                decoded = decode(line, options.encoding)
                value = json.loads(decoded.removeprefix(_BOM) if number == 1 else decoded)
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
            records += 1
            yield number, value
    if records == 0:
        yield 0, RecordProblem("the file holds no JSON records", "Add one JSON object per line.")


def _csv_rows(path: Path, options: ReadOptions) -> Iterator[Row]:
    """Rows by number; a bad row is reported and every other row is still read."""
    csv.field_size_limit(_MAX_FIELD)
    encoding = "utf-8-sig" if options.encoding.lower().replace("_", "-") in UTF8 else None
    with path.open(encoding=encoding or options.encoding, newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            yield 0, RecordProblem("the file is empty")
            return
        except (csv.Error, UnicodeDecodeError) as exc:
            yield 0, _csv_problem(exc, options, "the header row")
            return
        if (problem := _missing_columns(header, options, "CSV header")) is not None:
            yield 0, problem
            return
        number = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except (csv.Error, UnicodeDecodeError) as exc:
                number += 1
                yield number, _csv_problem(exc, options, f"row {number}")
                if isinstance(exc, UnicodeDecodeError):
                    return  # the decoder cannot resynchronise: the rest is unreadable
                continue
            number += 1
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(header):
                yield number, RecordProblem(f"row {number} has more cells than the header")
                continue
            padded = [*cells, *[""] * (len(header) - len(cells))]
            yield number, dict(zip(header, padded, strict=True))
    if number == 0:
        yield (
            0,
            RecordProblem(
                "the CSV file has a header row but no records", "Add records below the header."
            ),
        )


UTF8 = {"utf-8", "utf8", "utf-8-sig"}


def _csv_problem(exc: Exception, options: ReadOptions, where: str) -> RecordProblem:
    if isinstance(exc, UnicodeDecodeError):
        return RecordProblem(
            f"{where} is not valid {options.encoding} (byte {exc.start} of a read block)",
            "Convert the file to UTF-8 or pass --encoding.",
        )
    return RecordProblem(f"{where} is malformed CSV: {exc}", "Fix the quoting of that row.")


def _parquet_rows(path: Path, options: ReadOptions) -> Iterator[Row]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for broken files
        yield 0, RecordProblem(f"not a readable Parquet file: {exc}")
        return
    columns = pf.schema_arrow.names
    if (problem := _missing_columns(columns, options, "Parquet file")) is not None:
        yield 0, problem
        return
    if pf.metadata.num_rows == 0:
        yield 0, RecordProblem("the Parquet file holds no records")
        return
    number = 0
    for batch in pf.iter_batches(batch_size=1024):
        for row in batch.to_pylist():
            number += 1
            yield number, row


def iter_table_records(
    path: Path, options: ReadOptions
) -> Iterator[tuple[int, RawRecord | RecordProblem]]:
    """Stream the records of a tabular file, one problem per bad row (0: the whole file)."""
    try:
        sha = file_sha256(path)
        size = path.stat().st_size
    except OSError as exc:
        yield 0, RecordProblem(f"cannot read the file: {exc.strerror}")
        return
    if size == 0:
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
    shown = display_path(path)
    for number, row in rows:
        if isinstance(row, RecordProblem):
            yield number, row
            continue
        try:
            yield (
                number,
                record_from_mapping(row, path=shown, sha256=sha, number=number, options=options),
            )
        except RecordProblem as exc:
            yield number, exc
