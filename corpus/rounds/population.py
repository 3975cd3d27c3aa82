"""The documents a new round may sample (the I/O edge of :mod:`corpus.rounds.sample`).

By default a round samples only documents that no earlier round of this store has sent to
annotators (nor a near-duplicate of one), and that have no gold: annotators never relabel
what is done while other documents wait. ``relabel=ROUND`` re-sends that round's documents
for a second opinion; ``include_labelled`` samples from every document. The
``disagreement`` and ``relabel-migrated`` strategies choose among documents already
labelled, by design.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from corpus.errors import RoundError
from corpus.preannotate import PreAnnotator
from corpus.rounds.sample import (
    MODEL_STRATEGIES,
    STRATEGIES,
    Candidate,
    RandomStrategy,
    Sample,
    ScoredStrategy,
    Strategy,
    StratifiedStrategy,
    UncertaintyScorer,
    UncertaintyStrategy,
    disagreement_scores,
    representatives,
    select,
    tfidf_clusters,
)
from corpus.rounds.state import RoundSettings, list_rounds
from corpus.store import Store

DIVERSE_CLUSTERS = 20  # clusters of a diverse-uncertainty round that samples everything


def plan_sample(
    store: Store, name: str, version: str, settings: RoundSettings, preannotator: PreAnnotator
) -> Sample:
    """The round's sample under ``settings`` (strategy, relabel, include_labelled, n, seed)."""
    if settings.strategy not in STRATEGIES:
        raise RoundError(
            f"unknown sampling strategy {settings.strategy!r}",
            hint=f"Use one of: {', '.join(STRATEGIES)}.",
        )
    by_model = settings.strategy in MODEL_STRATEGIES
    texts = settings.strategy == "stratified" or by_model
    columns = ["dup_group", "source"] + (["text"] if texts else [])
    docs = store.documents(version, columns=columns)
    earlier = {r.name: r for r in list_rounds(store.root) if r.name != name}
    if settings.relabel is not None and settings.relabel not in earlier:
        raise RoundError(
            f"--relabel {settings.relabel}: no such earlier round in this store",
            hint="Run `corpus round list` to see the rounds.",
        )
    excluded: Counter[str] = Counter()
    labelled = settings.strategy in ("disagreement", "relabel-migrated")
    if settings.relabel is not None:
        keep = set(earlier[settings.relabel].doc_ids)
        excluded[f"not in round {settings.relabel}"] = sum(d not in keep for d in docs)
        docs = {d: row for d, row in docs.items() if d in keep}
    elif not settings.include_labelled and not labelled:
        docs = _unlabelled(store, docs, earlier, excluded)
    candidates = [
        Candidate(
            d,
            row["dup_group"],
            row.get("source"),
            _labels(preannotator, row) if settings.strategy == "stratified" else frozenset(),
        )
        for d, row in sorted(docs.items())
    ]
    strategy = (
        _uncertainty(settings, preannotator, candidates, docs)
        if by_model
        else _strategy(store, settings.strategy, earlier, set(docs))
    )
    if isinstance(strategy, ScoredStrategy):
        left_out = sum(c.doc_id not in strategy.scores for c in candidates)
        if left_out:
            why = "agreed, or labelled by one annotator" if labelled else "no score"
            if settings.strategy == "relabel-migrated":
                why = "not marked for relabelling by a schema migration"
            excluded[why] += left_out
    sample = select(
        candidates,
        strategy,
        n=settings.sample,
        seed=settings.seed,
        anchor=settings.anchor,
        excluded={k: v for k, v in excluded.items() if v},
    )
    if isinstance(strategy, UncertaintyStrategy):
        sample.explored = [d for d in sample.doc_ids if d in strategy.explored]
    return sample


def _uncertainty(
    settings: RoundSettings,
    preannotator: PreAnnotator,
    candidates: list[Candidate],
    docs: dict[str, dict[str, Any]],
) -> UncertaintyStrategy:
    """The model's uncertainty about every near-duplicate group's representative."""
    if not isinstance(preannotator, UncertaintyScorer):
        raise RoundError(
            f"the {settings.strategy} strategy needs a model to be unsure with; "
            f"pre-annotator {preannotator.model_version} is not one",
            hint="Pass --preannotate MODEL (train one with `corpus model train RELEASE`).",
        )
    reps = [c.doc_id for c in representatives(candidates)]
    scores = dict(zip(reps, preannotator.uncertainty([docs[d]["text"] for d in reps]), strict=True))
    clusters = None
    if settings.strategy == "diverse-uncertainty" and reps:
        k = min(settings.sample or DIVERSE_CLUSTERS, len(reps))
        clusters = tfidf_clusters({d: docs[d]["text"] for d in reps}, k, seed=settings.seed)
    explore = settings.explore if settings.explore is not None else 0.2
    return UncertaintyStrategy(scores, explore=explore, clusters=clusters)


def _labels(preannotator: PreAnnotator, row: dict[str, Any]) -> frozenset[str]:
    if "text" not in row:
        return frozenset()
    return frozenset(s.issue for s in preannotator.predict(row["text"]))


def _unlabelled(
    store: Store,
    docs: dict[str, dict[str, Any]],
    earlier: dict[str, Any],
    excluded: Counter[str],
) -> dict[str, dict[str, Any]]:
    """Leave out documents (and their near-duplicates) sent by earlier rounds, and gold."""
    sent_in: dict[str, str] = {}
    for r in sorted(earlier.values(), key=lambda r: (r.created, r.name)):
        for doc_id in r.doc_ids:
            sent_in.setdefault(doc_id, r.name)
    group_round = {row["dup_group"]: sent_in[d] for d, row in docs.items() if d in sent_in}
    gold = _gold_documents(store)
    kept = {}
    for doc_id, row in docs.items():
        if (round_name := sent_in.get(doc_id) or group_round.get(row["dup_group"])) is not None:
            excluded[f"sent to annotators in round {round_name}"] += 1
        elif doc_id in gold:
            excluded["already has gold"] += 1
        else:
            kept[doc_id] = row
    return kept


def _gold_documents(store: Store) -> set[str]:
    latest = store.latest_name()
    if latest is None or "gold_annotations" not in store.manifest(latest).tables:
        return set()
    batches = store.iter_batches(latest, "gold_annotations", ["doc_id"])
    return {d for b in batches for d in b.column(0).to_pylist()}


def _strategy(store: Store, name: str, earlier: dict[str, Any], allowed: set[str]) -> Strategy:
    if name == "random":
        return RandomStrategy()
    if name == "stratified":
        return StratifiedStrategy()
    latest = store.latest_name()
    tables = store.manifest(latest).tables if latest else {}
    if name == "disagreement":
        if "annotations" not in tables:
            return ScoredStrategy(name, {})
        annotations = list(store.iter_rows(latest or "", "annotations"))
        spans = list(store.iter_rows(latest or "", "spans")) if "spans" in tables else []
        unresolved = (
            [g["doc_id"] for g in store.iter_rows(latest or "", "gold_annotations")
             if g["stance"] is None]
            if "gold_annotations" in tables
            else []
        )  # fmt: skip
        scores = disagreement_scores(annotations, spans, unresolved)
        return ScoredStrategy(name, {d: s for d, s in scores.items() if d in allowed})
    marked = needs_relabel(store, earlier)
    return ScoredStrategy(name, {d: 1.0 for d in marked if d in allowed})


def needs_relabel(store: Store, earlier: dict[str, Any]) -> set[str]:
    """Documents a schema migration marked for relabelling that no round has re-sent since."""
    marked: dict[str, str] = {}
    for version in store.version_names():
        manifest = store.manifest(version)
        if manifest.kind == "migrate":
            listed = manifest.extra.get("needs_relabel")
            for doc_id in listed if isinstance(listed, dict) else {}:
                marked[str(doc_id)] = manifest.created
    for r in earlier.values():
        for doc_id in r.doc_ids:
            if doc_id in marked and r.created >= marked[doc_id]:
                del marked[doc_id]
    return set(marked)


__all__ = ["needs_relabel", "plan_sample"]
