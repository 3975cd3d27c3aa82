"""Reference: which annotation of an annotator votes on a document (docs/concepts/gold.md,
Adjudication, "Votes").

Written from docs/concepts/gold.md's sentence, not from ``corpus.labels.votes``:

    Votes: one per annotator and document, their latest annotation that is not a skip
    (latest by ``updated_at``, else ``created_at``, compared as instants, a time without a
    zone read as UTC and an annotation with neither time as the oldest; on equal times the
    higher annotation id). Skips never vote: a skip after an answer leaves the answer
    standing, and an annotator who only skipped a document is not one of its annotators.

Input: rows of one round's ``annotations`` table as plain dicts (``doc_id``, ``annotator``,
``annotation_id``, ``cancelled``, ``stance``, ``created_at``, ``updated_at``; other keys are
carried along untouched). Stable API for other tests (the differential suite imports it):

* :func:`effective_votes` -> ``{doc_id: {annotator: row that votes}}``; every document that
  has any annotation is a key, a document whose annotations are all skips maps to ``{}``;
* :func:`skipped_only` -> ``{annotator: sorted doc_ids they skipped and never answered}``.

Slow and obvious on purpose; imports nothing from ``corpus``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def when(row: dict[str, Any]) -> datetime | None:
    """The instant of an annotation's last change: updated_at, else created_at (None: neither)."""
    text = row.get("updated_at")
    if not text:
        text = row.get("created_at")
    if not text:
        return None
    instant = datetime.fromisoformat(text)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant


def is_later(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """True when annotation ``a`` is later than ``b`` under docs/concepts/gold.md's order."""
    ta, tb = when(a), when(b)
    if ta is None and tb is not None:
        return False  # no time at all: the oldest
    if tb is None and ta is not None:
        return True
    if ta is not None and tb is not None and ta != tb:
        return ta > tb
    return int(a["annotation_id"]) > int(b["annotation_id"])


def effective_votes(annotations: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """doc_id -> annotator -> the one row that votes (latest non-skip); {} if all skipped."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for row in annotations:
        out.setdefault(row["doc_id"], {})
    for doc_id in out:
        annotators = []
        for row in annotations:
            if row["doc_id"] == doc_id and row["annotator"] not in annotators:
                annotators.append(row["annotator"])
        for who in annotators:
            answers = [
                r
                for r in annotations
                if r["doc_id"] == doc_id and r["annotator"] == who and not r["cancelled"]
            ]
            if not answers:
                continue  # only skips: not one of the document's annotators
            latest = answers[0]
            for r in answers[1:]:
                if is_later(r, latest):
                    latest = r
            out[doc_id][who] = latest
    return out


def skipped_only(annotations: list[dict[str, Any]]) -> dict[str, list[str]]:
    """annotator -> the documents they skipped and never answered (sorted)."""
    votes = effective_votes(annotations)
    out: dict[str, list[str]] = {}
    for row in annotations:
        if row["cancelled"] and row["annotator"] not in votes[row["doc_id"]]:
            docs = out.setdefault(row["annotator"], [])
            if row["doc_id"] not in docs:
                docs.append(row["doc_id"])
    return {who: sorted(docs) for who, docs in out.items()}
