"""Sampling where it helps, and the proof: uncertainty strategies and the learning curve.

User cases: "send annotators what the model is least sure of, but keep some random picks
so we can still measure it"; "do not send twenty versions of one story"; "tell me honestly
whether this beats random sampling on our data" (``corpus model curve``).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from conftest import TrainedModel
from typer.testing import CliRunner

from corpus.cli import app
from corpus.errors import ModelError, RoundError
from corpus.label_schema import AnnotationSchema
from corpus.preannotate import KeywordPreAnnotator
from corpus.rounds.population import plan_sample
from corpus.rounds.sample import (
    Candidate,
    UncertaintyStrategy,
    select,
    tfidf_clusters,
)
from corpus.rounds.state import RoundSettings
from corpus.training import learning_curve

runner = CliRunner()


def _candidates(n: int) -> list[Candidate]:
    return [Candidate(f"d{i:02d}", f"g{i:02d}") for i in range(n)]


def test_uncertainty_takes_the_least_sure_first_with_an_exact_explore_share() -> None:
    candidates = _candidates(30)
    scores = {c.doc_id: i / 30 for i, c in enumerate(candidates)}  # d29 is the least sure
    strategy = UncertaintyStrategy(scores, explore=0.2)
    sample = select(candidates, strategy, n=10, seed=4)
    explored = [d for d in sample.doc_ids if d in strategy.explored]
    assert len(explored) == 2  # floor(0.2 * 10), at ranks 5 and 10
    assert [sample.doc_ids.index(d) for d in explored] == [4, 9]
    chosen = [d for d in sample.doc_ids if d not in strategy.explored]
    assert chosen == [f"d{i}" for i in range(29, 21, -1)]  # the 8 most uncertain, in order
    assert all(sample.scores[d] == pytest.approx(scores[d]) for d in sample.doc_ids)
    # no exploration: the ranking alone; the same seed gives the same sample
    pure = select(candidates, UncertaintyStrategy(scores, explore=0.0), n=5, seed=4)
    assert pure.doc_ids == ["d29", "d28", "d27", "d26", "d25"]
    again = select(candidates, UncertaintyStrategy(scores, explore=0.2), n=10, seed=4)
    assert again.doc_ids == sample.doc_ids
    with pytest.raises(ValueError, match="explore"):
        UncertaintyStrategy(scores, explore=1.5)


def test_uncertainty_takes_one_document_per_near_duplicate_group() -> None:
    candidates = [Candidate("a1", "A"), Candidate("a2", "A"), Candidate("b1", "B")]
    scores = {"a1": 0.1, "a2": 0.9, "b1": 0.5}
    sample = select(candidates, UncertaintyStrategy(scores, explore=0.0), n=3, seed=0)
    assert sample.doc_ids == ["b1", "a1"]  # the group's representative (smallest id) only


STORY = "Tariffs on steel rose again as trade talks in Geneva stalled over {}."
OTHERS = [
    "Students returned to exchange programmes and universities reopened campuses.",
    "The navy held drills near the island while diplomats called for calm.",
    "Investors weighed the economic outlook as factory output slowed.",
    "Human rights groups criticised the new law on civil society.",
    "Chip makers faced export controls on advanced processors.",
]


def test_diverse_uncertainty_does_not_send_twenty_copies_of_one_story() -> None:
    texts = {f"s{i:02d}": STORY.format(f"quota {i}") for i in range(20)}
    texts |= {f"o{i}": text for i, text in enumerate(OTHERS)}
    candidates = [Candidate(d, d) for d in sorted(texts)]  # none are near-duplicates
    scores = {d: (0.9 if d.startswith("s") else 0.5) + int(d[1:]) / 1000 for d in texts}
    plain = select(candidates, UncertaintyStrategy(scores, explore=0.0), n=6, seed=0)
    assert all(d.startswith("s") for d in plain.doc_ids)  # the one story, six times
    clusters = tfidf_clusters(texts, 6, seed=0)
    assert len({clusters[d] for d in texts if d.startswith("s")}) == 1
    diverse = UncertaintyStrategy(scores, explore=0.0, clusters=clusters)
    assert diverse.name == "diverse-uncertainty"
    sample = select(candidates, diverse, n=6, seed=0)
    assert sum(d.startswith("s") for d in sample.doc_ids) == 1
    assert len({clusters[d] for d in sample.doc_ids}) == 6
    assert sample.doc_ids[0] == "s19"  # the most uncertain document of the best cluster


def test_uncertainty_rounds_need_a_model(store_with_docs: tuple, schema: AnnotationSchema) -> None:
    store, version = store_with_docs
    settings = RoundSettings(sample=3, overlap=1, seed=0, strategy="uncertainty", explore=0.2)
    with pytest.raises(RoundError, match="needs a model") as caught:
        plan_sample(store, "r", version, settings, KeywordPreAnnotator(schema))
    assert "--preannotate MODEL" in caught.value.hint


@pytest.fixture
def store_with_docs(tmp_path: Path, schema: AnnotationSchema) -> tuple:
    from conftest import write_article

    from corpus.ingestion import ingest
    from corpus.store import Store

    folder = tmp_path / "articles"
    for i, text in enumerate([STORY.format("x"), *OTHERS]):
        write_article(folder, f"a{i}.txt", f"Article {i}", text)
    store = Store(tmp_path / "store")
    version = ingest([folder], store=store, schema=schema).version
    return store, version


@pytest.mark.slow
def test_learning_curve_simulates_rounds_per_strategy(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    sizes = [8, 16, 24]
    strategies = ["random", "uncertainty", "diverse-uncertainty"]
    result = learning_curve(
        trained_model.store, "1.0.0", sizes=sizes, strategies=strategies, seeds=2,
        out=tmp_path / "curve",
    )  # fmt: skip
    assert len(result.rows) == len(sizes) * len(strategies) * 2
    for row in result.rows:
        assert row["labelled"] in sizes
        assert row["stance_macro_f1"] is None or 0.0 <= row["stance_macro_f1"] <= 1.0
        assert row["span_f1"] is not None and 0.0 <= row["span_f1"] <= 1.0
    for seed in (0, 1):  # every strategy starts from the same seed set
        first = {
            (r["stance_macro_f1"], r["span_f1"])
            for r in result.rows
            if r["seed"] == seed and r["labelled"] == sizes[0]
        }
        assert len(first) == 1
    for s in result.summary:
        m = s["span_f1"]
        assert m["n"] == 2 and m["low"] <= m["mean"] <= m["high"]
    assert {p.name for p in result.files} == {"curve.png", "curve.csv", "curve.json"}
    assert (tmp_path / "curve" / "curve.png").read_bytes()[:4] == b"\x89PNG"
    with (tmp_path / "curve" / "curve.csv").open() as fh:
        assert len(list(csv.DictReader(fh))) == len(result.rows)
    saved = json.loads((tmp_path / "curve" / "curve.json").read_text())
    assert saved["summary"] == result.summary


def test_curve_cli_and_sizes_beyond_the_release(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    store = str(trained_model.store.root)
    result = runner.invoke(
        app,
        ["model", "curve", "1.0.0", "--sizes", "10,20", "--strategy", "random,uncertainty",
         "--seeds", "1", "--out", str(tmp_path / "c"), "--store", store, "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    value = json.loads(result.stdout)
    assert value["ok"] is True and value["strategies"] == ["random", "uncertainty"]
    with pytest.raises(ModelError, match="--sizes asks for up to 5000") as caught:
        learning_curve(trained_model.store, "1.0.0", sizes=[10, 5000], out=tmp_path / "x")
    assert "release 1.0.0" in caught.value.message
    bad = runner.invoke(app, ["model", "curve", "1.0.0", "--sizes", "20,10", "--store", store])
    assert bad.exit_code == 2 and "increasing" in bad.output
    bad = runner.invoke(
        app, ["model", "curve", "1.0.0", "--sizes", "5", "--strategy", "magic", "--store", store]
    )
    assert bad.exit_code == 2
