"""How good a model is on a release split, with bootstrap intervals over documents.

* stance: macro-F1 over the labels present in the split's gold, and each label's F1 (as
  scikit-learn's ``f1_score`` with ``zero_division=0`` computes them; the tests check);
* spans: exact and overlap F1 per issue label and over all labels, the matching used for
  agreement (:mod:`corpus.iaa.stats`: an exact match has the same offsets and label; an
  overlap shares a character), predicted spans against gold spans;
* every figure has a 95% bootstrap interval: documents are resampled (the same draws for
  every figure), with the helpers of :mod:`corpus.iaa.stats` and the intervals of
  :mod:`corpus.iaa.intervals` (BCa where defined, else percentile, each figure says which).

:func:`compute_scores` is pure; :func:`evaluate_model` reads the model and the release and
writes ``evaluation.json`` and a confusion-matrix plot (matplotlib's Agg canvas; the
``plots`` extra, see :func:`corpus.extras.skip_plots`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from corpus.atomic import write_text_atomic
from corpus.errors import ModelError, translate_os_errors
from corpus.extras import figure_class, skip_plots
from corpus.iaa.intervals import Items, bootstrap_metric
from corpus.iaa.stats import (
    Float,
    Metric,
    bootstrap_weights,
    f1_exact,
    f1_overlap,
    match_counts,
)
from corpus.inference import DocumentPrediction, StoredModel, load_model, predict_documents
from corpus.progress import Progress, ProgressCallback
from corpus.store import Store, as_store
from corpus.training.data import Doc, read_release

ALL = "(all labels)"


@dataclass
class SpanScores:
    label: str
    gold: int
    predicted: int
    exact_f1: Metric
    overlap_f1: Metric


@dataclass
class Evaluation:
    model: str
    model_version: str
    release: str
    split: str
    documents: int
    stance_documents: int
    stance_labels: list[str]
    macro_f1: Metric
    per_class: dict[str, Metric]
    confusion: list[list[int]]  # rows: gold, columns: predicted, in stance_labels order
    spans: list[SpanScores]
    plot: Path | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["plot"] = str(self.plot) if self.plot else None
        return out


def _f1_from_confusion(conf: Float) -> Float:
    """Per-label F1 of confusion matrices (..., k, k), 0 where undefined (zero_division=0)."""
    tp = np.diagonal(conf, axis1=-2, axis2=-1)
    denom = 2 * tp + (conf.sum(axis=-2) - tp) + (conf.sum(axis=-1) - tp)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1: Float = np.where(denom > 0, 2 * tp / denom, 0.0)
    return f1


def compute_scores(
    docs: Sequence[Doc],
    predictions: Sequence[DocumentPrediction],
    *,
    stance_labels: Sequence[str],
    issue_labels: Sequence[str],
    bootstrap: int = 1000,
    seed: int = 0,
) -> tuple[Metric, dict[str, Metric], list[list[int]], list[SpanScores]]:
    """(macro-F1, per-label F1, confusion, span scores) of ``predictions`` against ``docs``."""
    n = len(docs)
    weights = bootstrap_weights(np.random.default_rng(seed), n, bootstrap)
    k = len(stance_labels)
    index = {label: i for i, label in enumerate(stance_labels)}
    labelled = [i for i, d in enumerate(docs) if d.stance in index]
    onehot = np.zeros((n, k * k))
    for i in labelled:
        gold, pred = index[str(docs[i].stance)], index[predictions[i].stance.stance]
        onehot[i, gold * k + pred] = 1.0
    conf = onehot.sum(axis=0).reshape(k, k)
    replicate_conf = (weights @ onehot).reshape(-1, k, k)
    present = [i for i in range(k) if conf[i].sum() > 0]
    f1 = _f1_from_confusion(conf)
    rep_f1 = _f1_from_confusion(replicate_conf)
    n_st = len(labelled)
    ids = np.arange(n, dtype=np.int64)

    def f1_of(w: Float) -> Float:
        result: Float = _f1_from_confusion((w @ onehot).reshape(-1, k, k))
        return result

    def macro_of(w: Float) -> Float:
        result: Float = f1_of(w)[:, present].mean(axis=1)
        return result

    macro = bootstrap_metric(
        float(f1[present].mean()) if present else None,
        rep_f1[:, present].mean(axis=1) if present else [],
        n_st,
        items=Items(ids, n, macro_of),
        undefined="a resample without a gold stance",
        note=None if present else "no document of the split has a gold stance",
    )
    per_class = {
        stance_labels[i]: bootstrap_metric(
            float(f1[i]) if i in present else None,
            rep_f1[:, i],
            int(conf[i].sum()),
            items=Items(ids, n, _column(f1_of, i)),
            undefined="a resample without this label",
            note=None if i in present else "no gold document with this label",
        )
        for i in range(k)
    }
    spans = [_span_scores(label, docs, predictions, weights) for label in [*issue_labels, ALL]]
    return macro, per_class, conf.astype(int).tolist(), spans


def _column(f1_of: Callable[[Float], Float], i: int) -> Callable[[Float], Float]:
    """Label ``i``'s F1 for weights over documents."""

    def f1(w: Float) -> Float:
        return f1_of(w)[:, i]

    return f1


def _span_scores(
    label: str, docs: Sequence[Doc], predictions: Sequence[DocumentPrediction], weights: Float
) -> SpanScores:
    stats = np.zeros((len(docs), 5))
    for i, (doc, pred) in enumerate(zip(docs, predictions, strict=True)):
        gold = [(s, e) for s, e, lab in doc.spans if label in (ALL, lab)]
        got = [(s.start, s.end) for s in pred.spans if label in (ALL, s.issue)]
        if label == ALL:  # an exact match needs the same label too
            gold_l = {(s, e, lab) for s, e, lab in doc.spans}
            got_l = {(s.start, s.end, s.issue) for s in pred.spans}
            exact = len(gold_l & got_l)
            _, ov_a, ov_b = match_counts(got, gold)
        else:
            exact, ov_a, ov_b = match_counts(got, gold)
        stats[i] = (exact, len(got), len(gold), ov_a, ov_b)
    total = stats.sum(axis=0)
    reps = weights @ stats
    none = "no gold and no predicted span" if total[1] + total[2] == 0 else None
    ids = np.arange(len(docs), dtype=np.int64)

    def exact_of(w: Float) -> Float:
        return f1_exact(w @ stats)

    def overlap_of(w: Float) -> Float:
        return f1_overlap(w @ stats)

    why = "a resample without gold or predicted spans of this label"
    return SpanScores(
        label=label,
        gold=int(total[2]),
        predicted=int(total[1]),
        exact_f1=bootstrap_metric(
            float(f1_exact(total)), f1_exact(reps), int(total[2]), note=none, undefined=why,
            items=Items(ids, len(docs), exact_of),
        ),
        overlap_f1=bootstrap_metric(
            float(f1_overlap(total)), f1_overlap(reps), int(total[2]), note=none, undefined=why,
            items=Items(ids, len(docs), overlap_of),
        ),
    )  # fmt: skip


def evaluate_docs(
    model: StoredModel,
    docs: Sequence[Doc],
    *,
    release: str,
    split: str,
    bootstrap: int = 1000,
    seed: int = 0,
) -> Evaluation:
    """Predict every document of ``docs`` and score the predictions (no files written)."""
    predictions = predict_documents(model, [d.text for d in docs])
    issues = list(dict.fromkeys(t[2:] for t in model.manifest.tags if t != "O"))
    macro, per_class, conf, spans = compute_scores(
        docs,
        predictions,
        stance_labels=model.manifest.stance_labels,
        issue_labels=issues,
        bootstrap=bootstrap,
        seed=seed,
    )
    return Evaluation(
        model=model.name,
        model_version=model.version,
        release=release,
        split=split,
        documents=len(docs),
        stance_documents=sum(d.stance is not None for d in docs),
        stance_labels=list(model.manifest.stance_labels),
        macro_f1=macro,
        per_class=per_class,
        confusion=conf,
        spans=spans,
    )


CONFUSION_PLOT = "drawing the confusion-matrix plot"


def plot_confusion(evaluation: Evaluation, path: Path) -> Path:
    """The stance confusion matrix as a PNG (rows: gold, columns: predicted); needs the
    ``plots`` extra (:class:`~corpus.errors.MissingExtraError` without it)."""
    Figure = figure_class(CONFUSION_PLOT)

    labels = evaluation.stance_labels
    fig = Figure(figsize=(5, 4.5), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(evaluation.confusion, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=30)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    for i, row in enumerate(evaluation.confusion):
        for j, value in enumerate(row):
            ax.text(j, i, str(value), ha="center", va="center", fontsize=9)
    ax.set_title(f"{evaluation.model} on {evaluation.release} {evaluation.split}")
    fig.colorbar(image, ax=ax, shrink=0.8)
    fig.savefig(path, dpi=100)
    return path


@translate_os_errors
def evaluate_model(
    store: Store | str | os.PathLike[str],
    model: str | os.PathLike[str],
    release: str | os.PathLike[str],
    *,
    split: str = "test",
    out: Path | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
    cache_dir: Path | None = None,
    plots: bool | None = None,
    progress: ProgressCallback | None = None,
) -> Evaluation:
    """Score a stored model on a release split; writes ``evaluation.json`` and
    ``confusion.png`` to ``out`` (default ``<store>/evaluations/<model>/<release>-<split>``).

    ``plots``: ``None`` draws the plot when matplotlib (the ``plots`` extra) is installed,
    else ``notes`` says it was not drawn; ``True`` draws it or raises
    :class:`~corpus.errors.MissingExtraError`; ``False`` leaves it out."""
    if bootstrap < 0:
        raise ValueError(f"bootstrap must be 0 or more replicates, not {bootstrap}")
    plots_note = skip_plots(plots, CONFUSION_PLOT)

    def say(stage: str, message: str) -> None:
        if progress is not None:
            progress(Progress(stage, message))

    store = as_store(store)
    say("load", f"checking and loading model {model}")
    loaded = load_model(store, model)
    say("read", f"reading release {release} (checksums, then its tables)")
    data = read_release(store, Path(release), cache_dir=cache_dir)
    if data.schema_hash != loaded.schema_hash:
        raise ModelError(
            f"model {loaded.name} was trained under schema {loaded.schema_hash[:12]}; release "
            f"{data.release} is under schema {data.schema_hash[:12]}: their labels differ",
            path=loaded.path,
            hint="Evaluate on a release built under the model's schema, or train a model on "
            "this release.",
        )
    docs = data.docs.get(split)
    if not docs or not any(d.stance is not None for d in docs):
        raise ModelError(
            f"the {split} split of release {data.release} has no document with a gold stance "
            "to evaluate on",
            path=data.path,
            hint="Choose another --split (train, validation or test).",
        )
    say("predict", f"predicting and scoring {len(docs)} {split} documents ({bootstrap} resamples)")
    evaluation = evaluate_docs(
        loaded, docs, release=data.release, split=split, bootstrap=bootstrap, seed=seed
    )
    folder = out or store.root / "evaluations" / loaded.name / f"{data.release}-{split}"
    folder.mkdir(parents=True, exist_ok=True)
    if plots_note is None:
        evaluation.plot = plot_confusion(evaluation, folder / "confusion.png")
    else:
        evaluation.notes.append(plots_note)
    text = json.dumps(evaluation.to_dict(), indent=2, ensure_ascii=False) + "\n"
    write_text_atomic(folder / "evaluation.json", text)
    return evaluation


__all__ = [
    "ALL",
    "CONFUSION_PLOT",
    "Evaluation",
    "SpanScores",
    "compute_scores",
    "evaluate_docs",
    "evaluate_model",
    "plot_confusion",
]
