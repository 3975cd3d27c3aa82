"""`corpus schema migrate`: move a store's labels to the next label-schema version.

The migration is checked against the schema the store used before (its kept copy) and the
new one; then a new version is written from the latest one in which every annotation, span
and gold row is mapped (renames and merges), spans of removed labels are dropped (counted),
and documents whose spans used a split label are marked for relabelling (``corpus round
start --strategy relabel-migrated``). A mapped row's ``schema_version`` becomes the new
version (the version its labels are in), so no row is mapped twice
(:mod:`corpus.labels.mapping`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpus.errors import SchemaError, translate_os_errors
from corpus.features import arrow_schema
from corpus.label_schema import AnnotationSchema, load_schema
from corpus.labels.mapping import LabelMap, map_rows
from corpus.migrations import MigrationCheck, check_migration, load_migration
from corpus.models import AnnotationRow, GoldAnnotation, GoldSpan, SpanAnnotation
from corpus.rounds.schemas import (
    current_version,
    migrations,
    save_migration,
    save_snapshot,
    snapshot,
)
from corpus.store import Store, as_store, derive_version

LABEL_TABLES = {
    "annotations": arrow_schema(AnnotationRow),
    "spans": arrow_schema(SpanAnnotation),
    "gold_annotations": arrow_schema(GoldAnnotation),
    "gold_spans": arrow_schema(GoldSpan),
}


@dataclass
class MigrationResult:
    version: str | None  # None: checked only (dry run), or nothing stored yet
    written: bool
    source: int
    target: int
    check: MigrationCheck
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows after mapping
    dropped: dict[str, int] = field(default_factory=dict)
    relabel: dict[str, list[str]] = field(default_factory=dict)  # doc_id -> split labels

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "written": self.written,
            "from": self.source,
            "to": self.target,
            "changes": self.check.changes,
            "added": self.check.added,
            "rows": self.rows,
            "dropped": self.dropped,
            "needs_relabel": self.relabel,
        }


@translate_os_errors
def migrate_schema(
    store: Store | str | os.PathLike[str],
    migration: str | os.PathLike[str],
    *,
    schema: AnnotationSchema | None = None,
    dry_run: bool = False,
) -> MigrationResult:
    """Check ``migration`` against the store's previous label schema and ``schema`` (default:
    the project's), then (unless ``dry_run``) store a version with every label mapped."""
    store = as_store(store)
    new = schema or load_schema()
    plan = load_migration(Path(migration))
    old = snapshot(store, plan.from_)
    if old is None:
        raise SchemaError(
            f"the store {store.root} never used version {plan.from_} of the label schema",
            hint="A migration starts from a schema a round of this store was started with "
            "(kept in <store>/schemas/).",
        )
    report = check_migration(plan, old, new)
    current = current_version(store, plan.from_)
    if current != plan.from_:
        raise SchemaError(
            f"the store's labels are in schema version {current}, the migration starts "
            f"from {plan.from_}",
            hint="Apply the migrations in order, one version at a time.",
        )
    result = MigrationResult(None, False, plan.from_, plan.to, report)
    latest = store.latest_name()
    with store.lock():
        tables = store.manifest(latest).tables if latest else {}
        present = [t for t in LABEL_TABLES if t in tables]
        mapped = map_rows(  # every row once, from its version (never older than the store's)
            LabelMap.of([*migrations(store), plan], plan.to),
            {t: list(store.iter_rows(latest or "", t)) for t in present},
            made_under=plan.from_,
            at_least=plan.from_,
        )
        result.rows = {t: len(rows) for t, rows in mapped.rows.items()}
        result.dropped = dict(mapped.dropped)
        result.relabel = dict(sorted(mapped.relabel.items()))
        if dry_run:
            return result
        save_snapshot(store, new)
        if latest is not None and present:
            result.version = derive_version(
                store,
                latest,
                round_name=None,
                tables={t: (LABEL_TABLES[t], mapped.rows[t]) for t in present},
                kind="migrate",
                message=f"labels migrated from schema {plan.from_} to {plan.to}",
                extra={
                    "from": plan.from_,
                    "to": plan.to,
                    "changes": report.changes,
                    "added": report.added,
                    "dropped": result.dropped,
                    "needs_relabel": result.relabel,
                },
                schema_hash=new.hash(),
            )
            result.written = True
        save_migration(store, plan)
    return result


__all__ = ["MigrationResult", "migrate_schema"]
