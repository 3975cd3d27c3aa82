"""Models as stored, versioned artifacts: `corpus model train|evaluate|list` (issue 14).

The user case: "train a stance model and an issue tagger on release 1.0.0, keep it next to
the data with everything needed to know what it is, and tell me how good it is, with
intervals". Training runs on a release made from simulated gold, read with ``datasets``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import stat
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import ROOT, TrainedModel, build_gold_version
from typer.testing import CliRunner

from corpus.cli import app
from corpus.errors import ModelError
from corpus.features import arrow_schema
from corpus.iaa.intervals import bootstrap_metric
from corpus.inference import ModelPreAnnotator, load_model, predict_documents
from corpus.inference.features import TOKEN, bio_spans, sentences
from corpus.inference.folder import MANIFEST, STANCE_FILE, TAGGER_FILE
from corpus.inference.predict import DocumentPrediction
from corpus.label_schema import AnnotationSchema, load_schema
from corpus.models import GoldAnnotation
from corpus.preannotate import SpanSuggestion, StanceSuggestion
from corpus.release import ReleaseResult, build_release
from corpus.release.tables import tokenize
from corpus.release.verify import read_sums
from corpus.store import Store, derive_version
from corpus.training import evaluate_model, list_models, train_model
from corpus.training.data import Doc, read_release
from corpus.training.evaluate import ALL, compute_scores

runner = CliRunner()


def test_train_stores_an_immutable_model_with_manifest_and_card(
    trained_model: TrainedModel,
) -> None:
    folder = trained_model.path
    assert folder == trained_model.store.root / "models" / "base"
    manifest = json.loads((folder / MANIFEST).read_text())
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert files == {MANIFEST, STANCE_FILE, TAGGER_FILE, "README.md", "confusion.png"}
    assert set(manifest["files"]) == files - {MANIFEST}
    for rel, entry in manifest["files"].items():  # sha256 and size of every file
        data = (folder / rel).read_bytes()
        assert entry == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    for path in folder.rglob("*"):  # read-only, like a dataset version
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) == 0o444
    # the release it came from: its number, version, schema and the sha256 of what was read
    release = json.loads((trained_model.release / "manifest.json").read_text())
    sums = read_sums(trained_model.release / "SHA256SUMS")
    assert manifest["release"]["release"] == "1.0.0"
    assert manifest["release"]["version"] == release["version"]
    assert manifest["schema_hash"] == release["schema_hash"] == load_schema().hash()
    assert manifest["release"]["files"]
    assert all(sums[rel] == digest for rel, digest in manifest["release"]["files"].items())
    assert {"documents/train-00000-of-00001.parquet", "tokens/train-00000-of-00001.parquet"} <= set(
        manifest["release"]["files"]
    )
    assert {"scikit-learn", "python-crfsuite", "numpy", "corpus"} <= set(manifest["libraries"])
    assert manifest["parameters"]["stance"]["C"] in {
        t["C"] for t in manifest["selection"]["stance"]
    }
    assert len(manifest["selection"]["stance"]) == 3 and len(manifest["selection"]["tagger"]) == 4
    assert manifest["training_seconds"] > 0 and manifest["created"]
    assert manifest["data"]["train"]["labelled"] > manifest["data"]["test"]["labelled"] > 0
    for split in ("validation", "test"):
        assert set(manifest["scores"][split]) >= {"stance_macro_f1", "span_exact_f1"}
    card = (folder / "README.md").read_text()
    assert trained_model.version in card and "Release **1.0.0**" in card
    assert "Scores on the test split" in card and "Stance macro-F1" in card
    assert "confusion.png" in card and "CalibratedClassifierCV" in card
    assert (folder / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    name, short = trained_model.version.rsplit("-", 1)
    assert name == "base" and len(short) == 8


def test_a_loaded_model_suggests_spans_with_marginals_and_a_calibrated_stance(
    trained_model: TrainedModel,
) -> None:
    model = load_model(trained_model.store, "base")
    assert model.version == trained_model.version
    pre = ModelPreAnnotator(model)
    test = read_release(trained_model.store, "1.0.0").docs["test"]
    doc = next(d for d in test if d.spans)  # a held-out document with gold spans
    text = doc.text
    spans = pre.predict(text)
    found = {(s.start, s.end, s.issue) for s in spans}
    assert len(found & set(doc.spans)) >= len(doc.spans) // 2 > 0
    assert all(0.0 < s.score <= 1.0 for s in spans)
    stance = pre.predict_stance(text)
    assert isinstance(stance, StanceSuggestion) and stance.stance in load_schema().stance_names
    (predicted,) = predict_documents(model, [text])
    assert sum(predicted.probabilities.values()) == pytest.approx(1.0)
    assert stance.score == pytest.approx(max(predicted.probabilities.values()), abs=1e-4)
    assert 0.0 <= predicted.uncertainty <= 1.0
    assert pre.uncertainty([text]) == [predicted.uncertainty]


def test_prediction_tokens_are_the_release_tokens() -> None:
    text = "U.S.-China trade: tariffs (25%) fell; talks in Beijing's capital resumed."
    ours = [m.span() for m in TOKEN.finditer(text)]
    assert ours == tokenize(text, [])
    assert [t for sent in sentences(text) for t in sent] == ours
    assert bio_spans(["B-a", "I-a", "O", "I-b", "B-a", "B-a", "I-c"]) == [
        (0, 2, "a"), (3, 4, "b"), (4, 5, "a"), (5, 6, "a"), (6, 7, "c"),
    ]  # fmt: skip


def test_evaluate_reports_f1_with_intervals_and_a_confusion_plot(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    from sklearn.metrics import f1_score

    events: list[Any] = []
    e = evaluate_model(
        trained_model.store, "base", "1.0.0", split="test", out=tmp_path / "ev",
        progress=events.append,
    )  # fmt: skip
    assert [ev.stage for ev in events] == ["load", "read", "predict"]  # each long step shown
    data = read_release(trained_model.store, "1.0.0")
    docs = data.docs["test"]
    predicted = predict_documents(load_model(trained_model.store, "base"), [d.text for d in docs])
    gold = [d.stance for d in docs if d.stance is not None]
    pred = [p.stance.stance for d, p in zip(docs, predicted, strict=True) if d.stance is not None]
    present = sorted(set(gold))
    expected = f1_score(gold, pred, labels=present, average="macro", zero_division=0)
    assert e.macro_f1.value == pytest.approx(expected, abs=1e-4)
    per_label = f1_score(gold, pred, labels=present, average=None, zero_division=0)
    for label, value in zip(present, per_label, strict=True):
        assert e.per_class[label].value == pytest.approx(value, abs=1e-4)
    assert e.macro_f1.low is not None and e.macro_f1.high is not None
    assert e.macro_f1.low <= e.macro_f1.value <= e.macro_f1.high
    everything = next(s for s in e.spans if s.label == ALL)
    assert everything.gold == sum(len(d.spans) for d in docs) > 0
    assert everything.exact_f1.value is not None and everything.exact_f1.value > 0.5
    assert {s.label for s in e.spans} == {*load_schema().issue_names, ALL}
    assert e.plot == tmp_path / "ev" / "confusion.png" and e.plot.read_bytes()[:4] == b"\x89PNG"
    written = json.loads((tmp_path / "ev" / "evaluation.json").read_text())
    assert written["macro_f1"]["value"] == e.macro_f1.value and written["split"] == "test"


def _doc(i: int, stance: str | None, spans: tuple[tuple[int, int, str], ...] = ()) -> Doc:
    return Doc(f"d{i}", "text " * 10, stance, spans, f"g{i}", "en")


def _pred(stance: str, spans: list[tuple[int, int, str]] = []) -> DocumentPrediction:  # noqa: B006
    return DocumentPrediction(
        StanceSuggestion(stance, 0.9), {stance: 0.9},
        [SpanSuggestion(s, e, label, 0.8) for s, e, label in spans], 0.1, 0.1,
    )  # fmt: skip


def test_scores_match_scikit_learn_and_span_matching() -> None:
    from sklearn.metrics import f1_score

    labels = ["a", "b", "c"]
    gold = ["a", "a", "b", "b", "c", "a", None]
    pred = ["a", "b", "b", "b", "a", "a", "c"]
    docs = [_doc(i, g, ((0, 4, "x"), (10, 14, "y")) if i == 0 else ()) for i, g in enumerate(gold)]
    preds = [_pred(p, [(0, 4, "x"), (9, 14, "y"), (20, 24, "x")] if i == 0 else [])
             for i, p in enumerate(pred)]  # fmt: skip
    macro, per_class, conf, spans = compute_scores(
        docs, preds, stance_labels=labels, issue_labels=["x", "y"], bootstrap=300, seed=1
    )
    g = [x for x in gold if x is not None]
    p = [y for x, y in zip(gold, pred, strict=True) if x is not None]
    assert macro.value == pytest.approx(f1_score(g, p, average="macro", labels=labels), abs=1e-4)
    assert per_class["b"].value == pytest.approx(f1_score(g, p, labels=["b"], average="macro"))
    assert conf == [[2, 1, 0], [0, 2, 0], [1, 0, 0]]
    by = {s.label: s for s in spans}
    assert (by["x"].gold, by["x"].predicted) == (1, 2)
    assert by["x"].exact_f1.value == pytest.approx(2 * 1 / 3, abs=1e-4)  # 1 exact of 2 + 1
    assert by["y"].exact_f1.value == 0.0 and by["y"].overlap_f1.value == 1.0
    assert by[ALL].exact_f1.value == pytest.approx(2 * 1 / (3 + 2), abs=1e-4)
    # the interval rule is the agreement report's
    reps = np.linspace(0, 1, 101)
    assert bootstrap_metric(0.5, reps, 10, method="percentile").low == pytest.approx(0.025)


def test_list_shows_models_and_refuses_a_damaged_one(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    store = Store(tmp_path / "store")
    models = store.root / "models"
    models.mkdir(parents=True)
    shutil.copytree(trained_model.path, models / "good")
    shutil.copytree(trained_model.path, models / "tampered")
    target = models / "tampered" / TAGGER_FILE
    target.chmod(0o644)
    data = bytearray(target.read_bytes())
    data[-10] ^= 0xFF
    target.write_bytes(bytes(data))
    listed = {m.name: m for m in list_models(store)}
    # a copied folder keeps the name in its manifest; the listing names the folder's model
    assert listed["base"].problem is None and listed["base"].version == trained_model.version
    damaged = listed["tampered"]
    assert damaged.problem is not None and TAGGER_FILE in damaged.problem
    with pytest.raises(ModelError, match=rf"damaged: {TAGGER_FILE} does not have the sha256"):
        load_model(store, "tampered")
    (models / "good" / "notes.txt").write_text("extra")
    with pytest.raises(ModelError, match=r"notes\.txt is not listed"):
        load_model(store, "good")
    result = runner.invoke(app, ["model", "list", "--store", str(store.root), "--json"])
    assert result.exit_code == 0, result.output
    shown = {m["path"]: m for m in json.loads(result.stdout)["models"]}
    assert shown[str(models / "tampered")]["problem"]
    with pytest.raises(ModelError, match="no model 'missing'"):
        load_model(store, "missing")


@pytest.mark.slow
def test_cli_train_evaluate_and_names(trained_model: TrainedModel, tmp_path: Path) -> None:
    store = str(trained_model.store.root)
    out = tmp_path / "eval"
    result = runner.invoke(
        app,
        ["model", "evaluate", "base", str(trained_model.release), "--split", "validation",
         "--out", str(out), "--bootstrap", "50", "--store", store, "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    value = json.loads(result.stdout)
    assert value["ok"] is True and value["split"] == "validation"
    assert value["model_version"] == trained_model.version and (out / "confusion.png").is_file()
    text = runner.invoke(
        app, ["model", "evaluate", "base", "1.0.0", "--bootstrap", "0", "--store", store]
    )
    assert text.exit_code == 0 and "stance macro-F1" in text.output
    taken = runner.invoke(
        app, ["model", "train", "1.0.0", "--name", "base", "--store", store, "--json"]
    )
    assert taken.exit_code == 1
    error = json.loads(taken.stdout)["error"]
    assert error["type"] == "ModelError" and "already exists" in error["message"]
    missing = runner.invoke(app, ["model", "train", "9.9.9", "--store", store, "--json"])
    assert json.loads(missing.stdout)["error"]["type"] == "ReleaseError"


def _gold_store(
    tmp_path: Path, schema: AnnotationSchema, stance: Any, n: int = 24
) -> tuple[Store, Path]:
    """A release whose gold stances are rewritten by ``stance(doc_index)``."""
    store = Store(tmp_path / "store")
    gold = build_gold_version(store, schema, tmp_path / "articles", n=n)
    rows = sorted(store.iter_rows(gold, "gold_annotations"), key=lambda r: r["doc_id"])
    changed = [{**r, "stance": stance(i)} for i, r in enumerate(rows)]
    with store.lock():
        version = derive_version(
            store, gold, round_name=None, kind="adjudicate", message="test gold",
            tables={"gold_annotations": (arrow_schema(GoldAnnotation), changed)}, extra={},
        )  # fmt: skip
    built = build_release(store, version, release="1.0.0", schema=schema, force="test")
    assert isinstance(built, ReleaseResult)
    return store, built.path


def test_a_release_without_gold_is_refused_naming_it(
    tmp_path: Path, schema: AnnotationSchema
) -> None:
    store, release = _gold_store(tmp_path, schema, lambda i: None)
    with pytest.raises(ModelError) as caught:
        train_model(store, release)
    assert "release 1.0.0" in caught.value.message and str(release) in caught.value.message
    assert "no gold stance in its train split" in caught.value.message
    assert "adjudicate" in caught.value.hint
    assert not (store.root / "models").exists() or not list((store.root / "models").iterdir())


def test_a_train_split_too_small_is_refused_naming_it(
    tmp_path: Path, schema: AnnotationSchema
) -> None:
    store, _ = _gold_store(tmp_path, schema, lambda i: "supportive")
    result = runner.invoke(app, ["model", "train", "1.0.0", "--store", str(store.root), "--json"])
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "ModelError"
    assert "train split of release 1.0.0" in error["message"]
    assert "too small to train" in error["message"] and "supportive" in error["message"]


@pytest.mark.slow
def test_train_with_a_rare_label_says_it_is_never_predicted(
    tmp_path: Path, schema: AnnotationSchema
) -> None:
    labels = ["supportive", "opposed"]
    store, release = _gold_store(
        tmp_path, schema, lambda i: "mixed" if i == 0 else labels[i % 2], n=30
    )
    data = read_release(store, release)
    if [d.stance for d in data.labelled("train")].count("mixed") != 1:
        pytest.skip("the one 'mixed' document did not land in train")
    result = train_model(store, release, name="rare", bootstrap=0)
    manifest = json.loads((result.path / MANIFEST).read_text())
    assert "mixed" not in manifest["trained_stance_labels"]
    assert any("'mixed'" in note for note in result.notes)
    assert "never predicts it" in (result.path / "README.md").read_text()


def test_a_model_of_another_scikit_learn_is_refused(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    folder = tmp_path / "old"
    shutil.copytree(trained_model.path, folder)
    manifest_path = folder / MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest["libraries"]["scikit-learn"] = "0.24.2"
    manifest_path.chmod(0o644)
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match=r"scikit-learn 0\.24\.2"):
        load_model(None, folder)


def test_default_names_never_reuse_a_folder(trained_model: TrainedModel) -> None:
    from corpus.training.store import default_name

    store = trained_model.store
    assert default_name(store, "1.0.0") == "release-1.0.0"
    (store.root / "models" / "release-1.0.0").mkdir()
    try:
        assert default_name(store, "1.0.0") == "release-1.0.0-2"
    finally:
        (store.root / "models" / "release-1.0.0").rmdir()


def test_the_old_baseline_script_is_gone() -> None:
    assert not (ROOT / "scripts" / "train_baseline.py").exists()
