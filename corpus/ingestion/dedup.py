"""The near-duplicate index of a version being written: linked, checked, migrated, recorded.

A version's index lives in its ``dedup/`` folder (:mod:`corpus.neardup.index`); its files
are recorded in the manifest and sealed like table shards. A new version links its parent's
index files (checked against the parent's manifest first), adds a segment per batch and
records the merges it made in the ``dup_merges`` table.

A parent written before the index existed has only the ``minhashes`` and ``documents``
tables: its index is built once from them, streaming (:func:`build_from_tables`), into the
new version, which then carries it on (``extra.migrated.dedup_index`` in its manifest).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from corpus.errors import DamagedVersionError
from corpus.features import arrow_schema
from corpus.models import DupMerge
from corpus.neardup import NearDupIndex, doc_keys, key_ids
from corpus.neardup.bands import BANDS, NUM_PERM, ROWS, THRESHOLD
from corpus.neardup.components import MERGES_TABLE
from corpus.neardup.index import INDEX_FILE
from corpus.store import Store, TableWriter, VersionWriter

INDEX_DIR = "dedup"
MERGES_SCHEMA = arrow_schema(DupMerge)
CHUNK = 65536  # documents per segment when an index is built from tables
METHOD = {
    "method": "MinHash LSH over word 5-shingles; on-disk index of band hashes (dedup/)",
    "num_perm": NUM_PERM,
    "threshold": THRESHOLD,
    "bands": BANDS,
    "rows": ROWS,
}


def open_index(
    store: Store, parent: str | None, writer: VersionWriter, migrated: dict[str, Any]
) -> NearDupIndex:
    """The index of the version ``writer`` writes: its parent's (already linked by
    :meth:`Store.link_tables`, which checked every file), or one built from the parent's
    tables (recorded in ``migrated``), or an empty one."""
    folder = writer.folder(INDEX_DIR)
    if parent is None or (folder / INDEX_FILE).exists():
        return NearDupIndex(folder)
    index = NearDupIndex(folder)
    migrated["dedup_index"] = {"from": parent, "documents": build_from_tables(store, parent, index)}
    return index


def build_from_tables(store: Store, version: str, index: NearDupIndex) -> int:
    """Index every document of ``version`` from its ``minhashes`` and ``documents`` tables
    (written in the same order), ``CHUNK`` documents at a time; returns their number."""
    total = 0
    docs = _chunks(store, version, "documents", ["doc_id", "dup_group"])
    for sigs_chunk in _chunks(store, version, "minhashes", ["doc_id", "signature"]):
        doc_chunk = next(docs, None)
        ids = sigs_chunk.column("doc_id")
        if doc_chunk is None or not doc_chunk.column("doc_id").equals(ids):
            raise DamagedVersionError(
                f"version {version}: its minhashes and documents tables are not in the same "
                "order, so its near-duplicate index cannot be built from them",
                hint="Run `corpus check --deep`; restore the version from a backup.",
            )
        keys = doc_keys(ids.to_pylist())
        groups = doc_keys(doc_chunk.column("dup_group").to_pylist())
        values = pa.chunked_array(sigs_chunk.column("signature")).combine_chunks()
        sigs = values.flatten().to_numpy().astype(np.uint32).reshape(-1, NUM_PERM)
        index.append(keys, sigs, groups, [])
        index.maybe_compact()
        total += len(keys)
    return total


def _chunks(store: Store, version: str, table: str, columns: list[str]) -> Iterator[pa.Table]:
    """A table's columns in chunks of exactly ``CHUNK`` rows (the last one shorter)."""
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in store.iter_batches(version, table, columns):
        pending.append(batch)
        rows += batch.num_rows
        while rows >= CHUNK:
            table_ = pa.Table.from_batches(pending)
            yield table_.slice(0, CHUNK).combine_chunks()
            rest = table_.slice(CHUNK)
            pending, rows = rest.to_batches(), rest.num_rows
    if rows:
        yield pa.Table.from_batches(pending).combine_chunks()


def merges_table(writer: VersionWriter) -> TableWriter:
    return writer.table(MERGES_TABLE, MERGES_SCHEMA)


def merge_rows(merges: list[tuple[int, int]], version: str) -> list[dict[str, Any]]:
    """``dup_merges`` rows of the (group, into) merges an ingest made."""
    if not merges:
        return []
    pairs = np.array(merges, dtype=np.uint64)
    return [
        {"dup_group": g, "into": i, "ingested_in": version}
        for g, i in zip(key_ids(pairs[:, 0]), key_ids(pairs[:, 1]), strict=True)
    ]
