"""Reference: the label map from a row's schema version to the current one, applied once.

Written from docs/how-to/schema-migrations.md ("Labels that change between rounds", "A label is
mapped once"):

    Every annotation, span and gold row carries ``schema_version``, the schema version its
    labels are in. The label map takes a label from that version to the store's current one
    through each stored migration in turn (a rename or merge moves it, a removal drops the
    span or empties the stance, a split drops the span and marks its document for
    relabelling; a label no rule names stays as it is), and the mapped row then carries the
    current version, so a row already in the current version is never mapped again.

Migrations are plain dicts in the migration file's own shape::

    {"from": 1, "to": 2,
     "issue": [{"rename": {"from": "a", "to": "b"}}, {"merge": {"from": ["c", "d"], "into": "d"}},
               {"remove": "e"}, {"split": {"from": "f", "into": ["f1", "f2"]}}],
     "stance": [...], "span_stance": [...]}

Stable names (imported by the differential tests): :data:`RELABEL`, :func:`map_label`,
:func:`map_row`. Nothing here imports ``corpus``.
"""

from __future__ import annotations

from typing import Any

RELABEL = "<relabel>"
"""What :func:`map_label` returns for a split label (not a valid label identifier)."""

DOC_TABLES = ("annotations", "gold_annotations")  # the row's ``stance`` is a document stance
SPAN_TABLES = ("spans", "gold_spans")  # ``issue`` is an issue label, ``stance`` a span stance


def _one_step(migration: dict[str, Any], kind: str, label: str) -> str | None:
    """What one migration does to one label of its ``from`` version."""
    for rule in migration.get(kind, []):
        if "rename" in rule and rule["rename"]["from"] == label:
            return str(rule["rename"]["to"])
        if "merge" in rule and label in rule["merge"]["from"]:
            return str(rule["merge"]["into"])
        if "remove" in rule and rule["remove"] == label:
            return None
        if "split" in rule and rule["split"]["from"] == label:
            return RELABEL
    return label  # no rule names it: it stays


def map_label(
    migrations: list[dict[str, Any]],
    from_version: int,
    to_version: int,
    kind: str,
    label: str | None,
) -> str | None:
    """``label`` (of ``kind``: issue, stance or span_stance) in schema ``from_version``,
    moved to ``to_version`` through each migration in turn.

    None when the label is removed on the way (or was None), :data:`RELABEL` when it is split
    on the way. A label already at or past ``to_version`` is returned as it is (mapped once).
    A missing step raises LookupError.
    """
    version = from_version
    while version < to_version:
        if label is None or label == RELABEL:
            return label
        steps = [m for m in migrations if m["from"] == version]
        if len(steps) != 1:
            raise LookupError(f"no single migration from version {version}")
        label = _one_step(steps[0], kind, label)
        version += 1
    return label


def map_row(
    migrations: list[dict[str, Any]],
    to_version: int,
    table: str,
    row: dict[str, Any],
    *,
    made_under: int,
) -> tuple[dict[str, Any] | None, str | None]:
    """One stored row moved to ``to_version``: ``(row or None when the span is dropped,
    the issue label whose split marks the document for relabelling, or None)``.

    The row is taken to be in its ``schema_version`` (``made_under`` when it has none); a row
    already at ``to_version`` or later comes back unchanged.
    """
    version = row.get("schema_version")
    if version is None:
        version = made_under
    if version >= to_version:
        return dict(row), None
    out = dict(row)
    out["schema_version"] = to_version
    if table in DOC_TABLES:
        out["stance"] = map_label(migrations, version, to_version, "stance", row.get("stance"))
        return out, None
    if table not in SPAN_TABLES:
        raise ValueError(f"not a label table: {table}")
    issue = map_label(migrations, version, to_version, "issue", row["issue"])
    if issue is None:
        return None, None
    if issue == RELABEL:
        return None, str(row["issue"])
    out["issue"] = issue
    out["stance"] = map_label(migrations, version, to_version, "span_stance", row.get("stance"))
    return out, None


__all__ = ["DOC_TABLES", "RELABEL", "SPAN_TABLES", "map_label", "map_row"]
