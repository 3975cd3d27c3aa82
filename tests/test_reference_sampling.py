"""Hand-worked cases of the sampling-population reference (tests/reference/sampling.py).

docs/concepts/rounds.md, "Annotation rounds": a round samples only documents that no earlier round
has sent (nor a near-duplicate of one) and that have no gold; one representative per component.
"""

from __future__ import annotations

from reference.neardup import components
from reference.sampling import candidates, representatives


def test_issue_18_case_1_round_2_offers_neither_b_nor_c() -> None:
    """issue 18 case 1: A sent in round 1; C (ingested later) links A and B: round 2 may
    sample none of A, B, C; D is untouched."""
    comp = components({"A": "a", "B": "b", "C": "b", "D": "d"}, [("a", "b")])
    assert candidates(comp, sent={"A"}, gold=set()) == {"D"}


def test_gold_is_left_out_but_not_its_near_duplicates() -> None:
    comp = components({"A": "a", "A2": "a", "B": "b"}, [])
    assert candidates(comp, sent=set(), gold={"A"}) == {"A2", "B"}


def test_relabel_and_include_labelled() -> None:
    comp = components({"A": "a", "A2": "a", "B": "b", "C": "c"}, [])
    assert candidates(comp, sent={"A", "B"}, gold={"B"}, relabel={"A", "B", "gone"}) == {"A", "B"}
    assert candidates(comp, sent={"A"}, gold={"B"}, include_labelled=True) == {"A", "A2", "B", "C"}
    assert candidates(comp, sent={"A"}, gold={"B"}) == {"C"}


def test_one_representative_per_component_smallest_id() -> None:
    comp = components({"A": "x", "B": "y", "C": "y", "D": "z"}, [("x", "y")])
    assert representatives({"B", "C", "D"}, comp) == {"B", "D"}
    assert representatives({"C", "D"}, comp) == {"C", "D"}
