"""Hand-worked cases of the reference label map (tests/reference/mapping.py).

docs/how-to/schema-migrations.md "Labels that change between rounds" / "A label is mapped once";
issue 18 case 7.
"""

from __future__ import annotations

import pytest
from reference.mapping import RELABEL, map_label, map_row

# v1 {a, b, x, s}  -> v2: rename b -> c, remove x, split s   -> {a, c, s1, s2}
# v2 {a, c, s1, s2} -> v3: rename a -> b (b is a name v1 had), add x again -> {b, c, x, s1, s2}
CHAIN = [
    {
        "from": 1,
        "to": 2,
        "issue": [
            {"rename": {"from": "b", "to": "c"}},
            {"remove": "x"},
            {"split": {"from": "s", "into": ["s1", "s2"]}},
        ],
        "span_stance": [{"remove": "neutral"}],
    },
    {
        "from": 2,
        "to": 3,
        "issue": [{"rename": {"from": "a", "to": "b"}}, {"rename": {"from": "s1", "to": "x"}}],
        "stance": [{"merge": {"from": ["mixed", "neutral"], "into": "neutral"}}],
    },
]


def test_each_migration_is_applied_in_turn() -> None:
    assert map_label(CHAIN, 1, 3, "issue", "a") == "b"  # a -> a -> b
    assert map_label(CHAIN, 1, 3, "issue", "b") == "c"  # b -> c -> c
    assert map_label(CHAIN, 1, 2, "issue", "b") == "c"
    assert map_label(CHAIN, 1, 3, "issue", "x") is None  # removed in v2
    assert map_label(CHAIN, 1, 3, "issue", "s") == RELABEL  # split in v2, stays split
    assert map_label(CHAIN, 1, 3, "stance", "mixed") == "neutral"
    assert map_label(CHAIN, 1, 3, "span_stance", "neutral") is None
    assert map_label(CHAIN, 1, 3, "span_stance", None) is None


def test_a_rename_chain_moves_a_label_once() -> None:
    """issue 18 case 7: a -> b then b -> c must not move a label already at v3 again."""
    # a v3 row holding b (it was a in v1) is already in the current version: it stays b
    assert map_label(CHAIN, 3, 3, "issue", "b") == "b"
    # a v2 row holding c (it was b in v1) moves only through v2 -> v3
    assert map_label(CHAIN, 2, 3, "issue", "c") == "c"
    # while a v1 row holding b moves to c: the same name means different labels by version
    assert map_label(CHAIN, 1, 3, "issue", "b") == "c"


def test_a_label_reusing_a_removed_name_is_kept() -> None:
    """issue 18 case 7: x is removed in v2 and comes back in v3 (from s1)."""
    assert map_label(CHAIN, 2, 3, "issue", "s1") == "x"
    assert map_label(CHAIN, 3, 3, "issue", "x") == "x"
    row, relabel = map_row(
        CHAIN, 3, "spans", {"issue": "x", "stance": None, "schema_version": 3}, made_under=1
    )
    assert row == {"issue": "x", "stance": None, "schema_version": 3} and relabel is None


def test_rows_are_mapped_from_their_own_version_and_then_carry_the_current_one() -> None:
    span = {"doc_id": "d", "issue": "b", "stance": "neutral", "schema_version": 1}
    assert map_row(CHAIN, 3, "spans", span, made_under=1) == (
        {"doc_id": "d", "issue": "c", "stance": None, "schema_version": 3},
        None,
    )
    # a row stored before versions were recorded is in the version it was made under
    legacy = {"doc_id": "d", "issue": "a", "stance": None, "schema_version": None}
    assert map_row(CHAIN, 3, "gold_spans", legacy, made_under=2)[0] == {
        "doc_id": "d", "issue": "b", "stance": None, "schema_version": 3,
    }  # fmt: skip
    assert map_row(CHAIN, 3, "spans", {**span, "issue": "x"}, made_under=1) == (None, None)
    assert map_row(CHAIN, 3, "spans", {**span, "issue": "s"}, made_under=1) == (None, "s")
    vote = {"stance": "mixed", "schema_version": 2}
    assert map_row(CHAIN, 3, "annotations", vote, made_under=1)[0] == {
        "stance": "neutral", "schema_version": 3,
    }  # fmt: skip


def test_mapping_a_row_twice_is_mapping_it_once() -> None:
    span = {"doc_id": "d", "issue": "a", "stance": None, "schema_version": 1}
    once, _ = map_row(CHAIN, 3, "spans", span, made_under=1)
    assert once is not None
    assert map_row(CHAIN, 3, "spans", once, made_under=1) == (once, None)


def test_a_missing_step_is_an_error() -> None:
    with pytest.raises(LookupError):
        map_label(CHAIN[1:], 1, 3, "issue", "a")
