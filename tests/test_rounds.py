"""Rounds against the real Label Studio server started by the test session."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import SEEDS, write_article
from studio_fixtures import BACKENDS

from corpus.errors import RoundError
from corpus.ingestion import ingest
from corpus.label_schema import AnnotationSchema
from corpus.labelstudio import StudioClient
from corpus.labelstudio.config import label_config
from corpus.preannotate import KeywordPreAnnotator
from corpus.rounds import PullResult, PushResult, pull_round, push_round, round_status, start_round
from corpus.rounds.state import load_round
from corpus.store import Store

# Every round and pull test runs on the local default (SQLite) and on PostgreSQL, as a team
# server runs: `-m postgres` / `-m "not postgres"` selects.
pytestmark = [pytest.mark.studio, pytest.mark.parametrize("studio", BACKENDS, indirect=True)]

# Text that breaks offset handling: emoji (astral, ZWJ), Chinese, RTL, curly quotes,
# CRLF newlines (normalised on ingest) and doubled spaces before the target phrases.
TRICKY = {
    "emoji.txt": (
        "Emoji 😀",
        "Hello 😀😀 world 𝐀. 中国 said: “the U.S. export controls on chips” hurt trade.",
        "A second 👨🏻‍🚒 paragraph about  human rights.",
    ),
    "chinese.txt": (
        "中美关系",
        "中国外交部表示，中美双方同意加强合作。",
        "Officials discussed Taiwan and investment.",
    ),
    "rtl.txt": (
        "RTL",
        "قال المسؤول إن التعاون مهم. שלום עולם.",
        "Then came national security concerns.",
    ),
}


@pytest.fixture
def corpus_version(tmp_path: Path, store: Store, schema: AnnotationSchema) -> str:
    folder = tmp_path / "articles"
    for name, (title, *paragraphs) in TRICKY.items():
        write_article(folder, name, title, *paragraphs)
    crlf = folder / "crlf.txt"
    crlf.write_bytes(
        b"CRLF\r\n\r\nLine one.\r\nLine two on climate.\r\n\r\nThe exchanges went well.\r\n"
    )
    ingest([SEEDS, folder], store=store, schema=schema)
    return "0.1.0"


def start(
    client: StudioClient, store: Store, schema: AnnotationSchema, name: str, **kw: Any
) -> PushResult:
    pre = KeywordPreAnnotator(schema)
    return start_round(client, store, name, schema=schema, preannotator=pre, **kw)


def pull(client: StudioClient, store: Store, schema: AnnotationSchema, name: str) -> PullResult:
    pre = KeywordPreAnnotator(schema)
    return pull_round(client, store, name, schema=schema, preannotator=pre)


def tasks_by_doc(client: Any, project_id: int) -> dict[str, Any]:
    out = {}
    for task in client.tasks.list(project=project_id, fields="all"):
        out[task.data["doc_id"]] = task
    return out


def span_result(
    text: str, phrase: str, label: str, region: str | None = None, stance: str | None = None
) -> list[dict[str, Any]]:
    start = text.index(phrase)
    value = {"start": start, "end": start + len(phrase), "text": phrase}
    items: list[dict[str, Any]] = [
        {
            "from_name": "issue",
            "to_name": "text",
            "type": "labels",
            "value": {**value, "labels": [label]},
        }
    ]
    if stance:
        items.append(
            {
                "from_name": "span_stance",
                "to_name": "text",
                "type": "choices",
                "value": {**value, "choices": [stance]},
            }
        )
    if region:
        for item in items:
            item["id"] = region
    return items


def stance_result(label: str) -> dict[str, Any]:
    return {
        "from_name": "stance",
        "to_name": "text",
        "type": "choices",
        "value": {"choices": [label]},
    }


def test_start_push_annotate_pull_round_trip(
    studio_client: StudioClient,
    ls_client: Any,
    store: Store,
    schema: AnnotationSchema,
    corpus_version: str,
    make_annotator: Callable[..., Any],
) -> None:
    events: list[Any] = []
    result = start(
        studio_client, store, schema, "r1", version=corpus_version, overlap=2, seed=7,
        progress=events.append,
    )  # fmt: skip
    state = load_round(store.root, "r1")
    assert result.created_project and result.imported == len(state.doc_ids) == 5
    assert events[0].stage == "sample" and "random strategy" in events[0].message  # shown first
    project = ls_client.projects.get(id=state.project_id)
    assert (
        project.maximum_annotations == 2
        and project.label_config.strip() == label_config(schema).strip()
    )
    tasks = tasks_by_doc(ls_client, state.project_id)
    docs = {d["doc_id"]: d for d in store.read_table(corpus_version, "documents").to_pylist()}
    assert set(tasks) == set(state.doc_ids)
    for doc_id, task in tasks.items():
        assert (
            task.data["text"] == docs[doc_id]["text"]
            and task.data["text_sha256"] == docs[doc_id]["text_sha256"]
        )
        assert task.predictions and task.predictions[0].model_version == state.model_version

    # re-running start or push imports nothing
    assert (
        start(
            studio_client, store, schema, "r1", version=corpus_version, overlap=2, seed=7
        ).imported
        == 0
    )
    again = push_round(studio_client, store, "r1", preannotator=KeywordPreAnnotator(schema))
    assert again.imported == 0 and again.already_there == 5

    a, b, c = (make_annotator(n) for n in ("ann-a", "ann-b", "ann-c"))
    emoji_id = next(d for d, row in docs.items() if row["title"] == "Emoji 😀")
    text = docs[emoji_id]["text"]
    task_id = tasks[emoji_id].id
    ls_client.annotations.create(
        id=task_id,
        completed_by=a.id,
        result=[
            stance_result("opposed"),
            *span_result(text, "export controls", "export_controls_technology", "r-a1", "opposed"),
            *span_result(text, "human rights", "human_rights", "r-a2"),
        ],
    )
    ls_client.annotations.create(
        id=task_id,
        completed_by=b.id,
        result=[
            stance_result("neutral"),
            *span_result(text, "export controls on chips", "export_controls_technology"),
        ],
    )
    ls_client.annotations.create(id=task_id, completed_by=c.id, was_cancelled=True, result=[])
    for doc_id, phrase, label in (
        (next(d for d, r in docs.items() if r["title"] == "中美关系"), "Taiwan", "taiwan"),
        (
            next(d for d, r in docs.items() if r["title"] == "RTL"),
            "national security",
            "national_security",
        ),
        (next(d for d, r in docs.items() if r["title"] == "CRLF"), "climate", "climate"),
    ):
        ls_client.annotations.create(
            id=tasks[doc_id].id,
            completed_by=a.id,
            result=[
                stance_result("mixed"),
                *span_result(docs[doc_id]["text"], phrase, label, "x1", "supportive"),
            ],
        )
    seed_id = next(d for d, r in docs.items() if r["title"].startswith("Chinese Official"))
    ls_client.annotations.create(
        id=tasks[seed_id].id, completed_by=b.id, result=[stance_result("supportive")]
    )

    pulled = pull(studio_client, store, schema, "r1")
    assert pulled.written and pulled.rejects == [] and pulled.version == "0.2.0"
    assert store.manifest("0.2.0").parent == corpus_version
    annotations = store.read_table("0.2.0", "annotations").to_pylist()
    spans = store.read_table("0.2.0", "spans").to_pylist()
    assert len(annotations) == 7 and len(spans) == 6
    skipped = [x for x in annotations if x["cancelled"]]
    assert len(skipped) == 1 and skipped[0]["stance"] is None
    no_spans = [x for x in annotations if x["doc_id"] == seed_id]
    assert no_spans[0]["n_spans"] == 0 and no_spans[0]["stance"] == "supportive"
    texts = {d: row["text"] for d, row in docs.items()}
    for span in spans:
        assert texts[span["doc_id"]][span["start"] : span["end"]] == span["text"]
    emoji_spans = {(s["text"], s["stance"]) for s in spans if s["doc_id"] == emoji_id}
    assert emoji_spans == {
        ("export controls", "opposed"),
        ("human rights", None),
        ("export controls on chips", None),
    }
    assert {s["text"] for s in spans if s["doc_id"] != emoji_id} == {
        "Taiwan",
        "national security",
        "climate",
    }
    # accepted-as-is suggestions are flagged: "export controls" and "human rights" are keywords
    flagged = {s["text"] for s in spans if s["from_prediction"]}
    assert {"export controls", "human rights", "Taiwan", "national security", "climate"} <= flagged
    assert "export controls on chips" not in flagged
    # pseudonyms are stable and no e-mail is stored anywhere
    names = {x["annotator"] for x in annotations}
    assert len(names) == 3 and all(n.startswith("ann-") for n in names)
    blob = json.dumps([annotations, spans], ensure_ascii=False)
    for user in (a, b, c):
        assert user.email not in blob and str(user.email.split("@")[0]) not in blob
    archive = pulled.archive
    assert archive is not None and archive.is_file()

    # no change: nothing new; after a change only that task is validated again
    again_pull = pull(studio_client, store, schema, "r1")
    assert not again_pull.written and store.latest_name() == "0.2.0"
    ls_client.annotations.create(
        id=tasks[seed_id].id, completed_by=c.id, result=[stance_result("opposed")]
    )
    third = pull(studio_client, store, schema, "r1")
    assert third.written and third.changed_tasks == 1 and third.version == "0.3.0"
    rows3 = store.read_table("0.3.0", "annotations").to_pylist()
    assert len(rows3) == 8
    assert {(r["annotation_id"], r["annotator"]) for r in annotations} <= {
        (r["annotation_id"], r["annotator"]) for r in rows3
    }
    status = round_status(studio_client, store, "r1")
    assert (status.tasks, status.annotated, status.documents) == (5, 5, 5)
    assert status.per_annotator[a.email]["done"] == 4 and status.per_annotator[c.email] == {
        "done": 1,
        "skipped": 1,
    }


def test_bad_annotations_are_rejected_with_reasons(
    studio_client: StudioClient,
    ls_client: Any,
    store: Store,
    schema: AnnotationSchema,
    corpus_version: str,
    make_annotator: Callable[..., Any],
) -> None:
    start(studio_client, store, schema, "r-bad", version=corpus_version, overlap=1, seed=1)
    state = load_round(store.root, "r-bad")
    tasks = tasks_by_doc(ls_client, state.project_id)
    docs = {d["doc_id"]: d for d in store.read_table(corpus_version, "documents").to_pylist()}
    ids = sorted(tasks)
    user = make_annotator("bad")
    good, unknown_label, out_of_range, drifted, deleted = ids[:5]
    text = docs[good]["text"]
    ls_client.annotations.create(
        id=tasks[good].id,
        completed_by=user.id,
        result=[
            stance_result("neutral"),
            *span_result(text, text.split()[0], "trade"),
        ],
    )
    ls_client.annotations.create(
        id=tasks[unknown_label].id,
        completed_by=user.id,
        result=[
            stance_result("neutral"),
            *span_result(
                docs[unknown_label]["text"], docs[unknown_label]["text"][:4], "no_such_issue"
            ),
        ],
    )
    n = len(docs[out_of_range]["text"])
    ls_client.annotations.create(
        id=tasks[out_of_range].id,
        completed_by=user.id,
        result=[
            stance_result("opposed"),
            {
                "from_name": "issue",
                "to_name": "text",
                "type": "labels",
                "value": {"start": n - 2, "end": n + 5, "text": "xx", "labels": ["trade"]},
            },
        ],
    )
    ls_client.annotations.create(
        id=tasks[drifted].id, completed_by=user.id, result=[stance_result("mixed")]
    )
    ls_client.tasks.update(
        id=str(tasks[drifted].id), data={**tasks[drifted].data, "text": "edited text"}
    )
    ls_client.tasks.delete(id=str(tasks[deleted].id))

    pulled = pull(studio_client, store, schema, "r-bad")
    assert pulled.written
    reasons = {(r.doc_id, r.reason.split(":")[0].split(" ")[0]) for r in pulled.rejects}
    assert (unknown_label, "issue") in reasons
    assert (out_of_range, "offsets") in reasons
    assert (drifted, "drift") in reasons
    assert (deleted, "task") in reasons
    by_doc = {r.doc_id: r for r in pulled.rejects}
    assert "no_such_issue" in by_doc[unknown_label].reason and by_doc[unknown_label].annotation_id
    assert "deleted" in by_doc[deleted].reason
    annotations = store.read_table(pulled.version or "", "annotations").to_pylist()
    spans = store.read_table(pulled.version or "", "spans").to_pylist()
    assert {a["doc_id"] for a in annotations} == {
        good,
        unknown_label,
        out_of_range,
    }  # valid rows kept
    assert [s["doc_id"] for s in spans] == [good]
    manifest = store.manifest(pulled.version or "")
    assert len(manifest.extra["rejects"]) == len(pulled.rejects)  # type: ignore[arg-type]
    saved = json.loads((store.root / "rounds" / "r-bad" / "rejects.json").read_text())
    assert len(saved) == len(pulled.rejects)


def test_push_removes_duplicates_and_sampling_is_grouped(
    studio_client: StudioClient,
    ls_client: Any,
    store: Store,
    schema: AnnotationSchema,
    tmp_path: Path,
) -> None:
    folder = tmp_path / "dups"
    seed_text = next(SEEDS.glob("*.txt")).read_text(encoding="utf-8")
    (folder).mkdir()
    (folder / "a.txt").write_text(seed_text, encoding="utf-8")
    (folder / "b.txt").write_text(seed_text.replace("Raimondo", "Ms Raimondo"), encoding="utf-8")
    for i in range(6):
        write_article(
            folder, f"o{i}.txt", f"Other {i}", f"Story number {i} about tourism and students."
        )
    ingest([folder], store=store, schema=schema)
    result = start(
        studio_client,
        store,
        schema,
        "r-dup",
        version="0.1.0",
        sample=4,
        seed=3,
        anchor=1,
        batch_size=2,
    )
    state = load_round(store.root, "r-dup")
    assert result.imported == 4 and len(state.anchor_ids) == 1
    groups = {
        d["doc_id"]: d["dup_group"] for d in store.read_table("0.1.0", "documents").to_pylist()
    }
    assert len({groups[d] for d in state.doc_ids}) == 4  # at most one per dup_group
    same = (
        start(
            studio_client,
            Store(tmp_path / "other"),
            schema,
            "r-dup",
            version="0.1.0",
            sample=4,
            seed=3,
        )
        if False
        else None
    )
    assert same is None
    # someone imported a document twice by hand: push removes the extra task
    doc_id = state.doc_ids[0]
    task = tasks_by_doc(ls_client, state.project_id)[doc_id]
    ls_client.projects.import_tasks(id=state.project_id, request=[{"data": task.data}])
    assert len(studio_client.task_keys(state.project_id)[doc_id]) == 2
    again = push_round(studio_client, store, "r-dup", preannotator=KeywordPreAnnotator(schema))
    assert again.duplicates_removed == 1 and again.imported == 0
    assert all(len(v) == 1 for v in studio_client.task_keys(state.project_id).values())
    anchor_task = tasks_by_doc(ls_client, state.project_id)[state.anchor_ids[0]]
    assert anchor_task.overlap > 1


def test_round_errors_are_clear(
    studio_client: StudioClient, store: Store, schema: AnnotationSchema, corpus_version: str
) -> None:
    with pytest.raises(RoundError, match="no round 'nope'"):
        push_round(studio_client, store, "nope", preannotator=KeywordPreAnnotator(schema))
    with pytest.raises(RoundError, match="not a valid round name"):
        start(studio_client, store, schema, "bad name!", version=corpus_version)
    start(studio_client, store, schema, "r-err", version=corpus_version, sample=2)
    with pytest.raises(RoundError, match="already exists"):
        start(studio_client, store, schema, "r-err", version=corpus_version, sample=3)
