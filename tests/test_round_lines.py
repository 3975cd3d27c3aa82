"""What a round records about its suggestions and its sampling, without a server: the card's
per-round line and the command line's refusals.

docs/how-to/model-in-the-loop.md, "Models in the loop" (`--model`, `--preannotate`) and "Releases"
(the card names the pre-annotator and sampling model of each round).
"""

from __future__ import annotations

import socket
from pathlib import Path

from conftest import build_gold_version
from typer.testing import CliRunner

from corpus.cli import app
from corpus.label_schema import AnnotationSchema
from corpus.release import build_release
from corpus.rounds.state import RoundSettings, RoundState
from corpus.store import Store

runner = CliRunner()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _state(**settings: object) -> RoundState:
    return RoundState(
        name="r", version="0.1.0", project_title="corpus r", doc_ids=[], schema_hash="h",
        label_config_sha256="x", created="2026-01-01T00:00:00+00:00",
        settings=RoundSettings(sample=1, overlap=1, seed=0, **settings),  # type: ignore[arg-type]
        model_version="keywords-1234" if settings.get("model") is None else "base-99",
    )  # fmt: skip


def test_a_round_names_what_annotators_saw_and_what_sampled() -> None:
    """round.json before --model existed (model = shown and ranking) reads as before."""
    assert _state().shown() == "keywords (keywords-1234)" and _state().sampled_by() is None
    old = _state(model="base", strategy="uncertainty")
    assert old.shown() == "model base (base-99)" and old.sampled_by() == "model base (base-99)"
    assert _state(model="base").sampled_by() is None  # a random round shows the model only
    none = _state(predictions=False, strategy="uncertainty", sampling_model="m")
    none.model_version, none.sampling_model_version = "none", "m-1"
    assert none.shown() == "none" and none.sampled_by() == "model m (m-1)"


def test_the_card_names_each_rounds_pre_annotator_and_sampling(
    tmp_path: Path, schema: AnnotationSchema
) -> None:
    """docs/concepts/releases.md, Releases: the dataset card's round line names the pre-annotator
    (keyword, model or none) and how the round was sampled."""
    store = Store(tmp_path / "store")
    version = build_gold_version(store, schema, tmp_path / "articles", n=48)
    result = build_release(store, version, release="1.0.0", schema=schema)
    card = (result.path / "README.md").read_text(encoding="utf-8")
    keywords = f"keywords-{schema.hash()[:8]}"
    assert f"pre-annotator: keywords ({keywords}); sampled by random." in card
    assert "starting from each round's pre-annotations" in card


def test_model_is_refused_where_no_model_ranks(tmp_path: Path) -> None:
    """--model ranks documents for the uncertainty strategies only; the uncertainty
    strategies still need a model (from --model or --preannotate MODEL). Refused before
    any server is contacted."""
    env = {"LABEL_STUDIO_URL": f"http://127.0.0.1:{closed_port()}", "LABEL_STUDIO_API_KEY": "k"}
    s = ["--store", str(tmp_path / "store")]
    wrong = runner.invoke(app, ["round", "start", "r", "--model", "m", *s], env=env)
    assert wrong.exit_code == 2 and "uncertainty strategies only" in wrong.output
    hidden = runner.invoke(
        app, ["round", "start", "r", "--strategy", "uncertainty", "--preannotate", "none", *s],
        env=env,
    )  # fmt: skip
    assert hidden.exit_code == 2 and "--model MODEL" in hidden.output


def test_croissant_names_each_rounds_pre_annotator_and_sampling_model() -> None:
    """docs/concepts/releases.md, Releases: the card's machine-annotation tools and annotation
    protocol name what each round showed (keywords, a model, or none) and the model that sampled it,
    instead of always saying "keyword pre-annotator"."""
    from corpus.release.facts import machine_tools, suggestions

    rounds = [
        {"name": "r1", "shown": "keywords (keywords-1a)", "sampled_by": None},
        {"name": "r2", "shown": "none", "sampled_by": "model m (m-1)"},
        {"name": "r3", "shown": "keywords (keywords-1a)", "sampled_by": "model m (m-1)"},
    ]
    assert machine_tools(rounds) == [
        "keywords (keywords-1a): suggestions shown to annotators in rounds r1, r3 (never gold)",
        "model m (m-1): chose the documents to label in rounds r2, r3",
    ]
    assert "keywords (keywords-1a): rounds r1, r3; none: rounds r2" in suggestions(rounds)
    assert suggestions(rounds[1:2]) == "with no suggestions shown"
    assert machine_tools(rounds[1:2]) == [
        "model m (m-1): chose the documents to label in rounds r2"
    ]
