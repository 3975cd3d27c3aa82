"""Deriving a version from its parent: every table carried forward, one round's rows replaced."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from corpus.ids import row_hash
from corpus.models import NormalizationInfo, VersionManifest
from corpus.store.versions import Store


def _fit(row: dict[str, Any], schema: pa.Schema) -> dict[str, Any]:
    """A row of an older table in today's columns (a new column is null)."""
    return {name: row.get(name) for name in schema.names}


def derive_version(
    store: Store,
    parent: str,
    *,
    round_name: str | None,
    tables: Mapping[str, tuple[pa.Schema, list[dict[str, Any]]]],
    kind: str,
    message: str,
    extra: dict[str, object],
    schema_hash: str | None = None,
) -> str:
    """A new version (next minor) from ``parent`` holding one round's rows in ``tables``.

    Every other table of the parent is linked unchanged; each table in ``tables`` keeps the
    parent's rows of *other* rounds and gets this round's rows (``round_name`` None: the
    rows replace the whole table). The caller holds the lock.
    """
    from corpus.about import __version__

    manifest = store.manifest(parent)
    version = store.next_version()
    writer = store.begin(version)
    try:
        store.link_tables(parent, writer, skip=tables.keys())
        for table, (schema, rows) in tables.items():
            out = writer.table(table, schema)
            if table in manifest.tables and round_name is not None:
                kept = [
                    _fit(r, schema)
                    for r in store.iter_rows(parent, table)
                    if r["round"] != round_name
                ]
                out.write_rows(kept, sum(row_hash(r) for r in kept))
            out.write_rows(rows, sum(row_hash(r) for r in rows))
        writer.commit(
            VersionManifest(
                version=version,
                parent=parent,
                kind=kind,
                created=datetime.now(UTC).isoformat(timespec="seconds"),
                tool_version=__version__,
                schema_hash=schema_hash or manifest.schema_hash,
                message=message,
                normalization=NormalizationInfo(),
                segmenter=manifest.segmenter,
                dedup=manifest.dedup,
                inputs=[],
                tables={},
                report=[],
                extra={**({"round": round_name} if round_name else {}), **extra},
            )
        )
    except BaseException:
        writer.abort()
        raise
    return version
