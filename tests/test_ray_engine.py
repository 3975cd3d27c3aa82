"""The Ray engine writes the local engine's tables, on a real 2-CPU local Ray cluster.

One cluster for the whole test session (``ray.init`` takes a few seconds and about 1 GB):
the ``ray_cluster`` fixture starts a new local one (``address="local"``: never a cluster
some other process on the machine started) and shuts it down at the end.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from conftest import SEEDS, write_article

import corpus
from corpus.store import Store, input_files, input_summary
from corpus.store.files import forget_verified


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Any]:
    import ray

    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's socket paths
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        object_store_memory=256 * 2**20,
        _temp_dir=temp,
    )
    yield ray
    ray.shutdown()


def _corpus(folder: Path, seed: int, *, near_of: list[str] | None = None) -> list[str]:
    """Text files and a JSONL file: originals, near and exact duplicates, a bad record."""
    rng = random.Random(seed)
    vocab = [f"w{rng.randrange(10**5)}" for _ in range(2000)]
    texts: list[str] = []
    for i in range(40):
        if near_of and i % 5 == 0:
            words = near_of[i % len(near_of)].split()
            words[-1] = f"edit{i}"
            texts.append(" ".join(words))
        elif texts and i % 7 == 0:
            words = texts[-1].split()
            words[3] = f"near{i}"
            texts.append(" ".join(words))
        elif texts and i % 11 == 0:
            texts.append(texts[0])
        else:
            texts.append(" ".join(rng.choice(vocab) for _ in range(120)))
    bridge = random.Random(5)  # the same A, B and X in both calls (X links both: LSH
    # candidates and verified, checked in tests/test_dedup_index.py's bridge test)
    p, q, r = ([f"b{bridge.randrange(10**6)}" for _ in range(n)] for n in (60, 180, 60))
    if near_of is None:  # A and B, not near each other
        texts += [" ".join(p + q), " ".join(q + r)]
    else:  # X, near both: it merges their groups
        texts.append(" ".join(p + q + r))
    for i, text in enumerate(texts[:25]):
        title = "Same title" if texts.index(text) != i else f"Story {seed}-{i}"
        write_article(folder, f"{i:03d}.txt", title, text)
    records = [{"title": f"Record {seed}-{i}", "text": t} for i, t in enumerate(texts[25:])]
    records.insert(3, {"title": "", "text": "no title"})  # a bad record (skipped)
    (folder / "zz.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return texts


def _summary(store: Store, version: str) -> dict[str, Any]:
    manifest = store.manifest(version)
    docs = store.read_table(version, "documents", ["doc_id", "dup_group", "source_path"])
    return {
        "tables": {n: (t.rows, t.content_sha256) for n, t in manifest.tables.items()},
        "groups": sorted(zip(*(c.to_pylist() for c in docs.columns), strict=True)),
        "merges": store.read_table(version, "dup_merges").to_pylist(),
        "inputs": [i.model_dump() for i in input_files(store, version)],
        "summary": input_summary(manifest),
        "report": [r.model_dump() for r in manifest.report],
    }


def test_both_engines_write_identical_tables(
    tmp_path: Path, ray_cluster: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setattr("corpus.ingestion.run.DEDUP_DOCS", 7)  # the local engine in batches
    texts = _corpus(tmp_path / "one", 1)
    _corpus(tmp_path / "two", 2, near_of=texts)
    (tmp_path / "two" / "seed.txt").write_bytes(next(SEEDS.glob("*.txt")).read_bytes())
    stores = {engine: Store(tmp_path / engine) for engine in ("local", "ray")}
    results = {}
    for engine, store in stores.items():
        for folder in ("one", "two"):  # the second ingest probes the first one's index
            forget_verified()
            results[engine, folder] = corpus.ingest(
                [tmp_path / folder], store=store, skip_bad=True, engine=engine
            )
    for folder in ("one", "two"):
        local, ray = results["local", folder].to_dict(), results["ray", folder].to_dict()
        assert {**local, "path": None} == {**ray, "path": None}
    assert results["local", "two"].near_duplicates >= 5
    for version in ("0.1.0", "0.2.0"):
        local, ray = _summary(stores["local"], version), _summary(stores["ray"], version)
        assert local == ray
    assert len(local["report"]) == 1 and len(local["merges"]) == 1
    assert len({g for _, g, _ in local["groups"]}) < len(local["groups"])  # near duplicates
    assert corpus.check_store(stores["ray"]).ok


def test_the_ray_engine_without_ray_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # what Python does for a package that is not installed (even when this worker has
    # imported Ray for the session's cluster already)
    for name in ("ray", "ray.data"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(corpus.EngineError) as info:
        corpus.ingest([SEEDS], store=tmp_path / "store", engine="ray")
    assert "pip install 'corpus[ray]'" in info.value.hint
    assert not (tmp_path / "store" / "versions").exists()


def test_import_corpus_and_the_local_engine_never_import_ray(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys, corpus; from corpus.cli import app; "
        f"corpus.ingest([{str(SEEDS)!r}], store={str(tmp_path / 's')!r}); "
        "print('ray' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_release_build_on_ray_writes_the_same_release(
    tmp_path: Path, ray_cluster: Any, schema: Any
) -> None:
    from conftest import build_gold_version

    from corpus.ids import file_sha256

    store = Store(tmp_path / "store")
    version = build_gold_version(store, schema, tmp_path / "articles", n=24)
    out = {}
    for engine in ("local", "ray"):
        out[engine] = corpus.build_release(
            store,
            version,
            release="1.0.0",
            out=tmp_path / engine,
            force="a tiny test corpus misses some labels in some splits",
            engine=engine,
        ).path
    parquet = sorted(p.relative_to(out["local"]) for p in out["local"].rglob("*.parquet"))
    assert len(parquet) >= 3
    for rel in parquet:
        assert file_sha256(out["local"] / rel) == file_sha256(out["ray"] / rel), rel
    manifests = [json.loads((out[e] / "manifest.json").read_text()) for e in ("local", "ray")]
    for key in ("split", "tables", "labels"):
        assert manifests[0][key] == manifests[1][key]


def test_ray_tasks_read_shards_where_they_are_and_check_them(
    tmp_path: Path, ray_cluster: Any
) -> None:
    """Ray tasks read a store given as a URI through pyarrow's filesystems (never a copy
    on local disk), shard by shard, and refuse a changed shard; a URI only fsspec knows
    goes through fsspec's filesystem."""
    import fsspec

    from corpus.engines.rows import read_shard
    from corpus.errors import DamagedVersionError

    store = Store(tmp_path / "store")
    corpus.ingest([SEEDS], store=store)
    manifest = store.manifest("0.1.0")
    name = manifest.tables["sentences"].files[0]
    record = manifest.files[f"sentences/{name}"]
    rel = f"versions/0.1.0/sentences/{name}"
    doc_id = store.read_table("0.1.0", "documents")["doc_id"][0].as_py()
    ids = pa.array([doc_id])
    task = ray_cluster.remote(read_shard)
    uri = f"file://{store.root}"
    table = ray_cluster.get(task.remote(uri, rel, record.sha256, ray_cluster.put(ids)))
    assert table.num_rows == manifest.tables["sentences"].rows > 5
    memory = fsspec.filesystem("memory")  # fsspec only (and per process: not for Ray)
    memory.pipe(f"/s/{rel}", (store.root / rel).read_bytes())
    assert read_shard("memory://s", rel, record.sha256, ids).equals(table)
    path = store.root / rel
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(DamagedVersionError):
        ray_cluster.get(task.remote(uri, rel, record.sha256, ray_cluster.put(ids)))


def test_the_ray_engine_on_input_without_any_duplicate(tmp_path: Path, ray_cluster: Any) -> None:
    """issue 18 (ingest): `--engine ray` on input without any duplicate ended in an internal
    error (IndexError in ray_stages); it writes what the local engine writes."""
    rng = random.Random(3)
    for i in range(6):
        words = " ".join(f"u{rng.randrange(10**9)}" for _ in range(80))
        write_article(tmp_path / "in", f"{i}.txt", f"Unique {i}", words)
    stores = {engine: Store(tmp_path / engine) for engine in ("local", "ray")}
    results = {
        engine: corpus.ingest([tmp_path / "in"], store=store, engine=engine)
        for engine, store in stores.items()
    }
    assert results["ray"].documents_added == 6
    assert results["ray"].exact_duplicates == results["ray"].near_duplicates == 0
    assert _summary(stores["local"], "0.1.0") == _summary(stores["ray"], "0.1.0")
