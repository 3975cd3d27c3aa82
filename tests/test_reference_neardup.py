"""Hand-worked cases of the near-duplicate component reference (tests/reference/neardup.py).

docs/concepts/near-duplicates.md, "Near duplicates": the near-duplicate component of a
document at a version follows the merges recorded in ``dup_merges``.
"""

from __future__ import annotations

from reference.neardup import component_names, components


def test_issue_18_case_1_shape() -> None:
    """issue 18 case 1: A alone in round 1; B then C ingested, C close to A and B, B's group
    the smaller: C joins B's group and A's group is merged into it. All three are one
    component, named b."""
    groups = {"A": "a", "B": "b", "C": "b"}
    merges = [("a", "b")]
    assert components(groups, merges) == {d: frozenset("ABC") for d in "ABC"}
    assert component_names(groups, merges) == {"A": "b", "B": "b", "C": "b"}


def test_without_merges_the_stored_groups_are_the_components() -> None:
    groups = {"A": "a", "A2": "a", "B": "b"}
    assert components(groups, []) == {
        "A": frozenset({"A", "A2"}), "A2": frozenset({"A", "A2"}), "B": frozenset({"B"})
    }  # fmt: skip
    assert component_names(groups, []) == groups


def test_merges_chain_through_groups_without_documents() -> None:
    """A merge chain a -> m -> r joins a and r even when no document of the version is in
    m (a row of dup_merges per merge, not per document)."""
    groups = {"A": "a", "R": "r", "X": "x"}
    merges = [("a", "m"), ("m", "r")]
    assert components(groups, merges)["A"] == frozenset({"A", "R"})
    assert components(groups, merges)["X"] == frozenset({"X"})
    assert component_names(groups, merges) == {"A": "r", "R": "r", "X": "x"}


def test_two_groups_merged_into_one_root() -> None:
    groups = {"A": "a", "B": "b", "C": "c", "D": "d"}
    merges = [("c", "a"), ("b", "a")]
    comp = components(groups, merges)
    assert comp["B"] == comp["C"] == frozenset("ABC") and comp["D"] == frozenset("D")
