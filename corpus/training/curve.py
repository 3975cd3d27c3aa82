"""`corpus model curve`: is sampling by uncertainty worth it on this data?

Rounds are simulated on a release that is already labelled, its gold acting as the
annotators (the oracle). For each seed, a seed set of ``sizes[0]`` train documents is drawn
at random (the same for every strategy); then, per strategy, repeatedly: train (the stance
model with C = 1 and the CRF with c1 = 0.05, c2 = 0.1: no per-step selection, so that the
strategies differ only in the documents they pick), score on the test split, pick the next
``sizes[i+1] - sizes[i]`` documents by the strategy (through the rounds' sampling code, one
document per near-duplicate group), add their gold, train again.

The figures: stance macro-F1 on the test documents and exact span F1 on the test
sentences, per strategy and number of labelled documents, as the mean over seeds with a 95%
t-interval. Written: ``curve.png`` (matplotlib Agg), ``curve.csv`` (one row per strategy,
seed and size) and ``curve.json`` (the means and intervals).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpus.atomic import write_bytes_atomic
from corpus.errors import ModelError, translate_os_errors
from corpus.extras import figure_class, skip_plots
from corpus.inference.predict import document_predictions
from corpus.progress import Progress, ProgressCallback, Steps, drive
from corpus.rounds.sample import (
    Candidate,
    RandomStrategy,
    Strategy,
    UncertaintyStrategy,
    select,
    tfidf_clusters,
)
from corpus.store import Store, as_store
from corpus.training.data import Doc, ReleaseData, read_release
from corpus.training.fit import (
    DEFAULT_STANCE,
    DEFAULT_TAGGER,
    fit_stance,
    fit_tagger,
    span_f1,
    stance_macro_f1,
    tagger_from_bytes,
)

CURVE_STRATEGIES = ("random", "uncertainty", "diverse-uncertainty")


@dataclass
class CurveResult:
    release: str
    sizes: list[int]
    strategies: list[str]
    seeds: int
    rows: list[dict[str, Any]]  # strategy, seed, labelled, stance_macro_f1, span_f1, note
    summary: list[dict[str, Any]]  # strategy, labelled, metric -> mean, low, high, n
    out: Path | None = None
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. why curve.png was not drawn

    def to_dict(self) -> dict[str, Any]:
        return {
            **{k: v for k, v in self.__dict__.items() if k not in ("out", "files")},
            "out": str(self.out) if self.out else None,
            "files": [str(p) for p in self.files],
        }


def _check(sizes: Sequence[int], strategies: Sequence[str], seeds: int) -> None:
    if not sizes or any(s < 1 for s in sizes) or list(sizes) != sorted(set(sizes)):
        raise ValueError(f"sizes must be increasing numbers of documents, not {list(sizes)}")
    unknown = [s for s in strategies if s not in CURVE_STRATEGIES]
    if unknown or not strategies:
        raise ValueError(f"strategies must be among {', '.join(CURVE_STRATEGIES)}: {unknown}")
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, not {seeds}")


def _mean_interval(values: Sequence[float]) -> dict[str, Any]:
    """Mean over seeds with a 95% t-interval (None where there are too few values)."""
    from scipy import stats

    xs = [v for v in values if v is not None and math.isfinite(v)]
    if not xs:
        return {"mean": None, "low": None, "high": None, "n": 0}
    mean = sum(xs) / len(xs)
    if len(xs) < 2:
        return {"mean": round(mean, 4), "low": None, "high": None, "n": 1}
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1))
    half = float(stats.t.ppf(0.975, len(xs) - 1)) * sd / math.sqrt(len(xs))
    return {
        "mean": round(mean, 4),
        "low": round(max(0.0, mean - half), 4),
        "high": round(min(1.0, mean + half), 4),
        "n": len(xs),
    }


def simulate(
    data: ReleaseData,
    *,
    sizes: Sequence[int],
    strategies: Sequence[str],
    seeds: int,
    explore: float = 0.2,
) -> Steps[list[dict[str, Any]]]:
    """Every (strategy, seed, size) row of the curve (pure: the data in, rows out)."""
    pool = data.labelled("train")
    test = data.labelled("test")
    test_sentences = data.sentences.get("test", [])
    by_doc: dict[str, list[Any]] = {}
    for s in data.sentences.get("train", []):
        by_doc.setdefault(s.doc_id, []).append(s)
    rows: list[dict[str, Any]] = []
    total = len(strategies) * seeds * len(sizes)
    for seed in range(seeds):
        first = _random_pick(pool, set(), sizes[0], seed)
        start: tuple[Any, dict[str, Any]] | None = None  # every strategy starts from `first`
        for strategy in strategies:
            labelled = set(first)
            for i in range(len(sizes)):
                if i == 0 and start is not None:
                    model, scores = start
                else:
                    model, note = _fit([d for d in pool if d.doc_id in labelled], by_doc, seed)
                    scores = {"stance_macro_f1": None, "span_f1": None, "note": note}
                    if model is not None:
                        stance, tagger = model
                        if stance is not None:
                            scores["stance_macro_f1"] = round(
                                stance_macro_f1(stance.pipeline, test), 4
                            )
                        if tagger is not None:
                            scores["span_f1"] = round(span_f1(tagger, test_sentences), 4)
                    if i == 0:
                        start = (model, scores)
                row = {"strategy": strategy, "seed": seed, "labelled": len(labelled), **scores}
                rows.append(row)
                yield Progress("curve", f"{strategy}, seed {seed}", len(rows), total)
                if i + 1 < len(sizes):
                    n = sizes[i + 1] - len(labelled)
                    labelled |= _next_batch(data, pool, labelled, n, strategy, model, seed, explore)
    return rows


def _fit(docs: list[Doc], by_doc: dict[str, list[Any]], seed: int) -> tuple[Any, str | None]:
    """(stance fit or None, tagger or None) on ``docs``, and why a part is missing."""
    notes = []
    try:
        stance = fit_stance(docs, C=DEFAULT_STANCE["C"], seed=seed)
    except ValueError:
        stance = None
        notes.append("too few labels for a stance model")
    sentences = [s for d in docs for s in by_doc.get(d.doc_id, [])]
    tagger = None
    if any(t != "O" for s in sentences for t in s.tags):
        tagger = tagger_from_bytes(
            fit_tagger(sentences, c1=DEFAULT_TAGGER["c1"], c2=DEFAULT_TAGGER["c2"])
        )
    else:
        notes.append("no gold span to train a tagger")
    return (stance, tagger), "; ".join(notes) or None


def _random_pick(pool: Sequence[Doc], taken: set[str], n: int, seed: int) -> set[str]:
    candidates = [Candidate(d.doc_id, d.dup_group) for d in pool if d.doc_id not in taken]
    return set(select(candidates, RandomStrategy(), n=n, seed=seed).doc_ids)


def _next_batch(
    data: ReleaseData,
    pool: Sequence[Doc],
    labelled: set[str],
    n: int,
    strategy: str,
    model: tuple[Any, Any],
    seed: int,
    explore: float,
) -> set[str]:
    stance, tagger = model
    rest = [d for d in pool if d.doc_id not in labelled]
    if strategy == "random" or stance is None or tagger is None:  # nothing to be unsure with
        return _random_pick(pool, labelled, n, seed + len(labelled))
    predictions = document_predictions(
        stance.pipeline,
        tagger,
        [d.text for d in rest],
        stance_labels=data.stance_labels,
        trained_labels=stance.labels,
        language=data.language,
    )
    scores = {d.doc_id: p.uncertainty for d, p in zip(rest, predictions, strict=True)}
    clusters = None
    if strategy == "diverse-uncertainty":
        clusters = tfidf_clusters({d.doc_id: d.text for d in rest}, max(1, n), seed=seed)
    ranker: Strategy = UncertaintyStrategy(scores, explore=explore, clusters=clusters)
    candidates = [Candidate(d.doc_id, d.dup_group) for d in rest]
    return set(select(candidates, ranker, n=n, seed=seed + len(labelled)).doc_ids)


def summarise(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = sorted({(r["strategy"], r["labelled"]) for r in rows}, key=lambda k: (k[0], k[1]))
    return [
        {
            "strategy": strategy,
            "labelled": size,
            **{
                metric: _mean_interval(
                    [r[metric] for r in rows if (r["strategy"], r["labelled"]) == (strategy, size)]
                )
                for metric in ("stance_macro_f1", "span_f1")
            },
        }
        for strategy, size in keys
    ]


CURVE_PLOT = "drawing the learning-curve plot"


def plot_curve(result: CurveResult) -> bytes:
    """Both metrics against labelled documents, one line (and band) per strategy, as PNG;
    needs the ``plots`` extra (:class:`~corpus.errors.MissingExtraError` without it)."""
    Figure = figure_class(CURVE_PLOT)

    fig = Figure(figsize=(10, 4), layout="constrained")
    axes = fig.subplots(1, 2)
    titles = {"stance_macro_f1": "stance macro-F1 (test)", "span_f1": "exact span F1 (test)"}
    for ax, (metric, title) in zip(axes, titles.items(), strict=True):
        for strategy in result.strategies:
            points = [
                (s["labelled"], s[metric])
                for s in result.summary
                if s["strategy"] == strategy and s[metric]["mean"] is not None
            ]
            if not points:
                continue
            xs = [x for x, _ in points]
            ax.plot(xs, [m["mean"] for _, m in points], marker="o", label=strategy)
            band = [(x, m) for x, m in points if m["low"] is not None]
            if band:
                ax.fill_between(
                    [x for x, _ in band],
                    [m["low"] for _, m in band],
                    [m["high"] for _, m in band],
                    alpha=0.2,
                )
        ax.set_title(title)
        ax.set_xlabel("labelled documents")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(
        f"Learning curve on release {result.release} ({result.seeds} seeds, 95% t-intervals)"
    )
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


@translate_os_errors
def learning_curve(
    store: Store | str | os.PathLike[str],
    release: str | os.PathLike[str],
    *,
    sizes: Sequence[int],
    strategies: Sequence[str] = ("random", "uncertainty"),
    seeds: int = 3,
    explore: float = 0.2,
    out: Path | None = None,
    cache_dir: Path | None = None,
    plots: bool | None = None,
    progress: ProgressCallback | None = None,
) -> CurveResult:
    """Simulated rounds on a labelled release, per strategy; writes the plot and the table
    to ``out`` (default ``<store>/curves/<release>``).

    ``plots``: ``None`` draws ``curve.png`` when matplotlib (the ``plots`` extra) is
    installed, else ``notes`` says it was not drawn; ``True`` draws it or raises
    :class:`~corpus.errors.MissingExtraError`; ``False`` leaves it out."""
    _check(sizes, strategies, seeds)
    plots_note = skip_plots(plots, CURVE_PLOT)
    store = as_store(store)
    if progress is not None:
        progress(Progress("read", f"reading release {release} (checksums, then its tables)"))
    data = read_release(store, Path(release), cache_dir=cache_dir)
    pool = data.labelled("train")
    if sizes[-1] > len(pool):
        raise ModelError(
            f"the train split of release {data.release} has {len(pool)} documents with a gold "
            f"stance; --sizes asks for up to {sizes[-1]}",
            path=data.path,
            hint=f"Use sizes up to {len(pool)} (e.g. --sizes "
            f"{','.join(str(max(1, len(pool) * k // 4)) for k in (1, 2, 3, 4))}).",
        )
    if not data.labelled("test"):
        raise ModelError(
            f"the test split of release {data.release} has no document with a gold stance "
            "to score the curve on",
            path=data.path,
            hint="Build the release with a test share (--ratios).",
        )
    rows = drive(
        simulate(data, sizes=sizes, strategies=strategies, seeds=seeds, explore=explore),
        progress,
    )
    result = CurveResult(data.release, list(sizes), list(strategies), seeds, rows, summarise(rows))
    folder = out or store.root / "curves" / data.release
    folder.mkdir(parents=True, exist_ok=True)
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    if plots_note is not None:
        result.notes.append(plots_note)
    files = {
        **({"curve.png": plot_curve(result)} if plots_note is None else {}),
        "curve.csv": table.getvalue().encode(),
        "curve.json": (json.dumps(result.to_dict(), indent=2) + "\n").encode(),
    }
    for name, content in files.items():
        write_bytes_atomic(folder / name, content)
    result.out, result.files = folder, [folder / name for name in files]
    return result


__all__ = [
    "CURVE_PLOT",
    "CURVE_STRATEGIES",
    "CurveResult",
    "learning_curve",
    "plot_curve",
    "simulate",
    "summarise",
]
