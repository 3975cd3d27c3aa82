"""The reference twin of span gold (tests/reference/spans.py): hand-worked cases, each
expected value worked out from docs/concepts/gold.md's "Adjudication" sentences; and property tests
comparing it with the real rule (corpus.labels.spans, and adjudication's ``majority``)."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st
from reference.spans import gold_spans, gold_stance

from corpus.adjudication import majority
from corpus.labels.spans import Mark, decide_spans
from corpus.models import AnnotationRow, SpanAnnotation

#         0         1         2         3         4
#         0123456789012345678901234567890123456789012345
TEXT = "tariffs on steel and tariffs on soybeans rose"
STEEL = (0, 16)  # "tariffs on steel"
SOY = (21, 40)  # "tariffs on soybeans"
BOTH = (0, 40)


def test_text_offsets() -> None:
    assert TEXT[slice(*STEEL)] == "tariffs on steel" and TEXT[slice(*SOY)] == "tariffs on soybeans"


def test_gold_stance_most_votes_tie_and_no_vote() -> None:
    assert gold_stance({"a": "opposed", "b": "opposed", "c": "neutral"}) == "opposed"
    assert gold_stance({"a": "opposed", "b": "neutral", "c": None}) is None  # tie
    assert gold_stance({"a": None, "b": "neutral"}) == "neutral"  # None is no vote
    assert gold_stance({"a": None}) is None and gold_stance({}) is None


def test_case_2_majority_keeps_both_short_spans() -> None:
    """issue 18 case 2: majority gold drops spans a majority marked. X marks one long span,
    Y and Z each mark the two short ones: docs/concepts/gold.md's runs keep both short spans."""
    marks = {
        "x": [(*BOTH, "trade", None)],
        "y": [(*STEEL, "trade", None), (*SOY, "trade", None)],
        "z": [(*STEEL, "trade", None), (*SOY, "trade", None)],
    }
    # runs of characters marked by >= 2 of 3: [0,16) and [21,40); " and " only by x
    assert gold_spans(marks) == [(*STEEL, "trade", None, 3), (*SOY, "trade", None, 3)]


def test_case_2_with_four_annotators_long_span_does_not_win_a_run() -> None:
    """issue 18 case 2, 4 annotators: x's long span overlaps both runs, so each run's boundary
    comes from the spans overlapping only it (docs/concepts/gold.md: "only those overlapping no
    other run")."""
    marks = {
        "x": [(*BOTH, "trade", None)],
        "y": [(*STEEL, "trade", None)],
        "z": [(*SOY, "trade", None)],
        "w": [],
    }
    assert gold_spans(marks) == [(*STEEL, "trade", None, 2), (*SOY, "trade", None, 2)]


def test_kept_with_half_dropped_below_half() -> None:
    two_of_four = {"a": [(0, 5, "t", None)], "b": [(0, 5, "t", None)], "c": [], "d": []}
    assert gold_spans(two_of_four) == [(0, 5, "t", None, 2)]
    one_of_three = {"a": [(0, 5, "t", None)], "b": [], "c": []}
    assert gold_spans(one_of_three) == []
    # the same characters with another label are another span
    other = {"a": [(0, 5, "t", None)], "b": [(0, 5, "h", None)], "c": []}
    assert gold_spans(other) == []


def test_touching_spans_are_two_chains() -> None:
    # 1 of 2 is half; [0,5) and [5,10) share no character: two gold spans
    marks = {"a": [(0, 5, "t", None)], "b": [(5, 10, "t", None)]}
    assert gold_spans(marks) == [(0, 5, "t", None, 1), (5, 10, "t", None, 1)]


def test_boundary_most_annotators() -> None:
    marks = {"a": [(0, 11, "t", None)], "b": [(0, 11, "t", None)], "c": [(0, 16, "t", None)]}
    assert gold_spans(marks) == [(0, 11, "t", None, 3)]


def test_boundary_ties_most_marked_characters_then_earliest_then_shortest() -> None:
    # 3 annotators, half is 2: [3,5) and [10,12) are two runs; b's span reaches both, so
    # each run takes the span overlapping only it
    marks = {"a": [(0, 5, "t", None)], "b": [(3, 12, "t", None)], "c": [(10, 20, "t", None)]}
    assert gold_spans(marks) == [(0, 5, "t", None, 2), (10, 20, "t", None, 2)]
    # with 6 annotators (threshold 3) nothing is kept
    six = {**marks, "d": [], "e": [], "f": []}
    assert gold_spans(six) == []
    # 2 annotators, threshold 1: one run [0,20); (3,12) holds the most twice-marked characters
    two = {"a": [(0, 5, "t", None), (10, 20, "t", None)], "b": [(3, 12, "t", None)]}
    assert gold_spans(two) == [(3, 12, "t", None, 2)]
    four = {
        "a": [(0, 6, "t", None)],
        "b": [(4, 15, "t", None)],
        "c": [(10, 20, "t", None)],
        "d": [(12, 14, "t", None)],
    }
    # runs of >= 2 of 4: [4,6) and [10,15); (4,15) reaches both, so [4,6) takes (0,6) and
    # [10,15) chooses between (10,20) and (12,14): both hold [12,14), the characters most of
    # them marked; the earliest start wins
    assert gold_spans(four) == [(0, 6, "t", None, 2), (10, 20, "t", None, 3)]
    # the same start: the shortest
    same_start = {"a": [(2, 9, "t", None)], "b": [(2, 6, "t", None)]}
    assert gold_spans(same_start) == [(2, 6, "t", None, 2)]


SAME_BOUNDARY = {
    "w0": [(5, 9, "t", None), (10, 18, "t", None)],
    "w1": [(13, 16, "t", None)],
    "w2": [(4, 11, "t", None)],
    "w3": [(1, 7, "t", None)],
    "w4": [(2, 3, "t", None), (8, 15, "t", None)],
}


def test_runs_given_the_same_boundary_are_one_span() -> None:
    """docs/concepts/gold.md "Adjudication", Spans: "runs given the same boundary, one"."""
    # 3 of 5 mark [5,7), [8,9), [10,11) and [13,15). Every span over [8,9) or [10,11) also
    # overlaps another run, so each takes from all its spans: (4,11), by the earliest start
    # among boundaries holding all three-times-marked characters. One span, supported by
    # w0, w2, w4 (w0 through (5,9) and (10,18)).
    assert gold_spans(SAME_BOUNDARY) == [
        (1, 7, "t", None, 3),
        (4, 11, "t", None, 3),
        (13, 16, "t", None, 3),
    ]


def test_span_stance_votes_and_tie() -> None:
    marks = {
        "a": [(0, 5, "t", "opposed")],
        "b": [(0, 5, "t", "opposed")],
        "c": [(0, 5, "t", "neutral")],
    }
    assert gold_spans(marks) == [(0, 5, "t", "opposed", 3)]
    tie = {"a": [(0, 5, "t", "opposed")], "b": [(0, 5, "t", "neutral")], "c": [(0, 5, "t", None)]}
    assert gold_spans(tie) == [(0, 5, "t", None, 3)]
    # an annotator votes with their span overlapping the gold span most
    # c votes with (2,6), which overlaps the gold span (0,5) more than (0,2) does
    most = {
        "a": [(0, 5, "t", "opposed")],
        "b": [(0, 5, "t", "neutral")],
        "c": [(0, 2, "t", "neutral"), (2, 6, "t", "opposed")],
    }
    assert gold_spans(most) == [(0, 5, "t", "opposed", 3)]
    # a span without a stance does not vote when the annotator has one with a stance
    stanced = {"a": [(0, 5, "t", None), (4, 8, "t", "neutral")], "b": [(0, 5, "t", "opposed")]}
    assert gold_spans(stanced) == [(0, 5, "t", None, 2)]


def test_case_2_span_stances_follow_each_run() -> None:
    """issue 18 case 2: each kept short span carries the stance its annotators gave it."""
    marks = {
        "x": [(*BOTH, "trade", "opposed")],
        "y": [(*STEEL, "trade", "opposed"), (*SOY, "trade", "supportive")],
        "z": [(*STEEL, "trade", "opposed"), (*SOY, "trade", "supportive")],
    }
    assert gold_spans(marks) == [(*STEEL, "trade", "opposed", 3), (*SOY, "trade", "supportive", 3)]


# --- property tests: the reference against the real code ---------------------------------

SHORT = "abcdefghijklmnopqrstuvwxyz0123"  # 30 characters
LABELS = st.sampled_from(["t", "h"])
STANCES = st.sampled_from([None, "o", "n"])


@st.composite
def one_annotator(draw: st.DrawFn) -> list[tuple[int, int, str, str | None]]:
    spans: dict[tuple[int, int, str], str | None] = {}
    for _ in range(draw(st.integers(0, 3))):
        start = draw(st.integers(0, len(SHORT) - 1))
        end = draw(st.integers(start + 1, min(len(SHORT), start + 12)))
        spans.setdefault((start, end, draw(LABELS)), draw(STANCES))  # one span per key
    return [(*key, stance) for key, stance in spans.items()]


DOCUMENTS = st.lists(one_annotator(), min_size=2, max_size=4).map(
    lambda marks: {f"w{i}": m for i, m in enumerate(marks)}
)


def real_gold_spans(marks: dict[str, list[tuple[int, int, str, str | None]]]) -> list[Any]:
    decided = decide_spans(
        {
            who: [Mark(who, i, s, e, issue, stance) for s, e, issue, stance in spans]
            for i, (who, spans) in enumerate(marks.items())
        }
    )
    out = [(d.start, d.end, d.issue, d.stance.label, len(d.votes)) for d in decided]
    return sorted(out, key=lambda g: (g[0], g[1], g[2], g[3] or "", g[4]))


@settings(max_examples=300)
@given(DOCUMENTS)
@example(  # issue 18 case 2
    {
        "x": [(0, 20, "t", None)],
        "y": [(0, 8, "t", None), (12, 20, "t", None)],
        "z": [(0, 8, "t", None), (12, 20, "t", None)],
    }
)
@example(SAME_BOUNDARY)
@example(  # a middle run whose spans all reach another run
    {
        "a": [(0, 12, "t", None)],
        "b": [(6, 20, "t", None)],
        "c": [(0, 4, "t", None)],
        "d": [(16, 20, "t", None)],
    }
)
def test_real_span_rule_matches_the_reference(
    marks: dict[str, list[tuple[int, int, str, str | None]]],
) -> None:
    """corpus.labels.spans.decide_spans gives docs/concepts/gold.md's gold spans (the
    reference's)."""
    assert real_gold_spans(marks) == gold_spans(marks)


def rows_of(
    marks: dict[str, list[tuple[int, int, str, str | None]]], stances: list[str | None]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows, spans = [], []
    for i, who in enumerate(marks):
        rows.append(
            AnnotationRow(
                doc_id="d", round="r", annotator=who, annotation_id=i, task_id=1,
                stance=stances[i % len(stances)], cancelled=False, ground_truth=False,
                lead_time=None, created_at="2025", updated_at="2025", n_spans=len(marks[who]),
            ).model_dump()
        )  # fmt: skip
        for s, e, issue, stance in marks[who]:
            spans.append(
                SpanAnnotation(
                    doc_id="d", round="r", annotator=who, annotation_id=i, region_id=None,
                    start=s, end=e, text=SHORT[s:e], issue=issue, stance=stance,
                    from_prediction=False,
                ).model_dump()
            )  # fmt: skip
    return rows, spans


@settings(max_examples=200)
@given(DOCUMENTS, st.lists(STANCES, min_size=1, max_size=4))
def test_majority_gold_matches_the_reference(
    marks: dict[str, list[tuple[int, int, str, str | None]]], stances: list[str | None]
) -> None:
    """Adjudication's ``majority`` (document stance and gold spans) against the reference."""
    rows, spans = rows_of(marks, stances)
    out = majority(rows, spans, {"d": SHORT})
    (gold,) = out.gold_annotations
    assert gold.stance == gold_stance({r["annotator"]: r["stance"] for r in rows})
    got = [
        (g.start, g.end, g.issue, g.stance, int(g.support.split("/")[0])) for g in out.gold_spans
    ]
    assert sorted(got, key=lambda g: (g[0], g[1], g[2], g[3] or "", g[4])) == gold_spans(marks)
    assert all(g.support.endswith(f"/{len(marks)}") for g in out.gold_spans)
