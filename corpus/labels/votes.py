"""Which of an annotator's annotations of a document votes: the latest one not skipped.

One rule for adjudication (:mod:`corpus.adjudication.core`), the curator's review and the
``disagreement`` sampling strategy (:mod:`corpus.rounds.sample`), so that a document's
disagreement is measured on the very votes adjudication counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Row = Mapping[str, Any]


def recency(row: Row) -> tuple[str, int]:
    """The order of an annotator's annotations: last updated (or created), then id."""
    return (row.get("updated_at") or row.get("created_at") or "", int(row["annotation_id"]))


def voting_annotations(annotations: Iterable[Row]) -> dict[str, dict[str, Row]]:
    """doc_id -> annotator -> the annotation that votes (latest non-skipped one).

    Documents whose annotations are all skipped map to an empty dict.
    """
    out: dict[str, dict[str, Row]] = {}
    for row in annotations:
        chosen = out.setdefault(row["doc_id"], {})
        if row["cancelled"]:
            continue
        old = chosen.get(row["annotator"])
        if old is None or recency(row) > recency(old):
            chosen[row["annotator"]] = row
    return out
