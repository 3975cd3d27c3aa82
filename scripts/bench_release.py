"""Benchmark `corpus release build` and loading a release, each against a bare baseline.

Setup (not timed against anything; its times are printed for information):

* articles: ``--articles`` (default 20,000) seed-layout ``.txt`` files, each 37 paragraphs
  drawn with replacement from the ``seeds/`` paragraphs with ~30% of the words swapped for
  other seed words (as ``bench_ingest.py`` does), so that articles are not near-duplicates
  of each other; about 1,000,000 sentences in all;
* ``corpus.ingestion.ingest`` of them into a fresh store;
* a gold version written straight into the store (no Label Studio, no simulated
  annotators: that is ``tests/conftest.py::build_gold_version``'s job on small corpora):
  per document a gold stance, 3-12 issue spans of 2-4 words with a span stance, and three
  raw annotations holding those spans, so every release config is filled.

Measured in the same run:

1. build: wall time of ``build_release(store, gold, release="1.0.0", force=...)`` run to the
   end (``corpus.release`` imported beforehand, as ``pyarrow`` is for the floor), i.e.
   everything ``corpus release build`` does: reading the version (verifying the files it
   reads), finding near-duplicate links, the split, the rows of the four configs, the gates,
   Parquet, content hashes, the card, croissant.json, checksums.
   floor: ``pq.write_table`` of the very Arrow tables the build wrote (read back from the
   release, untimed), every config and split: the Parquet writing no release writer can
   avoid. Target: build <= 3x floor. Also printed, for information: building those tables
   from the same Python rows with ``pa.Table.from_pylist`` before writing them (what a writer
   starting from rows pays), and ``Dataset.from_list(...).to_parquet`` (the earlier
   baseline, itself several times slower than pyarrow).
2. integrity: ``Store.verify`` (size and sha256 of every file, against the manifest)
   of the version the build reads, after ``corpus.store.files.forget_verified()`` so that
   nothing is skipped: what reading a version costs for its integrity check. Target: under
   10% of the build.
3. load: ``load_dataset(RELEASE, config)`` versus ``load_dataset("parquet",
   data_files={split: file})`` of a bare folder holding copies of the same Parquet files
   (no card), each into a fresh cache dir; best of ``--repeat`` runs, alternating, after one
   untimed warm-up load on each side (imports). Target: release <= 1.2x bare.

``--profile`` re-runs the build under cProfile (into a second folder) and prints the top
functions by cumulative and by own time. Timings are only compared within one run.

    .venv/bin/python scripts/bench_release.py [--articles 20000] [--profile] [--keep]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import re
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
ROUND = "bench"
ANNOTATORS = ("ann-a", "ann-b", "ann-c")
_WORDS = re.compile(r"\w+(?:\s+\w+){1,3}")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def generate(folder: Path, n: int, *, paragraphs: int = 37, seed: int = 0) -> int:
    """Write ``n`` articles; returns their total bytes. The same seed, the same articles."""
    text = next(ROOT.glob("seeds/*.txt")).read_text(encoding="utf-8")
    title, _, body = text.strip().partition("\n")
    base = [np.array(p.split(), dtype=object) for p in body.strip().split("\n\n")]
    vocab = np.concatenate(base)
    rng = np.random.default_rng(seed)
    total = 0
    for i in range(n):
        blocks = []
        for j in rng.integers(len(base), size=paragraphs):
            words = base[j].copy()
            mask = rng.random(len(words)) < 0.3
            words[mask] = vocab[rng.integers(len(vocab), size=int(mask.sum()))]
            blocks.append(" ".join(words))
        data = (f"{title} (bench {i})\n\n" + "\n\n".join(blocks) + "\n").encode("utf-8")
        path = folder / f"part-{i // 1000:03d}" / f"article-{i:06d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        total += len(data)
    return total


def write_gold(store: Any, schema: Any, parent: str, *, seed: int = 0) -> str:
    """A version on top of ``parent`` with gold, annotations and spans for every document."""
    from corpus import __version__
    from corpus.adjudication.gold import GOLD_TABLES
    from corpus.ids import row_hash
    from corpus.rounds.pull import ROUND_TABLES
    from corpus.store import next_minor

    rng = random.Random(seed)
    rows: dict[str, list[dict[str, Any]]] = {t: [] for t in (*GOLD_TABLES, *ROUND_TABLES)}
    for batch in store.iter_batches(parent, "documents", ["doc_id", "text"]):
        for doc_id, text in zip(*(c.to_pylist() for c in batch.columns), strict=True):
            task = len(rows["gold_annotations"]) + 1
            stance = rng.choice(schema.stance_names)
            words = [m.span() for m in _WORDS.finditer(text)]
            spans = sorted({rng.choice(words) for _ in range(rng.randint(3, 12))})
            annotation_ids = [task * 10 + k for k in range(len(ANNOTATORS))]
            rows["gold_annotations"].append({
                "doc_id": doc_id, "round": ROUND, "stance": stance, "decided_by": "unanimous",
                "votes": "3/3", "annotators": list(ANNOTATORS), "annotation_ids": annotation_ids,
            })  # fmt: skip
            labelled = [
                (start, end, rng.choice(schema.issue_names), rng.choice(schema.span_stance_names))
                for start, end in spans
            ]
            for start, end, issue, span_stance in labelled:
                rows["gold_spans"].append({
                    "doc_id": doc_id, "round": ROUND, "start": start, "end": end,
                    "text": text[start:end], "issue": issue, "stance": span_stance,
                    "decided_by": "unanimous", "support": "3/3", "annotators": list(ANNOTATORS),
                    "annotation_ids": annotation_ids,
                })  # fmt: skip
            for k, (who, aid) in enumerate(zip(ANNOTATORS, annotation_ids, strict=True)):
                rows["annotations"].append({
                    "doc_id": doc_id, "round": ROUND, "annotator": who, "annotation_id": aid,
                    "task_id": task, "stance": stance, "cancelled": False, "ground_truth": False,
                    "lead_time": 30.0, "created_at": None, "updated_at": None,
                    "n_spans": len(labelled),
                })  # fmt: skip
                rows["spans"].extend({
                    "doc_id": doc_id, "round": ROUND, "annotator": who, "annotation_id": aid,
                    "region_id": f"r{k}-{i}", "start": start, "end": end, "text": text[start:end],
                    "issue": issue, "stance": span_stance,
                } for i, (start, end, issue, span_stance) in enumerate(labelled))  # fmt: skip
    with store.lock():
        version = next_minor(store.latest_name())
        manifest = store.manifest(parent)
        writer = store.begin(version)
        try:
            store.link_tables(parent, writer)
            for table, arrow in {**GOLD_TABLES, **ROUND_TABLES}.items():
                writer.table(table, arrow).write_rows(
                    rows[table], sum(row_hash(r) for r in rows[table])
                )
            writer.commit(
                manifest.model_copy(
                    update={
                        "version": version, "parent": parent, "kind": "adjudicate",
                        "created": datetime.now(UTC).isoformat(timespec="seconds"),
                        "tool_version": __version__, "message": "benchmark gold",
                        "inputs": [], "tables": {}, "report": [],
                        "extra": {"round": ROUND, "strategy": "benchmark", "simulated": True},
                    }
                )
            )  # fmt: skip
        except BaseException:
            writer.abort()
            raise
    return str(version)


def run_build(store: Any, schema: Any, version: str, release: str, out: Path) -> Any:
    from corpus.release import ReleaseResult, build_release

    result = build_release(
        store, version, release=release, schema=schema, out=out, force="benchmark"
    )
    assert isinstance(result, ReleaseResult)
    return result


def floor_write(release: Path, schema: Any, out: Path) -> dict[str, float | int]:
    """Seconds of ``pq.write_table`` of every table of the release (the floor), of
    ``from_pylist`` + ``write_table`` and of ``Dataset.from_list().to_parquet`` of its rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from datasets import Dataset

    from corpus.release.tables import features

    feats = features(schema)
    took = {"write_table": 0.0, "from_pylist": 0.0, "datasets": 0.0, "rows": 0}
    for parquet in sorted(release.glob("*/*.parquet")):
        config = parquet.parent.name
        table = pq.read_table(parquet)  # not timed
        rows = table.to_pylist()  # not timed
        dest = out / config / parquet.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        pq.write_table(table, str(dest))
        took["write_table"] += time.perf_counter() - start
        start = time.perf_counter()
        pq.write_table(pa.Table.from_pylist(rows, schema=feats[config].arrow_schema), str(dest))
        took["from_pylist"] += time.perf_counter() - start
        start = time.perf_counter()
        if rows:
            Dataset.from_list(rows, features=feats[config]).to_parquet(str(dest))
        else:
            empty: dict[str, list[Any]] = {k: [] for k in feats[config]}
            Dataset.from_dict(empty, features=feats[config]).to_parquet(str(dest))
        took["datasets"] += time.perf_counter() - start
        took["rows"] += len(rows)
        del rows, table
    return took


def verify_cost(store: Any, version: str) -> float:
    """Seconds of ``Store.verify`` of the version the build reads (every file of it, as
    every read checks since issue 18), from scratch."""
    from corpus.store.files import forget_verified

    forget_verified()
    start = time.perf_counter()
    store.verify(version)
    return time.perf_counter() - start


def bare_folder(release: Path, out: Path) -> None:
    for parquet in release.glob("*/*.parquet"):
        (out / parquet.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(parquet, out / parquet.parent.name / parquet.name)


def time_load(source: Path, config: str, cache: Path, *, bare: bool) -> float:
    from datasets import load_dataset

    shutil.rmtree(cache, ignore_errors=True)
    start = time.perf_counter()
    if bare:
        files = {p.name.split("-")[0]: str(p) for p in sorted((source / config).glob("*.parquet"))}
        ds = load_dataset("parquet", data_files=files, cache_dir=str(cache))
    else:
        ds = load_dataset(str(source), config, cache_dir=str(cache))
    elapsed = time.perf_counter() - start
    del ds
    shutil.rmtree(cache, ignore_errors=True)
    return elapsed


def profile_build(store: Any, schema: Any, version: str, out: Path) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    run_build(store, schema, version, "1.0.0", out)
    profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)
    return text.getvalue()


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=2, help="load runs per side (best kept)")
    parser.add_argument("--profile", action="store_true", help="cProfile a second build")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)

    import datasets

    import corpus.release  # noqa: F401 (imported before the timed build, as pyarrow is)
    from corpus.ingestion import ingest
    from corpus.label_schema import load_schema
    from corpus.store import Store

    datasets.disable_progress_bars()
    work = Path(tempfile.mkdtemp(prefix="bench-release-"))
    schema = load_schema()
    try:
        t = time.perf_counter()
        nbytes = generate(work / "articles", args.articles)
        log(f"generated {args.articles} articles, {nbytes / 1e6:.0f} MB "
            f"in {time.perf_counter() - t:.0f}s")  # fmt: skip
        store = Store(work / "store")
        t = time.perf_counter()
        version = ingest([work / "articles"], store=store, schema=schema).version
        assert version is not None
        n_sent = store.manifest(version).tables["sentences"].rows
        log(f"ingested version {version}: {n_sent} sentences in {time.perf_counter() - t:.0f}s")
        shutil.rmtree(work / "articles")
        t = time.perf_counter()
        gold = write_gold(store, schema, version)
        log(f"gold version {gold} written in {time.perf_counter() - t:.0f}s")

        t = time.perf_counter()
        result = run_build(store, schema, gold, "1.0.0", work / "release")
        build_s = time.perf_counter() - t
        log(f"build: {build_s:.1f}s  rows {result.rows}")
        floor = floor_write(result.path, schema, work / "bare-written")
        n_rows = int(floor["rows"])
        log(f"pq.write_table of the same {n_rows} rows: {floor['write_table']:.1f}s")
        shutil.rmtree(work / "bare-written")
        verify_s = verify_cost(store, gold)
        log(f"verify of the whole version the build reads: {verify_s:.2f}s")

        bare_folder(result.path, work / "bare")
        smallest = min(result.rows, key=lambda c: sum(result.rows[c].values()))
        time_load(work / "bare", smallest, work / "c", bare=True)  # warm-up: imports, caches
        time_load(result.path, smallest, work / "c", bare=False)
        loads: dict[str, list[float]] = {}
        for config in result.rows:
            best_rel, best_bare = float("inf"), float("inf")
            for _ in range(args.repeat):
                best_bare = min(best_bare, time_load(work / "bare", config, work / "c", bare=True))
                best_rel = min(best_rel, time_load(result.path, config, work / "c", bare=False))
            loads[config] = [best_rel, best_bare]
            log(f"load {config}: release {best_rel:.2f}s, bare parquet {best_bare:.2f}s")

        load_rel = sum(v[0] for v in loads.values())
        load_bare = sum(v[1] for v in loads.values())
        rows = result.rows
        print(f"sentence rows: {sum(rows['sentences'].values())}, documents: "
              f"{sum(rows['documents'].values())}, all rows: {n_rows}")  # fmt: skip
        print(f"{'':<30}{'corpus s':>10}{'bare s':>10}{'ratio':>8}{'target':>8}")
        print(f"{'build vs pq.write_table':<30}{build_s:>10.2f}{floor['write_table']:>10.2f}"
              f"{build_s / floor['write_table']:>8.2f}{'<= 3':>8}")  # fmt: skip
        print(f"{'  (vs from_pylist + write)':<30}{build_s:>10.2f}{floor['from_pylist']:>10.2f}"
              f"{build_s / floor['from_pylist']:>8.2f}")  # fmt: skip
        print(f"{'  (vs datasets to_parquet)':<30}{build_s:>10.2f}{floor['datasets']:>10.2f}"
              f"{build_s / floor['datasets']:>8.2f}")  # fmt: skip
        print(f"{'verify vs build':<30}{verify_s:>10.2f}{build_s:>10.2f}"
              f"{verify_s / build_s:>8.2f}{'< 0.10':>8}")  # fmt: skip
        for config, (rel, bare) in loads.items():
            print(f"{'load ' + config:<30}{rel:>10.2f}{bare:>10.2f}{rel / bare:>8.2f}")
        print(f"{'load (all configs)':<30}{load_rel:>10.2f}{load_bare:>10.2f}"
              f"{load_rel / load_bare:>8.2f}{'<= 1.2':>8}")  # fmt: skip
        if args.profile:
            print(profile_build(store, schema, gold, work / "release-profiled"))
        return {
            "build_ratio": build_s / floor["write_table"],
            "verify_share": verify_s / build_s,
            "load_ratio": load_rel / load_bare,
        }
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
