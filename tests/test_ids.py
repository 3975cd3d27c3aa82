"""One definition of ids and hashes (corpus.ids): the fast paths equal the reference, and
every stored id and hash is what earlier versions of corpus wrote."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus import ids
from corpus.ingestion.batch import process_batch
from corpus.ingestion.core import RawRecord, document_row, segment_record
from corpus.rounds.convert import task_fingerprint
from corpus.store import Store

ROOT = Path(__file__).resolve().parent.parent
OLD_STORE = ROOT / "tests" / "data" / "store-v768a418"
# Written by corpus at commit 768a418 for `corpus ingest seeds` (run from the repository).
OLD_HASHES = {  # documents: before records were typed (no language, published_at as text)
    "documents": "cc3d829dab1f66d7304a604bcda9554656f6c35770d4db84810dbb23d608c3c0",
    "minhashes": "f7f41c6d81537fe50fbbcce64bbd010763972f844b6cdc37486500bc3e4cbea1",
    "paragraphs": "9b2843a7785931dbc1faf9aeac2b10337f5c9cae54b88b98268eebc3b28afe3a",
    "sentences": "66f160c3d8f88af3a4b468872518992a16b7d74a7bb1ae657580e5be6d843cf3",
    "sources": "f83378ccbca23ffd20594156980efc26ce22bc5ac32b4767006656f69cf195ba",
}
SEED_ID = "8418f85297261c8a"
# The documents table gained `language` and a typed `published_at` (issue 10): its rows, and
# so its hash, changed once; every id and every other table is as before.
TYPED_DOCUMENTS = "68b4467994e5cab847869b53c0d4139a3487d7971f33cb329a9939531c5f0610"

text = st.text(st.characters(codec="utf-8"), max_size=60)
doc_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=60)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**62), 2**62) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)


@given(json_values)
def test_canonical_json_is_the_standard_librarys_sorted_compact_form(value: object) -> None:
    reference = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert ids.canonical_json(value) == reference


@given(text, text)
def test_content_id_is_the_hash_of_the_canonical_json(title: str, body: str) -> None:
    reference = ids.sha256_int(ids.canonical_json({"text": body, "title": title}))
    assert ids.content_id(title, body) == f"{reference:064x}"[:16]
    assert ids.content_id(title, body, text_json=ids.json_string(body)) == f"{reference:064x}"[:16]


@settings(max_examples=60)
@given(st.lists(doc_text.filter(str.strip), min_size=1, max_size=4), doc_text.filter(str.strip))
def test_batch_row_hashes_equal_the_sum_of_row_hashes(paragraphs: list[str], title: str) -> None:
    """The batch path (Arrow-assembled canonical JSON) hashes exactly the rows' JSON."""
    raw = RawRecord("x.txt", "0" * 64, None, title, "\n\n".join(paragraphs))
    doc = segment_record(raw)
    par_texts = [doc.text[s:e] for s, e in doc.paragraphs]
    sen_texts = [doc.text[s:e] for _, s, e in doc.sentences]
    built, _ = process_batch([raw], version="0.1.0")
    assert built.doc_ids == [doc.doc_id]
    (par,), (sen,) = built.row_hashes["paragraphs"], built.row_hashes["sentences"]
    assert par == sum(
        ids.row_hash({"doc_id": doc.doc_id, "index": i, "start": s, "end": e, "text": t})
        for i, ((s, e), t) in enumerate(zip(doc.paragraphs, par_texts, strict=True))
    )
    assert sen == sum(
        ids.row_hash(
            {"doc_id": doc.doc_id, "index": i, "paragraph_index": p, "start": s, "end": e,
             "text": t}
        )
        for i, ((p, s, e), t) in enumerate(zip(doc.sentences, sen_texts, strict=True))
    )  # fmt: skip
    assert built.row_hashes["documents"] == [ids.row_hash(document_row(doc, doc.doc_id, "0.1.0"))]


def test_task_fingerprint_uses_canonical_json() -> None:
    task = {"id": 3, "data": {"text": "中国 😀", "doc_id": "d"}, "annotations": []}
    payload = {"data": task["data"], "annotations": []}
    assert task_fingerprint(task) == f"{ids.sha256_int(ids.canonical_json(payload)):064x}"


def test_file_sha256_streams_the_file(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    data = bytes(range(256)) * 5000
    path.write_bytes(data)
    assert ids.file_sha256(path) == ids.bytes_sha256(data)
    with path.open("rb") as fh:
        assert ids.stream_sha256(fh, chunk=999) == ids.bytes_sha256(data)


def test_ids_and_hashes_are_unchanged_since_earlier_versions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ingesting the seed today gives the ids and table hashes corpus wrote before."""
    import corpus

    shutil.copytree(ROOT / "seeds", tmp_path / "seeds")
    monkeypatch.chdir(tmp_path)
    corpus.ingest(["seeds"], store="store")
    manifest = Store(tmp_path / "store").version("0.1.0").manifest
    assert {k: t.content_sha256 for k, t in manifest.tables.items()} == {
        **OLD_HASHES,
        "documents": TYPED_DOCUMENTS,
        "dup_merges": "0" * 64,  # new since issue 13, and empty: no group was merged
        # new since issue 20: the file the ingest read (it was listed in the manifest)
        "inputs": "0d185f265becf5ba39d22c6926a16146ea14c531c515e2760fbd3c04e50df5d3",
    }
    docs = Store(tmp_path / "store").version("0.1.0").arrow("documents")
    assert docs.column("doc_id").to_pylist() == [SEED_ID]


def test_an_old_store_still_reads_and_grows(tmp_path: Path) -> None:
    import corpus

    store = Store(tmp_path / "old")
    shutil.copytree(OLD_STORE, store.root)
    version = store.version("0.1.0")
    assert {k: t.content_sha256 for k, t in version.manifest.tables.items()} == OLD_HASHES
    assert version.table("documents")["doc_id"] == [SEED_ID]
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "x.txt").write_text("Extra\n\nMore trade news.\n", encoding="utf-8")
    result = corpus.ingest([tmp_path / "more"], store=store)
    assert result.version == "0.2.0" and result.documents_added == 1
    grown = store.version("0.2.0").arrow("documents").column("doc_id").to_pylist()
    assert SEED_ID in grown and len(grown) == 2
