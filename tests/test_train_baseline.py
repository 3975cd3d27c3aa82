"""scripts/train_baseline.py trains on a release's splits and reports macro-F1."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import ROOT, build_gold_version
from datasets import Dataset, DatasetDict

from corpus.label_schema import AnnotationSchema, load_schema
from corpus.release import ReleaseResult, build_release
from corpus.release.tables import features
from corpus.store import Store


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "train_baseline", ROOT / "scripts" / "train_baseline.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


train_baseline = _script()


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("baseline")
    store, schema = Store(root / "store"), load_schema()
    version = build_gold_version(store, schema, root / "articles", n=40)
    result = build_release(
        store, version, release="1.0.0", schema=schema, force="small test corpus"
    )
    assert isinstance(result, ReleaseResult)
    return result.path


def _score_ok(value: Any) -> bool:
    return value == "n/a" or (isinstance(value, float) and 0.0 <= value <= 1.0)


def test_main_trains_on_a_release_and_reports_macro_f1(
    release: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = train_baseline.main([str(release), "--json", "--cache-dir", str(tmp_path / "c")])
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(result))
    assert result["train"]["labelled"] > 0 and len(result["train"]["classes"]) >= 2
    assert "note" not in result  # a model was fitted
    assert set(result["splits"]) == {"validation", "test"}
    for entry in result["splits"].values():
        assert _score_ok(entry["macro_f1"]) and _score_ok(entry["majority_f1"])
        assert (entry["macro_f1"] == "n/a") == (entry["labelled"] == 0)
    train_baseline.main([str(release), "--cache-dir", str(tmp_path / "c")])
    table = capsys.readouterr().out
    assert "macro-F1" in table and "validation" in table and "test" in table


def _docs(schema: AnnotationSchema, stances: list[int]) -> Dataset:
    rows: list[dict[str, Any]] = [
        {"doc_id": f"d{i}", "title": f"title {i}", "text": f"words {s} " * 5 + f"doc {i}",
         "stance": s, "spans": [], "dup_group": f"d{i}", "source": None, "url": None,
         "published_at": None, "language": "en", "gold_round": "r", "decided_by": "majority"}
        for i, s in enumerate(stances)
    ]  # fmt: skip
    feats = features(schema)["documents"]
    return (
        Dataset.from_list(rows, features=feats)
        if rows
        else Dataset.from_dict({k: [] for k in feats}, features=feats)
    )


def test_splits_without_labelled_documents_report_na(schema: AnnotationSchema) -> None:
    ds = DatasetDict(
        train=_docs(schema, [0, 1, 0, 1, 2, -1]),
        validation=_docs(schema, [-1, -1]),  # nothing labelled
        test=_docs(schema, []),  # empty
    )
    result = train_baseline.train_and_evaluate(ds)
    assert result["train"]["labelled"] == 5
    for split in ("validation", "test"):
        assert result["splits"][split]["labelled"] == 0
        assert result["splits"][split]["macro_f1"] == "n/a"


def test_a_train_split_with_one_class_fits_no_model(schema: AnnotationSchema) -> None:
    ds = DatasetDict(train=_docs(schema, [1, 1, 1]), validation=_docs(schema, [0, 1]))
    result = train_baseline.train_and_evaluate(ds)
    assert "no model was fitted" in result["note"]
    assert result["splits"]["validation"]["macro_f1"] == "n/a"
    assert _score_ok(result["splits"]["validation"]["majority_f1"])
    assert result["splits"]["test"]["macro_f1"] == "n/a"  # the split does not exist
