"""`corpus demo` end to end on the real Label Studio of the test session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SEEDS

from corpus.demo import DemoResult, demo_force_reason, run_demo
from corpus.label_schema import AnnotationSchema
from corpus.labelstudio import StudioClient
from corpus.progress import Progress
from corpus.rounds import load_round
from corpus.store import Store


def demo(
    client: StudioClient, store: Store, schema: AnnotationSchema
) -> tuple[list[Progress], DemoResult]:
    events: list[Progress] = []
    result = run_demo(
        client, store, seeds=SEEDS, schema=schema, docs=14, annotators=2, seed=3,
        progress=events.append,
    )  # fmt: skip
    return events, result


@pytest.mark.studio
def test_demo_runs_every_stage_and_marks_the_release_simulated(
    studio_client: StudioClient, tmp_path: Path, schema: AnnotationSchema
) -> None:
    store = Store(tmp_path / "store")
    events, result = demo(studio_client, store, schema)
    assert [e.stage for e in events][:6] == [
        "ingest",
        "round",
        "annotate",
        "pull",
        "agreement",
        "adjudicate",
    ]
    assert "28 simulated annotations" in next(e.message for e in events if e.stage == "annotate")
    generated = list((tmp_path / "store" / "demo" / "generated").glob("*.txt"))
    assert len(generated) == 13 and all(p.read_text().startswith("[generated]") for p in generated)
    manifest = json.loads((result.release / "manifest.json").read_text())
    assert manifest["simulated"] is True and manifest["version"] == result.gold
    assert "Simulated annotations" in (result.release / "README.md").read_text()
    # 14 documents are too few for every label in every split: the demo forces only the
    # gaps no split assignment could fill, and says so
    assert result.forced and all(g.startswith("labels: no example of") for g in result.forced)
    assert manifest["forced"]["reason"].startswith("demo: too few simulated documents")
    assert "no split assignment can fill" in next(
        e.message for e in events if "forced" in e.message
    )
    assert result.verified["configs"]["documents"] and result.agreement.is_file()
    annotations = store.read_table(result.pulled, "annotations").to_pylist()
    assert len(annotations) == 28 and len({a["annotator"] for a in annotations}) == 2
    assert not any("@" in a["annotator"] for a in annotations)

    # a second run repeats nothing: no new tasks, annotations, versions or releases
    versions = store.version_names()
    again_events, again = demo(studio_client, store, schema)
    assert "0 simulated annotations" in next(
        e.message for e in again_events if e.stage == "annotate"
    )
    assert store.version_names() == versions and again.release == result.release


def test_the_demo_forces_only_gaps_no_split_could_fill() -> None:
    rare = {"gate": "labels", "message": "no example of issue climate in test: ...",
            "unavoidable": True}  # fmt: skip
    avoidable = {"gate": "labels", "message": "no example of issue trade in test",
                 "unavoidable": False}  # fmt: skip
    leak = {"gate": "near-duplicates", "message": "across splits: a~b", "unavoidable": False}
    reason = demo_force_reason([rare])
    assert reason is not None and "issue climate" in reason and "more --docs" in reason
    assert demo_force_reason([rare, avoidable]) is None
    assert demo_force_reason([rare, leak]) is None
    assert demo_force_reason([]) is None


@pytest.mark.studio
def test_demo_trains_a_model_and_pre_annotates_a_second_round_with_it(
    studio_client: StudioClient, tmp_path: Path, schema: AnnotationSchema
) -> None:
    store = Store(tmp_path / "store")
    events: list[Progress] = []
    result = run_demo(
        studio_client, store, seeds=SEEDS, schema=schema, docs=30, annotators=2, seed=3,
        progress=events.append,
    )  # fmt: skip
    stages = [e.stage for e in events]
    assert stages[stages.index("verify") + 1 :] == ["model", "round 2", "round 2"]
    assert result.model is not None and result.model.startswith(f"demo-{result.release.name}-")
    card = store.root / "models" / f"demo-{result.release.name}" / "README.md"
    assert result.model in card.read_text()
    assert result.model_round is not None
    state = load_round(store.root, result.model_round)
    assert state.model_version == result.model and state.settings.strategy == "uncertainty"
    tasks = list(studio_client.sdk.tasks.list(project=state.project_id, fields="all"))
    assert len(tasks) == len(state.doc_ids) > 0
    assert all(t.predictions[0].model_version == result.model for t in tasks)
    assert result.model_agreement is not None
    assert result.model in result.model_agreement.read_text()
    pulled = store.read_table(store.latest_name() or "", "annotations").to_pylist()
    mine = [a for a in pulled if a["round"] == result.model_round]
    assert mine and all(a["model_version"] == result.model for a in mine)
    # a second run repeats nothing
    versions = store.version_names()
    again = run_demo(
        studio_client, store, seeds=SEEDS, schema=schema, docs=30, annotators=2, seed=3
    )
    assert again.model == result.model and store.version_names() == versions
