"""Sampling by a model without showing it, and rounds that show no suggestion at all, on the
real Label Studio server of the session.

docs/how-to/model-in-the-loop.md, "Models in the loop" (`--model`, `--preannotate
keywords|none|MODEL`): suggestions anchor annotators, so a study may sample by a model's uncertainty
and show nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import TrainedModel, new_articles_store
from typer.testing import CliRunner

from corpus.cli import app
from corpus.label_schema import AnnotationSchema
from corpus.labelstudio import StudioClient
from corpus.release.facts import store_facts
from corpus.rounds import push_round, start_round
from corpus.rounds.state import load_round
from corpus.store import Store

pytestmark = pytest.mark.studio
runner = CliRunner()


@pytest.fixture
def fresh(tmp_path: Path, schema: AnnotationSchema, trained_model: TrainedModel) -> Store:
    """A store of new, unlabelled articles with a copy of the trained model."""
    return new_articles_store(tmp_path, schema, trained_model, n=16, seed=98)


def _tasks(ls_client: Any, project_id: int) -> dict[str, Any]:
    return {t.data["doc_id"]: t for t in ls_client.tasks.list(project=project_id, fields="all")}


def _show(store: Store, name: str) -> tuple[dict[str, Any], str]:
    value = json.loads(
        runner.invoke(app, ["round", "show", name, "--store", str(store.root), "--json"]).stdout
    )
    return value, runner.invoke(app, ["round", "show", name, "--store", str(store.root)]).output


def test_sampled_by_a_model_that_annotators_never_see(
    studio_client: StudioClient,
    ls_client: Any,
    fresh: Store,
    schema: AnnotationSchema,
    trained_model: TrainedModel,
    tmp_path: Path,
) -> None:
    """docs/how-to/model-in-the-loop.md, Models in the loop: `--strategy uncertainty --model MODEL
    --preannotate none` ranks by the model and pushes tasks with no predictions (a re-push too);
    with the default `--preannotate keywords` annotators see keyword suggestions, not the model's.
    round.json, `round show` and the release card's round line name both."""
    start_round(
        studio_client, fresh, "hidden", schema=schema, model="base", preannotate="none",
        strategy="uncertainty", sample=4, seed=1, explore=0.0,
    )  # fmt: skip
    state = load_round(fresh.root, "hidden")
    assert state.settings.predictions is False and state.settings.model is None
    assert state.settings.sampling_model == "base" and state.model_version == "none"
    assert state.sampling_model_version == trained_model.version
    assert len(state.scores) == 4 and list(state.scores.values()) == sorted(
        state.scores.values(), reverse=True
    )  # ranked by the model: least sure first
    assert state.project_id is not None
    tasks = _tasks(ls_client, state.project_id)
    assert set(tasks) == set(state.doc_ids)
    assert all(task.predictions == [] for task in tasks.values())
    first = state.doc_ids[0]
    ls_client.tasks.delete(id=tasks[first].id)
    assert push_round(studio_client, fresh, "hidden").imported == 1
    assert _tasks(ls_client, state.project_id)[first].predictions == []
    value, text = _show(fresh, "hidden")
    assert value["suggestions_shown"] == "none"
    assert value["sampled_by"] == f"model base ({trained_model.version})"
    assert "suggestions shown: none" in text and "sampled by model base" in text

    start_round(
        studio_client, fresh, "keywords", schema=schema, model="base", preannotate="keywords",
        strategy="uncertainty", sample=3, seed=1,
    )  # fmt: skip
    shown = load_round(fresh.root, "keywords")
    assert shown.model_version.startswith("keywords-") and shown.settings.predictions
    assert not set(shown.doc_ids) & set(state.doc_ids)  # the first round's are left out
    assert shown.project_id is not None
    for task in _tasks(ls_client, shown.project_id).values():
        (prediction,) = task.predictions
        assert prediction.model_version == shown.model_version

    facts = store_facts(fresh, schema, ["hidden", "keywords"], tmp_path / "card")
    lines = {r["name"]: (r["shown"], r["sampled_by"], r["strategy"]) for r in facts["rounds"]}
    assert lines == {
        "hidden": ("none", f"model base ({trained_model.version})", "uncertainty"),
        "keywords": (
            f"keywords ({shown.model_version})",
            f"model base ({trained_model.version})",
            "uncertainty",
        ),
    }


def test_preannotate_none_from_the_command_line(
    studio_client: StudioClient, ls_client: Any, fresh: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/concepts/rounds.md, Annotation rounds: `round start --preannotate none` pushes tasks
    that carry no predictions; `--preannotate MODEL --strategy uncertainty` alone still works (the
    model shown and ranking, as before `--model`)."""
    monkeypatch.setenv("LABEL_STUDIO_URL", studio_client.connection.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", studio_client.connection.api_key)
    s = ["--store", str(fresh.root)]
    done = runner.invoke(
        app, ["round", "start", "plain", "--sample", "3", "--preannotate", "none", *s]
    )
    assert done.exit_code == 0, done.output
    assert "suggestions shown: none" in done.output
    state = load_round(fresh.root, "plain")
    assert state.project_id is not None
    assert all(t.predictions == [] for t in _tasks(ls_client, state.project_id).values())
    both = runner.invoke(
        app,
        ["round", "start", "both", "--sample", "2", "--strategy", "uncertainty",
         "--preannotate", "base", *s],
    )  # fmt: skip
    assert both.exit_code == 0, both.output
    old_style = load_round(fresh.root, "both")
    assert old_style.settings.model == "base" and old_style.settings.sampling_model is None
    assert old_style.sampled_by() == f"model base ({old_style.model_version})"
    assert old_style.project_id is not None
    for task in _tasks(ls_client, old_style.project_id).values():
        (prediction,) = task.predictions
        assert prediction.model_version == old_style.model_version
