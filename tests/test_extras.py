"""Optional features without their extras (issue 19): each missing package is simulated with
``sys.modules[name] = None`` (what Python does for a blocked import), and the feature either
says which extra to install (a CorpusError) or, for plots, writes everything else and says
the plots were not drawn and how to get them."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import SEEDS, build_gold_release
from typer.testing import CliRunner

import corpus
from corpus.cli import app
from corpus.errors import CorpusError, EngineError, MissingEngineError, MissingExtraError
from corpus.extras import EXTRAS, install_command, require, skip_plots
from corpus.label_schema import load_schema
from corpus.store import Store

runner = CliRunner()
WIDE = {"COLUMNS": "250"}


def _hide(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)


@pytest.fixture
def no_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide(monkeypatch, "matplotlib", "matplotlib.figure")


@dataclass(frozen=True)
class Gold:
    store: Store
    release: Path


@pytest.fixture(scope="module")
def gold(tmp_path_factory: pytest.TempPathFactory) -> Gold:
    """A small adjudicated round ``sim`` and its release 1.0.0 (read-only for the tests)."""
    return Gold(*build_gold_release(tmp_path_factory.mktemp("extras"), n=24))


def test_every_extra_has_its_install_command_and_unknown_ones_are_misuse() -> None:
    assert set(EXTRAS) == {"plots", "ray"}
    assert install_command("plots") == "pip install 'corpus[plots]'"
    with pytest.raises(ValueError, match="no extra named 'nope'"):
        install_command("nope")


def test_a_missing_package_is_a_corpus_error_naming_its_extra(
    no_matplotlib: None,
) -> None:
    with pytest.raises(MissingExtraError) as info:
        require("matplotlib.figure", "plots", "the plot of the year")
    error = info.value
    assert isinstance(error, CorpusError) and not isinstance(error, EngineError)
    assert error.extra == "plots" and error.module == "matplotlib.figure"
    assert str(error).startswith("the plot of the year needs the plots extra (matplotlib)")
    assert "pip install 'corpus[plots]'" in error.hint
    assert "uv pip install 'corpus[plots]'" in error.hint
    assert error.to_dict()["extra"] == "plots"


def test_plots_are_drawn_when_installed_skipped_with_a_note_or_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert skip_plots(None, "x") is None and skip_plots(True, "x") is None
    assert "turned off" in (skip_plots(False, "x") or "")
    _hide(monkeypatch, "matplotlib", "matplotlib.figure")
    note = skip_plots(None, "x")
    assert note is not None and "pip install 'corpus[plots]'" in note
    with pytest.raises(MissingExtraError, match=r"^x needs the plots extra"):
        skip_plots(True, "x")


def test_the_ray_engine_without_its_extra_names_corpus_ray(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _hide(monkeypatch, "ray", "ray.data")
    with pytest.raises(MissingEngineError) as info:
        corpus.ingest([SEEDS], store=tmp_path / "lib", engine="ray")
    assert isinstance(info.value, EngineError) and isinstance(info.value, MissingExtraError)
    assert info.value.extra == "ray" and "pip install 'corpus[ray]'" in info.value.hint
    done = runner.invoke(
        app, ["ingest", str(SEEDS), "--store", str(tmp_path / "cli"), "--engine", "ray"], env=WIDE
    )
    assert done.exit_code == 1, done.output
    assert "MissingEngineError" in done.output and "pip install 'corpus[ray]'" in done.output
    assert not (tmp_path / "cli" / "versions").exists()


def test_agreement_without_matplotlib_writes_the_report_and_says_why_no_plots(
    gold: Gold, no_matplotlib: None, tmp_path: Path
) -> None:
    args = ["agreement", "sim", "--store", str(gold.store.root), "--bootstrap", "0"]
    shown = runner.invoke(app, [*args, "--out", str(tmp_path / "auto")], env=WIDE)
    assert shown.exit_code == 0, shown.output
    assert "Fleiss' kappa" in shown.output and "Agreement with gold" in shown.output
    assert "plots not drawn: matplotlib is not installed" in shown.output
    assert "pip install 'corpus[plots]'" in shown.output
    assert sorted(p.name for p in (tmp_path / "auto").iterdir()) == [
        "README.md", "agreement.json",
    ]  # fmt: skip
    readme = (tmp_path / "auto" / "README.md").read_text(encoding="utf-8")
    assert "> Plots not drawn: matplotlib is not installed" in readme and "![" not in readme
    assert "## Agreement with gold (after curation)" in readme
    figures = json.loads((tmp_path / "auto" / "agreement.json").read_text(encoding="utf-8"))
    assert figures["stance_alpha"]["value"] is not None
    as_json = runner.invoke(app, [*args, "--out", str(tmp_path / "j"), "--json"])
    assert "pip install 'corpus[plots]'" in json.loads(as_json.stdout)["plots_note"]

    insisted = runner.invoke(app, [*args, "--out", str(tmp_path / "insist"), "--plots"], env=WIDE)
    assert insisted.exit_code == 1
    assert "MissingExtraError" in insisted.output and "corpus[plots]" in insisted.output
    assert not (tmp_path / "insist").exists()  # refused before anything is written


def test_no_plots_leaves_them_out_when_matplotlib_is_installed(gold: Gold, tmp_path: Path) -> None:
    args = ["agreement", "sim", "--store", str(gold.store.root), "--bootstrap", "0"]
    done = runner.invoke(app, [*args, "--out", str(tmp_path / "off"), "--no-plots"], env=WIDE)
    assert done.exit_code == 0, done.output
    assert "plots not drawn: turned off" in done.output
    assert not list((tmp_path / "off").glob("*.png"))
    drawn = runner.invoke(app, [*args, "--out", str(tmp_path / "on")], env=WIDE)
    assert drawn.exit_code == 0 and "Report with plots" in drawn.output
    assert len(list((tmp_path / "on").glob("*.png"))) == 4  # with gold: four plots


@pytest.mark.slow
def test_train_evaluate_and_curve_without_matplotlib_write_everything_else(
    gold: Gold, no_matplotlib: None, tmp_path: Path
) -> None:
    from corpus.inference import load_model
    from corpus.training import evaluate_model, learning_curve, train_model

    with pytest.raises(MissingExtraError, match="confusion-matrix plot needs the plots extra"):
        train_model(gold.store, "1.0.0", name="insisted", bootstrap=0, plots=True)
    assert not (gold.store.root / "models" / "insisted").exists()

    result = train_model(gold.store, "1.0.0", name="plotless", bootstrap=0)
    assert sorted(p.name for p in result.path.iterdir()) == [
        "README.md", "manifest.json", "stance.joblib", "tagger.crfsuite",
    ]  # fmt: skip
    card = (result.path / "README.md").read_text(encoding="utf-8")
    assert "The confusion matrix on the test split was not drawn (plots not drawn: " in card
    assert "## Scores on the test split" in card
    assert any("pip install 'corpus[plots]'" in note for note in result.notes)
    assert load_model(gold.store, "plotless").name == "plotless"  # the folder checks out

    evaluation = evaluate_model(gold.store, "plotless", "1.0.0", out=tmp_path / "ev", bootstrap=0)
    assert evaluation.plot is None and evaluation.macro_f1.value is not None
    assert sorted(p.name for p in (tmp_path / "ev").iterdir()) == ["evaluation.json"]
    saved = json.loads((tmp_path / "ev" / "evaluation.json").read_text(encoding="utf-8"))
    assert any("corpus[plots]" in note for note in saved["notes"])

    curve = learning_curve(
        gold.store, "1.0.0", sizes=[6, 12], strategies=["random"], seeds=1,
        out=tmp_path / "curve",
    )  # fmt: skip
    assert [p.name for p in curve.files] == ["curve.csv", "curve.json"]
    saved = json.loads((tmp_path / "curve" / "curve.json").read_text(encoding="utf-8"))
    assert any("corpus[plots]" in note for note in saved["notes"]) and saved["summary"]


def test_a_release_card_without_matplotlib_has_its_figures_and_a_warning(
    gold: Gold, no_matplotlib: None, tmp_path: Path
) -> None:
    from corpus.release.facts import store_facts

    warnings: list[str] = []
    facts = store_facts(gold.store, load_schema(), ["sim"], tmp_path / "card", warnings)
    (round_facts,) = facts["agreement"]
    assert round_facts["plots"] == [] and round_facts["alpha"]
    assert len(warnings) == 1 and "pip install 'corpus[plots]'" in warnings[0]


def test_the_docs_table_lists_every_optional_extra() -> None:
    """docs/getting-started.md, "Optional features (extras)": one row per extra of
    pyproject.toml (the test tools aside), with its install command."""
    import tomllib

    from conftest import ROOT

    page = (ROOT / "docs" / "getting-started.md").read_text(encoding="utf-8")
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extras = set(declared["project"]["optional-dependencies"]) - {"test"}
    assert set(EXTRAS) <= extras
    for extra in extras:
        assert f"| `{extra}` |" in page and f"pip install 'corpus[{extra}]'" in page, extra
