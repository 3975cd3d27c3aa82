"""Per-span stance agreement: Cohen's kappa over span pairs matched one-to-one.

The matching (docs/concepts/agreement.md): in each document, for each pair of its annotators (by
pseudonym, in order), their spans that carry a span stance are matched one-to-one within
each issue label: the two spans, one from each, with the most characters in common are
matched first (ties: the earlier start, then end, of the first annotator's span, then of
the second's), then the next pair among the spans left, until no overlapping pair is left.
Each span is matched at most once per pair of annotators; unmatched spans do not count.
Kappa is over the matched pairs' stances (first annotator's, second's), and its bootstrap
resamples documents, each with all its pairs.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from corpus.iaa.intervals import Items, bootstrap_metric
from corpus.iaa.stats import Float, Metric, bootstrap_weights, kappa_of_confusions

Span = Mapping[str, Any]


def _position(s: Span) -> tuple[int, int, str, str]:
    return (int(s["start"]), int(s["end"]), str(s["issue"]), str(s["stance"]))


def match_spans(xs: Sequence[Span], ys: Sequence[Span]) -> list[tuple[Span, Span]]:
    """Same-issue spans of two annotators matched one-to-one by largest overlap (see above)."""
    xs, ys = sorted(xs, key=_position), sorted(ys, key=_position)
    candidates = []
    for i, x in enumerate(xs):
        for j, y in enumerate(ys):
            common = min(x["end"], y["end"]) - max(x["start"], y["start"])
            if x["issue"] == y["issue"] and common > 0:
                candidates.append((-common, x["start"], x["end"], y["start"], y["end"], i, j))
    used_x: set[int] = set()
    used_y: set[int] = set()
    out = []
    for *_, i, j in sorted(candidates):
        if i not in used_x and j not in used_y:
            used_x.add(i)
            used_y.add(j)
            out.append((xs[i], ys[j]))
    return out


def stance_pairs(annotators: Sequence[str], spans: Sequence[Span]) -> list[tuple[str, str]]:
    """The (first, second) span stances of one document's matched spans, every annotator pair."""
    mine = [s for s in spans if s.get("stance")]
    out = []
    for a, b in itertools.combinations(sorted(annotators), 2):
        xs = [s for s in mine if s["annotator"] == a]
        ys = [s for s in mine if s["annotator"] == b]
        out += [(str(x["stance"]), str(y["stance"])) for x, y in match_spans(xs, ys)]
    return out


def span_stance_kappa(
    pairs_by_doc: Sequence[Sequence[tuple[str, str]]],
    rng: np.random.Generator,
    *,
    bootstrap: int,
    interval: str,
) -> Metric:
    """Cohen's kappa over every document's matched pairs; bootstrap over documents."""
    from sklearn.metrics import cohen_kappa_score

    docs = [p for p in pairs_by_doc if p]
    pairs = [pair for p in docs for pair in p]
    labels = sorted({x for pair in pairs for x in pair})
    if len(pairs) < 2 or len(labels) < 2:
        note = "fewer than two matched spans with a stance" if len(pairs) < 2 else (
            "every matched span has the same stance: chance-corrected agreement is undefined"
        )  # fmt: skip
        return Metric(None, n=len(docs), note=note)
    pos = {label: i for i, label in enumerate(labels)}
    k = len(labels)
    counts = np.zeros((len(docs), k * k))
    for row, doc in enumerate(docs):
        for x, y in doc:
            counts[row, pos[x] * k + pos[y]] += 1
    value = cohen_kappa_score(
        [pos[x] for x, _ in pairs], [pos[y] for _, y in pairs], labels=list(range(k))
    )

    def kappa_of(w: Float) -> Float:
        return kappa_of_confusions((w @ counts).reshape(-1, k, k))

    return bootstrap_metric(
        value, kappa_of(bootstrap_weights(rng, len(docs), bootstrap)), len(docs),
        method=interval, items=Items(np.arange(len(docs), dtype=np.int64), len(docs), kappa_of),
        undefined="a resample in which both sides use one and the same label",
        note=f"Cohen's kappa over {len(pairs)} span pairs matched one-to-one, "
        f"in {len(docs)} documents",
    )  # fmt: skip
