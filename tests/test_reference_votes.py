"""The vote rule's reference (tests/reference/votes.py) on hand-worked cases, and the real
rule, agreement and adjudication compared with it on random rows (docs/concepts/gold.md,
Adjudication, "Votes"; issue 18 case 3: agreement and gold count different votes)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.reference.votes import effective_votes, skipped_only


def row(
    aid: int,
    who: str,
    stance: str | None,
    when: str | None = "2026-01-01T10:00:00Z",
    *,
    doc: str = "d",
    cancelled: bool = False,
    created: str | None = None,
) -> dict[str, Any]:
    return {
        "doc_id": doc, "round": "r", "annotator": who, "annotation_id": aid,
        "cancelled": cancelled, "stance": None if cancelled else stance,
        "created_at": created if created is not None else when, "updated_at": when,
    }  # fmt: skip


def ids(votes: dict[str, dict[str, dict[str, Any]]]) -> dict[str, dict[str, int]]:
    return {d: {w: r["annotation_id"] for w, r in by.items()} for d, by in votes.items()}


# --- the reference on hand-worked cases ---------------------------------------------------------


def test_a_later_skip_leaves_the_earlier_answer_standing() -> None:
    """Issue 18 case 3: a votes, then later skips the same task; the answer still votes."""
    rows = [
        row(1, "a", "opposed", "2026-01-01T10:00:00Z"),
        row(2, "a", None, "2026-01-02T10:00:00Z", cancelled=True),
    ]
    assert ids(effective_votes(rows)) == {"d": {"a": 1}}
    assert skipped_only(rows) == {}


def test_equal_times_the_higher_annotation_id_votes() -> None:
    """Two annotations with equal updated_at: the higher annotation id votes, whatever the order."""
    rows = [row(7, "a", "opposed"), row(3, "a", "supportive")]
    assert ids(effective_votes(rows)) == {"d": {"a": 7}}
    assert ids(effective_votes(rows[::-1])) == {"d": {"a": 7}}


def test_times_compare_as_instants_not_text() -> None:
    """Label Studio leaves out zero microseconds: 10:00:00Z is before 10:00:00.5Z (as text it
    sorts after), and 12:00+02:00 is before 11:00Z."""
    rows = [row(9, "a", "opposed", "2026-01-01T10:00:00Z"),
            row(1, "a", "neutral", "2026-01-01T10:00:00.500000Z")]  # fmt: skip
    assert ids(effective_votes(rows)) == {"d": {"a": 1}}
    rows = [row(9, "a", "opposed", "2026-01-01T12:00:00+02:00"),
            row(1, "a", "neutral", "2026-01-01T11:00:00Z")]  # fmt: skip
    assert ids(effective_votes(rows)) == {"d": {"a": 1}}


def test_updated_at_else_created_at_and_no_time_is_oldest() -> None:
    rows = [
        row(5, "a", "opposed", None, created="2026-01-03T00:00:00Z"),
        row(4, "a", "neutral", "2026-01-02T00:00:00Z", created="2026-01-01T00:00:00Z"),
    ]
    assert ids(effective_votes(rows)) == {"d": {"a": 5}}  # created 3 Jan beats updated 2 Jan
    rows = [row(9, "a", "opposed", None), row(2, "a", "neutral", "2020-01-01")]
    assert ids(effective_votes(rows)) == {"d": {"a": 2}}  # a naive date is UTC, not absent


def test_only_skips_no_vote_and_listed() -> None:
    rows = [
        row(1, "a", "opposed", doc="x"),
        row(2, "b", None, doc="x", cancelled=True),
        row(3, "b", None, doc="y", cancelled=True),
        row(4, "b", None, doc="y", cancelled=True, when="2026-02-01T00:00:00Z"),
    ]
    assert ids(effective_votes(rows)) == {"x": {"a": 1}, "y": {}}
    assert skipped_only(rows) == {"b": ["x", "y"]}


def test_an_edit_after_a_skip_votes_and_annotators_are_separate() -> None:
    rows = [
        row(1, "a", None, "2026-01-01T00:00:00Z", cancelled=True),
        row(2, "a", "neutral", "2026-01-02T00:00:00Z"),
        row(3, "b", "opposed", "2026-01-05T00:00:00Z"),
        row(4, "b", "neutral", "2026-01-04T00:00:00Z"),  # an older answer, a higher id
    ]
    assert ids(effective_votes(rows)) == {"d": {"a": 2, "b": 3}}


# --- the real rule, agreement and adjudication against the reference --------------------------

TIMES = [None, "2026-01-01", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00.000001Z",
         "2026-01-01T01:00:00+01:00", "2026-01-02T00:00:00Z"]  # fmt: skip

rows_strategy = st.lists(
    st.tuples(
        st.sampled_from(["d1", "d2", "d3"]),
        st.sampled_from(["a", "b", "c"]),
        st.booleans(),
        st.sampled_from(["opposed", "neutral", "supportive"]),
        st.sampled_from(TIMES),
        st.sampled_from(TIMES),
    ),
    max_size=12,
).map(
    lambda xs: [
        row(i + 1, who, stance, upd, doc=doc, cancelled=skip, created=cre or "")
        for i, (doc, who, skip, stance, upd, cre) in enumerate(xs)
    ]
)


@settings(max_examples=200)
@given(rows_strategy, st.randoms(use_true_random=False))
def test_real_rule_matches_the_reference(rows: list[dict[str, Any]], rnd: Any) -> None:
    """corpus.labels.votes gives the reference's votes and skip-only documents, in any row order
    (docs/concepts/gold.md, Adjudication, "Votes")."""
    from corpus.labels.votes import skipped_only as real_skipped_only
    from corpus.labels.votes import voting_annotations

    rnd.shuffle(rows)
    assert ids(voting_annotations(rows)) == ids(effective_votes(rows))
    assert {w: sorted(d) for w, d in real_skipped_only(rows).items()} == skipped_only(rows)


@settings(max_examples=100)
@given(rows_strategy)
def test_agreement_and_adjudication_count_the_same_votes(rows: list[dict[str, Any]]) -> None:
    """Issue 18 case 3: agreement's inputs and adjudication's inputs are the reference's votes,
    and agreement's per-annotator counts are the documents voted and the documents only
    skipped (docs/concepts/agreement.md, Agreement: "a skip is not a vote")."""
    from corpus.adjudication.core import documents
    from corpus.iaa.compute import agreement_votes, compute_agreement

    expected = ids(effective_votes(rows))
    docs, skipped = documents(rows, [], dict.fromkeys(expected, "some text"))
    adjudication = {d.doc_id: {w: r["annotation_id"] for w, r in d.annotations.items()}
                    for d in docs} | {d: {} for d in skipped}  # fmt: skip
    assert adjudication == expected
    assert ids(agreement_votes(rows).by_doc) == expected

    report = compute_agreement(
        rows, [], lengths=dict.fromkeys(expected, 9), bootstrap=0,
        stance_labels=["opposed", "neutral", "supportive"], issue_labels=["trade"],
    )  # fmt: skip
    only_skipped = skipped_only(rows)
    for a in report.per_annotator:
        assert a.documents == sum(a.annotator in by for by in expected.values())
        assert a.skipped == len(only_skipped.get(a.annotator, []))
    assert report.documents == sum(bool(by) for by in expected.values())
