"""Which gold counts when several rounds (or a curator) decided the same document.

docs/concepts/gold.md ("Gold across rounds") states the rule; the release build calls
:func:`effective_gold`, and so should anything else that asks a document's gold across
rounds. Its reference twin is ``tests/reference/gold.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

G = TypeVar("G", bound=Mapping[str, Any])
S = TypeVar("S", bound=Mapping[str, Any])


def effective_gold(
    gold: Iterable[G], spans: Iterable[S], round_order: Sequence[str]
) -> tuple[list[G], list[S]]:
    """One gold stance (and its spans) per document when several rounds decided it.

    Precedence: a decided stance beats an unresolved one; then a curator's review beats a
    majority; then a later round beats an earlier one (``round_order``, oldest first; rounds
    missing from it count as oldest, by name). A document's gold spans come from the round
    whose stance won, so every gold row keeps its round and how it was decided.
    """
    rank = {name: i for i, name in enumerate(round_order)}
    best: dict[str, tuple[tuple[bool, bool, int, str], G]] = {}
    for row in gold:
        key = (
            row["stance"] is not None,
            row["decided_by"] == "review",
            rank.get(row["round"], -1),
            row["round"],
        )
        old = best.get(row["doc_id"])
        if old is None or key > old[0]:
            best[row["doc_id"]] = (key, row)
    chosen = {doc_id: row["round"] for doc_id, (_, row) in best.items()}
    kept = [row for _, row in sorted(best.values(), key=lambda item: item[1]["doc_id"])]
    return kept, [s for s in spans if chosen.get(s["doc_id"]) == s["round"]]
