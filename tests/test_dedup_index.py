"""The near-duplicate index as part of store versions: linked, checked, migrated, merged."""

from __future__ import annotations

import random
import shutil
import stat
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import ROOT, SEEDS, write_article

import corpus
from corpus.errors import DamagedVersionError
from corpus.ingestion.minhash import minhash_signatures
from corpus.neardup import MIN_EQUAL, band_hashes
from corpus.neardup.components import group_components
from corpus.store import Store, check_store, derive_version
from corpus.store.files import forget_verified

OLD_STORE = ROOT / "tests" / "data" / "store-v768a418"


@pytest.fixture(autouse=True)
def fresh_checks() -> None:
    forget_verified()


def _words(rng: random.Random, n: int) -> list[str]:
    vocab = [f"w{rng.randrange(10**6)}" for _ in range(3000)]
    return [rng.choice(vocab) for _ in range(n)]


def _article(folder: Path, name: str, words: list[str]) -> Path:
    body = " ".join(words)
    return write_article(folder, name, name.removesuffix(".txt").title(), body + ".")


def _groups(store: Store, version: str) -> dict[str, str]:
    table = store.read_table(version, "documents", ["source_path", "dup_group"]).to_pylist()
    return {Path(r["source_path"]).name: r["dup_group"] for r in table}


def test_an_incremental_ingest_reads_no_stored_document_or_signature(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's case: every incremental ingest rebuilt the LSH index in memory from the
    stored signatures (and read every doc_id and dup_group). Now it links the parent's
    tables and index, and reads only the index files its probe needs."""
    store = Store(tmp_path / "store")
    rng = random.Random(0)
    base = _words(rng, 300)
    _article(tmp_path / "a", "first.txt", base)
    corpus.ingest([tmp_path / "a"], store=store)
    read: list[str] = []
    original = Store.iter_batches

    def spy(self: Store, version: str, table: str, columns: list[str] | None = None):  # type: ignore[no-untyped-def]
        read.append(table)
        return original(self, version, table, columns)

    monkeypatch.setattr(Store, "iter_batches", spy)
    edited = [*base[:290], *_words(rng, 10)]
    _article(tmp_path / "b", "second.txt", edited)
    result = corpus.ingest([tmp_path / "b"], store=store)
    assert read == []  # neither minhashes nor documents were loaded
    assert (result.documents_added, result.near_duplicates) == (1, 1)
    groups = _groups(store, "0.2.0")
    assert groups["second.txt"] == groups["first.txt"]


def _linked(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> bool:
    """An LSH candidate (one band equal) whose signatures agree on MIN_EQUAL values."""
    candidate = bool((band_hashes(a[None]) == band_hashes(b[None])).any())
    return candidate and np.count_nonzero(a == b) >= MIN_EQUAL


def test_a_bridging_article_merges_two_groups(tmp_path: Path) -> None:
    """A ~ X ~ B, but A !~ B: A and B keep their dup_group; the merge is recorded, and a
    later copy of B joins the merged group."""
    bridge = random.Random(5)  # the words of tests/test_ray_engine.py's bridge
    p, q, r = ([f"b{bridge.randrange(10**6)}" for _ in range(n)] for n in (60, 180, 60))
    a, b, x = [*p, *q], [*q, *r], [*p, *q, *r]
    sig_a, sig_b, sig_x = minhash_signatures([" ".join(t) for t in (a, b, x)])
    assert not _linked(sig_a, sig_b)  # the premise: A and B are not near duplicates,
    assert _linked(sig_x, sig_a) and _linked(sig_x, sig_b)  # X is near both
    store = Store(tmp_path / "store")
    _article(tmp_path / "1", "a.txt", a)
    _article(tmp_path / "1", "b.txt", b)
    corpus.ingest([tmp_path / "1"], store=store)
    first = _groups(store, "0.1.0")
    assert first["a.txt"] != first["b.txt"]
    _article(tmp_path / "2", "x.txt", x)
    corpus.ingest([tmp_path / "2"], store=store)
    groups = _groups(store, "0.2.0")
    low, high = sorted([first["a.txt"], first["b.txt"]])
    assert groups == {"a.txt": first["a.txt"], "b.txt": first["b.txt"], "x.txt": low}
    merges = store.read_table("0.2.0", "dup_merges").to_pylist()
    assert merges == [{"dup_group": high, "into": low, "ingested_in": "0.2.0"}]
    roots = group_components(store, "0.2.0", [high, low, groups["x.txt"]])
    assert roots == {high: low, low: low}  # what a split groups by
    assert group_components(store, "0.1.0", [high]) == {high: high}
    _article(tmp_path / "3", "b2.txt", [*q, *r[:-1], "changed"])  # near B only
    result = corpus.ingest([tmp_path / "3"], store=store)
    assert result.near_duplicates == 1 and _groups(store, "0.3.0")["b2.txt"] == low
    assert len(store.read_table("0.3.0", "dup_merges")) == 1  # linked, nothing new


def test_the_index_is_part_of_every_version(tmp_path: Path) -> None:
    """Its files are recorded and read-only, carried by derived versions, and checked
    before an ingest uses them."""
    store = Store(tmp_path / "store")
    corpus.ingest([SEEDS], store=store)
    manifest = store.manifest("0.1.0")
    index_files = [f for f in manifest.files if f.startswith("dedup/")]
    assert "dedup/index.json" in index_files and len(index_files) == 10  # 8 bands, sigs
    assert manifest.tables["dup_merges"].rows == 0
    for rel in index_files:
        mode = (store.version_dir("0.1.0") / rel).stat().st_mode
        assert not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    with store.lock():
        derived = derive_version(
            store, "0.1.0", round_name="r", tables={}, kind="pull", message="m", extra={}
        )
    assert {f for f in store.manifest(derived).files if f.startswith("dedup/")} == set(index_files)
    assert check_store(store).ok
    band = next(f for f in index_files if "/bands/" in f)
    path = store.version_dir("0.1.0") / band
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))
    write_article(tmp_path / "more", "m.txt", "More", "Trade talks resumed.")
    with pytest.raises(DamagedVersionError, match="dedup"):
        corpus.ingest([tmp_path / "more"], store=store)
    assert not check_store(store).ok


def test_an_old_store_gets_its_index_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "old")
    shutil.copytree(OLD_STORE, store.root)
    (old,) = store.version_names()
    seed = next(SEEDS.glob("*.txt")).read_text(encoding="utf-8")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "edited.txt").write_text(seed.replace("significant", "major"), "utf-8")
    result = corpus.ingest([tmp_path / "in"], store=store)
    assert result.near_duplicates == 1
    migrated = store.manifest(result.version or "").extra["migrated"]
    assert isinstance(migrated, dict) and migrated["dedup_index"] == {"from": old, "documents": 1}
    groups = store.read_table(result.version or "", "documents", ["dup_group"]).column(0)
    assert len(set(groups.to_pylist())) == 1  # the edit joined the old document's group
    write_article(tmp_path / "again", "n.txt", "New", "Another story on trade.")
    later = corpus.ingest([tmp_path / "again"], store=store)
    assert "migrated" not in store.manifest(later.version or "").extra
    assert check_store(store, [result.version or "", later.version or ""]).ok
