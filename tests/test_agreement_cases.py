"""Agreement counts the votes gold is made of, pairs each span once, resamples documents, and
reports each annotator's agreement with gold (issue 18 cases 3 and 8; README, Agreement)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from corpus.iaa.compute import compute_agreement
from corpus.iaa.span_stance import span_stance_kappa, stance_pairs

STANCES = ["supportive", "opposed", "neutral"]
ISSUES = ["trade", "taiwan"]


def ann(
    doc: str, who: str, stance: str | None, aid: int, when: str = "2026-01-01T10:00:00Z",
    *, cancelled: bool = False,
) -> dict[str, Any]:  # fmt: skip
    return {"doc_id": doc, "annotator": who, "stance": stance, "annotation_id": aid,
            "cancelled": cancelled, "lead_time": 5.0, "created_at": when,
            "updated_at": when}  # fmt: skip


def span(
    doc: str, who: str, aid: int, start: int, end: int, issue: str = "trade",
    stance: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    return {"doc_id": doc, "annotator": who, "annotation_id": aid, "start": start, "end": end,
            "issue": issue, "stance": stance, "from_prediction": False}  # fmt: skip


def report(rows: list[dict[str, Any]], spans: list[dict[str, Any]] = (), **kw: Any) -> Any:  # type: ignore[assignment]
    docs = {r["doc_id"] for r in rows}
    return compute_agreement(rows, list(spans), lengths=dict.fromkeys(docs, 60),
                             stance_labels=STANCES, issue_labels=ISSUES, **kw)  # fmt: skip


# --- case 3: the votes -------------------------------------------------------------------------


def test_a_later_skip_does_not_erase_the_vote() -> None:
    """Issue 18 case 3: agreement and gold count different votes. a answers, then later skips
    the same task; the answer still votes (as in adjudication), so the document has two
    annotators and a is not counted as having skipped it (README, Agreement: "a skip is not
    a vote")."""
    rows = [
        ann("d", "a", "opposed", 1, "2026-01-01T10:00:00Z"),
        ann("d", "a", None, 2, "2026-01-02T10:00:00Z", cancelled=True),
        ann("d", "b", "opposed", 3),
    ]
    r = report(rows, bootstrap=0)
    assert r.multi_annotated == 1
    a = next(x for x in r.per_annotator if x.annotator == "a")
    assert (a.documents, a.skipped) == (1, 0)
    assert r.confusion[1][1] == 2  # the opposed/opposed pair, both directions


def test_equal_times_the_higher_annotation_id_votes_in_agreement() -> None:
    """Issue 18 case 3: two annotations of a with equal updated_at; the higher annotation id
    votes whatever the row order (adjudication's tie-break)."""
    rows = [
        ann("d", "a", "opposed", 7),
        ann("d", "a", "supportive", 3),
        ann("d", "b", "opposed", 9),
    ]
    for order in (rows, rows[::-1]):
        r = report(order, bootstrap=0)
        assert r.confusion[1][1] == 2 and r.confusion[0][1] == 0


def test_skips_still_counted_per_annotator() -> None:
    """A document an annotator only skipped is counted in their "skipped"."""
    rows = [
        ann("d", "a", None, 1, cancelled=True),
        ann("d", "a", None, 2, "2026-01-03T00:00:00Z", cancelled=True),
        ann("e", "a", "neutral", 3),
        ann("d", "b", "neutral", 4),
    ]
    a = next(x for x in report(rows, bootstrap=0).per_annotator if x.annotator == "a")
    assert (a.documents, a.skipped) == (1, 1)


# --- case 8: span stance ---------------------------------------------------------------------


def test_one_long_span_overlapping_three_short_ones_pairs_once() -> None:
    """Issue 18 case 8: span-stance kappa counts one span many times. a marks three short
    trade spans, b one long one over all three: one pair (the tie in overlap goes to the
    earliest), not three. With two more documents the kappa is hand-computed: pairs
    (S,S), (O,S), (O,O) give p_o = 2/3, p_e = 4/9, kappa = 0.4 (README, Agreement)."""
    spans = [
        span("d1", "a", 1, 0, 10, stance="supportive"),
        span("d1", "a", 1, 15, 25, stance="opposed"),
        span("d1", "a", 1, 30, 40, stance="opposed"),
        span("d1", "b", 2, 0, 40, stance="supportive"),
        span("d2", "a", 3, 0, 10, stance="opposed"),
        span("d2", "b", 4, 0, 10, stance="supportive"),
        span("d3", "a", 5, 0, 10, stance="opposed"),
        span("d3", "b", 6, 5, 10, stance="opposed"),
    ]
    assert stance_pairs(["a", "b"], spans[:4]) == [("supportive", "supportive")]
    assert stance_pairs(["b", "a"], spans[:4]) == [("supportive", "supportive")]
    who = [(d, w) for d in ("d1", "d2", "d3") for w in "ab"]
    rows = [ann(d, w, "neutral", i) for i, (d, w) in enumerate(who, 1)]
    kappa = report(rows, spans, bootstrap=0).span_stance_kappa
    assert kappa.value == pytest.approx(0.4)
    first, second = ["supportive", "opposed", "opposed"], ["supportive", "supportive", "opposed"]
    assert kappa.value == pytest.approx(cohen_kappa_score(first, second))
    assert kappa.n == 3 and "3 span pairs" in (kappa.note or "")


def test_crossing_spans_matched_by_largest_overlap() -> None:
    """Each span at most once, the largest overlap first: a's [10,20] takes b's [5,20] (10
    characters), leaving a's [0,10] to b's [0,6]."""
    spans = [
        span("d", "a", 1, 0, 10, stance="supportive"),
        span("d", "a", 1, 10, 20, stance="opposed"),
        span("d", "b", 2, 5, 20, stance="opposed"),
        span("d", "b", 2, 0, 6, stance="supportive"),
        span("d", "b", 2, 0, 20, issue="taiwan", stance="neutral"),  # another issue: unmatched
    ]
    assert sorted(stance_pairs(["a", "b"], spans)) == [
        ("opposed", "opposed"), ("supportive", "supportive")
    ]  # fmt: skip


def test_span_stance_bootstrap_resamples_documents() -> None:
    """Issue 18 case 8: the bootstrap resamples documents, each with all its pairs (README,
    Agreement: "bootstrap 95% interval over documents"). With every pair in one document,
    every resample is that document: the interval is the estimate itself."""
    pairs = [("supportive", "supportive"), ("opposed", "supportive"), ("opposed", "opposed"),
             ("neutral", "neutral")]  # fmt: skip
    one = span_stance_kappa([pairs], np.random.default_rng(0), bootstrap=300, interval="percentile")
    assert one.n == 1 and one.value is not None
    assert one.low == one.value == one.high
    spread = span_stance_kappa([[p] for p in pairs] * 10, np.random.default_rng(0),
                               bootstrap=300, interval="percentile")  # fmt: skip
    assert spread.n == 40 and spread.value == pytest.approx(one.value)
    assert spread.low is not None and spread.high is not None and spread.low < spread.high


def test_span_stance_interval_over_documents_through_the_report() -> None:
    """Issue 18 case 8, through compute_agreement: four matched pairs in a single document
    give an interval equal to the estimate (resampling documents), not a spread (resampling
    pairs)."""
    stances = ["supportive", "opposed", "opposed", "neutral"]
    other = ["supportive", "supportive", "opposed", "neutral"]
    spans = [span("d", "a", 1, 10 * i, 10 * i + 5, stance=s) for i, s in enumerate(stances)]
    spans += [span("d", "b", 2, 10 * i, 10 * i + 5, stance=s) for i, s in enumerate(other)]
    rows = [ann("d", "a", "neutral", 1), ann("d", "b", "neutral", 2)]
    kappa = report(rows, spans, bootstrap=300, interval="percentile").span_stance_kappa
    assert kappa.value == pytest.approx(cohen_kappa_score(stances, other), abs=1e-4)
    assert kappa.n == 1 and kappa.low == kappa.value == kappa.high
