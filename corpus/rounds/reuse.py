"""What an incremental pull reuses from the round's previous pull.

A pull keeps ``pull_state.json`` beside the round (the version it wrote, each task's
fingerprint, rejects per task). The next pull validates only tasks whose fingerprint changed
and reuses the stored rows of the others; those rows are already in the schema version the
previous pull mapped them to (their ``schema_version``), so they are not mapped again
(:mod:`corpus.labels.mapping`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from corpus.store import Store

# 2: stored rows carry the schema version their labels are in (rows of a pull_state without
# it are not reused: they may be mapped already yet name the version they were made under)
PULL_STATE_FORMAT = 2


def load_pull_state(folder: Path) -> dict[str, Any]:
    path = folder / "pull_state.json"
    if not path.is_file():
        return {}
    value: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return value


def previous_rows(
    store: Store, version: str, name: str, tasks: list[dict[str, Any]], unchanged: set[str]
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]] | None:
    """Rows of unchanged tasks from the last pulled version, keyed by task id."""
    if version not in store.version_names():
        return None
    ann_by_task: dict[str, list[dict[str, Any]]] = {}
    task_of_annotation: dict[int, str] = {}
    for row in store.iter_rows(version, "annotations"):
        tid = str(row["task_id"])
        if row["round"] == name and tid in unchanged:
            ann_by_task.setdefault(tid, []).append(row)
            task_of_annotation[row["annotation_id"]] = tid
    spans_by_task: dict[str, list[dict[str, Any]]] = {}
    for row in store.iter_rows(version, "spans"):
        owner = task_of_annotation.get(row["annotation_id"])
        if row["round"] == name and owner is not None:
            spans_by_task.setdefault(owner, []).append(row)
    return ann_by_task, spans_by_task


def kept_marks(
    store: Store,
    last_version: str,
    tasks: list[dict[str, Any]],
    unchanged: set[str],
    relabel: dict[str, list[str]],
) -> dict[str, list[str]]:
    """``relabel`` plus the last pull's relabelling marks of documents whose rows it reused
    (their split spans were dropped then, so mapping them now marks nothing)."""
    marks = store.manifest(last_version).extra.get("needs_relabel")
    before: dict[str, list[str]] = marks if isinstance(marks, dict) else {}
    reused = {
        (task.get("data") or {}).get("doc_id") for task in tasks if str(task.get("id")) in unchanged
    }
    out = {doc: list(labels) for doc, labels in before.items() if doc in reused}
    for doc, labels in relabel.items():
        out[doc] = sorted({*out.get(doc, []), *labels})
    return dict(sorted(out.items()))


__all__ = ["PULL_STATE_FORMAT", "kept_marks", "load_pull_state", "previous_rows"]
