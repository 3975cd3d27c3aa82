"""Which documents a round sends to annotators (pure): strategies over a population.

A *strategy* ranks candidate documents, best first, each with a score; :func:`select` then
takes at most one document per near-duplicate group, in rank order, up to ``n``. The
built-in strategies:

* ``random`` (default): every near-duplicate group's representative (its smallest doc id),
  shuffled with the seed; the score is the rank's complement.
* ``stratified``: spread over the pre-annotated issue labels and over sources, so that rare
  issues are not missed: each pick maximises the sum, over the document's labels and source,
  of ``rarity / (1 + already picked)``; documents with the same labels and source are
  interchangeable and taken in seeded order.
* ``disagreement``: documents of earlier rounds ranked by how much their annotators
  disagreed (1 - the share of the most common stance, or of the spans' issue labels shared
  between annotators, whichever is larger); unresolved gold scores 1; agreed documents are
  not candidates.
* ``relabel-migrated``: documents whose spans used a label that a schema migration split,
  marked for relabelling.

A model-based strategy implements :class:`Strategy` (``name`` and ``rank``) the same way.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

STRATEGIES = ("random", "stratified", "disagreement", "relabel-migrated")


@dataclass(frozen=True)
class Candidate:
    """A document that may be sampled, with what strategies look at."""

    doc_id: str
    dup_group: str
    source: str | None = None
    labels: frozenset[str] = frozenset()  # pre-annotated issue labels


class Strategy(Protocol):
    """Ranks candidates best first: ``[(doc_id, score), ...]`` (higher score = better)."""

    name: str

    def rank(self, candidates: Sequence[Candidate], *, seed: int) -> list[tuple[str, float]]: ...


@dataclass
class Sample:
    """The documents of a round, why others were left out, and every document's score."""

    doc_ids: list[str]
    anchor_ids: list[str]
    scores: dict[str, float]
    population: int
    excluded: dict[str, int] = field(default_factory=dict)  # reason -> documents


def _order(doc_id: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{doc_id}".encode()).hexdigest()


def representatives(candidates: Iterable[Candidate]) -> list[Candidate]:
    """The smallest doc id of every near-duplicate group, sorted."""
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


def disagreement_scores(
    annotations: Iterable[Mapping[str, object]],
    spans: Iterable[Mapping[str, object]],
    unresolved: Iterable[str] = (),
) -> dict[str, float]:
    """How much each document's annotators disagreed (0 = agreed; documents with fewer than
    two voting annotators are left out). ``unresolved`` documents score 1."""
    votes: dict[str, dict[str, str | None]] = defaultdict(dict)
    for row in annotations:
        if not row.get("cancelled"):
            votes[str(row["doc_id"])][str(row["annotator"])] = row.get("stance")  # type: ignore[assignment]
    labels: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in spans:
        labels[(str(row["doc_id"]), str(row["annotator"]))].add(str(row["issue"]))
    scores: dict[str, float] = {}
    for doc_id, by in votes.items():
        if len(by) < 2:
            continue
        top = Counter(by.values()).most_common(1)[0][1]
        stance = 1.0 - top / len(by)
        sets = [labels[(doc_id, who)] for who in by]
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
    "STRATEGIES",
    "Candidate",
    "RandomStrategy",
    "Sample",
    "ScoredStrategy",
    "Strategy",
    "StratifiedStrategy",
    "disagreement_scores",
    "representatives",
    "sample_documents",
    "select",
]
