"""Bootstrap intervals that say what they rest on (corpus.iaa.intervals): zero-valued
replicates kept, undefined ones counted and explained, too few said instead of dropped, BCa
from scipy where defined, bounds equal to the estimate noted; cases with known answers."""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
import pytest
from scipy import stats as scipy_stats

from corpus.iaa import intervals
from corpus.iaa.compute import compute_agreement
from corpus.iaa.intervals import MIN_DEFINED, Items, bootstrap_metric
from corpus.iaa.report import fmt
from corpus.iaa.stats import Float, bootstrap_weights, nominal_alpha, weighted_nominal_alpha

STANCES = ["supportive", "opposed", "neutral", "mixed"]


def mean_items(values: np.ndarray[Any, Any]) -> Items:
    """The mean of 0/1 items, as a statistic of weights over the items."""

    def mean(w: Float) -> Float:
        out: Float = (w @ values) / w.sum(axis=1)
        return out

    return Items(np.arange(len(values), dtype=np.int64), len(values), mean)


def test_a_proportion_has_the_textbook_interval() -> None:
    """400 items, half of them 1: the bootstrap distribution of the mean is Binomial(400,
    0.5)/400, so both intervals are 0.5 ± 1.96 · sqrt(0.25 / 400) = [0.451, 0.549]."""
    values = np.array([1.0, 0.0] * 200)
    items = mean_items(values)
    reps = items.statistic(bootstrap_weights(np.random.default_rng(0), 400, 4000))
    for method in ("bca", "percentile"):
        m = bootstrap_metric(0.5, reps, 400, items=items, method=method)
        assert m.method == ("BCa" if method == "bca" else "percentile")
        assert m.low == pytest.approx(0.451, abs=0.006) and m.high == pytest.approx(
            0.549, abs=0.006
        )
        assert m.undefined == 0 and m.replicates == 4000 and m.interval_note is None


def test_bca_is_scipys_bca_on_the_same_resamples() -> None:
    """Given the bootstrap distribution scipy draws, bootstrap_metric gives scipy's BCa
    interval exactly (the jackknife and the correction are scipy's)."""
    rng = np.random.default_rng(3)
    values = (rng.random(300) < 0.2).astype(float)  # skewed: BCa differs from percentile
    items = mean_items(values)
    direct = scipy_stats.bootstrap(
        (items.ids,), items.over_indices, vectorized=True, method="BCa", n_resamples=2000,
        rng=np.random.default_rng(9),
    )  # fmt: skip
    m = bootstrap_metric(
        float(values.mean()), direct.bootstrap_distribution, 300, items=items, method="bca"
    )
    assert m.method == "BCa"
    assert m.low == round(float(direct.confidence_interval.low), 4)
    assert m.high == round(float(direct.confidence_interval.high), 4)
    percentile = bootstrap_metric(
        float(values.mean()), direct.bootstrap_distribution, 300, items=items, method="percentile"
    )
    assert (percentile.low, percentile.high) != (m.low, m.high)


def test_replicates_of_exactly_zero_are_kept() -> None:
    """alpha is 0.0 when the observed disagreement equals the expected one, e.g. for the
    coincidences [[1, 2], [2, 2]]: a value, not an undefined replicate (the old code's
    ``weighted_nominal_alpha(c) or np.nan`` dropped it)."""
    zero = np.array([[1.0, 2.0], [2.0, 2.0]])
    assert weighted_nominal_alpha(zero) == 0.0
    assert nominal_alpha(np.stack([zero, zero * 3, np.eye(2)]))[0] == 0.0
    reps = np.array([0.0] * 600 + [0.2] * 400)
    m = bootstrap_metric(0.05, reps, 50, method="percentile")
    assert m.undefined == 0 and m.low == 0.0 and m.high == 0.2
    assert bootstrap_metric(0.0, reps, 50, method="percentile").value == 0.0


def test_undefined_replicates_are_counted_and_explained() -> None:
    reps = np.concatenate([np.full(30, np.nan), np.linspace(0.2, 0.8, 970)])
    m = bootstrap_metric(0.5, reps, 80, method="percentile", undefined="a resample of one class")
    assert (m.replicates, m.undefined) == (1000, 30)
    assert m.interval_note is not None
    assert "30 of 1000 resamples undefined (a resample of one class)" in m.interval_note
    assert "the interval is over the others" in m.interval_note
    assert m.low is not None and m.low == pytest.approx(0.215, abs=1e-3)


def test_too_few_defined_replicates_say_so_instead_of_an_interval() -> None:
    reps = np.concatenate([np.full(1000 - MIN_DEFINED + 1, np.nan), np.full(MIN_DEFINED - 1, 0.4)])
    m = bootstrap_metric(0.4, reps, 12, undefined="a resample of one class")
    assert m.value == 0.4 and m.low is None and m.high is None and m.method is None
    assert m.interval_note == (
        f"no interval: only {MIN_DEFINED - 1} of 1000 resamples give a value, and an interval "
        f"needs {MIN_DEFINED} ({1000 - MIN_DEFINED + 1} of 1000 resamples undefined (a resample "
        "of one class))"
    )
    assert "no interval: only" in fmt(m)
    none = bootstrap_metric(0.4, [], 12)
    assert none.interval_note == "no interval: 0 resamples"


def ann(doc: str, who: str, stance: str, aid: int) -> dict[str, Any]:
    return {"doc_id": doc, "annotator": who, "stance": stance, "annotation_id": aid,
            "cancelled": False, "lead_time": 10.0, "updated_at": "2026-01-01"}  # fmt: skip


def test_perfect_agreement_notes_the_bound_equal_to_the_estimate() -> None:
    rows = [ann(f"d{i}", w, STANCES[i % 4], 2 * i + j) for i in range(40) for j, w in
            enumerate("ab")]  # fmt: skip
    report = compute_agreement(rows, [], lengths={}, stance_labels=STANCES, issue_labels=["x"])
    alpha = report.stance_alpha
    assert alpha.value == 1.0 and alpha.low == 1.0 and alpha.high == 1.0
    assert alpha.interval_note == (
        "percentile interval (BCa undefined: every resample gives the same value); "
        "both bounds equal the estimate: (nearly) every resample gives it"
    )
    assert alpha.method == "percentile"
    # one disagreement: the bound is the maximum, 1.0, but not the estimate: no note, BCa
    rows[1]["stance"] = STANCES[1]
    report = compute_agreement(rows, [], lengths={}, stance_labels=STANCES, issue_labels=["x"])
    kappa = report.stance_pairs[0].kappa
    assert kappa.value is not None and kappa.value < 1 and kappa.high == 1.0
    assert kappa.method == "BCa" and kappa.interval_note is None


def test_a_realistic_interval_is_much_narrower_than_minus_one_to_one() -> None:
    """60 documents, three annotators each right 80% of the time: alpha is about 0.45 and
    its 95% interval spans well under half of [-1, 1]."""
    rnd = random.Random(4)
    rows, aid = [], 0
    for i in range(60):
        truth = rnd.choice(STANCES)
        for who in "abc":
            aid += 1
            rows.append(
                ann(f"d{i}", who, truth if rnd.random() < 0.8 else rnd.choice(STANCES), aid)
            )
    report = compute_agreement(rows, [], lengths={}, stance_labels=STANCES, issue_labels=["x"])
    for m in (report.stance_alpha, report.stance_fleiss, *(p.kappa for p in report.stance_pairs)):
        assert m.value is not None and m.low is not None and m.high is not None
        assert -1 < m.low < m.value < m.high < 1 and m.high - m.low < 0.6, m
        assert m.method == "BCa" and m.replicates == 1000 and m.undefined == 0


def test_bca_is_skipped_above_its_size_limit_and_the_metric_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(intervals, "BCA_MAX_ITEMS", 100)
    values = np.array([1.0, 0.0, 0.0] * 100)
    items = mean_items(values)
    reps = items.statistic(bootstrap_weights(np.random.default_rng(1), 300, 500))
    m = bootstrap_metric(1 / 3, reps, 300, items=items)
    assert m.method == "percentile" and m.interval_note is not None
    assert "BCa's jackknife is skipped above 100 items" in m.interval_note


def test_a_statistic_without_a_value_has_no_interval() -> None:
    m = bootstrap_metric(math.nan, [0.1] * 500, 3, note="one class")
    assert m.value is None and m.low is None and m.note == "one class"
    with pytest.raises(ValueError, match="method"):
        bootstrap_metric(0.1, [0.1] * 500, 3, method="bootstrap-t")
