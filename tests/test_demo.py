"""`corpus demo` end to end on the real Label Studio of the test session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import SEEDS

from corpus.demo import DemoEvent, DemoResult, run_demo
from corpus.schema import AnnotationSchema
from corpus.store import Store
from corpus.studio import StudioInfo

pytestmark = pytest.mark.studio


def demo(
    ls_client: Any, studio: StudioInfo, store: Store, schema: AnnotationSchema
) -> tuple[list[DemoEvent], DemoResult]:
    events: list[DemoEvent] = []
    for item in run_demo(
        ls_client, store, schema, server_url=studio.url, seeds=SEEDS, docs=14, annotators=2, seed=3
    ):
        if isinstance(item, DemoResult):
            return events, item
        events.append(item)
    raise AssertionError("no result")


def test_demo_runs_every_stage_and_marks_the_release_simulated(
    ls_client: Any, studio: StudioInfo, tmp_path: Path, schema: AnnotationSchema
) -> None:
    store = Store(tmp_path / "store")
    events, result = demo(ls_client, studio, store, schema)
    assert [e.step for e in events][:6] == [
        "ingest",
        "round",
        "annotate",
        "pull",
        "agreement",
        "adjudicate",
    ]
    assert "28 simulated annotations" in next(e.message for e in events if e.step == "annotate")
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
    versions = store.versions()
    again_events, again = demo(ls_client, studio, store, schema)
    assert "0 simulated annotations" in next(
        e.message for e in again_events if e.step == "annotate"
    )
    assert store.versions() == versions and again.release == result.release
