"""Ingest never drops a good record, and every record field has a type."""

from __future__ import annotations

import csv
import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import corpus
from corpus.cli import app
from corpus.errors import IngestError
from corpus.store import Store

runner = CliRunner()


def documents(store: Store, version: str = "0.1.0") -> list[dict[str, Any]]:
    return store.read_table(version, "documents").to_pylist()


def write_jsonl(path: Path, rows: list[Any], *, bom: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    path.write_text(("\ufeff" if bom else "") + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_csv(path: Path, rows: list[list[str]], *, bom: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def problems_of(exc: IngestError) -> list[tuple[int | None, str]]:
    return [(p.record, p.reason) for p in exc.problems]


# --- CSV -------------------------------------------------------------------------------------


def test_a_long_csv_field_is_read_and_later_rows_are_kept(tmp_path: Path, store: Store) -> None:
    """The user's case: a field over 131,072 characters was malformed CSV, and with
    --skip-bad every valid row after it was dropped too."""
    long_text = "Trade talks went on. " * 10_000  # 210,000 characters
    path = write_csv(
        tmp_path / "news.csv",
        [["title", "text"], ["First", "Tariffs."], ["Long", long_text], ["Third", "Chips."]],
    )
    result = corpus.ingest([path], store=store)
    assert result.documents_added == 3 and result.problems == []
    assert sorted(d["title"] for d in documents(store)) == ["First", "Long", "Third"]


def test_a_record_over_max_bytes_is_reported_by_number_and_the_rest_read(
    tmp_path: Path, store: Store
) -> None:
    path = write_csv(
        tmp_path / "news.csv",
        [["title", "text"], ["A", "x" * 5000], ["B", "Fine."], ["C", "Also fine."]],
    )
    result = corpus.ingest([path], store=store, max_bytes=1000, skip_bad=True)
    assert result.documents_added == 2
    assert [(p.record, p.reason) for p in result.problems] == [
        (1, "the text is over the limit of 1,000 bytes")
    ]


def test_a_malformed_row_is_named_and_every_other_row_read(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "news.csv"
    path.write_text("title,text\nA,one\nB,two,extra\nC,three\nD,four\n", encoding="utf-8")
    with pytest.raises(IngestError) as info:
        corpus.ingest([path], store=store)
    assert problems_of(info.value) == [(2, "row 2 has more cells than the header")]
    result = corpus.ingest([path], store=store, skip_bad=True)
    assert sorted(d["title"] for d in documents(store)) == ["A", "C", "D"]
    assert result.documents_added == 3


def test_a_csv_saved_with_a_bom_is_read(tmp_path: Path, store: Store) -> None:
    path = write_csv(tmp_path / "excel.csv", [["title", "text"], ["A", "Trade."]], bom=True)
    assert corpus.ingest([path], store=store).documents_added == 1
    assert documents(store)[0]["title"] == "A"


def test_a_jsonl_saved_with_a_bom_is_read(tmp_path: Path, store: Store) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [{"title": "A", "text": "Trade."}], bom=True)
    assert corpus.ingest([path], store=store).documents_added == 1


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("header.csv", "title,text\n", "the CSV file has a header row but no records"),
        ("noheader.csv", "A,Trade.\nB,Chips.\n", "the CSV header has no column 'title' or 'text'"),
        ("blank.jsonl", "\n\n", "the file holds no JSON records"),
    ],
)
def test_files_without_records_are_bad_input(
    tmp_path: Path, store: Store, name: str, content: str, reason: str
) -> None:
    """They exited 0 with "Nothing new"."""
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(IngestError) as info:
        corpus.ingest([path], store=store)
    [(record, got)] = problems_of(info.value)
    assert record is None and got.startswith(reason)
    assert info.value.problems[0].hint
    assert store.version_names() == []


def test_a_zero_row_parquet_is_bad_input(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "empty.parquet"
    pq.write_table(
        pa.table({"title": pa.array([], pa.string()), "text": pa.array([], pa.string())}), path
    )
    with pytest.raises(IngestError) as info:
        corpus.ingest([path], store=store)
    assert problems_of(info.value) == [(None, "the Parquet file holds no records")]


def test_skip_bad_prints_what_it_skipped_even_when_nothing_new(
    tmp_path: Path, store: Store
) -> None:
    good = write_jsonl(tmp_path / "in" / "a.jsonl", [{"title": "A", "text": "Trade."}])
    corpus.ingest([good], store=store)
    bad = tmp_path / "in" / "b.csv"
    bad.write_text("title,text\n", encoding="utf-8")
    result = runner.invoke(
        app, ["ingest", str(tmp_path / "in"), "--store", str(store.root), "--skip-bad"]
    )
    assert result.exit_code == 0
    assert "Nothing new" in result.stdout
    assert "skipped" in result.stdout and "b.csv" in result.stdout
    assert "header row but no records" in result.stdout


def test_special_files_in_a_folder_are_reported(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("Title\n\nBody about trade.\n", encoding="utf-8")
    os.mkfifo(folder / "pipe.txt")
    with pytest.raises(IngestError) as info:
        corpus.ingest([folder], store=store)
    assert problems_of(info.value) == [(None, "a FIFO (named pipe), not a regular file: not read")]
    result = corpus.ingest([folder], store=store, skip_bad=True)
    assert result.documents_added == 1 and len(result.problems) == 1


def test_device_files_in_a_folder_are_reported(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("Title\n\nBody about trade.\n", encoding="utf-8")
    try:  # /dev/null's numbers; needs the right to make device files (root, CAP_MKNOD)
        os.mknod(folder / "null.txt", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device file needs CAP_MKNOD")
    with pytest.raises(IngestError) as info:
        corpus.ingest([folder], store=store)
    assert problems_of(info.value) == [(None, "a character device, not a regular file: not read")]


# --- typed fields ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("id", [1, 2], "field 'id' must be text, not a list ([1, 2])"),
        ("id", True, "field 'id' must be text, not a boolean (True)"),
        ("url", {"x": 1}, "field 'url' must be text, not an object ({'x': 1})"),
        ("source", 3.5, "field 'source' must be text, not a number (3.5)"),
        ("published_at", "not a date", "field 'published_at' is not a date: 'not a date'"),
        ("published_at", 1700000000000, "field 'published_at' is out of range"),
        ("published_at", [2024], "field 'published_at' must be a date, not a list ([2024])"),
        ("language", "english", "field 'language' is not a BCP 47 language tag: 'english'"),
        ("language", "zz", "field 'language' is not a BCP 47 language tag: 'zz'"),
        ("text", "nul \u0000 inside", "the text contains NUL"),
        ("title", "nul \u0000 title", "the title contains NUL"),
    ],
)
def test_a_field_of_the_wrong_type_is_a_record_error(
    tmp_path: Path, store: Store, field: str, value: object, reason: str
) -> None:
    """They were coerced silently: id [1,2] stored as "[1, 2]", url {"x":1} as "{'x': 1}"."""
    record = {"title": "A", "text": "Trade.", field: value}
    path = write_jsonl(tmp_path / "a.jsonl", [{"title": "Ok", "text": "Fine."}, record])
    with pytest.raises(IngestError) as info:
        corpus.ingest([path], store=store)
    [(number, got)] = problems_of(info.value)
    assert number == 2 and got.startswith(reason), got
    result = corpus.ingest([path], store=store, skip_bad=True)
    assert result.documents_added == 1


def test_typed_fields_are_stored(tmp_path: Path, store: Store) -> None:
    rows = [
        {"title": "A", "text": "Trade talks.", "id": 7, "published_at": "2024-03-01",
         "language": "zh-hant", "url": "https://x.example/a", "source": "Wire"},
        {"title": "B", "text": "Export controls.", "published_at": 1700000000},
        {"title": "C", "text": "Chips.", "published_at": "2024-03-01T12:00:00+08:00"},
        {"title": "D", "text": "Taiwan.", "published_at": "2024-03-01T12:00:00"},
        {"title": "E", "text": "Investment.", "id": "e-5", "language": "pt_BR"},
    ]  # fmt: skip
    corpus.ingest([write_jsonl(tmp_path / "a.jsonl", rows)], store=store)
    docs = {d["title"]: d for d in documents(store)}
    assert docs["A"]["external_id"] == "7" and docs["E"]["external_id"] == "e-5"
    assert docs["A"]["published_at"] == datetime(2024, 3, 1, tzinfo=UTC)
    assert docs["B"]["published_at"] == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert docs["C"]["published_at"] == datetime(2024, 3, 1, 4, 0, tzinfo=UTC)
    assert docs["D"]["published_at"] == datetime(2024, 3, 1, 12, 0, tzinfo=UTC)  # naive: UTC
    assert docs["E"]["published_at"] is None
    assert [docs[t]["language"] for t in "ABE"] == ["zh-Hant", "en", "pt-BR"]
    assert docs["A"]["url"] == "https://x.example/a" and docs["A"]["source"] == "Wire"
    schema = store.table_schema("0.1.0", "documents")
    assert schema.field("published_at").type == pa.timestamp("us", tz="UTC")


def test_parquet_timestamps_and_integer_ids(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "a.parquet"
    table = pa.table(
        {
            "title": ["A", "B"],
            "text": ["Trade.", "Chips."],
            "id": pa.array([1, 2], pa.int64()),
            "published_at": pa.array([datetime(2024, 1, 2, 3, 4, 5), None], pa.timestamp("ms")),
        }
    )
    pq.write_table(table, path)
    corpus.ingest([path], store=store)
    docs = {d["title"]: d for d in documents(store)}
    assert docs["A"]["external_id"] == "1"
    assert docs["A"]["published_at"] == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert docs["B"]["published_at"] is None


def test_nul_is_refused_the_same_way_in_every_format(tmp_path: Path, store: Store) -> None:
    txt = tmp_path / "in" / "a.txt"
    txt.parent.mkdir()
    txt.write_text("Title\n\nBody with a NUL \x00 inside.\n", encoding="utf-8")
    jsonl = write_jsonl(tmp_path / "in" / "b.jsonl", [{"title": "T", "text": "NUL \x00 here"}])
    write_csv(tmp_path / "in" / "c.csv", [["title", "text"], ["T", "NUL \x00 here"]])
    with pytest.raises(IngestError) as info:
        corpus.ingest([tmp_path / "in"], store=store)
    reasons = {Path(p.path).name: p.reason for p in info.value.problems}
    assert set(reasons) == {"a.txt", "b.jsonl", "c.csv"}
    assert len(set(reasons.values())) == 1 and "NUL" in reasons["a.txt"]
    assert jsonl.exists()
