"""Ingest end to end on real files, into a real store, read back with datasets."""

from __future__ import annotations

import csv
import json
import shutil
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import SEEDS, lock_held_elsewhere, write_article
from datasets import load_from_disk

from corpus.errors import (
    FileSystemError,
    IngestError,
    StoreError,
    StoreLockedError,
    VersionExistsError,
)
from corpus.ingestion import ingest
from corpus.ingestion import run as ingest_run
from corpus.label_schema import AnnotationSchema
from corpus.store import Store, input_files

SEED = next(SEEDS.glob("*.txt"))


def rows(store: Store, version: str, table: str) -> list[dict[str, object]]:
    return store.read_table(version, table).to_pylist()


def assert_offsets(store: Store, version: str) -> None:
    texts = {d["doc_id"]: d["text"] for d in rows(store, version, "documents")}
    for table in ("paragraphs", "sentences"):
        units = rows(store, version, table)
        assert units, table
        for unit in units:
            assert texts[unit["doc_id"]][unit["start"] : unit["end"]] == unit["text"]


def test_seed_ingest_builds_tables_with_exact_offsets(
    store: Store, schema: AnnotationSchema
) -> None:
    result = ingest([SEEDS], store=store, schema=schema)
    assert result.written and result.version == "0.1.0" and result.parent is None
    (doc,) = rows(store, "0.1.0", "documents")
    assert doc["title"].startswith("Chinese Official Expresses Willingness")
    assert not doc["text"].startswith(doc["title"])
    assert doc["source_path"] == str(SEED)
    assert doc["n_paragraphs"] == result.paragraphs == len(rows(store, "0.1.0", "paragraphs"))
    assert doc["n_sentences"] == result.sentences == len(rows(store, "0.1.0", "sentences"))
    assert result.paragraphs == SEED.read_text().strip().count("\n\n")  # title block excluded
    assert_offsets(store, "0.1.0")
    sentences = [s["text"] for s in rows(store, "0.1.0", "sentences")]
    assert any("the U.S. controls on technology exports" in s for s in sentences)
    assert not any(s.endswith("U.S.") for s in sentences)
    for table in ("documents", "paragraphs", "sentences", "sources", "minhashes"):
        loaded = load_from_disk(str(store.version_dir("0.1.0") / table))
        assert loaded.num_rows == store.manifest("0.1.0").tables[table].rows


def test_same_article_from_elsewhere_has_one_id(
    tmp_path: Path, store: Store, schema: AnnotationSchema
) -> None:
    copy = tmp_path / "elsewhere" / "copy.txt"
    copy.parent.mkdir()
    copy.write_bytes(SEED.read_bytes().replace(b"\n", b"\r\n"))  # same article, other newlines
    result = ingest([SEED, copy], store=store, schema=schema)
    assert result.documents_added == 1 and result.exact_duplicates == 1
    sources = rows(store, "0.1.0", "sources")
    assert {s["source_path"] for s in sources} == {str(SEED), str(copy)}
    assert len({s["doc_id"] for s in sources}) == 1


def test_near_duplicates_share_a_group(
    tmp_path: Path, store: Store, schema: AnnotationSchema
) -> None:
    edited = tmp_path / "wire" / "edited.txt"
    edited.parent.mkdir()
    edited.write_text(
        SEED.read_text().replace("Raimondo", "Ms Raimondo").replace("significant", "major"),
        encoding="utf-8",
    )
    other = write_article(
        tmp_path / "wire", "other.txt", "Harvest report", "Farmers brought in a record wheat crop."
    )
    ingest([SEED, edited, other], store=store, schema=schema)
    docs = {d["source_path"]: d for d in rows(store, "0.1.0", "documents")}
    seed, near, far = docs[str(SEED)], docs[str(edited)], docs[str(other)]
    assert seed["doc_id"] != near["doc_id"]
    assert near["dup_group"] == seed["dup_group"] == seed["doc_id"]
    assert far["dup_group"] == far["doc_id"]


def test_normalisation_keeps_every_character(
    tmp_path: Path, store: Store, schema: AnnotationSchema
) -> None:
    decomposed = unicodedata.normalize("NFD", "Café")
    body = (
        f"“Quoted” {decomposed} 😀 👨🏻‍🚒 text.\r\nSecond line.\r\n\r\n"
        "中国表示欢迎。双方将继续对话！"
    )
    path = tmp_path / "in" / "a.txt"
    path.parent.mkdir()
    path.write_bytes(b"\xef\xbb\xbfTitle\r\n\r\n" + body.encode())
    ingest([path], store=store, schema=schema)
    (doc,) = rows(store, "0.1.0", "documents")
    assert doc["title"] == "Title"
    assert "\r" not in doc["text"] and "\ufeff" not in doc["text"]
    assert "Café" in doc["text"] and "😀 👨🏻‍🚒" in doc["text"] and "“Quoted”" in doc["text"]
    assert doc["text"] == unicodedata.normalize("NFC", body.replace("\r\n", "\n"))
    sentences = [s["text"] for s in rows(store, "0.1.0", "sentences")]
    assert sentences[-2:] == ["中国表示欢迎。", "双方将继续对话！"]
    assert_offsets(store, "0.1.0")
    assert store.manifest("0.1.0").normalization.unicode == "NFC"


def test_tabular_inputs_with_field_mapping(
    tmp_path: Path, store: Store, schema: AnnotationSchema
) -> None:
    recs = [
        {
            "headline": f"Story {i}",
            "body": f"Paragraph one of {i}.\n\nParagraph two of {i}.",
            "id": f"s{i}",
            "url": f"https://example.org/{i}",
            "source": "Wire",
            "published_at": "2023-08-29",
        }
        for i in range(6)
    ]
    (tmp_path / "in").mkdir()
    jsonl = tmp_path / "in" / "a.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in recs[:2]) + "\n", encoding="utf-8")
    with (tmp_path / "in" / "b.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(recs[0]))
        writer.writeheader()
        writer.writerows(recs[2:4])
    pq.write_table(pa.Table.from_pylist(recs[4:]), tmp_path / "in" / "c.parquet")
    fields = {"title": "headline", "text": "body"}
    result = ingest([tmp_path / "in"], store=store, schema=schema, fields=fields)
    assert result.documents_added == 6 and result.paragraphs == 12
    docs = sorted(rows(store, "0.1.0", "documents"), key=lambda d: d["external_id"])
    assert [d["external_id"] for d in docs] == [f"s{i}" for i in range(6)]
    assert {d["source_record"] for d in docs} == {1, 2}
    assert docs[0]["url"] == "https://example.org/0"
    assert docs[0]["published_at"] == datetime(2023, 8, 29, tzinfo=UTC)
    inputs = {Path(i.path).name: i for i in input_files(store, "0.1.0")}
    assert {n: i.documents for n, i in inputs.items()} == {"a.jsonl": 2, "b.csv": 2, "c.parquet": 2}


def _bad_inputs(folder: Path) -> dict[str, str]:
    """file name -> a fragment the error must contain."""
    folder.mkdir(parents=True)
    (folder / "latin1.txt").write_bytes("Title\n\nCaf\xe9 au lait".encode("latin-1"))
    (folder / "empty.txt").write_bytes(b"")
    (folder / "title_only.txt").write_text("Just a title\n\n\n", encoding="utf-8")
    (folder / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    (folder / "big.txt").write_text("Big\n\n" + "word " * 5000, encoding="utf-8")
    (folder / "rows.jsonl").write_text('{"title": "ok", "text": "fine"}\n{not json\n[1]\n', "utf-8")
    (folder / "nofield.csv").write_text("headline,body\nA,B\n", encoding="utf-8")
    return {
        "latin1.txt": "not valid utf-8 at byte offset 10",
        "empty.txt": "empty",
        "title_only.txt": "no body text",
        "binary.txt": "binary",
        "big.txt": "over the limit",
        "rows.jsonl": "not valid JSON",
        "nofield.csv": "has no column 'title' or 'text'",
    }


def test_bad_inputs_are_all_listed_and_nothing_is_written(
    tmp_path: Path, store: Store, schema: AnnotationSchema
) -> None:
    expected = _bad_inputs(tmp_path / "bad")
    with pytest.raises(IngestError) as info:
        ingest(
            [SEEDS, tmp_path / "bad", tmp_path / "missing"],
            store=store,
            schema=schema,
            max_bytes=20_000,
        )
    problems = info.value.problems
    reasons: dict[str, list[str]] = {}
    for p in problems:
        reasons.setdefault(Path(p.path).name, []).append(p.reason)
    for name, fragment in expected.items():
        assert any(fragment in r for r in reasons[name]), (name, reasons.get(name))
    assert reasons["missing"] == ["no such file or folder"]
    assert SEED.name not in reasons
    jsonl = [p for p in problems if p.path.endswith("rows.jsonl")]
    assert sorted(p.record for p in jsonl) == [2, 3]
    assert all(p.hint for p in problems if p.path.endswith(("latin1.txt", "big.txt")))
    assert store.version_names() == [] and not list((store.root / ".tmp").glob("*"))


def test_skip_bad_writes_the_good_and_keeps_the_report(
    tmp_path: Path, store: Store, schema: AnnotationSchema
) -> None:
    _bad_inputs(tmp_path / "bad")
    result = ingest(
        [SEEDS, tmp_path / "bad"],
        store=store,
        schema=schema,
        skip_bad=True,
        max_bytes=20_000,
    )
    assert result.written and result.documents_added == 2  # the seed and the good JSONL row
    report = store.manifest(result.version or "").report
    assert {Path(p.path).name for p in report} >= {"latin1.txt", "empty.txt", "binary.txt"}


def test_encoding_option_reads_legacy_files(
    tmp_path: Path, store: Store, schema: AnnotationSchema
) -> None:
    path = tmp_path / "legacy.txt"
    path.write_bytes("Caf\xe9\n\nCaf\xe9 au lait, na\xefve.".encode("cp1252"))
    ingest([path], store=store, schema=schema, encoding="cp1252")
    (doc,) = rows(store, "0.1.0", "documents")
    assert doc["title"] == "Café" and doc["text"] == "Café au lait, naïve."


def test_versions_are_immutable_and_have_lineage(
    tmp_path: Path, store: Store, schema: AnnotationSchema
) -> None:
    ingest([SEEDS], store=store, schema=schema, message="seed")
    first = store.version_dir("0.1.0")
    before = {p: p.read_bytes() for p in first.rglob("*") if p.is_file()}
    new = write_article(tmp_path / "more", "n.txt", "New story", "Trade talks resumed today.")
    result = ingest([SEEDS, new], store=store, schema=schema)
    assert (result.version, result.parent, result.documents_added) == ("0.2.0", "0.1.0", 1)
    assert {p: p.read_bytes() for p in first.rglob("*") if p.is_file()} == before
    docs = rows(store, "0.2.0", "documents")
    assert len(docs) == 2 and {d["ingested_in"] for d in docs} == {"0.1.0", "0.2.0"}
    m1, m2 = store.manifest("0.1.0"), store.manifest("0.2.0")
    assert m2.parent == "0.1.0" and m1.message == "seed"
    assert m2.tables["documents"].content_sha256 != m1.tables["documents"].content_sha256
    assert_offsets(store, "0.2.0")
    # nothing new: nothing written
    again = ingest([SEEDS, new], store=store, schema=schema)
    assert (
        not again.written and again.version is None and store.version_names() == ["0.1.0", "0.2.0"]
    )
    with pytest.raises(StoreError, match="not greater"):
        ingest([tmp_path / "more"], store=store, schema=schema, version="0.1.5")
    with pytest.raises(VersionExistsError):
        store.begin("0.2.0")


def test_content_hash_is_independent_of_batching(
    tmp_path: Path, schema: AnnotationSchema, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "many"
    for i in range(40):
        write_article(folder, f"{i:03d}.txt", f"Story {i}", f"Body {i} on trade.", "Second part.")
    inline = Store(tmp_path / "inline")
    ingest([folder], store=inline, schema=schema, workers=1)
    monkeypatch.setattr(ingest_run, "INLINE_BYTES", 0)
    monkeypatch.setattr(ingest_run, "BATCH_FILES", 7)
    pooled = Store(tmp_path / "pooled")
    ingest([folder], store=pooled, schema=schema, workers=2)
    t1, t2 = inline.manifest("0.1.0").tables, pooled.manifest("0.1.0").tables
    for name in ("documents", "paragraphs", "sentences"):
        assert t1[name].rows == t2[name].rows and t1[name].content_sha256 == t2[name].content_sha256


def test_second_writer_gets_a_clear_error(store: Store, schema: AnnotationSchema) -> None:
    """Another process holds the lock (the lock is re-entrant only within one process)."""
    with lock_held_elsewhere(store.root), pytest.raises(StoreLockedError) as info:
        ingest([SEEDS], store=store, schema=schema)
    assert "locked" in str(info.value) and info.value.hint
    assert store.version_names() == []


def test_failure_midway_leaves_nothing_half_written(
    tmp_path: Path, store: Store, schema: AnnotationSchema, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest([SEEDS], store=store, schema=schema)
    more = write_article(tmp_path / "more", "n.txt", "New story", "Trade talks resumed.")

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(ingest_run._Output, "flush", boom)
    with pytest.raises(FileSystemError) as info:  # the OSError, as the library reports it
        ingest([more], store=store, schema=schema)
    assert isinstance(info.value.__cause__, OSError) and str(info.value.__cause__) == "disk full"
    assert store.version_names() == ["0.1.0"]
    assert not (store.root / ".tmp").exists() or not any((store.root / ".tmp").iterdir())


def test_diff_reports_added_removed_changed(
    tmp_path: Path, store: Store, schema: AnnotationSchema
) -> None:
    from corpus.store import diff_versions

    folder = tmp_path / "in"
    write_article(folder, "a.txt", "A", "Alpha text.")
    ingest([folder], store=store, schema=schema)
    write_article(folder, "b.txt", "B", "Beta text.")
    ingest([folder], store=store, schema=schema)
    d = diff_versions(store, "0.1.0", "0.2.0")
    assert len(d.added) == 1 and d.removed == [] and d.changed == []
    assert d.tables["documents"] == (1, 2)
    reverse = diff_versions(store, "0.2.0", "0.1.0")
    assert len(reverse.removed) == 1 and reverse.added == []
    # an edited article from the same source counts as changed, not added
    shutil.rmtree(folder)
    write_article(folder, "a.txt", "A", "Alpha text, edited.")
    ingest([folder], store=store, schema=schema)
    d = diff_versions(store, "0.2.0", "0.3.0")
    assert d.added == [] and len(d.changed) == 1 and d.removed == []
    old, new = d.changed[0]
    texts = {r["doc_id"]: r["text"] for r in rows(store, "0.3.0", "documents")}
    assert (texts[old], texts[new]) == ("Alpha text.", "Alpha text, edited.")


def test_pooled_ingest_stores_exactly_the_rows_it_hashes(
    tmp_path: Path, schema: AnnotationSchema, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers hash rows and build Arrow columns; the main process drops duplicates and
    regroups near duplicates. The stored rows must hash to the manifest either way."""
    from corpus.ids import MASK256, row_hash

    folder = tmp_path / "in"
    seed_text = SEED.read_text(encoding="utf-8")
    for i in range(12):
        write_article(folder, f"{i:03d}.txt", f"Story {i}", f"Body {i} on trade.", "More.")
    (folder / "013_seed.txt").write_text(seed_text, encoding="utf-8")
    (folder / "014_copy.txt").write_bytes(seed_text.replace("\n", "\r\n").encode())
    (folder / "015_edit.txt").write_text(seed_text.replace("significant", "major"), "utf-8")
    (folder / "016_story.txt").write_text("Story 3\n\nBody 3 on trade.\n\nMore.\n", "utf-8")
    inline = Store(tmp_path / "inline")
    ingest([folder], store=inline, schema=schema, workers=1)
    monkeypatch.setattr(ingest_run, "INLINE_BYTES", 0)
    monkeypatch.setattr(ingest_run, "BATCH_FILES", 3)
    pooled = Store(tmp_path / "pooled")
    result = ingest([folder], store=pooled, schema=schema, workers=2)
    assert (result.documents_added, result.exact_duplicates, result.near_duplicates) == (14, 2, 1)
    manifest = pooled.manifest("0.1.0")
    for name, info in manifest.tables.items():
        table = rows(pooled, "0.1.0", name)
        assert info.rows == len(table)
        assert f"{sum(row_hash(r) for r in table) & MASK256:064x}" == info.content_sha256, name
        assert info.content_sha256 == inline.manifest("0.1.0").tables[name].content_sha256
    docs = {d["source_path"]: d for d in rows(pooled, "0.1.0", "documents")}
    seed_doc = docs[str(folder / "013_seed.txt")]
    assert docs[str(folder / "015_edit.txt")]["dup_group"] == seed_doc["doc_id"]
    assert_offsets(pooled, "0.1.0")


def test_dataset_info_features_are_the_ones_datasets_writes(tmp_path: Path) -> None:
    """Every stored schema's features are written without importing datasets, and the
    dataset_info.json file is byte-identical to the one written from datasets' features."""
    import inspect

    import pyarrow as pa
    from datasets import Features
    from pydantic import BaseModel

    from corpus import features, models
    from corpus.store.writer import features_json, write_json

    schemas = []
    for _, model in inspect.getmembers(models, inspect.isclass):
        if issubclass(model, BaseModel) and model.__module__ == models.__name__:
            try:
                schemas.append(features.arrow_schema(model))
            except TypeError:  # not a row model
                continue
    assert len(schemas) >= 5
    types = [pa.bool_(), pa.float16(), pa.float32(), pa.float64(), pa.large_string()]
    types += [pa.int8(), pa.int16(), pa.int32(), pa.uint8(), pa.uint16(), pa.uint32()]
    types += [pa.uint64(), pa.binary(), pa.large_binary(), pa.timestamp("s")]
    types += [pa.timestamp("ms", tz="Europe/Paris"), pa.timestamp("ns", tz="+01:00")]
    types += [pa.list_(pa.list_(pa.timestamp("us", tz="UTC"))), pa.list_(pa.uint32())]
    schemas.append(pa.schema([pa.field(f"c{i}", t) for i, t in enumerate(types)]))
    for schema in schemas:
        ours = features_json(schema)
        assert ours is not None, schema
        theirs = Features.from_arrow_schema(schema).to_dict()
        write_json(tmp_path / "ours.json", {"features": ours})
        write_json(tmp_path / "theirs.json", {"features": theirs})
        assert (tmp_path / "ours.json").read_bytes() == (tmp_path / "theirs.json").read_bytes()
    assert "published_at" in schemas[0].names or any("published_at" in s.names for s in schemas)


def test_ingest_imports_neither_pandas_nor_datasets(tmp_path: Path) -> None:
    """Each costs about a second of start-up; nothing on the ingest path needs them."""
    import subprocess
    import sys

    dated = tmp_path / "in" / "dated.jsonl"
    dated.parent.mkdir()
    record = {"title": "Dated", "text": "A dated text.", "published_at": "2024-05-01T10:00Z"}
    dated.write_text(json.dumps(record) + "\n", encoding="utf-8")
    later = tmp_path / "later"
    write_article(later, "a.txt", "Later", "One more article, ingested into a child version.")
    store = str(tmp_path / "s")
    code = (
        "import sys\n"
        "from corpus.ingestion import ingest\n"
        f"ingest([{str(SEEDS)!r}, {str(dated.parent)!r}], store={store!r}, workers=1)\n"
        f"ingest({str(later)!r}, store={store!r}, workers=1)\n"
        "print(sorted(m for m in ('pandas', 'datasets') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_workers_never_import_a_corpus_folder_of_the_current_directory(tmp_path: Path) -> None:
    """Python 3.11's forkserver puts the current folder first on its path: a ``corpus/``
    folder there (a checkout, or data) would shadow the installed package in the workers."""
    import subprocess
    import sys

    shadow = tmp_path / "cwd" / "corpus"
    shadow.mkdir(parents=True)
    marker = tmp_path / "imported"
    (shadow / "__init__.py").write_text(
        f"open({str(marker)!r}, 'w').close()\nraise ImportError('the shadow package')\n"
    )
    script = tmp_path / "run.py"  # a script: its folder, not the current one, is on its path
    script.write_text(
        "from corpus.ingestion import run\n"
        "run.INLINE_BYTES = 0\n"
        "if __name__ == '__main__':\n"
        f"    r = run.ingest({str(SEEDS)!r}, store={str(tmp_path / 's')!r}, workers=2)\n"
        "    print(r.documents_added)\n"
    )
    out = subprocess.run(
        [sys.executable, str(script)], cwd=shadow.parent, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) > 0
    assert not marker.exists()


def test_lone_surrogate_in_jsonl_is_a_bad_record(
    tmp_path: Path, store: Store, schema: AnnotationSchema
) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(
        '{"title": "ok", "text": "fine"}\n{"title": "bad", "text": "half \\ud800 pair"}\n',
        encoding="utf-8",
    )
    with pytest.raises(IngestError) as info:
        ingest([path], store=store, schema=schema)
    (problem,) = info.value.problems
    assert (
        problem.record == 2 and "lone surrogate" in problem.reason and "\\ud800" in problem.reason
    )
    assert store.version_names() == []
