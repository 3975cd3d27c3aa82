"""Sampling strategies over a store's history of rounds: disagreement per round against
effective gold, and documents marked for relabelling by a pull (issue 18 cases 5 and 6).

docs/concepts/rounds.md, "Annotation rounds" (sampling strategies) and "Labels that change between
rounds".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import write_article

import corpus
from corpus.adjudication import GOLD_TABLES
from corpus.label_schema import load_schema
from corpus.preannotate import KeywordPreAnnotator
from corpus.rounds.population import plan_sample
from corpus.rounds.pull import ROUND_TABLES, write_pull_version
from corpus.rounds.sample import disagreement_scores
from corpus.rounds.state import RoundSettings, RoundState, save_round
from corpus.store import Store, derive_version


def _vote(doc: str, rnd: str, who: str, stance: str | None, aid: int) -> dict[str, Any]:
    return {
        "doc_id": doc, "round": rnd, "annotator": who, "annotation_id": aid, "task_id": aid,
        "stance": stance, "cancelled": stance is None, "ground_truth": False, "lead_time": 1.0,
        "created_at": "2026-01-01", "updated_at": "2026-01-01", "n_spans": 0,
    }  # fmt: skip


def _gold(doc: str, rnd: str, stance: str | None) -> dict[str, Any]:
    decided = "unresolved" if stance is None else "majority"
    return {"doc_id": doc, "round": rnd, "stance": stance, "decided_by": decided,
            "votes": "1/2", "annotators": [], "annotation_ids": []}  # fmt: skip


def _store(tmp_path: Path, n: int = 4) -> tuple[Store, str, list[str]]:
    folder = tmp_path / "articles"
    for i in range(n):
        write_article(folder, f"a{i}.txt", f"Story {i}", f"A distinct report {i} on trade {i}.")
    store = Store(tmp_path / "store")
    version = corpus.ingest([folder], store=store).version
    assert version is not None
    return store, version, sorted(store.documents(version, columns=["dup_group"]))


def _round(store: Store, name: str, version: str, doc_ids: list[str], created: str) -> None:
    save_round(store.root, RoundState(
        name=name, version=version, project_title=f"corpus {name}", doc_ids=doc_ids,
        settings=RoundSettings(sample=None, overlap=2, seed=0), schema_hash=load_schema().hash(),
        label_config_sha256="x", model_version="keywords", created=created,
    ))  # fmt: skip


def test_issue_18_case_6_disagreement_is_scored_per_round_never_pooled() -> None:
    """issue 18 case 6: x and y agreed in r1; in r2 x and z agreed on another stance. Pooled,
    the latest votes (x opposed, y neutral, z opposed) disagree; per round, each agreed."""
    annotations = [
        _vote("d", "r1", "x", "neutral", 1), _vote("d", "r1", "y", "neutral", 2),
        _vote("d", "r2", "x", "opposed", 3), _vote("d", "r2", "z", "opposed", 4),
        _vote("e", "r1", "x", "neutral", 5), _vote("e", "r1", "y", "opposed", 6),
        _vote("e", "r2", "x", "opposed", 7), _vote("e", "r2", "z", "opposed", 8),
        _vote("f", "r1", "x", "neutral", 9), _vote("f", "r1", "y", "neutral", 10),
        _vote("f", "r2", "x", "opposed", 11), _vote("f", "r2", "z", "neutral", 12),
        _vote("g", "r1", "x", "neutral", 13), _vote("g", "r1", "y", "opposed", 14),
        _vote("g", "r2", "z", "neutral", 15),  # one vote in r2: r1's disagreement stands
    ]  # fmt: skip
    scores = disagreement_scores(annotations, [])  # rounds not ordered: by name
    assert scores == {"f": 0.5, "g": 0.5}  # d and e agreed in their latest round
    backwards = disagreement_scores(annotations, [], round_order=["r2", "r1"])
    assert backwards == {"e": 0.5, "g": 0.5}  # r1 is the latest now


def test_issue_18_case_6_a_later_round_resolves_the_gold(tmp_path: Path) -> None:
    """issue 18 case 6: r1's gold of a document was unresolved (a tie) and r2 decided it;
    --strategy disagreement must not score it as unresolved (effective gold), and scores
    per round."""
    store, version, (d0, d1, d2, _d3) = _store(tmp_path)
    _round(store, "r1", version, [d0, d1, d2], "2026-01-01T00:00:00+00:00")
    _round(store, "r2", version, [d0, d1], "2026-02-01T00:00:00+00:00")
    annotations = [
        _vote(d0, "r1", "x", "neutral", 1), _vote(d0, "r1", "y", "opposed", 2),
        _vote(d0, "r2", "x", "opposed", 3), _vote(d0, "r2", "z", "opposed", 4),
        _vote(d1, "r1", "x", "neutral", 5), _vote(d1, "r1", "y", "neutral", 6),
        _vote(d1, "r2", "x", "opposed", 7), _vote(d1, "r2", "z", "opposed", 8),
        _vote(d2, "r1", "x", "neutral", 9), _vote(d2, "r1", "y", "opposed", 10),
    ]  # fmt: skip
    gold = [
        _gold(d0, "r1", None), _gold(d0, "r2", "opposed"),  # r2 resolved r1's tie
        _gold(d1, "r1", "neutral"), _gold(d1, "r2", "opposed"),
        _gold(d2, "r1", None),  # still unresolved
    ]  # fmt: skip
    with store.lock():
        latest = derive_version(
            store, version, round_name=None, kind="pull", message="two rounds", extra={},
            tables={"annotations": (ROUND_TABLES["annotations"], annotations),
                    "spans": (ROUND_TABLES["spans"], []),
                    "gold_annotations": (GOLD_TABLES["gold_annotations"], gold),
                    "gold_spans": (GOLD_TABLES["gold_spans"], [])},
        )  # fmt: skip
    pre = KeywordPreAnnotator(load_schema())
    settings = RoundSettings(sample=None, overlap=2, seed=0, strategy="disagreement")
    sample = plan_sample(store, "r3", latest, settings, pre)
    assert sample.doc_ids == [d2] and sample.scores == {d2: 1.0}


def test_issue_18_case_5_relabel_migrated_sees_what_a_pull_marked(tmp_path: Path) -> None:
    """issue 18 case 5: a pull that mapped an older round's spans through a split label marks
    the documents for relabelling (``needs_relabel`` in its manifest); --strategy
    relabel-migrated samples them, and a round started after the mark clears it."""
    store, version, (d0, d1, d2, _d3) = _store(tmp_path)
    _round(store, "r1", version, [d0, d1, d2], "2026-01-01T00:00:00+00:00")
    latest = write_pull_version(
        store, version, "r1", [], [], [], None, relabel={d1: ["trade"], d2: ["trade"]}
    )
    pre = KeywordPreAnnotator(load_schema())
    settings = RoundSettings(sample=None, overlap=1, seed=0, strategy="relabel-migrated")
    sample = plan_sample(store, "r2", latest, settings, pre)
    assert sorted(sample.doc_ids) == sorted([d1, d2])
    _round(store, "r2", latest, [d1], "2999-01-01T00:00:00+00:00")  # relabelled since
    again = plan_sample(store, "r3", latest, settings, pre)
    assert again.doc_ids == [d2]
