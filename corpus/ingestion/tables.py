"""A version's tables: linked from the parent, and written batch by batch (both engines)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from corpus.ids import row_hash
from corpus.ingestion import fields
from corpus.ingestion.batch import DocBatch
from corpus.ingestion.core import SCHEMAS, RecordProblem
from corpus.store import Store, TableWriter, VersionWriter
from corpus.store.arrow import arrow_array, mask_array


def write_doc_batch(
    tables: dict[str, TableWriter], batch: DocBatch, keep: np.ndarray[Any, Any], groups: list[str]
) -> None:
    """Write a batch's sources, and its other rows for the documents kept (new ones).

    Workers hash document rows with ``dup_group == doc_id``; the few documents that joined
    another group get their column value and row hash redone here.
    """
    hashes = batch.row_hashes
    tables["sources"].write_batch(batch.tables["sources"], sum(hashes["sources"]))
    if not keep.any():
        return
    documents = batch.tables["documents"]
    moved = [i for i, doc_id in enumerate(batch.doc_ids) if groups[i] != doc_id]
    if moved:
        column = documents.schema.get_field_index("dup_group")
        documents = documents.set_column(
            column, documents.schema.field(column), arrow_array(groups, pa.string())
        )
        hashes = {**hashes, "documents": list(hashes["documents"])}
        for i in moved:
            hashes["documents"][i] = row_hash(documents.slice(i, 1).to_pylist()[0])
    unit_keep = {
        "documents": keep,
        "minhashes": keep,
        "paragraphs": np.repeat(keep, batch.n_paragraphs),
        "sentences": np.repeat(keep, batch.n_sentences),
    }
    for name, mask in unit_keep.items():
        table = documents if name == "documents" else batch.tables[name]
        if not keep.all():
            table = table.filter(mask_array(mask))
        kept = sum(h for h, k in zip(hashes[name], keep, strict=True) if k)
        tables[name].write_batch(table, kept)


def continue_from(
    store: Store, parent: str, writer: VersionWriter, migrated: dict[str, Any]
) -> None:
    """Link the parent's tables and index into ``writer`` (checking every file).

    A documents table written before records were typed (no ``language``, ``published_at``
    as text) is rewritten once in today's schema; ``migrated`` records what changed.
    """
    old = store.table_schema(parent, "documents") != SCHEMAS["documents"]
    store.link_tables(parent, writer, skip={"documents"} if old else ())
    if old:
        table = writer.table("documents", SCHEMAS["documents"])
        migrated.update(migrate_documents(store, parent, table))


def migrate_documents(store: Store, parent: str, out: TableWriter) -> dict[str, Any]:
    """Rewrite an old documents table: ``language`` "und" (it was never stored) and
    ``published_at`` parsed into UTC (unparsable values become null and are listed)."""
    unparsed: list[dict[str, str]] = []
    rows = 0
    for batch in store.iter_batches(parent, "documents"):
        converted = []
        for row in batch.to_pylist():
            value = row.get("published_at")
            try:
                row["published_at"] = fields.published_at(value)
            except RecordProblem:
                row["published_at"] = None
                unparsed.append({"doc_id": row["doc_id"], "published_at": str(value)})
            row.setdefault("language", "und")
            converted.append({name: row.get(name) for name in SCHEMAS["documents"].names})
        out.write_rows(converted, sum(row_hash(r) for r in converted))
        rows += len(converted)
    return {"documents": rows, "language": "und", "published_at_unparsed": unparsed}
