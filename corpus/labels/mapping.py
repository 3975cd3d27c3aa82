"""The label map from a row's schema version to the current one, applied exactly once.

Every annotation, span and gold row carries ``schema_version``, the schema version its labels
are in. :class:`LabelMap` takes a label from that version to the store's current one through
each stored migration in turn (a rename or merge moves it, a removal drops the span or
empties the stance, a split drops the span and marks its document for relabelling; a label
no rule names stays as it is), and :func:`map_rows` gives the mapped row the current version,
so a row already in the current version is never mapped again. The migrations themselves
(files, checks) are :mod:`corpus.migrations`; docs/how-to/schema-migrations.md quotes the
first two sentences (reference twin: ``tests/reference/mapping.py``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from corpus.errors import SchemaError
from corpus.migrations import KINDS, Kind, Migration

SPLIT = "\x00split"  # a label that cannot be mapped: relabel
DOC_TABLES = ("annotations", "gold_annotations")  # ``stance``: a document stance
SPAN_TABLES = ("spans", "gold_spans")  # ``issue``: an issue label, ``stance``: a span stance

Step = dict[str, dict[str, str | None]]  # kind -> old label -> new (None: removed; SPLIT)


def step_of(migration: Migration) -> Step:
    """What one migration does to each label of its ``from`` version that a rule names."""
    step: Step = {}
    for kind in KINDS:
        table: dict[str, str | None] = {}
        for rule in migration.rules(kind):
            if rule.rename:
                table[rule.rename.from_] = rule.rename.to
            elif rule.merge:
                table.update(dict.fromkeys(rule.merge.from_, rule.merge.into))
            elif rule.split:
                table[rule.split.from_] = SPLIT
            elif rule.remove:
                table[rule.remove] = None
        step[kind] = table
    return step


@dataclass(frozen=True)
class LabelMap:
    """The migrations up to schema version ``end`` (one step per ``from`` version)."""

    steps: Mapping[int, Step]
    end: int

    @classmethod
    def of(cls, migrations: Iterable[Migration], end: int) -> LabelMap:
        return cls({m.from_: step_of(m) for m in migrations if m.to <= end}, end)

    def label(self, kind: Kind, value: str | None, since: int) -> str | None:
        """``value`` of schema version ``since`` in version :attr:`end` (None: removed,
        :data:`SPLIT`: split); a label already at ``end`` or later is returned as it is."""
        for version in range(since, self.end):
            if value is None or value == SPLIT:
                return value
            if version not in self.steps:
                raise _missing(version)
            value = self.steps[version].get(kind, {}).get(value, value)
        return value


@dataclass
class Mapped:
    """Rows mapped into the new schema, and what could not be carried over."""

    rows: dict[str, list[dict[str, Any]]]
    dropped: Counter[str] = field(default_factory=Counter)  # "spans: climate (removed)" -> n
    relabel: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))


def map_rows(
    label_map: LabelMap,
    tables: Mapping[str, Iterable[Mapping[str, Any]]],
    *,
    made_under: int,
    at_least: int | None = None,
) -> Mapped:
    """Each row of ``annotations``/``gold_annotations`` (stance) and ``spans``/``gold_spans``
    (issue, span stance) mapped once, from its ``schema_version`` to ``label_map.end``.

    A row without a version is in ``made_under``; ``at_least`` raises every row's version to
    it (a store's rows are never older than its current version). A mapped row carries
    ``end``; a span of a removed label is dropped, of a split label dropped and its document
    marked for relabelling.
    """
    end = label_map.end
    out = Mapped(rows={})
    for name, rows in tables.items():
        if name not in DOC_TABLES + SPAN_TABLES:
            raise ValueError(f"not a label table: {name}")
        kept = []
        for original in rows:
            since = original.get("schema_version")
            since = made_under if since is None else since
            since = since if at_least is None else max(since, at_least)
            if since >= end:
                kept.append(dict(original))
                continue
            row = {**original, "schema_version": end}
            if name in DOC_TABLES:
                row["stance"] = label_map.label("stance", row.get("stance"), since)
                kept.append(row)
                continue
            issue = label_map.label("issue", row["issue"], since)
            if issue is None or issue == SPLIT:
                why = "removed" if issue is None else "split: relabel"
                out.dropped[f"{name}: {row['issue']} ({why})"] += 1
                if issue == SPLIT and row["issue"] not in out.relabel[row["doc_id"]]:
                    out.relabel[row["doc_id"]].append(row["issue"])
                continue
            row["issue"] = issue
            row["stance"] = label_map.label("span_stance", row.get("stance"), since)
            kept.append(row)
        out.rows[name] = kept
    return out


def _missing(version: int) -> SchemaError:
    return SchemaError(
        f"the store has no migration from label schema {version} to {version + 1}",
        hint="Apply it with `corpus schema migrate MIGRATION.yaml`.",
    )


__all__ = [
    "DOC_TABLES",
    "SPAN_TABLES",
    "SPLIT",
    "LabelMap",
    "Mapped",
    "map_rows",
    "step_of",
]
