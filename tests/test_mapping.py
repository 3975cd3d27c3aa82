"""The label map from a row's schema version to the current one, applied exactly once.

docs/how-to/schema-migrations.md "Labels that change between rounds" ("A label is mapped once");
issue 18 case 7: an incremental pull after a migration mapped the rows it reused a second time (a
rename chain moved twice, a label reusing a removed name was dropped). The pulls here are the real
pull (:func:`corpus.rounds.pull.pull_export`) fed Label Studio export JSON; the property tests
compare :mod:`corpus.labels.mapping` with the reference ``tests/reference/mapping.py``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, write_article
from hypothesis import given, settings
from hypothesis import strategies as st
from reference.mapping import RELABEL, map_row

import corpus
from corpus.label_schema import AnnotationSchema, parse_schema
from corpus.labels.mapping import SPLIT, LabelMap, map_rows
from corpus.migrations import Migration
from corpus.preannotate import KeywordPreAnnotator
from corpus.rounds.pull import pull_export
from corpus.rounds.schemas import save_round_schema
from corpus.rounds.state import RoundSettings, RoundState, save_round
from corpus.store import Store

RAW = yaml.safe_load((ROOT / "schemas" / "annotation.yaml").read_text(encoding="utf-8"))

# 1 -> 2: exchanges becomes people_to_people, climate is removed
# 2 -> 3: trade takes the name exchanges, taiwan takes the removed name climate
M1 = {"from": 1, "to": 2, "issue": [{"rename": {"from": "exchanges", "to": "people_to_people"}},
                                    {"remove": "climate"}]}  # fmt: skip
M2 = {"from": 2, "to": 3, "issue": [{"rename": {"from": "trade", "to": "exchanges"}},
                                    {"rename": {"from": "taiwan", "to": "climate"}}]}  # fmt: skip


def schema_version(n: int, issues: list[str]) -> AnnotationSchema:
    template = RAW["issues"][0]
    defs = {i["name"]: i for i in RAW["issues"]}
    rows = [defs.get(name, {**template, "name": name, "title": name, "examples": [],
                            "keywords": []}) for name in issues]  # fmt: skip
    return parse_schema(yaml.safe_dump({**RAW, "schema_version": n, "issues": rows}))


V1 = [i["name"] for i in RAW["issues"]]
V2 = [n for n in V1 if n not in ("exchanges", "climate")] + ["people_to_people"]
V3 = [n for n in V2 if n not in ("trade", "taiwan")] + ["exchanges", "climate"]


def _round(store: Store, tmp_path: Path, schema: AnnotationSchema) -> dict[str, dict[str, Any]]:
    docs = _round_documents(store, tmp_path, schema)
    version = store.latest_name() or ""
    state = RoundState(
        name="r1", version=version, project_title="corpus r1", doc_ids=sorted(docs),
        settings=RoundSettings(sample=None, overlap=1, seed=0), schema_hash=schema.hash(),
        label_config_sha256="", model_version="keywords", created=datetime.now(UTC).isoformat(),
    )  # fmt: skip
    save_round(store.root, state)
    save_round_schema(store, state, schema)
    return docs


def _span(text: str, word: str, label: str, rid: str) -> dict[str, Any]:
    start = text.index(word)
    return {"id": rid, "from_name": "issue", "to_name": "text", "type": "labels",
            "origin": "manual", "value": {"start": start, "end": start + len(word),
                                          "text": word, "labels": [label]}}  # fmt: skip


def _export(docs: dict[str, dict[str, Any]], edit: int) -> bytes:
    """Task 1 (labels trade, taiwan, exchanges) never changes; task 2 is edited ``edit``
    times (an edit changes ``updated_at`` in place, as Label Studio does)."""
    tasks = []
    for tid, (doc_id, doc) in enumerate(sorted(docs.items()), start=1):
        text = doc["text"]
        result = _results(text)
        day = 1 if "Taiwan" in text else 2 + edit
        updated = f"2026-01-0{day}T00:00:00Z"
        tasks.append({
            "id": tid,
            "data": {"doc_id": doc_id, "text": text, "text_sha256": doc["text_sha256"]},
            "annotations": [{"id": 10 + tid, "completed_by": 1, "result": result,
                             "was_cancelled": False, "ground_truth": False, "lead_time": 3.0,
                             "created_at": "2026-01-01T00:00:00Z", "updated_at": updated}],
        })  # fmt: skip
    return json.dumps(tasks).encode()


def _migrate(store: Store, tmp_path: Path, plan: dict[str, Any], new: AnnotationSchema) -> None:
    path = tmp_path / f"m{plan['from']}.yaml"
    path.write_text(yaml.safe_dump(plan), encoding="utf-8")
    corpus.migrate_schema(store, path, schema=new)


def test_an_incremental_pull_after_migrations_maps_reused_rows_once(
    store: Store, tmp_path: Path
) -> None:
    """issue 18 case 7: after a -> b, b -> c style migrations, a re-pull that reuses the
    previous pull's rows (pull_state.json kept) moved exchanges on to people_to_people and
    dropped climate (a name an earlier migration removed)."""
    v1, v2, v3 = schema_version(1, V1), schema_version(2, V2), schema_version(3, V3)
    docs = _round(store, tmp_path, v1)
    pre = KeywordPreAnnotator(v1)
    first = pull_export(store, "r1", _export(docs, 0), preannotator=pre)
    assert first.written and first.changed_tasks == 2
    _migrate(store, tmp_path, M1, v2)
    _migrate(store, tmp_path, M2, v3)
    expected = {"exchanges", "climate", "people_to_people", "human_rights"}
    for edit in (1, 2, 3):  # each pull re-validates task 2 only and reuses task 1's rows
        pulled = pull_export(store, "r1", _export(docs, edit), preannotator=pre)
        assert pulled.written and pulled.changed_tasks == 1 and pulled.rejects == []
        spans = [s for s in store.iter_rows(pulled.version or "", "spans") if s["round"] == "r1"]
        assert {s["issue"] for s in spans} == expected, f"pull {edit}"
        by_word = {s["text"]: s["issue"] for s in spans}
        assert by_word["Trade"] == "exchanges" and by_word["exchanges"] == "people_to_people"
        assert by_word["Taiwan"] == "climate"
        assert {s["schema_version"] for s in spans} == {3}
        votes = list(store.iter_rows(pulled.version or "", "annotations"))
        assert {a["schema_version"] for a in votes} == {3} and len(votes) == 2


def test_a_migration_maps_each_stored_row_once(store: Store, tmp_path: Path) -> None:
    """issue 18 case 7: the rows a migration writes carry the version their labels are in,
    so the next migration (and the next pull) starts from there."""
    v1, v2, v3 = schema_version(1, V1), schema_version(2, V2), schema_version(3, V3)
    docs = _round(store, tmp_path, v1)
    pull_export(store, "r1", _export(docs, 0), preannotator=KeywordPreAnnotator(v1))
    _migrate(store, tmp_path, M1, v2)
    latest = store.latest_name() or ""
    assert {s["schema_version"] for s in store.iter_rows(latest, "spans")} == {2}
    _migrate(store, tmp_path, M2, v3)
    spans = list(store.iter_rows(store.latest_name() or "", "spans"))
    assert {s["text"]: s["issue"] for s in spans} == {
        "Trade": "exchanges", "Taiwan": "climate", "exchanges": "people_to_people",
        "Human rights": "human_rights",
    }  # fmt: skip


def test_relabel_marks_survive_incremental_pulls(store: Store, tmp_path: Path) -> None:
    """issue 18 case 7: rows reused from a pull made after a split are not mapped again, so
    the pull keeps the relabelling marks that pull made (docs/how-to/schema-migrations.md "A label
    is mapped once")."""
    v1 = schema_version(1, V1)
    v2 = schema_version(2, [n for n in V1 if n != "trade"] + ["trade_goods", "trade_services"])
    rule = {"split": {"from": "trade", "into": ["trade_goods", "trade_services"]}}
    split = {"from": 1, "to": 2, "issue": [rule]}
    docs = _round(store, tmp_path, v1)
    pre = KeywordPreAnnotator(v1)
    pull_export(store, "r1", _export(docs, 0), preannotator=pre)
    _migrate(store, tmp_path, split, v2)
    (traded,) = [d for d, doc in docs.items() if "Taiwan" in doc["text"]]
    for edit in (1, 2):
        pulled = pull_export(store, "r1", _export(docs, edit), preannotator=pre)
        assert pulled.written and pulled.changed_tasks == 1
        marks = store.manifest(pulled.version or "").extra.get("needs_relabel")
        assert marks == {traded: ["trade"]}, f"pull {edit}"
        spans = list(store.iter_rows(pulled.version or "", "spans"))
        assert {s["issue"] for s in spans} == {"taiwan", "exchanges", "human_rights"}


# --- the real label map against the reference ---------------------------------------------

ALPHABET = ["a", "b", "c", "d"]
KINDS = ("issue", "stance", "span_stance")


@st.composite
def migration_chain(draw: st.DrawFn) -> list[dict[str, Any]]:
    """1 to 3 migrations over a four-label alphabet (per kind), each rule on a distinct
    source; targets may reuse any name (the real check is not the rule under test)."""
    out = []
    for version in range(1, draw(st.integers(1, 3)) + 1):
        step: dict[str, Any] = {"from": version, "to": version + 1}
        for kind in KINDS:
            sources = draw(st.lists(st.sampled_from(ALPHABET), unique=True, max_size=3))
            rules = []
            for source in sources:
                ops = ["rename", "merge", "remove"] + (["split"] if kind == "issue" else [])
                op = draw(st.sampled_from(ops))
                target = draw(st.sampled_from(ALPHABET))
                if op == "rename":
                    rules.append({"rename": {"from": source, "to": target}})
                elif op == "merge":
                    rules.append({"merge": {"from": [source], "into": target}})
                elif op == "remove":
                    rules.append({"remove": source})
                else:
                    rules.append({"split": {"from": source, "into": [target, target + "2"]}})
            step[kind] = rules
        out.append(step)
    return out


def _real(chain: list[dict[str, Any]]) -> tuple[LabelMap, int]:
    end = chain[-1]["to"]
    return LabelMap.of([Migration.model_validate(m) for m in chain], end), end


label = st.one_of(st.none(), st.sampled_from(ALPHABET))


@settings(max_examples=300)
@given(
    chain=migration_chain(),
    table=st.sampled_from(["spans", "gold_spans", "annotations"]),
    issue=st.sampled_from(ALPHABET),
    stance=label,
    version=st.none() | st.integers(1, 4),
)
def test_the_label_map_agrees_with_the_reference(
    chain: list[dict[str, Any]], table: str, issue: str, stance: str | None, version: int | None
) -> None:
    """docs/how-to/schema-migrations.md "A label is mapped once": each row from its own version,
    each migration in turn, then at the current version."""
    label_map, end = _real(chain)
    row: dict[str, Any] = {"doc_id": "d", "stance": stance, "schema_version": version}
    if table != "annotations":
        row["issue"] = issue
    mapped = map_rows(label_map, {table: [row]}, made_under=1)
    want, relabel = map_row(chain, end, table, row, made_under=1)
    assert mapped.rows[table] == ([want] if want is not None else [])
    assert dict(mapped.relabel) == ({"d": [relabel]} if relabel else {})
    if want is None and relabel is None and table != "annotations":
        assert sum(mapped.dropped.values()) == 1


@settings(max_examples=200)
@given(chain=migration_chain(), kind=st.sampled_from(KINDS), value=label,
       since=st.integers(1, 4))  # fmt: skip
def test_single_labels_agree_with_the_reference(
    chain: list[dict[str, Any]], kind: Any, value: str | None, since: int
) -> None:
    from reference.mapping import map_label

    label_map, end = _real(chain)
    got = label_map.label(kind, value, since)
    assert (RELABEL if got == SPLIT else got) == map_label(chain, since, end, kind, value)


@settings(max_examples=200)
@given(chain=migration_chain(), issues=st.lists(st.sampled_from(ALPHABET), max_size=4),
       made_under=st.integers(1, 4))  # fmt: skip
def test_rows_at_the_current_version_are_never_mapped_again(
    chain: list[dict[str, Any]], issues: list[str], made_under: int
) -> None:
    """Applied once: mapping the mapped rows again changes nothing, and rows already at the
    current version come back as they are."""
    label_map, end = _real(chain)
    rows = [{"doc_id": f"d{i}", "issue": x, "stance": None} for i, x in enumerate(issues)]
    once = map_rows(label_map, {"spans": rows}, made_under=made_under).rows["spans"]
    twice = map_rows(label_map, {"spans": once}, made_under=made_under)
    assert twice.rows["spans"] == once and not twice.dropped and not twice.relabel
    current = [{**r, "schema_version": end} for r in rows]
    assert map_rows(label_map, {"spans": current}, made_under=1).rows["spans"] == current


@pytest.mark.studio
def test_incremental_pulls_after_migrations_on_the_real_server(
    store: Store, tmp_path: Path, studio_client: Any, ls_client: Any, make_annotator: Any
) -> None:
    """issue 18 case 7 on a real Label Studio server: the round's pull_state.json is kept,
    one annotation is edited between pulls, and the rows reused from the previous pull keep
    their labels (docs/how-to/schema-migrations.md "A label is mapped once")."""
    v1, v2, v3 = schema_version(1, V1), schema_version(2, V2), schema_version(3, V3)
    docs = _round_documents(store, tmp_path, v1)
    user = make_annotator("mapping-once")
    state = corpus.start_round(studio_client, store, "r1", overlap=1, seed=0, schema=v1).state
    assert state.project_id is not None
    tasks = studio_client.task_keys(state.project_id)
    edited = None
    for doc_id, doc in docs.items():
        result = _results(doc["text"])
        made = ls_client.annotations.create(
            id=tasks[doc_id][0][0], completed_by=user.id, result=result
        )
        if "Taiwan" not in doc["text"]:
            edited = (made.id, result)
    assert edited is not None
    assert corpus.pull_round(studio_client, store, "r1").written
    _migrate(store, tmp_path, M1, v2)
    _migrate(store, tmp_path, M2, v3)
    for stance in ("supportive", "opposed", "neutral"):  # one task changes, one is reused
        result = [r for r in edited[1] if r["from_name"] != "stance"]
        result.append({"id": "s", "from_name": "stance", "to_name": "text",
                       "type": "choices", "value": {"choices": [stance]}})  # fmt: skip
        ls_client.annotations.update(id=edited[0], result=result)
        pulled = corpus.pull_round(studio_client, store, "r1")
        assert pulled.written and pulled.changed_tasks == 1 and pulled.rejects == []
        spans = list(store.iter_rows(pulled.version or "", "spans"))
        assert {s["text"]: s["issue"] for s in spans} == {
            "Trade": "exchanges", "Taiwan": "climate", "exchanges": "people_to_people",
            "Human rights": "human_rights",
        }, stance  # fmt: skip
        assert {s["schema_version"] for s in spans} == {3}


def _round_documents(store: Store, tmp_path: Path, schema: AnnotationSchema) -> dict[str, Any]:
    folder = tmp_path / "articles"
    write_article(folder, "a.txt", "Trade talks", "Trade and Taiwan and student exchanges.")
    write_article(folder, "b.txt", "Rights", "Human rights were raised at the summit.")
    version = corpus.ingest([folder], store=store, schema=schema).version
    assert version is not None
    return {d["doc_id"]: d for d in store.read_table(version, "documents").to_pylist()}


def _results(text: str) -> list[dict[str, Any]]:
    if "Taiwan" in text:
        spans = [_span(text, "Trade", "trade", "t"), _span(text, "Taiwan", "taiwan", "w"),
                 _span(text, "exchanges", "exchanges", "e")]  # fmt: skip
    else:
        spans = [_span(text, "Human rights", "human_rights", "h")]
    return [*spans, {"id": "s", "from_name": "stance", "to_name": "text", "type": "choices",
                     "value": {"choices": ["neutral"]}}]  # fmt: skip
