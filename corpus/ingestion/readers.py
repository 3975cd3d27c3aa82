"""The I/O edge of ingest: find input files and turn them into raw records.

Text files (``.txt``, ``.md``) become work items that a worker reads, decodes and parses;
tabular files (``.jsonl``, ``.csv``, ``.parquet``) are streamed here, in the main process,
in batches of records. Every bad input becomes a :class:`~corpus.errors.Problem`.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from corpus.errors import IngestError, display_path
from corpus.ids import bytes_sha256, file_sha256
from corpus.ingestion import fields, markdown
from corpus.ingestion.core import RawRecord, RecordProblem, normalize, split_title
from corpus.ingestion.encodings import UTF8, codec_name, decode, wide_encoding
from corpus.ingestion.inputs import (
    MARKDOWN_SUFFIXES,
    TABLE_SUFFIXES,
    TEXT_SUFFIXES,
    InputFiles,
    Inputs,
    discover,
    find_inputs,
)

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


def read_text_file(item: TextFile, options: ReadOptions) -> RawRecord:
    """Read one seed-layout file (runs in a worker)."""
    path = Path(item.path)
    data = _read_bytes(path, options.max_bytes)
    if not data.strip():
        raise RecordProblem("the file is empty", "Remove it or add a title line and paragraphs.")
    content = normalize(decode(data, options.encoding))
    markdown_file = path.suffix.lower() in MARKDOWN_SUFFIXES
    if markdown_file:  # front matter values are YAML: escapes in them may not be NFC
        front, title, body = markdown.title_and_body(content)
    else:
        front = markdown.FrontMatter()
        title, body = split_title(content)
    return RawRecord(
        source_path=display_path(item.path),
        source_sha256=bytes_sha256(data),
        source_record=None,
        title=title,
        text=body,
        external_id=front.external_id,
        url=front.url,
        source=front.source,
        published_at=front.published_at,
        language=front.language or fields.DEFAULT_LANGUAGE,
        nfc=not markdown_file,  # pieces of normalised text stay NFC
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


def _jsonl_lines(path: Path, options: ReadOptions) -> Iterator[tuple[int, str | RecordProblem]]:
    """The lines of a JSONL file by number, decoded (a UTF-16/32 file by its byte order mark)."""
    with path.open("rb") as fh:
        wide = wide_encoding(fh.read(4), options.encoding)
    if wide != options.encoding:
        with path.open(encoding=wide, newline="\n") as text:
            try:
                yield from enumerate(text, start=1)
            except UnicodeDecodeError as exc:
                yield 0, RecordProblem(f"not valid {wide} text: {exc.reason}", "Re-save as UTF-8.")
        return
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield number, decode(line, options.encoding)
            except RecordProblem as exc:
                yield number, exc


def _jsonl_rows(path: Path, options: ReadOptions) -> Iterator[Row]:
    records = 0
    for number, decoded in _jsonl_lines(path, options):
        if isinstance(decoded, RecordProblem):
            yield number, decoded
            continue
        if not decoded.strip():
            continue
        try:
            value = json.loads(decoded.removeprefix(_BOM) if number == 1 else decoded)
        except json.JSONDecodeError as exc:
            yield (
                number,
                RecordProblem(
                    f"line {number} is not valid JSON: {exc.msg}",
                    "Each line of a JSONL file must be one JSON object.",
                ),
            )
            continue
        except RecursionError:
            yield (
                number,
                RecordProblem(
                    f"line {number} is nested too deeply to read (thousands of levels of "
                    "lists or objects)",
                    "Flatten the record, or remove the line; --skip-bad ingests the others.",
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
    with path.open("rb") as raw:
        encoding = wide_encoding(raw.read(4), options.encoding)
    if encoding == options.encoding and codec_name(encoding) in UTF8:
        encoding = "utf-8-sig"
    with path.open(encoding=encoding, newline="") as fh:
        lines = _Lines(fh)
        reader = csv.reader(lines)
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
            lines.taken = []
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
            if lines.quoted() and (problem := _unclosed_quote(lines, number)) is not None:
                yield number, problem
                continue
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


class _Lines:
    """The lines of a CSV file, keeping the ones the reader took for its last row."""

    def __init__(self, fh: Iterator[str]) -> None:
        self.fh = fh
        self.taken: list[str] = []
        self.count = 0  # lines read so far

    def quoted(self) -> bool:
        """Whether the last row has a quote that could be left open."""
        return any('"' in line for line in self.taken)

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self.fh)
        self.taken.append(line)
        self.count += 1
        return line


def _unclosed_quote(lines: _Lines, number: int) -> RecordProblem | None:
    """A row over several lines whose quoting is broken: a quote never closed (the row ran
    to the end of the file) or closed inside a later field. Either way it swallowed the
    rows below the line where the quote opened, so the row is reported, not read.

    A well-formed quoted field over several lines (a quote closed right before a comma or
    the line's end) is a row like any other.
    """
    try:
        for _ in csv.reader(lines.taken, strict=True):
            pass
        return None
    except csv.Error as exc:
        at_end = "end of data" in str(exc)
    if len(lines.taken) == 1 and not at_end:
        return None  # a stray quote inside one line ("x"y): read as the csv module reads it
    first = lines.count - len(lines.taken) + 1
    opened = first + _opening_line(lines.taken)
    last = lines.count
    where = f"row {number}: the quote opened on line {opened}"
    reason = (
        f"{where} is never closed (the file ends inside it)"
        if at_end and last == opened
        else f"{where} is never closed, so lines {opened + 1}-{last} (to the end of the file) "
        "became part of this row"
        if at_end
        else f"{where} is closed only inside a later field, on line {last}, so lines "
        f"{opened + 1}-{last} became part of this row"
    )
    return RecordProblem(
        reason,
        f"Close the quote on line {opened} (a quote inside a quoted field is written twice: "
        '""), then ingest again.',
    )


def _opening_line(lines: list[str]) -> int:
    """The index of the line where a quoted field opened and ran past the line's end."""
    inside, opened = False, 0
    for index, line in enumerate(lines):
        i = 0
        while i < len(line):
            char = line[i]
            if not inside and char == '"' and (i == 0 or line[i - 1] == ","):
                inside, opened = True, index
            elif inside and char == '"':
                if line[i + 1 : i + 2] == '"':
                    i += 1
                else:
                    inside = False
            i += 1
        if inside and index == opened:
            return opened
    return 0


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


__all__ = [  # the finding of inputs is re-exported: callers read inputs through this module
    "DEFAULT_MAX_BYTES",
    "FIELDS",
    "TABLE_SUFFIXES",
    "TEXT_SUFFIXES",
    "InputFiles",
    "Inputs",
    "ReadOptions",
    "TextFile",
    "decode",
    "discover",
    "find_inputs",
    "iter_table_records",
    "parse_field_mapping",
    "read_text_file",
    "record_from_mapping",
]
