"""Shared fixtures: a clean environment, an offline HF cache, a temporary store."""

from __future__ import annotations

import os
from dataclasses import dataclass

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before datasets/huggingface_hub are imported

from pathlib import Path

import pytest

from corpus.label_schema import AnnotationSchema, load_schema
from corpus.store import Store

pytest_plugins = ["studio_fixtures"]

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's Label Studio or store settings."""
    for name in list(os.environ):
        if name.startswith(("LABEL_STUDIO_", "CORPUS_")) and name != "CORPUS_STUDIO_VENV":
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def hf_tmp_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path_factory.getbasetemp() / "hf"
    monkeypatch.setattr("datasets.config.HF_DATASETS_CACHE", str(root / "datasets"))
    monkeypatch.setattr("datasets.config.HF_UPDATE_DOWNLOAD_COUNTS", False)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store")


@pytest.fixture(scope="session")
def schema() -> AnnotationSchema:
    return load_schema()


def write_article(folder: Path, name: str, title: str, *paragraphs: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(title + "\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return path


def build_gold_version(
    store: Store,
    schema: AnnotationSchema,
    folder: Path,
    *,
    n: int = 60,
    annotators: int = 3,
    seed: int = 0,
    name: str = "sim",
) -> str:
    """A store whose latest version holds gold, without Label Studio (for release tests).

    Articles are generated from the seed, labelled by simulated annotators, checked by the
    same converter a pull uses, stored as a pull version and adjudicated by majority.
    Syncing with Label Studio is tested elsewhere, against the real server.
    """
    from datetime import UTC, datetime

    from corpus.adjudication import adjudicate
    from corpus.ingestion import ingest
    from corpus.ingestion.core import normalize, split_title
    from corpus.preannotate import KeywordPreAnnotator
    from corpus.rounds.convert import StoredDoc, pseudonym, validate_task
    from corpus.rounds.pull import write_pull_version
    from corpus.rounds.state import RoundSettings, RoundState, save_round
    from corpus.simulate import annotator_profiles, generate_articles, simulate_result

    _, body = split_title(normalize(next(SEEDS.glob("*.txt")).read_text(encoding="utf-8")))
    for i, (title, text) in enumerate(generate_articles(body.split("\n\n"), n, seed=seed)):
        write_article(folder, f"gen-{i:04d}.txt", title, text)
    version = ingest([folder], store=store, schema=schema).version
    assert version is not None
    docs = {d["doc_id"]: d for d in store.read_table(version, "documents").to_pylist()}
    pre = KeywordPreAnnotator(schema)
    state = RoundState(
        name=name, version=version, project_title=f"corpus {name}", doc_ids=sorted(docs),
        settings=RoundSettings(sample=None, overlap=annotators, seed=seed),
        schema_hash=schema.hash(), label_config_sha256="", model_version=pre.model_version,
        created=datetime.now(UTC).isoformat(), simulated=True,
    )  # fmt: skip
    annotations: list[dict[str, object]] = []
    spans: list[dict[str, object]] = []
    stored = {d: StoredDoc(r["text"], r["text_sha256"]) for d, r in docs.items()}
    people = annotator_profiles(annotators)
    for t, (doc_id, row) in enumerate(sorted(docs.items())):
        suggestions = pre.predict(row["text"])
        task = {
            "id": t + 1,
            "data": {"text": row["text"], "doc_id": doc_id, "text_sha256": row["text_sha256"]},
            "annotations": [
                {"id": t * 10 + k, "completed_by": k + 1, "was_cancelled": False, "lead_time": 30.0,
                 "created_at": "2026-01-01", "updated_at": "2026-01-01",
                 "result": simulate_result(doc_id, row["text"], suggestions, schema, who, seed)}
                for k, who in enumerate(people)
            ],
        }  # fmt: skip
        checked = validate_task(
            task, docs=stored, schema=schema, round_name=name,
            who=lambda user: pseudonym(b"k", "local", user),
            predicted={doc_id: {(s.start, s.end, s.issue) for s in suggestions}},
        )  # fmt: skip
        assert not checked.rejects, checked.rejects
        annotations.extend(checked.annotations)
        spans.extend(checked.spans)
    pulled = write_pull_version(store, version, name, annotations, spans, [], None, True)
    state.pulled_versions.append(pulled)
    save_round(store.root, state)
    gold = adjudicate(store, name).version
    assert gold is not None
    return gold


@dataclass(frozen=True)
class TrainedModel:
    """A release of a simulated gold corpus and a model trained on it (shared, read-only:
    tests that change a store copy the model folder or use a store of their own)."""

    store: Store
    release: Path
    path: Path
    name: str
    version: str


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory) -> TrainedModel:
    from corpus.release import ReleaseResult, build_release
    from corpus.training import train_model

    root = tmp_path_factory.mktemp("trained-model")
    store, schema = Store(root / "store"), load_schema()
    gold = build_gold_version(store, schema, root / "articles", n=60)
    built = build_release(store, gold, release="1.0.0", schema=schema, force="small test corpus")
    assert isinstance(built, ReleaseResult)
    result = train_model(store, "1.0.0", name="base", bootstrap=200, cache_dir=root / "hf")
    return TrainedModel(store, built.path, result.path, result.name, result.version)
