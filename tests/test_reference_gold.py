"""The reference twin of effective gold across rounds (tests/reference/gold.py): hand-worked
cases from docs/concepts/gold.md's precedence sentence ("Adjudication", Across rounds), and a
property test comparing it with corpus.labels.gold.effective_gold."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from reference.gold import effective_gold

from corpus.labels.gold import effective_gold as real_effective_gold


def row(doc: str, rnd: str, stance: str | None, decided_by: str) -> dict[str, Any]:
    return {"doc_id": doc, "round": rnd, "stance": stance, "decided_by": decided_by}


def test_effective_gold_precedence() -> None:
    order = ["r1", "r2", "r3"]
    later = row("d1", "r2", "opposed", "majority")
    assert effective_gold([row("d1", "r1", "neutral", "majority"), later], order) == {"d1": later}
    review = row("d1", "r1", "neutral", "review")
    assert effective_gold([review, later], order) == {"d1": review}  # review beats later
    unresolved = row("d1", "r3", None, "unresolved")
    assert effective_gold([later, unresolved], order) == {"d1": later}  # decided beats null
    null_review = row("d1", "r3", None, "review")
    assert effective_gold([later, null_review], order) == {"d1": later}
    two_reviews = [review, row("d1", "r3", "mixed", "review")]
    assert effective_gold(two_reviews, order) == {"d1": two_reviews[1]}
    # a round missing from the order is older than every listed round
    assert effective_gold([row("d1", "r0", "x", "majority"), later], order) == {"d1": later}
    only = row("d2", "r1", None, "unresolved")
    assert effective_gold([only], order) == {"d2": only}


ROUNDS = ["r0", "r1", "r2", "r3"]  # r0 is never in the order: older than every listed round


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[str]]:
    order = draw(st.permutations(ROUNDS[1:]))[: draw(st.integers(0, 3))]
    rows = []
    for doc in ("d1", "d2", "d3"):
        for rnd in draw(st.lists(st.sampled_from(ROUNDS), unique=True, max_size=4)):
            decided_by = draw(st.sampled_from(["majority", "unanimous", "review", "unresolved"]))
            stance = None if decided_by == "unresolved" else draw(st.sampled_from([None, "a", "b"]))
            rows.append(row(doc, rnd, stance, decided_by))
    return draw(st.permutations(rows)), list(order)


@settings(max_examples=300)
@given(histories())
def test_real_effective_gold_matches_the_reference(
    history: tuple[list[dict[str, Any]], list[str]],
) -> None:
    """corpus.labels.gold.effective_gold picks docs/concepts/gold.md's winner for every document,
    and keeps exactly the spans of the winning round."""
    rows, order = history
    spans = [{"doc_id": r["doc_id"], "round": r["round"], "start": 0} for r in rows]
    kept, kept_spans = real_effective_gold(rows, spans, order)
    expected = effective_gold(rows, order)
    assert {r["doc_id"]: r for r in kept} == expected
    assert len(kept) == len(expected)
    assert sorted((s["doc_id"], s["round"]) for s in kept_spans) == sorted(
        (d, r["round"]) for d, r in expected.items()
    )
