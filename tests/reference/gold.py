"""Reference: effective gold across rounds (which round's gold counts for a document).

Written from docs/concepts/gold.md's "Adjudication" section, not from ``corpus/``; it imports
nothing from the package.

docs/concepts/gold.md, **Across rounds**: "when several rounds decided a document, a release uses,
in this order of precedence, a curator's review, then a later round's majority, then an earlier
round's (a decided stance always beats an unresolved one)."

So, comparing two gold rows of one document, in this order: the one with a stance (not
null) wins; then the one decided by ``review``; then the one of the later round in
``round_order`` (oldest first). Rounds missing from ``round_order`` count as older than every
listed round, and among themselves by name (the docstring of the real rule says so). A
document has at most one gold row per round. Stable name: ``effective_gold``.
"""

from __future__ import annotations

from typing import Any


def _beats(a: dict[str, Any], b: dict[str, Any], round_order: list[str]) -> bool:
    """Whether gold row ``a`` takes precedence over gold row ``b`` (same document)."""
    a_decided, b_decided = a["stance"] is not None, b["stance"] is not None
    if a_decided != b_decided:
        return a_decided
    a_review, b_review = a["decided_by"] == "review", b["decided_by"] == "review"
    if a_review != b_review:
        return a_review
    a_listed, b_listed = a["round"] in round_order, b["round"] in round_order
    if a_listed and b_listed:
        return round_order.index(a["round"]) > round_order.index(b["round"])
    if a_listed != b_listed:
        return a_listed
    return bool(a["round"] > b["round"])


def effective_gold(
    gold_rows: list[dict[str, Any]], round_order: list[str]
) -> dict[str, dict[str, Any]]:
    """doc_id -> the gold row that counts for the document."""
    out: dict[str, dict[str, Any]] = {}
    for row in gold_rows:
        others = [r for r in gold_rows if r["doc_id"] == row["doc_id"] and r is not row]
        if all(_beats(row, other, round_order) for other in others):
            out[row["doc_id"]] = row
    return out
