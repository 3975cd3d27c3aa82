"""Sampling strategies (pure) and the population a new round samples from."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import write_article

import corpus
from corpus.errors import RoundError
from corpus.label_schema import load_schema
from corpus.preannotate import KeywordPreAnnotator
from corpus.rounds.population import plan_sample
from corpus.rounds.sample import (
    Candidate,
    RandomStrategy,
    ScoredStrategy,
    StratifiedStrategy,
    disagreement_scores,
    sample_documents,
    select,
)
from corpus.rounds.state import RoundSettings, RoundState, save_round
from corpus.store import Store


def test_random_sampling_is_what_it_always_was() -> None:
    """One per group (its smallest id), shuffled with the seed: old rounds stay reproducible."""
    docs = [(f"d{i:02d}", f"g{i // 2}") for i in range(20)]
    chosen, anchors = sample_documents(docs, n=5, seed=3, anchor=2)
    import random

    reps = sorted({g: d for d, g in reversed(docs)}.values())
    random.Random(3).shuffle(reps)
    assert chosen == reps[:5] and anchors == chosen[:2]


def test_one_document_per_near_duplicate_group() -> None:
    cands = [Candidate(f"d{i}", "same") for i in range(5)] + [Candidate("x", "other")]
    sample = select(cands, RandomStrategy(), n=None, seed=0)
    assert sorted(sample.doc_ids) == ["d0", "x"] and sample.population == 6


def test_stratified_finds_rare_issues_that_random_misses() -> None:
    common = [Candidate(f"c{i:03d}", f"c{i}", "wire", frozenset({"trade"})) for i in range(200)]
    rare = [
        Candidate("r1", "r1", "wire", frozenset({"taiwan"})),
        Candidate("r2", "r2", "blog", frozenset({"climate"})),
        Candidate("r3", "r3", "wire", frozenset({"human_rights", "trade"})),
    ]
    pool = common + rare
    picked = select(pool, StratifiedStrategy(), n=6, seed=1)
    assert {"r1", "r2", "r3"} <= set(picked.doc_ids)
    misses = sum(
        not {"r1", "r2", "r3"} <= set(select(pool, RandomStrategy(), n=6, seed=s).doc_ids)
        for s in range(20)
    )
    assert misses == 20  # random sampling of 6 of 203 almost never has all three
    assert picked.doc_ids == select(pool, StratifiedStrategy(), n=6, seed=1).doc_ids
    assert all(picked.scores[d] > 0 for d in picked.doc_ids)


def test_stratified_spreads_over_sources() -> None:
    pool = [Candidate(f"a{i}", f"a{i}", "A") for i in range(30)]
    pool += [Candidate(f"b{i}", f"b{i}", "B") for i in range(3)]
    picked = select(pool, StratifiedStrategy(), n=6, seed=0)
    assert Counter(d[0] for d in picked.doc_ids) == {"a": 3, "b": 3}


def test_disagreement_ranks_the_most_disputed_first() -> None:
    rows = [("agreed", a, "neutral") for a in "xyz"] + [
        ("split", "x", "neutral"), ("split", "y", "opposed"), ("split", "z", "opposed"),
        ("spans", "x", "neutral"), ("spans", "y", "neutral"), ("alone", "x", "neutral"),
    ]  # fmt: skip
    annotations = [
        {"doc_id": d, "annotator": a, "stance": s, "cancelled": False, "annotation_id": i}
        for i, (d, a, s) in enumerate(rows)
    ]
    spans = [{"doc_id": "spans", "annotator": "x", "issue": "trade", "annotation_id": 6}]
    scores = disagreement_scores(annotations, spans, unresolved=["tie"])
    assert scores == {"split": 1 - 2 / 3, "spans": 1.0, "tie": 1.0}  # agreed and alone left out
    pool = [Candidate(d, d) for d in ("agreed", "split", "spans", "alone", "tie")]
    ranked = select(pool, ScoredStrategy("disagreement", scores), n=2, seed=0)
    assert set(ranked.doc_ids) == {"spans", "tie"}


def test_disagreement_counts_the_votes_adjudication_counts() -> None:
    """An annotator who changed their mind votes with their latest annotation (and its
    spans), as in adjudication; a skipped one does not vote."""

    def ann(aid: int, who: str, stance: str, when: str, cancelled: bool = False) -> dict:
        return {"doc_id": "d", "annotator": who, "stance": stance, "annotation_id": aid,
                "updated_at": when, "cancelled": cancelled}  # fmt: skip

    annotations = [
        ann(1, "a", "opposed", "2026-01-01"), ann(2, "a", "supportive", "2026-02-01"),
        ann(3, "b", "supportive", "2026-01-15"), ann(4, "c", "opposed", "2026-03-01", True),
    ]  # fmt: skip
    spans = [
        {"doc_id": "d", "annotator": "a", "issue": "taiwan", "annotation_id": 1},  # replaced
        {"doc_id": "d", "annotator": "a", "issue": "trade", "annotation_id": 2},
        {"doc_id": "d", "annotator": "b", "issue": "trade", "annotation_id": 3},
    ]
    assert disagreement_scores(annotations, spans) == {}  # a and b agree on both


def test_a_new_round_leaves_out_what_earlier_rounds_sent_unless_asked(tmp_path: Path) -> None:
    """The user's case: r2 sampled exactly r1's documents. By default a round leaves out
    what an earlier round sent (and says so); --relabel R sends exactly R's documents
    again; --include-labelled samples from everything."""
    folder = tmp_path / "articles"
    for i in range(12):
        write_article(
            folder, f"a{i:02d}.txt", f"Story {i}", f"Distinct report {i} on trade {i * 7}."
        )
    store = Store(tmp_path / "store")
    version = corpus.ingest([folder], store=store).version
    assert version is not None
    schema = load_schema()
    pre = KeywordPreAnnotator(schema)

    def plan(**settings: Any) -> Any:
        return plan_sample(store, "r2", version, RoundSettings(overlap=1, seed=0, **settings), pre)

    first = plan(sample=5)
    save_round(store.root, RoundState(
        name="r1", version=version, project_title="corpus r1", settings=RoundSettings(
            sample=5, overlap=1, seed=0), doc_ids=first.doc_ids, schema_hash=schema.hash(),
        label_config_sha256="x", model_version="keywords", created="2026-01-01T00:00:00+00:00",
    ))  # fmt: skip
    second = plan(sample=5)  # the same seed and population size as r1
    assert not set(second.doc_ids) & set(first.doc_ids)
    assert second.excluded == {"sent to annotators in round r1": 5} and second.population == 7
    again = plan(sample=None, relabel="r1")
    assert sorted(again.doc_ids) == sorted(first.doc_ids)
    assert again.excluded == {"not in round r1": 7}
    everything = plan(sample=None, include_labelled=True)
    assert len(everything.doc_ids) == 12 and not everything.excluded
    with pytest.raises(RoundError, match="no such earlier round"):
        plan(sample=None, relabel="r0")
