"""`corpus demo` end to end on the real Label Studio of the test session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SEEDS

from corpus.demo import DemoResult, run_demo
from corpus.label_schema import AnnotationSchema
from corpus.labelstudio import StudioClient
from corpus.progress import Progress
from corpus.store import Store

pytestmark = pytest.mark.studio


def demo(
    client: StudioClient, store: Store, schema: AnnotationSchema
) -> tuple[list[Progress], DemoResult]:
    events: list[Progress] = []
    result = run_demo(
        client, store, seeds=SEEDS, schema=schema, docs=14, annotators=2, seed=3,
        progress=events.append,
    )  # fmt: skip
    return events, result


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
