"""Record ``tests/data/export-1.23.2.json``: one real Label Studio 1.23.2 export (run once).

The differential tests (``tests/test_differential.py``) feed the pull simulated exports; this
recording is what they check the simulator's shape against. It holds what a real project
returns: annotations made through the API with and without result ``id``, a skip, an edit
(``updated_at`` changes in place), a per-span stance, ``lead_time`` and ``ground_truth``, a
task nobody annotated, and the tasks' predictions as the export gives them.

    cd <repo> && PYTHONPATH=$PWD python tests/data/record_export.py

Starts a fresh managed server in a temporary folder and stops it at the end.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from conftest import write_article  # noqa: E402

from corpus.ingestion import ingest  # noqa: E402
from corpus.label_schema import load_schema  # noqa: E402
from corpus.labelstudio import connect, studio_down, studio_up  # noqa: E402
from corpus.labelstudio.venv import default_venv_dir  # noqa: E402
from corpus.preannotate import KeywordPreAnnotator  # noqa: E402
from corpus.rounds.push import start_round  # noqa: E402
from corpus.rounds.state import load_round  # noqa: E402
from corpus.store import Store  # noqa: E402

OUT = HERE / "export-1.23.2.json"


def span(text: str, phrase: str, issue: str, region: str | None) -> dict[str, Any]:
    start = text.index(phrase)
    item: dict[str, Any] = {
        "from_name": "issue",
        "to_name": "text",
        "type": "labels",
        "value": {"start": start, "end": start + len(phrase), "text": phrase, "labels": [issue]},
    }
    return {"id": region, **item} if region else item


def region_stance(text: str, phrase: str, stance: str, region: str | None) -> dict[str, Any]:
    start = text.index(phrase)
    item: dict[str, Any] = {
        "from_name": "span_stance",
        "to_name": "text",
        "type": "choices",
        "value": {"start": start, "end": start + len(phrase), "text": phrase, "choices": [stance]},
    }
    return {"id": region, **item} if region else item


def stance(label: str) -> dict[str, Any]:
    return {
        "from_name": "stance",
        "to_name": "text",
        "type": "choices",
        "value": {"choices": [label]},
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        home = root / "studio"
        info = studio_up(home, venv_dir=default_venv_dir(os.environ, HERE.parents[1]), timeout=300)
        try:
            record(root, connect(info.connection()))
        finally:
            studio_down(home)


def record(root: Path, client: Any) -> None:
    schema = load_schema()
    folder = root / "news"
    write_article(folder, "a.txt", "Tariffs", "New tariffs on steel hurt trade, officials said.")
    write_article(folder, "b.txt", "Chips", "Export controls on chips remain a worry in Taipei.")
    write_article(folder, "c.txt", "Quiet", "Nobody has annotated this one about tourism.")
    store = Store(root / "store")
    ingest([folder], store=store, schema=schema)
    start_round(
        client, store, "rec", schema=schema, preannotator=KeywordPreAnnotator(schema), overlap=3
    )
    state = load_round(store.root, "rec")
    ls = client.sdk
    tasks = {
        t.data["title"]: (t.id, t.data["text"]) for t in ls.tasks.list(project=state.project_id)
    }
    users = [ls.users.create(username=f"rec-{k}", email=f"rec-{k}@corpus.local") for k in "xyz"]
    tid, text = tasks["Tariffs"]
    ls.annotations.create(
        id=tid,
        completed_by=users[0].id,
        lead_time=12.5,
        result=[
            stance("opposed"),
            span(text, "tariffs on steel", "trade", "r1"),
            region_stance(text, "tariffs on steel", "opposed", "r1"),
        ],
    )
    edited = ls.annotations.create(
        id=tid,
        completed_by=users[1].id,
        result=[stance("neutral"), span(text, "trade", "trade", None)],
    )
    ls.annotations.update(
        id=edited.id,
        result=[
            stance("supportive"),
            span(text, "trade", "trade", None),
            region_stance(text, "trade", "supportive", None),
        ],
    )
    ls.annotations.create(id=tid, completed_by=users[2].id, result=[], was_cancelled=True)
    tid, text = tasks["Chips"]
    ls.annotations.create(
        id=tid,
        completed_by=users[0].id,
        ground_truth=True,
        result=[stance("mixed"), span(text, "Export controls", "export_controls_technology", "k1")],
    )
    raw = client.export(state.project_id)
    tasks_json = json.loads(raw)
    OUT.write_text(json.dumps(tasks_json, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(tasks_json)} tasks)")


if __name__ == "__main__":
    main()
