"""``corpus ingest --engine ray``: the same ingest on a Ray cluster, with Ray Data.

The stages (:mod:`corpus.ingestion.ray_stages`) run as Ray Data ``map_batches`` and
``groupby(...).map_groups`` over Arrow blocks:

1. read and process the input files (one task per 64 files or per table file): the local
   engine's own reading and :func:`corpus.ingestion.batch.process_batch`;
2. the band join: 8 band rows per document, shuffled by (band, hash bucket); each group is
   matched within itself and probed against the parent's index, and writes its band run;
3. candidate pairs verified on their signatures (the same ``MIN_EQUAL`` test);
4. on the driver, groups from the verified links (:func:`corpus.neardup.assign_groups`,
   the local engine's rule): memory in proportion to the near duplicates, not the corpus;
5. the tables written by the workers (the local engine's
   :func:`~corpus.ingestion.tables.write_doc_batch`) and adopted into the version.

Every document carries its input position (file number, record number), so the result is
the local engine's whatever order Ray runs the tasks in: the same rows, row hashes,
``dup_group`` values and merges. The store must be on storage that every Ray worker can
read and write at the same path (a local disk for a one-machine cluster, else a shared
mount such as NFS); workers read the parent's index there.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from corpus.engines import ray_session
from corpus.errors import IngestError, Problem, display_path
from corpus.ingestion import dedup, ray_stages
from corpus.ingestion.core import SCHEMAS
from corpus.ingestion.ledger import InputsTable
from corpus.ingestion.readers import ReadOptions
from corpus.ingestion.result import IngestResult
from corpus.ingestion.tables import continue_from
from corpus.models import FileRecord, InputsSummary
from corpus.neardup import NearDupIndex, Roots, assign_groups
from corpus.neardup.bands import BANDS
from corpus.neardup.index import MERGE_SCHEMA
from corpus.neardup.runs import RunInfo, sort_columns, write_runs
from corpus.progress import Progress, Steps
from corpus.store import Store, VersionWriter

BATCH_FILES = 64
BUCKET_ROWS = 2_000_000  # band rows per (band, bucket) group, about


def ingest_into(
    writer: VersionWriter,
    store: Store,
    parent: str | None,
    files: list[Path],
    problems: list[Problem],
    options: ReadOptions,
    *,
    skip_bad: bool,
    address: str | None,
) -> Steps[tuple[IngestResult, InputsSummary]]:
    """The Ray engine's ``_ingest_into`` (see :mod:`corpus.ingestion.run`): the files are
    listed, each task is given its file numbers."""
    result = IngestResult(version=writer.version, parent=parent, written=False, files=len(files))
    result.problems.extend(problems)
    with ray_session(address) as ray:
        if parent is not None:
            continue_from(store, parent, writer, result.migrated)
        index = dedup.open_index(store, parent, writer, result.migrated)
        try:
            return (yield from _run(ray, writer, index, files, options, result, skip_bad=skip_bad))
        finally:
            index.close()
            shutil.rmtree(writer.tmp / ".ray", ignore_errors=True)


def _collect(ray: Any, ds: Any) -> pa.Table:
    tables = ray.get(ds.to_arrow_refs())
    return pa.concat_tables(tables) if tables else pa.table({})


def _run(
    ray: Any,
    writer: VersionWriter,
    index: NearDupIndex,
    files: list[Path],
    options: ReadOptions,
    result: IngestResult,
    *,
    skip_bad: bool,
) -> Steps[tuple[IngestResult, InputsSummary]]:
    if not files:
        return result, InputsTable(writer).finish()
    ray.data.DataContext.get_current().enable_progress_bars = False
    work = writer.tmp / ".ray"
    sig_dir = work / "pos-sigs"
    sig_dir.mkdir(parents=True)
    yield Progress("ingest", f"reading and processing {len(files)} files on Ray", 0, 4)
    items = ray.data.from_items([{"unit": i} for i in range(len(files))])
    wide = items.map_batches(
        ray_stages.process,
        batch_format="pyarrow",
        batch_size=BATCH_FILES,
        fn_kwargs={
            "paths": [str(p) for p in files],
            "options": options,
            "version": writer.version,
            "sigs": str(sig_dir),
        },
    ).materialize()
    bad = _collect(ray, wide.map_batches(ray_stages.problems_only, batch_format="pyarrow"))
    if bad.num_rows:
        order = np.argsort(bad.column("pos").to_numpy(), kind="stable")
        for text in bad.column("problem").take(pa.array(order)).to_pylist():
            result.problems.append(Problem(**json.loads(text)))
    if result.problems and not skip_bad:
        raise IngestError(
            f"{len(result.problems)} bad input(s); nothing was written", problems=result.problems
        )
    docs = wide.count() - bad.num_rows
    bits = max(0, math.ceil(math.log2(max(docs / BUCKET_ROWS, 1))))  # rows per bucket
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    partitions = max(1, min(BANDS << bits, 2 * cpus))
    seg_id, stem = index.reserve()
    stored_bands, stored_sigs = index.stored_files()

    yield Progress("ingest", "band join and verification on Ray", 1, 4)
    candidates = (
        wide.map_batches(ray_stages.band_rows, batch_format="pyarrow", fn_kwargs={"bits": bits})
        .groupby(["band", "bucket"], num_partitions=partitions)
        .map_groups(
            ray_stages.join_bucket,
            batch_format="pyarrow",
            fn_kwargs={"index": str(index.folder), "stored": stored_bands, "stem": stem},
        )
        .materialize()
    )
    edges = _collect(
        ray,
        candidates.map_batches(
            ray_stages.verify,
            batch_format="pyarrow",
            fn_kwargs={"sigs": str(sig_dir), "index": str(index.folder), "stored": stored_sigs},
        ),
    )
    small = _collect(
        ray, candidates.map_batches(ray_stages.files_and_exact, batch_format="pyarrow")
    )

    yield Progress("ingest", "near-duplicate groups", 2, 4)
    exact = (
        np.unique(
            small.filter(pa.compute.equal(small.column("kind"), 2)).column("a_pos").to_numpy()
        )
        if small.num_rows
        else np.zeros(0, np.int64)
    )
    group_pos, group_key, merges, near = _groups(index, edges, exact)
    result.near_duplicates = near
    band_files: list[list[dict[str, Any]]] = [[] for _ in stored_bands]
    for row in (
        small.filter(pa.compute.equal(small.column("kind"), 3)).to_pylist()
        if small.num_rows
        else []
    ):
        band_files[row["a_pos"]].append(json.loads(row["info"]))

    yield Progress("ingest", "writing tables on Ray", 3, 4)
    report = _collect(
        ray,
        wide.map_batches(
            ray_stages.write_tables,
            batch_format="pyarrow",
            fn_kwargs={
                "tmp": str(writer.tmp),
                "index": str(index.folder),
                "stem": stem,
                "version": writer.version,
                "exact": ray.put(exact),
                "groups": ray.put((group_pos, group_key)),
            },
        ),
    )
    sizes = {display_path(p): p.stat().st_size for p in files}
    inputs, sig_files, kept = _adopt(writer, report, result, sizes)
    result.exact_duplicates = docs - kept
    m = np.array(merges, dtype=np.uint64).reshape(-1, 2)
    merge_cols = sort_columns([m[:, 0], m[:, 1]])
    merge_files = [
        RunInfo(f"merges/{i.path}", i.rows, i.first, i.last).to_dict()
        for i in write_runs(
            index.folder / "merges", stem, MERGE_SCHEMA, [merge_cols] if len(m) else []
        )
    ]
    segment = {
        "docs": kept,
        "bands": [sorted(f, key=lambda x: x["first"]) for f in band_files],
        "sigs": sig_files,
        "merges": merge_files,
    }
    if kept or merges:
        index.add_segment(seg_id, segment)
        if len(sig_files) > 1 or any(len(f) > 1 for f in band_files):
            index.compact([seg_id])  # the workers' files become one run per band
        index.maybe_compact()
    index.save()
    rows = dedup.merge_rows(merges, writer.version)
    dedup.merges_table(writer).write_rows(rows, sum(_row_hash(r) for r in rows))
    yield Progress("ingest", f"{result.documents_added} new documents", 4, 4)
    return result, inputs


def _row_hash(row: dict[str, Any]) -> int:
    from corpus.ids import row_hash

    return row_hash(row)


def _groups(
    index: NearDupIndex, edges: pa.Table, exact: np.ndarray[Any, Any]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], list[tuple[int, int]], int]:
    """Groups of the documents with verified links (sorted positions, their group), the
    merges, and how many documents had a link."""
    if not edges.num_rows:
        return np.zeros(0, np.int64), np.zeros(0, np.uint64), [], 0
    kind = edges.column("kind").to_numpy()
    cols = {c: edges.column(c).to_numpy() for c in ("a_pos", "a_key", "b_pos", "b_key", "b_grp")}
    new, old = kind == 0, kind == 1
    pos = np.concatenate([cols["a_pos"], cols["b_pos"][new]])
    keys = np.concatenate([cols["a_key"], cols["b_key"][new]])
    involved, first = np.unique(pos, return_index=True)
    na, nb = _unique_pairs(cols["a_pos"][new], cols["b_pos"][new])
    oa, roots = _unique_pairs(cols["a_pos"][old], index.roots(cols["b_grp"][old]))
    found = assign_groups(
        keys[first],
        np.isin(involved, exact),
        (np.searchsorted(involved, na), np.searchsorted(involved, nb)),
        (np.searchsorted(involved, oa), roots.astype(np.uint64)),
        Roots(),
    )
    moved = found.group != keys[first]
    return involved[moved], found.group[moved], found.merges, int(found.near.sum())


def _unique_pairs(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> tuple[Any, Any]:
    """Distinct (a, b) pairs (the same pair comes from several bands)."""
    if not len(a):
        return a, b
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    keep = np.ones(len(a), dtype=bool)
    keep[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    return a[keep], b[keep]


def _adopt(
    writer: VersionWriter, report: pa.Table, result: IngestResult, sizes: dict[str, int]
) -> tuple[InputsSummary, list[dict[str, Any]], int]:
    """Take the workers' shards into the version; (inputs, signature files, documents kept)."""
    shards: dict[str, list[tuple[Path, FileRecord]]] = {}
    totals: dict[str, list[int]] = {}
    sig_files: list[dict[str, Any]] = []
    sources: dict[str, list[Any]] = {}
    kept = 0
    for kind, text in zip(
        report.column("kind").to_pylist(), report.column("data").to_pylist(), strict=True
    ):
        data = json.loads(text)
        if kind == "table":
            shards.setdefault(data["table"], []).extend(
                (Path(s["path"]), FileRecord(bytes=s["bytes"], sha256=s["sha256"]))
                for s in data["shards"]
            )
            total = totals.setdefault(data["table"], [0, 0])
            total[0] += data["rows"]
            total[1] += int(data["hash"])
        elif kind == "sigs":
            sig_files.append(data)
        elif kind == "counts":
            kept += data["documents"]
            result.paragraphs += data["paragraphs"]
            result.sentences += data["sentences"]
        else:
            path, pos, sha, count = data
            entry = sources.setdefault(path, [pos, sha, 0])
            entry[0] = min(entry[0], pos)
            entry[2] += count
    for table, schema in SCHEMAS.items():
        rows, hash_sum = totals.get(table, [0, 0])
        ordered = sorted(shards.get(table, []), key=lambda s: str(s[0]))
        writer.table(table, schema).adopt(ordered, rows, hash_sum)
    result.documents_added = kept
    inputs = InputsTable(writer)
    for path, (_, sha, count) in sorted(sources.items(), key=lambda kv: kv[1][0]):
        inputs.add(path, sha, sizes.get(path, 0), count)
    return inputs.finish(), sig_files, kept
