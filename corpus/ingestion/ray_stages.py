"""The Ray engine's stage functions: they run in Ray workers, over Arrow blocks.

Each is a plain function of a ``pyarrow.Table`` (Ray Data's ``batch_format="pyarrow"``)
and keyword settings, so Ray can ship it to any worker; every file a stage writes goes to
the version's temporary folder (or its index folder), which must be on storage every
worker reads and writes (a local disk for a one-machine cluster, else a shared mount).

* :func:`process`: read input files, then the local engine's pure
  :func:`corpus.ingestion.batch.process_batch`; one *wide* row per document (its documents
  row, its paragraph and sentence spans, its signature) or per bad input (``problem``);
  the batch's signatures are also written as a run sorted by input position;
* :func:`band_rows`: 8 (band, band hash) rows per document;
* :func:`join_bucket`: the band join of one (band, hash bucket): exact duplicates, pairs of
  new documents, and stored candidates probed in the parent's index; writes the bucket's
  band run of the new segment;
* :func:`verify`: candidate pairs checked on their signatures;
* :func:`write_tables`: the version's table shards and the new segment's signature run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from corpus.errors import Problem, display_path
from corpus.ids import file_sha256
from corpus.ingestion.batch import DocBatch, process_batch, to_batch
from corpus.ingestion.core import SCHEMAS, ProcessedDoc, RawRecord, RecordProblem
from corpus.ingestion.readers import (
    TABLE_SUFFIXES,
    ReadOptions,
    TextFile,
    iter_table_records,
    read_text_file,
)
from corpus.ingestion.tables import write_doc_batch
from corpus.models import FileRecord
from corpus.neardup import band_hashes, doc_keys, key_ids
from corpus.neardup.bands import BANDS, NUM_PERM, similar
from corpus.neardup.index import BAND_SCHEMA, SIG_SCHEMA
from corpus.neardup.runs import RunFile, RunInfo, sort_columns, write_runs
from corpus.store import TableWriter

POS_SHIFT = 32  # a document's input position: file number << 32 | record number
SIG = pa.list_(pa.uint32(), NUM_PERM)
POS_SIG_SCHEMA = pa.schema([("pos", pa.uint64()), ("sig", SIG)])
SPANS = {
    "p_start": ("paragraphs", "start"),
    "p_end": ("paragraphs", "end"),
    "s_par": ("sentences", "paragraph_index"),
    "s_start": ("sentences", "start"),
    "s_end": ("sentences", "end"),
}
WIDE = pa.schema(
    [
        pa.field("pos", pa.int64()),
        pa.field("key", pa.uint64()),
        pa.field("signature", SIG),
        *(f.with_nullable(True) for f in SCHEMAS["documents"]),
        *(pa.field(name, pa.list_(pa.int64())) for name in SPANS),
        pa.field("problem", pa.string()),
    ]
)
CANDIDATES = pa.schema(
    [
        ("kind", pa.int8()),  # 0: two new documents, 1: new and stored, 2: exact, 3: file
        ("a_pos", pa.int64()),
        ("a_key", pa.uint64()),
        ("b_pos", pa.int64()),
        ("b_key", pa.uint64()),
        ("info", pa.string()),
    ]
)
EDGES = pa.schema([*CANDIDATES, ("b_grp", pa.uint64())])
REPORT = pa.schema([("kind", pa.string()), ("data", pa.string())])


# --- 1. read and process ----------------------------------------------------------------


def process(
    items: pa.Table, *, paths: list[str], options: ReadOptions, version: str, sigs: str
) -> pa.Table:
    """Read the files numbered ``items["unit"]`` and process their records (see module)."""
    raws: list[RawRecord] = []
    positions: list[int] = []
    problems: list[tuple[int, Problem]] = []
    for unit in items.column("unit").to_pylist():
        path = Path(paths[unit])
        base = unit << POS_SHIFT
        if path.suffix.lower() not in TABLE_SUFFIXES:
            try:
                raws.append(read_text_file(TextFile(str(path)), options))
                positions.append(base)
            except RecordProblem as exc:
                problems.append((base, Problem(str(path), exc.reason, exc.hint)))
            continue
        for number, item in iter_table_records(path, options):
            if isinstance(item, RecordProblem):
                where = Problem(display_path(path), item.reason, item.hint, number or None)
                problems.append((base + number, where))
            else:
                raws.append(item)
                positions.append(base + number)
    batch, bad = process_batch(raws, version=version)
    for i, failure in bad:
        raw = raws[i]
        problem = Problem(raw.source_path, failure.reason, failure.hint, raw.source_record)
        problems.append((positions[i], problem))
    good = np.delete(np.array(positions, dtype=np.int64), [i for i, _ in bad])
    docs = _wide_docs(batch, good)
    if len(good):
        write_runs(
            Path(sigs),
            f"pos-{int(good[0]):020d}",
            POS_SIG_SCHEMA,
            [[good.astype(np.uint64), batch.signatures]],
        )
    if not problems:
        return docs
    rows = {name: pa.nulls(len(problems), WIDE.field(name).type) for name in WIDE.names}
    rows["pos"] = pa.array([p for p, _ in problems], pa.int64())
    rows["problem"] = pa.array([json.dumps(p.to_dict()) for _, p in problems], pa.string())
    return pa.concat_tables([docs, pa.table(rows, schema=WIDE)])


def _wide_docs(batch: DocBatch, positions: np.ndarray[Any, Any]) -> pa.Table:
    documents = pa.Table.from_batches([batch.tables["documents"]])
    columns: dict[str, Any] = {
        "pos": pa.array(positions, pa.int64()),
        "key": pa.array(doc_keys(batch.doc_ids), pa.uint64()),
        "signature": pa.FixedSizeListArray.from_arrays(
            pa.array(batch.signatures.reshape(-1), pa.uint32()), NUM_PERM
        ),
    }
    for name in documents.column_names:
        columns[name] = documents.column(name)
    counts = {"paragraphs": batch.n_paragraphs, "sentences": batch.n_sentences}
    for name, (table, column) in SPANS.items():
        offsets = np.concatenate(([0], np.cumsum(counts[table]))).astype(np.int32)
        values = batch.tables[table].column(column)
        columns[name] = pa.ListArray.from_arrays(pa.array(offsets), values)
    columns["problem"] = pa.nulls(len(positions), pa.string())
    return pa.table(columns, schema=WIDE)


def documents_only(t: pa.Table) -> pa.Table:
    return t.filter(pa.compute.is_null(t.column("problem")))


def problems_only(t: pa.Table) -> pa.Table:
    return t.filter(pa.compute.is_valid(t.column("problem"))).select(["pos", "problem"])


# --- 2. band rows and the band join ------------------------------------------------------


def band_rows(t: pa.Table, *, bits: int) -> pa.Table:
    t = documents_only(t)
    sigs = _sigs(t.column("signature"))
    hashes = band_hashes(sigs).reshape(-1)
    bucket = hashes >> np.uint64(64 - bits) if bits else np.zeros(len(hashes), np.uint64)
    return pa.table(
        {
            "band": np.tile(np.arange(BANDS, dtype=np.int8), len(t)),
            "bucket": bucket.astype(np.int32),
            "band_hash": hashes,
            "pos": np.repeat(t.column("pos").to_numpy(), BANDS),
            "key": np.repeat(t.column("key").to_numpy(), BANDS),
        }
    )


def join_bucket(
    t: pa.Table, *, index: str, stored: list[list[dict[str, Any]]], stem: str
) -> pa.Table:
    """The band join of one (band, bucket) group; see the module docstring."""
    band = int(t.column("band")[0].as_py())
    bucket = int(t.column("bucket")[0].as_py())
    h, pos, key = (t.column(c).to_numpy() for c in ("band_hash", "pos", "key"))
    order = np.lexsort((pos, h))
    h, pos, key = h[order], pos[order], key[order]
    out: list[tuple[int, int, int, int, int, str]] = []
    # exact duplicates: a key seen at an earlier position, or stored
    first = {}
    exact = np.zeros(len(pos), dtype=bool)
    for i in np.argsort(pos, kind="stable").tolist():
        k = int(key[i])
        if k in first:
            exact[i] = True
        else:
            first[k] = i
    uniq, starts, counts = np.unique(h, return_index=True, return_counts=True)
    hits: list[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = []
    for info in map(RunInfo.from_dict, stored[band]):
        if info.last < int(uniq[0]) or info.first > int(uniq[-1]):
            continue
        run = RunFile(Path(index) / info.path)
        for bi, nidx, rows in run.lookup(uniq):
            hits.append((nidx, run.column(bi, 1, rows)))
        run.close()
    for nidx, docs in hits:
        for n, d in zip(nidx.tolist(), docs.tolist(), strict=True):
            for i in range(int(starts[n]), int(starts[n] + counts[n])):
                if int(key[i]) == d:
                    exact[i] = True
                else:
                    out.append((1, int(pos[i]), int(key[i]), -1, d, ""))
    for s, c in zip(starts[counts > 1].tolist(), counts[counts > 1].tolist(), strict=True):
        members = [i for i in range(s, s + c) if not exact[i]]
        for x, i in enumerate(members):
            for j in members[x + 1 :]:
                a, b = sorted((i, j), key=lambda m: int(pos[m]))
                out.append((0, int(pos[a]), int(key[a]), int(pos[b]), int(key[b]), ""))
    out += [(2, int(pos[i]), int(key[i]), -1, 0, "") for i in np.flatnonzero(exact).tolist()]
    keep = ~exact
    folder = Path(index) / f"bands/band={band}"
    cols = sort_columns([h[keep].copy(), key[keep].copy()])
    for info in write_runs(
        folder, f"{stem}-b{bucket:05d}", BAND_SCHEMA, [cols] if keep.any() else []
    ):
        record = RunInfo(f"bands/band={band}/{info.path}", info.rows, info.first, info.last)
        out.append((3, band, 0, -1, 0, json.dumps(record.to_dict())))
    columns: list[Any] = [list(c) for c in zip(*out, strict=True)] if out else [[]] * 6
    return pa.table(columns, schema=CANDIDATES)


def files_and_exact(t: pa.Table) -> pa.Table:
    """The rows of the band join that are not candidate pairs (kinds 2 and 3)."""
    return t.filter(pa.compute.greater_equal(t.column("kind"), 2))


# --- 3. verification ---------------------------------------------------------------------


def verify(t: pa.Table, *, sigs: str, index: str, stored: list[dict[str, Any]]) -> pa.Table:
    """Candidate pairs (kinds 0 and 1) whose signatures agree on ``MIN_EQUAL`` values."""
    kind = t.column("kind").to_numpy()
    t = t.filter(pa.array(kind <= 1))
    if not t.num_rows:
        return EDGES.empty_table()
    kind = t.column("kind").to_numpy()
    a_pos, b_pos, b_key = (t.column(c).to_numpy() for c in ("a_pos", "b_pos", "b_key"))
    pos_runs = [RunFile(p) for p in sorted(Path(sigs).glob("*.arrow"))]
    sig_a = _lookup(pos_runs, a_pos.astype(np.uint64), 1)[0]
    new = kind == 0
    sig_b = np.zeros_like(sig_a)
    grp = np.zeros(len(t), dtype=np.uint64)
    sig_b[new] = _lookup(pos_runs, b_pos[new].astype(np.uint64), 1)[0]
    stored_runs = [RunFile(Path(index) / f["path"]) for f in stored]
    found_sig, found_grp = _lookup(stored_runs, b_key[~new], 2, 1)
    sig_b[~new], grp[~new] = found_sig, found_grp
    for run in [*pos_runs, *stored_runs]:
        run.close()
    ok = similar(sig_a, sig_b)
    return t.append_column("b_grp", pa.array(grp, pa.uint64())).filter(pa.array(ok))


def _lookup(
    runs: list[RunFile], keys: np.ndarray[Any, Any], col: int, extra: int | None = None
) -> tuple[Any, Any]:
    keys = np.asarray(keys, dtype=np.uint64)
    order = np.argsort(keys, kind="stable")
    needles = keys[order]
    sig = np.zeros((len(keys), NUM_PERM), dtype=np.uint32)
    other = np.zeros(len(keys), dtype=np.uint64)
    if len(keys):
        for run in runs:
            for bi, nidx, rows in run.lookup(needles):
                sig[order[nidx]] = run.column(bi, col, rows)
                if extra is not None:
                    other[order[nidx]] = run.column(bi, extra, rows)
    return sig, other


# --- 4. writing --------------------------------------------------------------------------


def write_tables(
    t: pa.Table, *, tmp: str, index: str, stem: str, version: str, exact: Any, groups: Any
) -> pa.Table:
    """Table shards (under ``tmp/.ray/``) and the key-sorted signature run of the block."""
    import ray

    exact_pos = ray.get(exact) if isinstance(exact, ray.ObjectRef) else exact
    group_pos, group_key = ray.get(groups) if isinstance(groups, ray.ObjectRef) else groups
    t = documents_only(t)
    report: list[tuple[str, str]] = []
    if not t.num_rows:
        return pa.table([[], []], schema=REPORT)
    pos = t.column("pos").to_numpy()
    name = f"w{int(pos[0]):020d}"
    sigs = _sigs(t.column("signature"))
    batch = to_batch(_docs(t), version=version, signatures=sigs)
    keep = ~np.isin(pos, exact_pos)
    keys = t.column("key").to_numpy()
    group = keys.copy()
    if len(group_pos):  # no near-duplicate anywhere: every document is its own group
        at = np.searchsorted(group_pos, pos)
        hit = (at < len(group_pos)) & (group_pos[np.minimum(at, len(group_pos) - 1)] == pos)
        group[hit] = group_key[at[hit]]
    folder = Path(tmp) / ".ray" / name
    writers = {n: TableWriter(_mkdir(folder / n), s) for n, s in SCHEMAS.items()}
    write_doc_batch(writers, batch, keep, key_ids(group))
    for table, writer in writers.items():
        writer.close()
        shards = [
            {"path": str(folder / table / f), **_record(folder / table / f).model_dump()}
            for f in writer.files
        ]
        report.append(
            (
                "table",
                json.dumps(
                    {
                        "table": table,
                        "rows": writer.rows,
                        "hash": str(writer.hash_sum),
                        "shards": shards,
                    }
                ),
            )
        )
    cols = sort_columns([keys[keep], group[keep], sigs[keep]])
    for info in write_runs(
        Path(index) / "sigs", f"{stem}-{name}", SIG_SCHEMA, [cols] if keep.any() else []
    ):
        report.append(
            (
                "sigs",
                json.dumps(
                    RunInfo(f"sigs/{info.path}", info.rows, info.first, info.last).to_dict()
                ),
            )
        )
    counts = {
        "documents": int(keep.sum()),
        "paragraphs": int(batch.n_paragraphs[keep].sum()),
        "sentences": int(batch.n_sentences[keep].sum()),
    }
    report.append(("counts", json.dumps(counts)))
    sources: dict[str, list[Any]] = {}
    for p, path, sha in zip(pos.tolist(), batch.source_paths, batch.source_sha256, strict=True):
        entry = sources.setdefault(path, [p, sha, 0])
        entry[2] += 1
    report += [("source", json.dumps([path, *v])) for path, v in sources.items()]
    return pa.table(list(zip(*report, strict=True)), schema=REPORT)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _record(path: Path) -> FileRecord:
    return FileRecord(bytes=path.stat().st_size, sha256=file_sha256(path))


def _sigs(column: pa.ChunkedArray | pa.Array) -> np.ndarray[Any, np.dtype[np.uint32]]:
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    values = arr.values.slice(arr.offset * NUM_PERM, len(arr) * NUM_PERM)
    out: np.ndarray[Any, np.dtype[np.uint32]] = values.to_numpy().astype(np.uint32)
    return out.reshape(-1, NUM_PERM)


def _docs(t: pa.Table) -> list[ProcessedDoc]:
    """The wide rows back as :class:`ProcessedDoc` (what
    :func:`~corpus.ingestion.batch.to_batch` takes)."""
    docs = []
    for row in t.to_pylist():
        raw = RawRecord(
            source_path=row["source_path"],
            source_sha256=row["source_sha256"],
            source_record=row["source_record"],
            title=row["title"],
            text=row["text"],
            external_id=row["external_id"],
            url=row["url"],
            source=row["source"],
            published_at=row["published_at"],
            language=row["language"],
        )
        docs.append(
            ProcessedDoc(
                doc_id=row["doc_id"],
                title=row["title"],
                text=row["text"],
                text_sha256=row["text_sha256"],
                raw=raw,
                paragraphs=list(zip(row["p_start"], row["p_end"], strict=True)),
                sentences=list(zip(row["s_par"], row["s_start"], row["s_end"], strict=True)),
            )
        )
    return docs
