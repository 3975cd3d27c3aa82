"""Inter-annotator agreement for a round: document stance, issue spans, span stance.

Statistics come from well-kept libraries: Krippendorff's alpha from ``krippendorff``,
Fleiss' kappa from ``statsmodels``, Cohen's kappa from scikit-learn. Two things no library
does are written here: span matching (exact and overlap F1) and character-level alpha over
run-length segments (a document's characters between span boundaries share one pattern,
so each segment is a weighted unit; :func:`weighted_nominal_alpha` equals the library's
alpha on the expanded data, which the tests check), and the bootstrap replicates of every
figure, vectorised over all resamples at once. Every figure carries a bootstrap 95% interval
over documents (:mod:`corpus.iaa.intervals`) and the number of items it rests on; a figure
that cannot be computed is ``None`` with a ``note`` saying why, never NaN.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

ANY = "(any issue)"
Float = NDArray[np.float64]


@dataclass
class Metric:
    """A figure, its bootstrap interval and what they rest on (see corpus.iaa.intervals)."""

    value: float | None
    low: float | None = None
    high: float | None = None
    n: int = 0  # items (documents, pairs) the figure rests on
    note: str | None = None  # about the figure (why it is undefined, what it is over)
    method: str | None = None  # "BCa" or "percentile"; None without an interval
    replicates: int = 0  # bootstrap resamples drawn
    undefined: int = 0  # of them, where the statistic has no value
    interval_note: str | None = None  # why there is no interval, undefined resamples, bounds


@dataclass
class PairMetric:
    a: str
    b: str
    kappa: Metric


@dataclass
class LabelAgreement:
    label: str
    spans: int
    exact_f1: Metric
    overlap_f1: Metric
    alpha: Metric


@dataclass
class AnnotatorSummary:
    annotator: str
    documents: int
    skipped: int
    median_lead_time: float | None
    agreement_with_others: float | None
    kappa_with_others: float | None
    spans: int
    accepted_suggestions: float | None
    stance_counts: dict[str, int]
    issue_counts: dict[str, int]


@dataclass
class GoldLabelAgreement:
    """One annotator's spans of one issue label against the gold spans."""

    label: str
    spans: int  # the annotator's spans of the label in the compared documents
    gold_spans: int  # gold spans of the label in those documents
    exact_f1: Metric
    overlap_f1: Metric


@dataclass
class AnnotatorGoldAgreement:
    """One annotator's votes against the round's adjudicated gold (after curation)."""

    annotator: str
    documents: int  # documents the annotator voted on that have gold
    stance_accuracy: Metric  # share of documents whose stance is the gold stance
    stance_kappa: Metric  # Cohen's kappa, annotator's stance vs gold stance
    span_labels: list[GoldLabelAgreement]


@dataclass
class GoldAgreement:
    """Agreement with gold: available only when the round's latest pull was adjudicated."""

    available: bool
    note: str  # what gold was compared, or why there is none
    gold_version: str | None = None
    decided_by: dict[str, int] = field(default_factory=dict)
    annotators: list[AnnotatorGoldAgreement] = field(default_factory=list)


@dataclass
class AgreementReport:
    round: str
    version: str
    documents: int
    multi_annotated: int
    annotators: list[str]
    stance_alpha: Metric
    stance_fleiss: Metric
    stance_pairs: list[PairMetric]
    span_labels: list[LabelAgreement]
    span_stance_kappa: Metric
    per_annotator: list[AnnotatorSummary]
    confusion: list[list[int]]
    stance_labels: list[str]
    messages: list[str] = field(default_factory=list)
    per_model_version: list[Any] = field(default_factory=list)  # iaa.suggestions summaries
    bootstrap: int = 0  # resamples drawn for the intervals (0: none)
    with_gold: GoldAgreement = field(default_factory=lambda: GoldAgreement(False, "no gold given"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- the pieces no library does ---------------------------------------------------------------


def nominal_alpha(coincidence: Float) -> Float:
    """Krippendorff's nominal alpha of each (weighted) coincidence matrix ``(..., k, k)``;
    NaN where it is undefined (one value only, or a single pairable value)."""
    n_c = coincidence.sum(axis=-1)
    n = n_c.sum(axis=-1)
    observed = coincidence.sum(axis=(-2, -1)) - np.trace(coincidence, axis1=-2, axis2=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = (n**2 - (n_c**2).sum(axis=-1)) / (n - 1)
        alpha: Float = np.where((n > 1) & (expected > 0), 1.0 - observed / expected, np.nan)
    return alpha


def weighted_nominal_alpha(coincidence: Float) -> float | None:
    """Krippendorff's nominal alpha from one (weighted) coincidence matrix; None if undefined
    (0.0 is a value: observed disagreement equal to the expected one)."""
    value = float(nominal_alpha(coincidence))
    return value if np.isfinite(value) else None


def binary_coincidence(
    length: int, spans_by_annotator: Sequence[Sequence[tuple[int, int]]]
) -> Float:
    """2x2 coincidence contributions of one document, characters as units.

    Every annotator of the document codes every character: 1 inside one of their spans of
    the label, 0 outside. Between consecutive span boundaries the pattern is constant, so
    each segment counts once with its length as weight.
    """
    m = len(spans_by_annotator)
    out = np.zeros((2, 2))
    if m < 2 or length <= 0:
        return out
    if not any(spans_by_annotator):  # nobody marked anything: all characters agree on 0
        out[0, 0] = length * m
        return out
    cuts = {0, length}
    for spans in spans_by_annotator:
        for s, e in spans:
            cuts.update((max(0, min(s, length)), max(0, min(e, length))))
    points = sorted(cuts)
    for s, e in itertools.pairwise(points):
        w = e - s
        if w <= 0:
            continue
        j = sum(any(a <= s and e <= b for a, b in spans) for spans in spans_by_annotator)
        out[1, 1] += w * j * (j - 1) / (m - 1)
        out[0, 0] += w * (m - j) * (m - j - 1) / (m - 1)
        out[0, 1] += w * j * (m - j) / (m - 1)
        out[1, 0] += w * j * (m - j) / (m - 1)
    return out


def merge_ranges(spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Union of ranges (for the any-issue view, where labels may overlap)."""
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def match_counts(
    spans_a: Sequence[tuple[int, int]], spans_b: Sequence[tuple[int, int]]
) -> tuple[int, int, int]:
    """(exact matches, spans of a overlapping some span of b, spans of b overlapping a)."""
    if not spans_a or not spans_b:
        return 0, 0, 0
    exact = len(set(spans_a) & set(spans_b))
    ov_a = sum(any(overlaps(x, y) for y in spans_b) for x in spans_a)
    ov_b = sum(any(overlaps(y, x) for x in spans_a) for y in spans_b)
    return exact, ov_a, ov_b


def f1_exact(stats: Float) -> Float:
    """stats columns: exact, n_a, n_b, ov_a, ov_b (summed)."""
    denom = stats[..., 1] + stats[..., 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        value: Float = np.where(denom > 0, 2 * stats[..., 0] / denom, np.nan)
    return value


def f1_overlap(stats: Float) -> Float:
    with np.errstate(invalid="ignore", divide="ignore"):
        p = stats[..., 3] / stats[..., 1]
        r = stats[..., 4] / stats[..., 2]
        f1: Float = np.where(p + r > 0, 2 * p * r / (p + r), np.nan)
    return f1


def kappa_replicates(y1: NDArray[np.int64], y2: NDArray[np.int64], k: int, weights: Float) -> Float:
    """Cohen's kappa for each row of bootstrap ``weights`` (one weight per item), vectorised.

    Same formula as scikit-learn's ``cohen_kappa_score`` with ``sample_weight``; the tests
    check the two agree. One call per replicate would cost ~10 ms each.
    """
    onehot = np.zeros((len(y1), k * k))
    onehot[np.arange(len(y1)), y1 * k + y2] = 1.0
    return kappa_of_confusions((weights @ onehot).reshape(-1, k, k))


def kappa_of_confusions(conf: Float) -> Float:
    """Cohen's kappa of each (weighted) confusion matrix ``(b, k, k)``; NaN where undefined."""
    total = conf.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        observed = np.trace(conf, axis1=1, axis2=2) / total
        expected = (conf.sum(axis=2) * conf.sum(axis=1)).sum(axis=1) / total**2
        kappa: Float = (observed - expected) / (1 - expected)
    return kappa


def fleiss_replicates(table: Float, weights: Float) -> Float:
    """Fleiss' kappa (statsmodels' formula) for each row of bootstrap ``weights``."""
    n = table.sum(axis=1)[0]
    p_item = ((table**2).sum(axis=1) - n) / (n * (n - 1))
    total = weights.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_bar = weights @ p_item / total
        p_cat = (weights @ table) / (n * total[:, None])
        p_e = (p_cat**2).sum(axis=1)
        kappa: Float = (p_bar - p_e) / (1 - p_e)
    return kappa


def nominal_coincidence(counts: Float) -> Float:
    """Per-unit coincidence matrices (units x k x k) from value counts (units x k)."""
    m = counts.sum(axis=1)
    outer = counts[:, :, None] * counts[:, None, :]
    diag = np.zeros_like(outer)
    idx = np.arange(counts.shape[1])
    diag[:, idx, idx] = counts
    with np.errstate(invalid="ignore", divide="ignore"):
        coinc: Float = np.where(
            (m >= 2)[:, None, None], (outer - diag) / (m - 1)[:, None, None], 0.0
        )
    return coinc


# --- helpers ---------------------------------------------------------------------------------


def bootstrap_weights(rng: np.random.Generator, n: int, b: int) -> Float:
    """Bootstrap weights: how often each of n items is drawn, for b replicates."""
    if n == 0 or b == 0:
        return np.zeros((b, n))
    draws = rng.integers(0, n, size=(b, n)) + np.arange(b)[:, None] * n
    weights: Float = np.bincount(draws.ravel(), minlength=b * n).reshape(b, n).astype(float)
    return weights


def bootstrap_pattern_weights(
    rng: np.random.Generator, rows: NDArray[Any], b: int
) -> tuple[NDArray[Any], NDArray[np.int64], Float]:
    """Distinct rows, each row's index among them, and bootstrap weights over them.

    Drawing n items with replacement only matters through how often each distinct row
    is drawn, which is multinomial with the rows' frequencies: the same distribution as
    resampling items, at the cost of the distinct rows only.
    """
    if len(rows) == 0:
        return rows[:0], np.zeros(0, dtype=np.int64), np.zeros((b, 0))
    unique, inverse, counts = np.unique(rows, axis=0, return_inverse=True, return_counts=True)
    weights: Float = rng.multinomial(len(rows), counts / counts.sum(), size=b).astype(float)
    return unique, inverse.reshape(-1).astype(np.int64), weights
