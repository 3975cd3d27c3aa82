"""Shared fixtures: a clean environment, an offline HF cache, a temporary store."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before datasets/huggingface_hub are imported

from pathlib import Path

import pytest

from corpus.schema import AnnotationSchema, load_schema
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
