"""Issue 18's round edges, on the real Label Studio server of the session: `round push` into
another store's project, a project deleted on the server, a broken model given to
`round start --preannotate`."""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import TrainedModel, write_article
from typer.testing import CliRunner

import corpus
from corpus.cli import app
from corpus.errors import ModelError, RoundError
from corpus.label_schema import AnnotationSchema
from corpus.labelstudio import StudioClient
from corpus.rounds.state import load_round, project_title, round_dir
from corpus.store import Store

pytestmark = pytest.mark.studio
runner = CliRunner()


def small_store(root: Path, schema: AnnotationSchema, tag: str, n: int = 3) -> Store:
    store = Store(root / f"store-{tag}")
    for i in range(n):
        write_article(root / f"in-{tag}", f"{i}.txt", f"{tag} {i}", f"Trade talks {tag} {i}.")
    corpus.ingest([root / f"in-{tag}"], store=store, schema=schema)
    return store


def cli_env(monkeypatch: pytest.MonkeyPatch, studio: Any) -> None:
    monkeypatch.setenv("LABEL_STUDIO_URL", studio.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", studio.api_key)


def test_push_refuses_another_stores_project(
    tmp_path: Path, schema: AnnotationSchema, studio_client: StudioClient
) -> None:
    """issue 18, rounds: `round push` wrote into another store's project (start, status and
    pull refused it). docs/concepts/rounds.md "Annotation rounds": push refuses it the same way, and
    writes nothing."""
    a, b = small_store(tmp_path, schema, "a"), small_store(tmp_path, schema, "b")
    ra = corpus.start_round(studio_client, a, "same", schema=schema)
    corpus.start_round(studio_client, b, "same", schema=schema)
    path = round_dir(b.root, "same") / "round.json"
    state = json.loads(path.read_text())
    state["project_id"] = ra.state.project_id
    path.write_text(json.dumps(state))
    with pytest.raises(RoundError) as info:
        corpus.push_round(studio_client, b, "same", schema=schema)
    assert "belongs to another store" in info.value.message and a.store_id() in info.value.message
    assert sorted(studio_client.task_keys(ra.state.project_id or 0)) == sorted(ra.state.doc_ids)


def test_a_deleted_project_is_reported_and_push_makes_it_again(
    tmp_path: Path,
    schema: AnnotationSchema,
    studio_client: StudioClient,
    ls_client: Any,
    studio: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """issue 18, rounds: `round status` of a round whose project was deleted said 0 tasks with
    exit 0, and the hint "push re-creates it" ended in a 404. docs/concepts/rounds.md "Annotation
    rounds": status says the project is gone (exit 1), and the command its hint names makes the
    project again."""
    store = small_store(tmp_path, schema, "gone")
    started = corpus.start_round(studio_client, store, "gone", schema=schema)
    old = started.state.project_id
    assert old is not None
    ls_client.projects.delete(id=old)

    with pytest.raises(RoundError, match=f"the project {old} of round 'gone' is gone") as info:
        corpus.round_status(studio_client, store, "gone")
    assert "corpus round push gone" in info.value.hint
    cli_env(monkeypatch, studio)
    status = runner.invoke(app, ["round", "status", "gone", "--store", str(store.root)])
    assert status.exit_code == 1, status.output
    assert "is gone" in status.output and "corpus round push gone" in status.output

    pushed = runner.invoke(app, ["round", "push", "gone", "--store", str(store.root), "--json"])
    assert pushed.exit_code == 0, pushed.output
    assert json.loads(pushed.stdout)["created_project"] is True
    new = load_round(store.root, "gone").project_id
    assert new is not None and new != old
    assert sorted(studio_client.task_keys(new)) == sorted(started.state.doc_ids)
    again = corpus.round_status(studio_client, store, "gone")
    assert (again.project_id, again.tasks) == (new, len(started.state.doc_ids))


def broken_model(source: Path, folder: Path, stance: bytes) -> Path:
    """A copy of a trained model whose ``stance.joblib`` is ``stance``, its manifest's
    checksum updated to match (what a model saved by a broken process looks like)."""
    shutil.copytree(source, folder)
    (folder / "stance.joblib").write_bytes(stance)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["stance.joblib"] = {
        "sha256": hashlib.sha256(stance).hexdigest(),
        "bytes": len(stance),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


@pytest.mark.parametrize(
    "stance",
    [b"\x80\x05not a pickle", pickle.dumps({"not": "a model"})],
    ids=["unreadable", "not-a-model"],
)
def test_a_broken_model_is_refused_before_the_round_or_its_project_exists(
    tmp_path: Path,
    schema: AnnotationSchema,
    studio_client: StudioClient,
    studio: Any,
    trained_model: TrainedModel,
    monkeypatch: pytest.MonkeyPatch,
    stance: bytes,
) -> None:
    """issue 18, rounds: `round start --preannotate <folder>` with a broken model pickle ended
    in an internal error and left the round and its project behind. docs/concepts/rounds.md
    "Annotation rounds": the model is loaded and tried first; the error names the file, and nothing
    is created."""
    store = small_store(tmp_path, schema, "model")
    folder = broken_model(trained_model.path, tmp_path / "broken", stance)
    with pytest.raises(ModelError, match=r"stance\.joblib"):
        corpus.start_round(studio_client, store, "m", schema=schema, model=folder)
    cli_env(monkeypatch, studio)
    args = ["round", "start", "m", "--preannotate", str(folder), "--store", str(store.root)]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "ModelError" in result.output and "stance.joblib" in result.output
    assert "internal error" not in result.output
    assert not round_dir(store.root, "m").exists()
    assert studio_client.projects_titled(project_title("m", store.store_id())) == []
