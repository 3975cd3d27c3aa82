"""Fitting the two models and choosing their hyper-parameters on the validation split.

* stance: TF-IDF (word 1-2 grams, sublinear tf) and a logistic regression (balanced class
  weights) wrapped in scikit-learn's ``CalibratedClassifierCV`` (sigmoid, on train), so that
  its probabilities are calibrated. The calibration folds are stratified *and grouped* by
  near-duplicate component (:func:`calibration_folds`): near-duplicates never sit on both
  sides of a fold, which would make the calibrated probabilities over-confident; ``C`` is
  chosen by validation macro-F1. A stance label with fewer than two train documents cannot
  be learned nor calibrated: it is left out (and said so in the manifest).
* spans: a linear-chain CRF (python-crfsuite, L-BFGS with L1 ``c1`` and L2 ``c2``
  penalties) over the ``tokens`` config's BIO tags; ``(c1, c2)`` is chosen by validation
  exact span F1. Features come from :mod:`corpus.inference.features`, the ones prediction
  uses.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpus.inference.features import bio_spans, token_features
from corpus.inference.predict import open_tagger
from corpus.training.data import MIN_PER_CLASS, Doc, Sentence

STANCE_GRID = (0.1, 1.0, 10.0)
TAGGER_GRID = ((0.05, 0.01), (0.05, 0.1), (0.5, 0.01), (0.5, 0.1))
DEFAULT_STANCE = {"C": 1.0}
DEFAULT_TAGGER = {"c1": 0.05, "c2": 0.1}
MAX_ITERATIONS = 100


@dataclass
class StanceFit:
    pipeline: Any
    labels: list[str]  # labels the model learned
    dropped: list[str]  # labels left out (fewer than MIN_PER_CLASS train documents)
    params: dict[str, Any]


def calibration_folds(
    labels: Sequence[str], groups: Sequence[str], *, seed: int = 0
) -> list[tuple[Any, Any]]:
    """``(train, test)`` index arrays for calibration: ``StratifiedGroupKFold`` over the
    documents' near-duplicate components (``groups``), so that no component is on both sides
    of a fold; up to 3 folds, fewer when a label has fewer documents or there are fewer
    components. With a single component (nothing to group by) the folds are stratified
    only."""
    import numpy as np
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    counts = Counter(labels)
    n_groups = len(set(groups))
    x = np.zeros((len(labels), 1))
    if n_groups < 2:
        folds = min(3, *counts.values())
        cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
        return [(a, b) for a, b in cv.split(x, list(labels))]
    folds = min(3, n_groups, *counts.values())
    grouped = StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
    splits = grouped.split(x, list(labels), groups=list(groups))
    return [(a, b) for a, b in splits if len(a) and len(b)]


def fit_stance(
    docs: Sequence[Doc],
    *,
    C: float,
    seed: int = 0,
    components: Mapping[str, str] | None = None,
) -> StanceFit:
    """The calibrated stance pipeline on the labelled ``docs``; calibration folds grouped by
    near-duplicate component (``components``: ``dup_group -> component``, from
    :func:`corpus.neardup.components.group_components`; default: each stored group is its
    own)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    counts = Counter(d.stance for d in docs if d.stance is not None)
    kept = sorted(str(label) for label, n in counts.items() if n >= MIN_PER_CLASS)
    if len(kept) < 2:
        raise ValueError(f"need two stance labels with {MIN_PER_CLASS} documents each: {counts}")
    train = [d for d in docs if d.stance in kept]
    groups = [(components or {}).get(d.dup_group, d.dup_group) for d in train]
    folds = calibration_folds([str(d.stance) for d in train], groups, seed=seed)
    linear = LogisticRegression(C=C, class_weight="balanced", max_iter=2000)
    pipeline = Pipeline(
        [
            ("tfidf", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, max_features=50000)),
            ("calibrated", CalibratedClassifierCV(linear, method="sigmoid", cv=folds)),
        ]
    )
    pipeline.fit([d.text for d in train], [d.stance for d in train])
    params = {
        "C": C,
        "calibration": "sigmoid",
        "folds": len(folds),
        "fold_groups": "near-duplicate components",
        "ngram_range": [1, 2],
    }
    dropped = sorted(str(label) for label in set(counts) - set(kept))
    return StanceFit(pipeline, kept, dropped, params)


def stance_macro_f1(pipeline: Any, docs: Sequence[Doc]) -> float:
    """Macro-F1 over the stance labels present in the gold of ``docs``."""
    from sklearn.metrics import f1_score

    labelled = [d for d in docs if d.stance is not None]
    if not labelled:
        return float("nan")
    gold = [str(d.stance) for d in labelled]
    predicted = pipeline.predict([d.text for d in labelled])
    present = sorted(set(gold))
    return float(f1_score(gold, predicted, labels=present, average="macro", zero_division=0))


def select_stance(
    train: Sequence[Doc],
    validation: Sequence[Doc],
    *,
    seed: int = 0,
    components: Mapping[str, str] | None = None,
) -> tuple[StanceFit, list[dict[str, Any]]]:
    """The best ``C`` of :data:`STANCE_GRID` by validation macro-F1 (ties: the smaller C)."""
    tried = []
    best: tuple[float, StanceFit] | None = None
    for c in STANCE_GRID:
        fit = fit_stance(train, C=c, seed=seed, components=components)
        score = stance_macro_f1(fit.pipeline, validation)
        tried.append({"C": c, "validation_macro_f1": round(score, 4)})
        if best is None or score > best[0]:
            best = (score, fit)
    assert best is not None
    return best[1], tried


def _trainer(sentences: Sequence[Sentence]) -> Any:
    import pycrfsuite

    trainer = pycrfsuite.Trainer(verbose=False)
    for s in sentences:
        trainer.append(token_features(s.words), list(s.tags))
    return trainer


def _train(trainer: Any, c1: float, c2: float, max_iterations: int) -> bytes:
    with tempfile.TemporaryDirectory(prefix="corpus-crf-") as tmp:
        path = Path(tmp) / "tagger.crfsuite"
        trainer.set_params(
            {
                "c1": c1,
                "c2": c2,
                "max_iterations": max_iterations,
                "feature.possible_transitions": True,
            }
        )
        trainer.train(str(path))
        return path.read_bytes()


def fit_tagger(
    sentences: Sequence[Sentence], *, c1: float, c2: float, max_iterations: int = MAX_ITERATIONS
) -> bytes:
    """A CRF tagger (CRFsuite's model file, as bytes) on the ``sentences``' BIO tags."""
    return _train(_trainer(sentences), c1, c2, max_iterations)


def tagger_from_bytes(model: bytes) -> Any:
    return open_tagger(model)


def span_f1(tagger: Any, sentences: Sequence[Sentence]) -> float:
    """Exact span F1 (micro over labels) of the tagger on tagged ``sentences``."""
    exact = predicted = gold = 0
    for s in sentences:
        want = set(bio_spans(s.tags))
        got = set(bio_spans(tagger.tag(token_features(s.words))))
        exact += len(want & got)
        predicted += len(got)
        gold += len(want)
    return 2 * exact / (predicted + gold) if predicted + gold else float("nan")


def select_tagger(
    train: Sequence[Sentence],
    validation: Sequence[Sentence],
    *,
    max_iterations: int = MAX_ITERATIONS,
) -> tuple[bytes, dict[str, Any], list[dict[str, Any]]]:
    """The best ``(c1, c2)`` of :data:`TAGGER_GRID` by validation exact span F1."""
    trainer = _trainer(train)  # features are extracted once for every candidate
    tried = []
    best: tuple[float, bytes, dict[str, Any]] | None = None
    for c1, c2 in TAGGER_GRID:
        model = _train(trainer, c1, c2, max_iterations)
        score = span_f1(tagger_from_bytes(model), validation)
        tried.append({"c1": c1, "c2": c2, "validation_span_f1": round(score, 4)})
        key = score if score == score else -1.0  # NaN (no gold span in validation) ranks last
        if best is None or key > best[0]:
            best = (key, model, {"c1": c1, "c2": c2, "max_iterations": max_iterations})
    assert best is not None
    return best[1], best[2], tried


__all__ = [
    "DEFAULT_STANCE",
    "DEFAULT_TAGGER",
    "MAX_ITERATIONS",
    "STANCE_GRID",
    "TAGGER_GRID",
    "StanceFit",
    "calibration_folds",
    "fit_stance",
    "fit_tagger",
    "select_stance",
    "select_tagger",
    "span_f1",
    "stance_macro_f1",
    "tagger_from_bytes",
]
