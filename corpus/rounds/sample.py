"""Which documents a round sends to annotators (pure): strategies over a population.

A *strategy* ranks candidate documents, best first, each with a score; :func:`select` then
takes at most one document per near-duplicate component, in rank order, up to ``n``. The
built-in strategies:

* ``random`` (default): every near-duplicate component's representative (its smallest doc id),
  shuffled with the seed; the score is the rank's complement.
* ``stratified``: spread over the pre-annotated issue labels and over sources, so that rare
  issues are not missed: each pick maximises the sum, over the document's labels and source,
  of ``rarity / (1 + already picked)``; documents with the same labels and source are
  interchangeable and taken in seeded order.
* ``disagreement``: documents of earlier rounds ranked by how much their annotators
  disagreed in the latest round where two or more voted on them (1 - the share of the most
  common stance, or of the spans' issue labels shared between annotators, whichever is
  larger; rounds are never pooled); a document whose effective gold is unresolved scores 1;
  agreed documents are not candidates.
* ``relabel-migrated``: documents whose spans used a label that a schema migration split,
  marked for relabelling.
* ``uncertainty`` (needs a model): documents the model is least sure about first (its
  score, see :mod:`corpus.inference.predict`), with an ``explore`` share of random picks:
  position ``k`` of the ranking is a random document whenever ``floor(explore * k)`` grows,
  so every batch of ``n`` holds ``floor(explore * n)`` of them.
* ``diverse-uncertainty``: the same over TF-IDF clusters of the candidates
  (:func:`tfidf_clusters`): the most uncertain document of each cluster first (clusters in
  the order of their best score), then the second of each, and so on, so that a batch is not
  twenty versions of one story; one document per near-duplicate group, as always.

A model-based strategy implements :class:`Strategy` (``name`` and ``rank``) the same way.
"""

from __future__ import annotations

import hashlib
import random
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from corpus.labels.votes import voting_annotations

MODEL_STRATEGIES = ("uncertainty", "diverse-uncertainty")
STRATEGIES = ("random", "stratified", "disagreement", "relabel-migrated", *MODEL_STRATEGIES)


@dataclass(frozen=True)
class Candidate:
    """A document that may be sampled, with what strategies look at."""

    doc_id: str
    dup_group: str  # its near-duplicate component (corpus.neardup.components), not the stored group
    source: str | None = None
    labels: frozenset[str] = frozenset()  # pre-annotated issue labels


class Strategy(Protocol):
    """Ranks candidates best first: ``[(doc_id, score), ...]`` (higher score = better)."""

    name: str

    def rank(self, candidates: Sequence[Candidate], *, seed: int) -> list[tuple[str, float]]: ...


@runtime_checkable
class UncertaintyScorer(Protocol):
    """A model that says how unsure it is about each text (0 = sure, 1 = knows nothing)."""

    def uncertainty(self, texts: Sequence[str]) -> list[float]: ...


@dataclass
class Sample:
    """The documents of a round, why others were left out, and every document's score."""

    doc_ids: list[str]
    anchor_ids: list[str]
    scores: dict[str, float]
    population: int
    excluded: dict[str, int] = field(default_factory=dict)  # reason -> documents
    explored: list[str] = field(default_factory=list)  # picked at random by an explore share


def _order(doc_id: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{doc_id}".encode()).hexdigest()


def representatives(candidates: Iterable[Candidate]) -> list[Candidate]:
    """The smallest doc id of every near-duplicate component (``dup_group``), sorted."""
    reps: dict[str, Candidate] = {}
    for c in candidates:
        if c.dup_group not in reps or c.doc_id < reps[c.dup_group].doc_id:
            reps[c.dup_group] = c
    return sorted(reps.values(), key=lambda c: c.doc_id)


class RandomStrategy:
    name = "random"

    def rank(self, candidates: Sequence[Candidate], *, seed: int) -> list[tuple[str, float]]:
        chosen = [c.doc_id for c in representatives(candidates)]
        random.Random(seed).shuffle(chosen)
        n = len(chosen)
        return [(doc_id, round(1.0 - i / n, 6)) for i, doc_id in enumerate(chosen)]


class StratifiedStrategy:
    """Greedy coverage of issue labels and sources, weighted by rarity."""

    name = "stratified"

    def rank(self, candidates: Sequence[Candidate], *, seed: int) -> list[tuple[str, float]]:
        reps = representatives(candidates)
        keys = {c.doc_id: _keys(c) for c in reps}
        freq = Counter(k for ks in keys.values() for k in ks)
        weight = {k: 1.0 / n for k, n in freq.items()}
        pools: dict[frozenset[str], list[str]] = defaultdict(list)
        for c in reps:
            pools[keys[c.doc_id]].append(c.doc_id)
        for docs in pools.values():
            docs.sort(key=lambda d: _order(d, seed), reverse=True)  # pop() takes seeded order
        picked: Counter[str] = Counter()
        out: list[tuple[str, float]] = []
        while pools:
            gain = {sig: sum(weight[k] / (1 + picked[k]) for k in sig) for sig in pools}
            best = max(pools, key=lambda sig: (gain[sig], _order(pools[sig][-1], seed)))
            doc_id = pools[best].pop()
            out.append((doc_id, round(gain[best], 6)))
            picked.update(best)
            if not pools[best]:
                del pools[best]
        return out


def _keys(c: Candidate) -> frozenset[str]:
    return frozenset({*(f"issue:{label}" for label in c.labels), f"source:{c.source or ''}"})


@dataclass
class ScoredStrategy:
    """Candidates ranked by given scores (disagreement, relabel-migrated, models...)."""

    name: str
    scores: Mapping[str, float]

    def rank(self, candidates: Sequence[Candidate], *, seed: int) -> list[tuple[str, float]]:
        scored = [c for c in candidates if c.doc_id in self.scores]
        scored.sort(key=lambda c: (-self.scores[c.doc_id], _order(c.doc_id, seed)))
        return [(c.doc_id, round(float(self.scores[c.doc_id]), 6)) for c in scored]


@dataclass
class UncertaintyStrategy:
    """Most uncertain first (``scores``), an ``explore`` share at random; with ``clusters``
    (doc id -> cluster), round-robin over clusters (``diverse-uncertainty``)."""

    scores: Mapping[str, float]
    explore: float = 0.2
    clusters: Mapping[str, int] | None = None
    explored: set[str] = field(default_factory=set)  # filled by rank()
    name: str = field(init=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.explore <= 1.0:
            raise ValueError(f"explore must be between 0 and 1, not {self.explore}")
        self.name = "uncertainty" if self.clusters is None else "diverse-uncertainty"

    def rank(self, candidates: Sequence[Candidate], *, seed: int) -> list[tuple[str, float]]:
        reps = [c.doc_id for c in representatives(candidates) if c.doc_id in self.scores]
        ordered = sorted(reps, key=lambda d: (-self.scores[d], _order(d, seed)))
        if self.clusters is not None:
            ordered = _round_robin(ordered, self.clusters)
        shuffled = sorted(reps, key=lambda d: _order(d, seed + 1))
        taken: set[str] = set()
        out: list[tuple[str, float]] = []
        best, rand = iter(ordered), iter(shuffled)
        self.explored = set()
        for k in range(1, len(reps) + 1):
            pick_random = int(self.explore * k) > int(self.explore * (k - 1))
            source = rand if pick_random else best
            doc_id = next(d for d in source if d not in taken)
            taken.add(doc_id)
            if pick_random:
                self.explored.add(doc_id)
            out.append((doc_id, round(float(self.scores[doc_id]), 6)))
        return out


def _round_robin(ordered: Sequence[str], clusters: Mapping[str, int]) -> list[str]:
    """The first of each cluster (clusters in order of their first), then the second..."""
    groups: dict[int, list[str]] = {}
    for doc_id in ordered:
        groups.setdefault(clusters.get(doc_id, -1), []).append(doc_id)
    queues = list(groups.values())  # dicts keep insertion order: best cluster first
    out: list[str] = []
    depth = 0
    while len(out) < len(ordered):
        out.extend(q[depth] for q in queues if depth < len(q))
        depth += 1
    return out


def tfidf_clusters(texts: Mapping[str, str], k: int, *, seed: int = 0) -> dict[str, int]:
    """Doc id -> one of ``k`` k-means clusters of the texts' TF-IDF vectors."""
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import TfidfVectorizer

    ids = sorted(texts)
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    if len(ids) <= k:
        return {doc_id: i for i, doc_id in enumerate(ids)}
    vectors = TfidfVectorizer(sublinear_tf=True, max_features=20000).fit_transform(
        [texts[d] for d in ids]
    )
    with warnings.catch_warnings():  # fewer distinct texts than clusters is fine here
        warnings.simplefilter("ignore", ConvergenceWarning)
        labels = KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(vectors)
    return {doc_id: int(label) for doc_id, label in zip(ids, labels, strict=True)}


def disagreement_scores(
    annotations: Iterable[Mapping[str, object]],
    spans: Iterable[Mapping[str, object]],
    unresolved: Iterable[str] = (),
    round_order: Sequence[str] = (),
) -> dict[str, float]:
    """How much each document's annotators disagreed (0 = agreed), measured **per round**
    and never pooled across rounds: a document's score is its disagreement in the latest
    round (``round_order``, oldest first; rounds missing from it count as oldest, by name)
    in which at least two annotators voted on it. Votes are the ones adjudication counts
    (each annotator's latest not skipped, :func:`corpus.labels.votes.voting_annotations`)
    with their spans. Documents whose effective gold is unresolved (``unresolved``) score 1;
    agreed documents are left out."""
    rounds: dict[str, list[Mapping[str, object]]] = defaultdict(list)
    for row in annotations:
        rounds[str(row.get("round", ""))].append(row)
    labels: dict[tuple[str, object], set[str]] = defaultdict(set)
    for row in spans:
        labels[(str(row.get("round", "")), row["annotation_id"])].add(str(row["issue"]))
    rank = {name: i for i, name in enumerate(round_order)}
    scores: dict[str, float] = {}
    for name in sorted(rounds, key=lambda r: (rank.get(r, -1), r)):  # later rounds overwrite
        for doc_id, by in voting_annotations(rounds[name]).items():
            if len(by) < 2:
                continue
            top = Counter(a.get("stance") for a in by.values()).most_common(1)[0][1]
            stance = 1.0 - top / len(by)
            sets = [labels[(name, a["annotation_id"])] for a in by.values()]
            pairs = [(a, b) for i, a in enumerate(sets) for b in sets[i + 1 :]]
            jaccard = [len(a & b) / len(a | b) if a | b else 1.0 for a, b in pairs]
            scores[doc_id] = max(stance, 1.0 - sum(jaccard) / len(jaccard))
    for doc_id in unresolved:
        scores[doc_id] = 1.0
    return {d: s for d, s in scores.items() if s > 0}


def select(
    candidates: Sequence[Candidate],
    strategy: Strategy,
    *,
    n: int | None,
    seed: int,
    anchor: int = 0,
    excluded: Mapping[str, int] | None = None,
) -> Sample:
    """At most one document per near-duplicate group, in the strategy's order, up to ``n``;
    the first ``anchor`` form the anchor set."""
    group = {c.doc_id: c.dup_group for c in candidates}
    taken: set[str] = set()
    chosen: list[str] = []
    scores: dict[str, float] = {}
    for doc_id, score in strategy.rank(candidates, seed=seed):
        if n is not None and len(chosen) >= n:
            break
        if group[doc_id] in taken:
            continue
        taken.add(group[doc_id])
        chosen.append(doc_id)
        scores[doc_id] = score
    return Sample(
        doc_ids=chosen,
        anchor_ids=chosen[: min(anchor, len(chosen))],
        scores=scores,
        population=len(candidates),
        excluded=dict(excluded or {}),
    )


def sample_documents(
    docs: Iterable[tuple[str, str]], *, n: int | None, seed: int, anchor: int = 0
) -> tuple[list[str], list[str]]:
    """Random sampling of (doc_id, dup_group) pairs: (documents, anchor documents)."""
    candidates = [Candidate(doc_id, group) for doc_id, group in docs]
    sample = select(candidates, RandomStrategy(), n=n, seed=seed, anchor=anchor)
    return sample.doc_ids, sample.anchor_ids


__all__ = [
    "MODEL_STRATEGIES",
    "STRATEGIES",
    "Candidate",
    "RandomStrategy",
    "Sample",
    "ScoredStrategy",
    "Strategy",
    "StratifiedStrategy",
    "UncertaintyScorer",
    "UncertaintyStrategy",
    "disagreement_scores",
    "representatives",
    "sample_documents",
    "select",
    "tfidf_clusters",
]
