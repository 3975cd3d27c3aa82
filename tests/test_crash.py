"""kill -9 at every named point of every commit, then the next run completes the work.

Each test runs the real `corpus` command in a child process with CORPUS_FAULT=<point>: the
process kills itself with SIGKILL exactly there (corpus.faults), every time, no timing. The
next run, without the fault, must succeed, and nothing may be lost or stored twice.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import SEEDS, TrainedModel, build_gold_version, write_article

from corpus.faults import FAULT_POINTS
from corpus.label_schema import AnnotationSchema
from corpus.labelstudio import StudioClient, StudioInfo
from corpus.rounds import start_round
from corpus.rounds.state import load_round
from corpus.store import Store, check_store

# Each test runs `corpus` in processes and kills them: seconds each (`./scripts/test --fast`
# skips them; the marker's test of every fault point having a kill test is quick and kept).
SLOW = pytest.mark.slow

TESTED = {
    "ingest:workers-running": "test_killing_an_ingest_kills_its_workers",
    "version:before-rename": "test_kill_during_a_version_commit",
    "pull:export-download": "test_kill_during_the_export_download",
    "pull:after-archive": "test_kill_between_archive_and_version",
    "pull:after-version": "test_kill_between_version_and_round_state",
    "release:writing": "test_kill_inside_a_release_build",
    "release:before-rename": "test_kill_inside_a_release_build",
    "model:before-rename": "test_kill_before_a_model_folder_is_renamed",
    "key:before-link": "test_kill_while_the_pseudonym_key_is_created",
}


def test_every_fault_point_has_a_kill_test() -> None:
    assert set(TESTED) == set(FAULT_POINTS)
    assert all(name in globals() for name in TESTED.values())


def corpus_cli(
    *args: str, fault: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """The real command in a child process (killed by SIGKILL when ``fault`` is reached)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("CORPUS_", "LABEL_"))}
    environ |= env | ({"CORPUS_FAULT": fault} if fault else {})
    return subprocess.run(
        [sys.executable, "-m", "corpus", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def killed(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == -signal.SIGKILL, (done.returncode, done.stdout, done.stderr)


def ok(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode == 0, (done.stdout, done.stderr)
    value: dict[str, Any] = json.loads(done.stdout)
    assert value["ok"] is True
    return value


@SLOW
def test_kill_during_a_version_commit(store: Store, tmp_path: Path) -> None:
    s = str(store.root)
    killed(corpus_cli("ingest", str(SEEDS), "--store", s, fault="version:before-rename"))
    assert store.version_names() == []
    assert any((store.root / ".tmp").iterdir())  # the killed writer's leftovers
    result = ok(corpus_cli("ingest", str(SEEDS), "--store", s, "--json"))
    assert result["version"] == "0.1.0" and result["documents_added"] == 1
    assert not (store.root / ".tmp").exists() or not any((store.root / ".tmp").iterdir())
    assert check_store(store, deep=True).ok


@SLOW
def test_kill_while_the_pseudonym_key_is_created(store: Store) -> None:
    """issue 18 case 10: the pseudonym key was written without fsync or rename, so a crash
    left an empty key (and every pseudonym would change). Killed before the key is linked
    into place, there is no key; the next run creates a whole one and keeps it."""
    code = (
        "from corpus.rounds.pulled import pseudonym_key; from corpus.store import Store; "
        f"print(pseudonym_key(Store({str(store.root)!r})).hex())"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CORPUS_")}

    def run(**env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", code], env=environ | env, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip

    killed(run(CORPUS_FAULT="key:before-link"))
    path = store.root / ".pseudonym-key"
    assert not path.exists()
    first = run()
    assert first.returncode == 0, first.stderr
    assert path.read_bytes().hex() == first.stdout.strip() and path.stat().st_size == 32
    assert run().stdout == first.stdout  # created once, then kept


@pytest.fixture
def annotated_round(
    tmp_path: Path,
    store: Store,
    schema: AnnotationSchema,
    studio_client: StudioClient,
    ls_client: Any,
) -> str:
    """A round of 12 documents, each labelled once (by the admin, through the raw SDK)."""
    for i in range(12):
        write_article(tmp_path / "docs", f"{i:02d}.txt", f"Story {i}", f"Trade talks {i}.")
    from corpus.ingestion import ingest

    ingest([tmp_path / "docs"], store=store, schema=schema)
    name = f"crash-{tmp_path.name[-12:]}"
    start_round(studio_client, store, name, version="0.1.0", schema=schema)
    state = load_round(store.root, name)
    assert state.project_id is not None
    for doc_id, tasks in studio_client.task_keys(state.project_id).items():
        stance = {"choices": ["neutral"]}
        ls_client.annotations.create(
            id=tasks[0][0],
            result=[{"from_name": "stance", "to_name": "text", "type": "choices", "value": stance}],
        )
        assert doc_id in state.doc_ids
    return name


def _env(studio: StudioInfo) -> dict[str, str]:
    return {"LABEL_STUDIO_URL": studio.url, "LABEL_STUDIO_API_KEY": studio.api_key}


def _archives(store: Store, name: str) -> list[Path]:
    return sorted((store.root / "rounds" / name / "exports").glob("*.json.gz"))


def test_kill_during_the_export_download(
    store: Store, studio: StudioInfo, annotated_round: str
) -> None:
    name, s = annotated_round, str(store.root)
    pull = ("round", "pull", name, "--store", s, "--json")
    killed(corpus_cli(*pull, fault="pull:export-download", **_env(studio)))
    assert store.version_names() == ["0.1.0"] and _archives(store, name) == []
    result = ok(corpus_cli(*pull, **_env(studio)))
    assert result["written"] and result["annotations"] == 12 and result["rejects"] == []
    assert store.version_names() == ["0.1.0", "0.2.0"]


def test_kill_between_archive_and_version(
    store: Store, studio: StudioInfo, annotated_round: str
) -> None:
    name, s = annotated_round, str(store.root)
    pull = ("round", "pull", name, "--store", s, "--json")
    killed(corpus_cli(*pull, fault="pull:after-archive", **_env(studio)))
    assert store.version_names() == ["0.1.0"] and len(_archives(store, name)) == 1
    result = ok(corpus_cli(*pull, **_env(studio)))
    assert result["written"] and result["version"] == "0.2.0" and result["annotations"] == 12
    assert len(_archives(store, name)) == 1  # the same export is archived once
    assert not list((store.root / "rounds" / name).rglob("*.tmp"))


def test_kill_between_version_and_round_state(
    store: Store, studio: StudioInfo, annotated_round: str
) -> None:
    name, s = annotated_round, str(store.root)
    pull = ("round", "pull", name, "--store", s, "--json")
    killed(corpus_cli(*pull, fault="pull:after-version", **_env(studio)))
    assert store.version_names() == ["0.1.0", "0.2.0"]
    assert load_round(store.root, name).pulled_versions == []  # the state was not updated
    result = ok(corpus_cli(*pull, **_env(studio)))
    assert result["version"] == "0.2.0" and not result["written"]  # completed, not repeated
    assert store.version_names() == ["0.1.0", "0.2.0"]
    assert load_round(store.root, name).pulled_versions == ["0.2.0"]
    rows = store.read_table("0.2.0", "annotations").num_rows
    assert rows == 12
    gold = ok(corpus_cli("adjudicate", name, "--store", s, "--json"))
    assert gold["gold_annotations"] == 12


@SLOW
@pytest.mark.parametrize("point", ["release:writing", "release:before-rename"])
def test_kill_inside_a_release_build(
    point: str, store: Store, schema: AnnotationSchema, tmp_path: Path
) -> None:
    gold = build_gold_version(store, schema, tmp_path / "articles", n=30)
    s = str(store.root)
    build = ("release", "build", gold, "--release", "1.0.0", "--store", s, "--force", "small")
    killed(corpus_cli(*build, fault=point))
    releases = store.root / "releases"
    assert not (releases / "1.0.0").exists()
    assert [p.name for p in releases.iterdir() if p.name.startswith(".tmp-release-")]
    result = ok(corpus_cli(*build, "--json"))
    assert Path(result["path"]).name == "1.0.0"
    assert sorted(p.name for p in releases.iterdir()) == ["1.0.0"]  # leftovers removed
    ok(corpus_cli("release", "verify", result["path"], "--json"))
    # a later release still finds its previous release (leftovers never break it)
    killed(corpus_cli(*build[:3], "--release", "1.1.0", *build[5:], fault=point))
    later = ok(corpus_cli(*build[:3], "--release", "1.1.0", *build[5:], "--json"))
    assert Path(later["path"]).name == "1.1.0"


@SLOW
def test_kill_before_a_model_folder_is_renamed(trained_model: TrainedModel, tmp_path: Path) -> None:
    import shutil

    store = tmp_path / "store"
    shutil.copytree(trained_model.release, store / "releases" / "1.0.0")
    train = ("model", "train", "1.0.0", "--name", "m", "--bootstrap", "0", "--store", str(store))
    killed(corpus_cli(*train, fault="model:before-rename"))
    models = store / "models"
    assert not (models / "m").exists()
    assert [p.name for p in models.iterdir() if p.name.startswith(".tmp-model-m-")]
    result = ok(corpus_cli(*train, "--json"))
    assert Path(result["path"]) == models / "m"
    assert sorted(p.name for p in models.iterdir()) == ["m"]  # the leftover is gone
    listed = ok(corpus_cli("model", "list", "--store", str(store), "--json"))
    assert [(m["name"], m["problem"]) for m in listed["models"]] == [("m", None)]


@SLOW
def test_killing_an_ingest_kills_its_workers(tmp_path: Path) -> None:
    """issue 18 (store/ingest): killing the main ingest process left its worker processes
    running (~300 MB); they end with it (docs/concepts/store.md "Ingest": workers die with their
    parent)."""
    import uuid

    import psutil

    for i in range(70):  # over the 4 MB below which ingest runs without workers
        words = " ".join(f"w{i}x{j}" for j in range(9000))
        write_article(tmp_path / "big", f"{i:02d}.txt", f"Story {i}", words)
    key, value = "CORPUS_TEST_RUN", uuid.uuid4().hex  # marks the processes of this run
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("CORPUS_", "LABEL_"))}
    environ |= {"CORPUS_FAULT": "ingest:workers-running", key: value}
    with (tmp_path / "out").open("w") as out:  # not a pipe: a surviving worker holds it open
        done = subprocess.run(
            [sys.executable, "-m", "corpus", "ingest", str(tmp_path / "big"),
             "--store", str(tmp_path / "s"), "--workers", "2"],
            env=environ, stdout=out, stderr=out, timeout=600, check=False,
        )  # fmt: skip
    assert done.returncode == -signal.SIGKILL, (tmp_path / "out").read_text()

    def tagged() -> list[psutil.Process]:
        found = []
        for proc in psutil.process_iter():
            try:
                if proc.environ().get(key) == value:
                    found.append(proc)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        return found

    _, alive = psutil.wait_procs(tagged(), timeout=60)
    left = [(p.pid, p.name()) for p in alive if p.is_running() and p.status() != "zombie"]
    for proc in alive:  # leave nothing behind when the test fails
        proc.kill()
    assert left == []
