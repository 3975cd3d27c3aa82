"""Shared fixtures: a clean environment, an offline HF cache, a temporary store."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before datasets/huggingface_hub are imported

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from corpus.label_schema import AnnotationSchema, load_schema
from corpus.store import Store

pytest_plugins = ["studio_fixtures"]

# Hypothesis profiles: "ci" (the default, derandomised so CI is repeatable) and "long" for a
# deeper local search (`pytest --hypothesis-profile=long`). Differential tests take their
# example counts from the profile; failures found are kept as explicit @example cases.
settings.register_profile(
    "ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "long", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci")

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


@contextlib.contextmanager
def lock_held_elsewhere(root: Path) -> Iterator[None]:
    """The store's write lock held by another process for the block (the lock is
    re-entrant within one process, so a second writer must be another process)."""
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import time; from corpus.store import Store\n"
         f"with Store({str(root)!r}).lock():\n"
         "    print('locked', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield
    finally:
        holder.kill()
        holder.wait()


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


def near_duplicate_trio(p: int = 20) -> tuple[str, str, str]:
    """Bodies A, B, C over distinct words: A = P+Q, B = Q+R, C = P+Q+R with |Q| = 3p + 4, so
    that (word 5-shingles) J(A, B) = 0.6 and J(A, C) = J(B, C) = 0.8: issue 12's case of a
    document close to two others that are not close to each other."""
    q = 3 * p + 4
    words = [f"{w}{i}" for i, w in enumerate(["tariff", "yuan", "port", "chip", "soy"] * 40)]
    chunk_p, chunk_q, chunk_r = words[:p], words[p : p + q], words[p + q : 2 * p + q]

    def body(*chunks: list[str]) -> str:
        flat = [w for c in chunks for w in c]
        sentences = [" ".join(flat[i : i + 12]).capitalize() + "." for i in range(0, len(flat), 12)]
        return " ".join(sentences)

    return body(chunk_p, chunk_q), body(chunk_q, chunk_r), body(chunk_p, chunk_q, chunk_r)


def build_newsroom_version(
    store: Store,
    schema: AnnotationSchema,
    folder: Path,
    *,
    n: int = 150,
    per_issue: int = 16,
    seed: int = 0,
    name: str = "newsroom",
) -> str:
    """Issue 12's user shape: ``n`` articles (three of them the near-duplicate trio), one
    round, three annotators; each issue planned in ``per_issue`` documents, one of four
    stances per document (skewed), a span stance per span. The annotators mostly agree (one
    sometimes picks another stance, one sometimes misses a span), so majority gold keeps the
    plan. Stored through the pull converter and adjudicated, as in :func:`build_gold_version`.
    """
    import random
    import re
    from datetime import UTC, datetime

    from corpus.adjudication import adjudicate
    from corpus.ingestion import ingest
    from corpus.ingestion.core import normalize, split_title
    from corpus.labelstudio.config import ISSUE, SPAN_STANCE, STANCE, TEXT
    from corpus.rounds.convert import StoredDoc, pseudonym, validate_task
    from corpus.rounds.pull import write_pull_version
    from corpus.rounds.state import RoundSettings, RoundState, save_round
    from corpus.simulate import generate_articles

    _, body = split_title(normalize(next(SEEDS.glob("*.txt")).read_text(encoding="utf-8")))
    articles = generate_articles(body.split("\n\n"), n - 3, seed=seed)
    trio = near_duplicate_trio()
    for i, (title, text) in enumerate(articles):
        write_article(folder, f"gen-{i:04d}.txt", title, text)
    for label, text in zip("ABC", trio, strict=True):
        write_article(folder, f"trio-{label}.txt", f"[generated] Near-duplicate {label}", text)
    version = ingest([folder], store=store, schema=schema).version
    assert version is not None
    docs = {d["doc_id"]: d for d in store.read_table(version, "documents").to_pylist()}
    assert len(docs) == n
    rng = random.Random(seed)
    order = sorted(docs)
    stance = {d: rng.choices(schema.stance_names, weights=[35, 30, 25, 10])[0] for d in order}
    planned: dict[str, list[tuple[int, int, str, str]]] = {d: [] for d in order}
    for issue in schema.issue_names:
        for d in rng.sample(order, per_issue):
            taken = planned[d]
            words = [m.span() for m in re.finditer(r"\w+(?:\s+\w+){1,2}", docs[d]["text"])]
            free = [w for w in words if all(w[1] <= a or b <= w[0] for a, b, _, _ in taken)]
            start, end = rng.choice(free)
            taken.append((start, end, issue, rng.choice(schema.span_stance_names)))
    state = RoundState(
        name=name, version=version, project_title=f"corpus {name}", doc_ids=order,
        settings=RoundSettings(sample=None, overlap=3, seed=seed), schema_hash=schema.hash(),
        label_config_sha256="", model_version="none",
        created=datetime.now(UTC).isoformat(), simulated=True,
    )  # fmt: skip
    stored = {d: StoredDoc(r["text"], r["text_sha256"]) for d, r in docs.items()}
    annotations: list[dict[str, object]] = []
    spans: list[dict[str, object]] = []
    for t, d in enumerate(order):
        text = docs[d]["text"]
        results = []
        for k in range(3):
            chosen = stance[d]
            if k == 1 and rng.random() < 0.15:
                chosen = rng.choice([s for s in schema.stance_names if s != stance[d]])
            result: list[dict[str, object]] = [{"from_name": STANCE, "to_name": TEXT,
                       "type": "choices", "value": {"choices": [chosen]}}]  # fmt: skip
            for i, (start, end, issue, span_stance) in enumerate(planned[d]):
                if k == 2 and rng.random() < 0.1:
                    continue
                value = {"start": start, "end": end, "text": text[start:end]}
                region = {"id": f"r{k}{i}", "to_name": TEXT}
                result.append({**region, "from_name": ISSUE, "type": "labels",
                               "value": {**value, "labels": [issue]}})  # fmt: skip
                result.append({**region, "from_name": SPAN_STANCE, "type": "choices",
                               "value": {**value, "choices": [span_stance]}})  # fmt: skip
            results.append({"id": t * 10 + k, "completed_by": k + 1, "was_cancelled": False,
                            "lead_time": 30.0, "created_at": "2026-01-01",
                            "updated_at": "2026-01-01", "result": result})  # fmt: skip
        data = {"text": text, "doc_id": d, "text_sha256": docs[d]["text_sha256"]}
        task = {"id": t + 1, "annotations": results, "data": data}
        checked = validate_task(
            task, docs=stored, schema=schema, round_name=name,
            who=lambda user: pseudonym(b"k", "local", user), predicted={d: set()},
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


def build_gold_release(root: Path, n: int) -> tuple[Store, Path]:
    """A store under ``root`` with an adjudicated round of ``n`` documents and its release
    1.0.0 (forced: a small test corpus); the store and the release folder."""
    from corpus.release import ReleaseResult, build_release

    store, schema = Store(root / "store"), load_schema()
    gold = build_gold_version(store, schema, root / "articles", n=n)
    built = build_release(store, gold, release="1.0.0", schema=schema, force="small test corpus")
    assert isinstance(built, ReleaseResult)
    return store, built.path


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory) -> TrainedModel:
    from corpus.training import train_model

    root = tmp_path_factory.mktemp("trained-model")
    store, release = build_gold_release(root, n=60)
    result = train_model(store, "1.0.0", name="base", bootstrap=200, cache_dir=root / "hf")
    return TrainedModel(store, release, result.path, result.name, result.version)


def new_articles_store(
    tmp_path: Path, schema: AnnotationSchema, model: TrainedModel, *, n: int, seed: int
) -> Store:
    """A store of ``n`` new, unlabelled articles with a copy of the trained model as ``base``."""
    import shutil

    from corpus.ingestion import ingest
    from corpus.ingestion.core import normalize, split_title
    from corpus.simulate import generate_articles

    _, body = split_title(normalize(next(SEEDS.glob("*.txt")).read_text(encoding="utf-8")))
    folder = tmp_path / "new"
    for i, (title, text) in enumerate(generate_articles(body.split("\n\n"), n, seed=seed)):
        write_article(folder, f"n{i:02d}.txt", title, text)
    store = Store(tmp_path / "store")
    ingest([folder], store=store, schema=schema)
    shutil.copytree(model.path, store.root / "models" / "base")
    return store
