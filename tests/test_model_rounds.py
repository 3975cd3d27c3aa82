"""Pre-annotation with a stored model, on the real Label Studio server of the session.

User case: "start the next round with the model trained on release 1.0.0: annotators should
see its stance and spans with how sure it is, the round should go to what it is least sure
about, and the agreement report should show how often people just kept its suggestions".
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import TrainedModel, new_articles_store
from typer.testing import CliRunner

from corpus.cli import app
from corpus.errors import ModelError
from corpus.iaa import agreement
from corpus.label_schema import AnnotationSchema, load_schema
from corpus.labelstudio import StudioClient
from corpus.rounds import pull_round, push_round, start_round
from corpus.rounds.state import load_round, round_dir
from corpus.store import Store

pytestmark = pytest.mark.studio
runner = CliRunner()


@pytest.fixture
def fresh(tmp_path: Path, schema: AnnotationSchema, trained_model: TrainedModel) -> Store:
    """A store of new, unlabelled articles with a copy of the trained model."""
    return new_articles_store(tmp_path, schema, trained_model, n=12, seed=99)


def _tasks(ls_client: Any, project_id: int) -> dict[str, Any]:
    return {t.data["doc_id"]: t for t in ls_client.tasks.list(project=project_id, fields="all")}


def test_a_round_pre_annotated_and_sampled_by_a_model(
    studio_client: StudioClient,
    ls_client: Any,
    fresh: Store,
    schema: AnnotationSchema,
    trained_model: TrainedModel,
    make_annotator: Callable[..., Any],
) -> None:
    result = start_round(
        studio_client, fresh, "m1", schema=schema, model="base", strategy="uncertainty",
        sample=5, explore=0.2, seed=1,
    )  # fmt: skip
    state = load_round(fresh.root, "m1")
    assert state.model_version == trained_model.version
    assert state.settings.model == "base" and state.settings.strategy == "uncertainty"
    assert state.settings.explore == 0.2 and len(state.explored) == 1
    assert set(state.scores) == set(state.doc_ids) and len(state.doc_ids) == 5
    chosen = [state.scores[d] for d in state.doc_ids if d not in state.explored]
    assert chosen == sorted(chosen, reverse=True)  # least sure first
    assert result.imported == 5

    # on the server: every task shows the model's prediction with its scores and version
    tasks = _tasks(ls_client, state.project_id)
    assert set(tasks) == set(state.doc_ids)
    project = ls_client.projects.get(id=state.project_id)
    assert project.model_version == trained_model.version
    labels = set(schema.stance_names)
    for task in tasks.values():
        (prediction,) = task.predictions
        assert prediction.model_version == trained_model.version
        stance = [r for r in prediction.result if r["from_name"] == "stance"]
        spans = [r for r in prediction.result if r["from_name"] == "issue"]
        assert len(stance) == 1 and stance[0]["value"]["choices"][0] in labels
        assert prediction.score == pytest.approx(stance[0]["score"]) and 0 < prediction.score <= 1
        assert spans and all(0 < r["score"] <= 1 for r in spans)
        text = task.data["text"]
        assert all(text[r["value"]["start"] : r["value"]["end"]] == r["value"]["text"]
                   for r in spans)  # fmt: skip

    # round show: the strategy, the model and the score distribution
    shown = runner.invoke(app, ["round", "show", "m1", "--store", str(fresh.root), "--json"])
    value = json.loads(shown.stdout)
    assert value["settings"]["model"] == "base" and value["scores"]["n"] == 5
    assert value["explored"] == 1
    text = runner.invoke(app, ["round", "show", "m1", "--store", str(fresh.root)]).output
    assert "uncertainty" in text and "scores: min" in text and "explore: 1 of 5" in text

    # push again after a task was deleted: the model's prediction comes back with it
    first = state.doc_ids[0]
    ls_client.tasks.delete(id=tasks[first].id)
    again = push_round(studio_client, fresh, "m1")
    assert again.imported == 1
    (restored,) = _tasks(ls_client, state.project_id)[first].predictions
    assert restored.model_version == trained_model.version

    # annotators: one keeps every suggestion, one changes the stance and drops spans
    keeper, changer = make_annotator("keeper"), make_annotator("changer")
    tasks = _tasks(ls_client, state.project_id)
    for doc_id in state.doc_ids[:3]:
        (prediction,) = tasks[doc_id].predictions
        kept = [dict(r) for r in prediction.result]
        ls_client.annotations.create(id=tasks[doc_id].id, completed_by=keeper.id, result=kept)
        suggested = next(r for r in kept if r["from_name"] == "stance")["value"]["choices"][0]
        other = next(label for label in schema.stance_names if label != suggested)
        ls_client.annotations.create(
            id=tasks[doc_id].id,
            completed_by=changer.id,
            result=[{"from_name": "stance", "to_name": "text", "type": "choices",
                     "value": {"choices": [other]}}],
        )  # fmt: skip
    pulled = pull_round(studio_client, fresh, "m1", schema=schema)
    rows = fresh.read_table(pulled.version or "", "annotations").to_pylist()
    assert rows and all(r["model_version"] == trained_model.version for r in rows)
    assert all(r["suggested_stance"] in labels for r in rows)
    spans = fresh.read_table(pulled.version or "", "spans").to_pylist()
    assert spans and all(s["from_prediction"] for s in spans)  # the keeper's, unchanged

    report = agreement(fresh, "m1", schema=schema, bootstrap=20)
    (summary,) = report.per_model_version
    assert summary.model_version == trained_model.version
    assert summary.annotations == 6 and summary.stance_suggested == 6
    assert summary.stance_accepted == 0.5 and summary.accepted_suggestions == 1.0
    shown = runner.invoke(
        app, ["agreement", "m1", "--store", str(fresh.root), "--bootstrap", "20", "--json"]
    )
    assert json.loads(shown.stdout)["per_model_version"][0]["stance_accepted"] == 0.5
    quick = runner.invoke(  # no resamples: the same figures, no intervals
        app, ["agreement", "m1", "--store", str(fresh.root), "--bootstrap", "0", "--json"]
    )
    assert quick.exit_code == 0 and json.loads(quick.stdout)["bootstrap"] == 0
    readme = (round_dir(fresh.root, "m1") / "agreement" / "README.md").read_text()
    assert "Suggestions kept, per model version" in readme and trained_model.version in readme


def test_diverse_uncertainty_round(
    studio_client: StudioClient, fresh: Store, schema: AnnotationSchema
) -> None:
    start_round(
        studio_client, fresh, "m2", schema=schema, model=fresh.root / "models" / "base",
        strategy="diverse-uncertainty", sample=4, seed=0,
    )  # fmt: skip
    state = load_round(fresh.root, "m2")
    assert state.settings.strategy == "diverse-uncertainty" and len(state.doc_ids) == 4
    assert state.settings.model == "base"  # a folder of the store's models is named
    assert state.model_version.startswith("base-")


def test_a_model_of_another_schema_is_refused_naming_both_hashes(
    studio_client: StudioClient, fresh: Store, tmp_path: Path, trained_model: TrainedModel
) -> None:
    text = (Path(__file__).parents[1] / "schemas" / "annotation.yaml").read_text()
    other = tmp_path / "other.yaml"
    other.write_text(text.replace("name: climate", "name: climate_and_energy"))
    changed = load_schema(other)
    assert changed.hash() != load_schema().hash()
    with pytest.raises(ModelError) as caught:
        start_round(studio_client, fresh, "m3", schema=changed, model="base", sample=2)
    message = caught.value.message
    assert load_schema().hash() in message and changed.hash() in message
    assert "model base" in message
    assert not (round_dir(fresh.root, "m3") / "round.json").exists()


def test_a_damaged_model_is_refused_for_a_round(
    studio_client: StudioClient, fresh: Store, schema: AnnotationSchema
) -> None:
    stance = fresh.root / "models" / "base" / "stance.joblib"
    stance.chmod(0o644)
    stance.write_bytes(stance.read_bytes() + b"\0")
    with pytest.raises(ModelError, match=r"damaged: stance\.joblib"):
        start_round(studio_client, fresh, "m4", schema=schema, model="base", sample=2)
    assert not (round_dir(fresh.root, "m4") / "round.json").exists()


def test_uncertainty_without_a_model_is_a_usage_error(fresh: Store) -> None:
    result = runner.invoke(
        app, ["round", "start", "m5", "--strategy", "uncertainty", "--store", str(fresh.root)]
    )
    assert result.exit_code == 2 and "--preannotate MODEL" in result.output
