"""Each annotator's agreement with the adjudicated gold (after curation), per label (pure).

Inter-annotator agreement (before curation) says how reproducible the task is; agreement
with gold says how close each annotator came to the labels that were published. Over the
documents an annotator voted on (their vote: :mod:`corpus.labels.votes`) that have gold in
the round:

* **document stance**: accuracy (share of documents whose stance is the gold stance) and
  Cohen's kappa against the gold stance, over the documents whose gold stance is decided;
* **issue spans**, per label and over any issue: exact-match F1 and overlap F1 of the
  annotator's spans against the gold spans (the matching of the inter-annotator figures).

Every figure has a bootstrap 95% interval over those documents. Gold is made from the
annotators' own votes, so these figures are not independent of them: an annotator in the
majority agrees with gold by construction.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from corpus.iaa.intervals import Items, bootstrap_metric
from corpus.iaa.stats import (
    ANY,
    AnnotatorGoldAgreement,
    Float,
    GoldAgreement,
    GoldLabelAgreement,
    Metric,
    bootstrap_weights,
    f1_exact,
    f1_overlap,
    kappa_of_confusions,
    match_counts,
    merge_ranges,
)

Row = Mapping[str, Any]


def agreement_with_gold(
    votes: Mapping[str, Mapping[str, Row]],
    spans: Sequence[Row],
    gold: Sequence[Row],
    gold_spans: Sequence[Row],
    *,
    stance_labels: Sequence[str],
    issue_labels: Sequence[str],
    rng: np.random.Generator,
    bootstrap: int,
    interval: str,
    gold_version: str | None = None,
    note: str = "",
) -> GoldAgreement:
    """Every annotator's figures against gold; ``votes``: doc_id -> annotator -> voting row,
    ``spans``: the round's spans (only the voting annotations' are used), ``gold`` and
    ``gold_spans``: the round's gold rows."""
    gold_of = {g["doc_id"]: g for g in gold}
    gold_marks: dict[str, list[Row]] = defaultdict(list)
    for s in gold_spans:
        gold_marks[s["doc_id"]].append(s)
    marks: dict[Any, list[Row]] = defaultdict(list)
    for s in spans:
        marks[s["annotation_id"]].append(s)
    index = {label: i for i, label in enumerate(stance_labels)}
    annotators = sorted({w for by in votes.values() for w in by})
    out = []
    for who in annotators:
        docs = sorted(d for d, by in votes.items() if who in by and d in gold_of)
        decided = [
            d for d in docs if gold_of[d]["stance"] in index and votes[d][who]["stance"] in index
        ]
        pairs = [(index[votes[d][who]["stance"]], index[gold_of[d]["stance"]]) for d in decided]
        accuracy, kappa = _stance_metrics(pairs, len(stance_labels), rng, bootstrap, interval)
        mine = {d: marks[votes[d][who]["annotation_id"]] for d in docs}
        labels = [
            _label_metrics(label, docs, mine, gold_marks, rng, bootstrap, interval)
            for label in [*issue_labels, ANY]
        ]
        out.append(AnnotatorGoldAgreement(who, len(docs), accuracy, kappa, labels))
    return GoldAgreement(
        available=True,
        note=note,
        gold_version=gold_version,
        decided_by=dict(sorted(Counter(str(g["decided_by"]) for g in gold).items())),
        annotators=out,
    )


def _stance_metrics(
    pairs: list[tuple[int, int]], k: int, rng: np.random.Generator, b: int, interval: str
) -> tuple[Metric, Metric]:
    if not pairs:
        none = "no document with both this annotator's stance and a decided gold stance"
        return Metric(None, note=none), Metric(None, note=none)
    counts = np.zeros((len(pairs), k * k))
    for row, (x, y) in enumerate(pairs):
        counts[row, x * k + y] = 1.0
    weights = bootstrap_weights(rng, len(pairs), b)
    ids = np.arange(len(pairs), dtype=np.int64)

    def accuracy(w: Float) -> Float:
        conf = (w @ counts).reshape(-1, k, k)
        with np.errstate(invalid="ignore", divide="ignore"):
            value: Float = np.trace(conf, axis1=1, axis2=2) / conf.sum(axis=(1, 2))
        return value

    def kappa(w: Float) -> Float:
        return kappa_of_confusions((w @ counts).reshape(-1, k, k))

    ones = np.ones((1, len(pairs)))
    metrics = []
    for fn, undefined, note in (
        (accuracy, "an empty resample", "share of documents with the gold stance"),
        (kappa, "a resample in which both sides use one and the same label",
         "Cohen's kappa, annotator vs gold stance"),
    ):  # fmt: skip
        metrics.append(
            bootstrap_metric(
                float(fn(ones)[0]),
                fn(weights),
                len(pairs),
                method=interval,
                undefined=undefined,
                items=Items(ids, len(pairs), fn),
                note=note,
            )
        )
    return metrics[0], metrics[1]


def _label_metrics(
    label: str,
    docs: list[str],
    mine: Mapping[str, list[Row]],
    gold_marks: Mapping[str, list[Row]],
    rng: np.random.Generator,
    b: int,
    interval: str,
) -> GoldLabelAgreement:
    def ranges(rows: Sequence[Row]) -> list[tuple[int, int]]:
        found = [(int(s["start"]), int(s["end"])) for s in rows if label in (ANY, s["issue"])]
        return merge_ranges(found) if label == ANY else found

    stats = np.zeros((len(docs), 5))
    n_mine = n_gold = 0
    for row, d in enumerate(docs):
        a, g = ranges(mine[d]), ranges(gold_marks.get(d, []))
        n_mine += sum(label in (ANY, s["issue"]) for s in mine[d])
        n_gold += sum(label in (ANY, s["issue"]) for s in gold_marks.get(d, []))
        exact, ov_a, ov_g = match_counts(a, g)
        stats[row] = (exact, len(a), len(g), ov_a, ov_g)
    weights = bootstrap_weights(rng, len(docs), b)
    ids = np.arange(len(docs), dtype=np.int64)
    note = None if n_mine or n_gold else "no span of this label by the annotator or in gold"
    fns: dict[str, Callable[[Float], Float]] = {
        "exact": lambda w: f1_exact(w @ stats),
        "overlap": lambda w: f1_overlap(w @ stats),
    }
    total = stats.sum(axis=0)
    values = {"exact": float(f1_exact(total)), "overlap": float(f1_overlap(total))}
    metrics = {
        kind: bootstrap_metric(
            values[kind], fn(weights), len(docs), method=interval, note=note,
            undefined="a resample without spans of this label", items=Items(ids, len(docs), fn),
        )
        for kind, fn in fns.items()
    }  # fmt: skip
    return GoldLabelAgreement(label, n_mine, n_gold, metrics["exact"], metrics["overlap"])
