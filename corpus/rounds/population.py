"""The documents a new round may sample (the I/O edge of :mod:`corpus.rounds.sample`).

By default a round samples only documents that no earlier round of this store has sent to
annotators (nor a near-duplicate of one), and that have no gold: annotators never relabel
what is done while other documents wait (:func:`eligible`). "A near-duplicate of one" is a
document of the same near-duplicate component at the sampled version
(:func:`corpus.neardup.components.document_components`: stored groups with the recorded
merges applied), and every strategy takes one document per component. ``relabel=ROUND``
re-sends that round's documents for a second opinion; ``include_labelled`` samples from
every document. The ``disagreement`` and ``relabel-migrated`` strategies choose among
documents already labelled, by design.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from corpus.errors import RoundError
from corpus.labels.gold import effective_gold
from corpus.neardup.components import document_components
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
from corpus.rounds.state import RoundSettings, list_rounds, round_order
from corpus.store import Store

DIVERSE_CLUSTERS = 20  # clusters of a diverse-uncertainty round that samples everything


def plan_sample(
    store: Store,
    name: str,
    version: str,
    settings: RoundSettings,
    preannotator: PreAnnotator,
    *,
    sampler: object | None = None,
) -> Sample:
    """The round's sample under ``settings`` (strategy, relabel, include_labelled, n, seed).

    ``preannotator`` gives the ``stratified`` strategy its issue labels; ``sampler`` (default:
    ``preannotator``) is the model the uncertainty strategies rank by."""
    if settings.strategy not in STRATEGIES:
        raise RoundError(
            f"unknown sampling strategy {settings.strategy!r}",
            hint=f"Use one of: {', '.join(STRATEGIES)}.",
        )
    by_model = settings.strategy in MODEL_STRATEGIES
    texts = settings.strategy == "stratified" or by_model
    columns = ["dup_group", "source"] + (["text"] if texts else [])
    docs = store.documents(version, columns=columns)
    component = document_components(store, version, {d: r["dup_group"] for d, r in docs.items()})
    earlier = {r.name: r for r in list_rounds(store.root) if r.name != name}
    if settings.relabel is not None and settings.relabel not in earlier:
        raise RoundError(
            f"--relabel {settings.relabel}: no such earlier round in this store",
            hint="Run `corpus round list` to see the rounds.",
        )
    labelled = settings.strategy in ("disagreement", "relabel-migrated")
    rounds = [
        (r.name, r.doc_ids) for r in sorted(earlier.values(), key=lambda r: (r.created, r.name))
    ]
    kept, excluded = eligible(
        component,
        rounds,
        gold_documents(store),
        relabel=settings.relabel,
        include_labelled=settings.include_labelled or labelled,
    )
    docs = {d: docs[d] for d in kept}
    candidates = [
        Candidate(
            d,
            component[d],
            row.get("source"),
            _labels(preannotator, row) if settings.strategy == "stratified" else frozenset(),
        )
        for d, row in sorted(docs.items())
    ]
    strategy = (
        _uncertainty(settings, preannotator if sampler is None else sampler, candidates, docs)
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
    sampler: object,
    candidates: list[Candidate],
    docs: dict[str, dict[str, Any]],
) -> UncertaintyStrategy:
    """The model's uncertainty about every near-duplicate component's representative."""
    if not isinstance(sampler, UncertaintyScorer):
        shown = getattr(sampler, "model_version", type(sampler).__name__)
        raise RoundError(
            f"the {settings.strategy} strategy needs a model to be unsure with; {shown} is not one",
            hint="Pass --model MODEL (or --preannotate MODEL to also show its suggestions); "
            "train one with `corpus model train RELEASE`.",
        )
    reps = [c.doc_id for c in representatives(candidates)]
    scores = dict(zip(reps, sampler.uncertainty([docs[d]["text"] for d in reps]), strict=True))
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


def eligible(
    components: Mapping[str, str],
    rounds: Sequence[tuple[str, Collection[str]]],
    gold: Collection[str],
    *,
    relabel: str | None = None,
    include_labelled: bool = False,
) -> tuple[list[str], Counter[str]]:
    """The documents a new round may sample, and how many were left out, by reason.

    ``components``: every document of the sampled version -> its near-duplicate component;
    ``rounds``: earlier rounds as ``(name, doc_ids)``, oldest first; ``gold``: documents with
    effective gold. A round samples only documents that no earlier round has sent to
    annotators (nor a document of the same component), and that have no gold. ``relabel``
    keeps exactly that round's documents; ``include_labelled`` keeps every document.
    Reference twin: ``tests/reference/sampling.py``.
    """
    excluded: Counter[str] = Counter()
    if relabel is not None:
        keep = next((set(ids) for r, ids in rounds if r == relabel), set())
        excluded[f"not in round {relabel}"] = sum(d not in keep for d in components)
        return sorted(d for d in components if d in keep), excluded
    if include_labelled:
        return sorted(components), excluded
    sent_in: dict[str, str] = {}  # doc -> the first round that sent it
    component_round: dict[str, str] = {}  # component -> the first round that sent one of it
    for round_name, doc_ids in rounds:
        for doc_id in doc_ids:
            sent_in.setdefault(doc_id, round_name)
            if doc_id in components:
                component_round.setdefault(components[doc_id], round_name)
    kept = []
    for doc_id, comp in sorted(components.items()):
        if (why := sent_in.get(doc_id) or component_round.get(comp)) is not None:
            excluded[f"sent to annotators in round {why}"] += 1
        elif doc_id in gold:
            excluded["already has gold"] += 1
        else:
            kept.append(doc_id)
    return kept, excluded


def gold_documents(store: Store) -> set[str]:
    """Documents with an effective gold row in the latest version."""
    latest = store.latest_name()
    if latest is None or "gold_annotations" not in store.manifest(latest).tables:
        return set()
    rows = store.iter_rows(latest, "gold_annotations")
    gold, _ = effective_gold(rows, [], round_order(store.root))
    return {g["doc_id"] for g in gold}


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
        order = round_order(store.root)
        gold = (
            effective_gold(store.iter_rows(latest or "", "gold_annotations"), [], order)[0]
            if "gold_annotations" in tables
            else []
        )
        unresolved = [g["doc_id"] for g in gold if g["stance"] is None]
        scores = disagreement_scores(annotations, spans, unresolved, order)
        return ScoredStrategy(name, {d: s for d, s in scores.items() if d in allowed})
    marked = needs_relabel(store, earlier)
    return ScoredStrategy(name, {d: 1.0 for d in marked if d in allowed})


def needs_relabel(store: Store, earlier: dict[str, Any]) -> set[str]:
    """Documents marked for relabelling that no round has re-sent since: marked by a schema
    migration (``migrate`` versions) or by a pull that mapped an older round's rows through a
    split label (``pull`` versions); both record ``needs_relabel`` (doc_id -> labels) in
    their manifest. A document counts as marked from the first version that marked each of
    its labels (a re-pull repeating a mark does not renew it)."""
    first: dict[tuple[str, str], str] = {}
    for version in store.version_names():
        manifest = store.manifest(version)
        listed = manifest.extra.get("needs_relabel")
        if manifest.kind not in ("migrate", "pull") or not isinstance(listed, dict):
            continue
        for doc_id, labels in listed.items():
            for label in labels if isinstance(labels, list) and labels else [""]:
                first.setdefault((str(doc_id), str(label)), manifest.created)
    marked: dict[str, str] = {}
    for (doc_id, _), created in first.items():
        marked[doc_id] = max(marked.get(doc_id, ""), created)
    for r in earlier.values():
        for doc_id in r.doc_ids:
            if doc_id in marked and r.created >= marked[doc_id]:
                del marked[doc_id]
    return set(marked)


__all__ = ["eligible", "gold_documents", "needs_relabel", "plan_sample"]
