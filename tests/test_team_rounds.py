"""Rounds as a team runs them, on the real server: many rounds over a growing corpus, labels
that change between rounds, a shared server, pseudonyms that survive a port change."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, SEEDS, write_article

import corpus
from corpus.errors import RoundError
from corpus.ingestion.core import normalize, split_title
from corpus.label_schema import AnnotationSchema, parse_schema
from corpus.labelstudio import StudioClient
from corpus.preannotate import KeywordPreAnnotator
from corpus.rounds.state import load_round
from corpus.simulate import annotator_profiles, generate_articles, simulate_result
from corpus.store import Store

pytestmark = pytest.mark.studio


def articles(folder: Path, n: int, seed: int) -> Path:
    _, body = split_title(normalize(next(SEEDS.glob("*.txt")).read_text(encoding="utf-8")))
    for i, (title, text) in enumerate(generate_articles(body.split("\n\n"), n, seed=seed)):
        write_article(folder, f"a{seed}-{i:03d}.txt", title, text)
    return folder


def annotate(
    ls_client: Any,
    client: StudioClient,
    store: Store,
    name: str,
    users: list[Any],
    schema: AnnotationSchema,
) -> int:
    """Each user labels every task of the round (simulated answers, real API users)."""
    state = load_round(store.root, name)
    assert state.project_id is not None
    texts = {d: row["text"] for d, row in store.documents(state.version).items()}
    pre = KeywordPreAnnotator(schema)
    made = 0
    for doc_id, tasks in client.task_keys(state.project_id).items():
        suggestions = pre.predict(texts[doc_id])
        for user, who in zip(users, annotator_profiles(len(users)), strict=True):
            result = simulate_result(doc_id, texts[doc_id], suggestions, schema, who, seed=3)
            ls_client.annotations.create(id=tasks[0][0], completed_by=user.id, result=result)
            made += 1
    return made


def schema_v2(tmp_path: Path) -> tuple[AnnotationSchema, Path]:
    """Version 2 of the project's schema: trade split in two, exchanges renamed, climate
    merged into diplomacy, and the migration that says so."""
    raw = yaml.safe_load((ROOT / "schemas" / "annotation.yaml").read_text(encoding="utf-8"))
    raw["schema_version"] = 2
    issues = {i["name"]: i for i in raw["issues"]}
    trade = issues.pop("trade")
    goods = {**trade, "name": "trade_goods", "title": "Trade in goods"}
    services = {**trade, "name": "trade_services", "title": "Trade in services",
                "keywords": ["services trade"], "examples": []}  # fmt: skip
    goods["examples"] = []
    exchanges = issues.pop("exchanges")
    people = {**exchanges, "name": "people_to_people"}
    issues.pop("climate")
    raw["issues"] = [goods, services, *issues.values(), people]
    path = tmp_path / "annotation-v2.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    migration = tmp_path / "v1-to-v2.yaml"
    migration.write_text(
        yaml.safe_dump(
            {
                "from": 1,
                "to": 2,
                "issue": [
                    {"split": {"from": "trade", "into": ["trade_goods", "trade_services"]}},
                    {"rename": {"from": "exchanges", "to": "people_to_people"}},
                    {
                        "merge": {
                            "from": ["climate", "diplomacy_dialogue"],
                            "into": "diplomacy_dialogue",
                        }
                    },
                ],
            }
        ),
        encoding="utf-8",
    )
    return parse_schema(path.read_text(encoding="utf-8"), source=str(path)), migration


def test_three_rounds_over_a_growing_corpus_with_a_schema_migration(
    tmp_path: Path,
    store: Store,
    schema: AnnotationSchema,
    studio_client: StudioClient,
    ls_client: Any,
    make_annotator: Callable[..., Any],
) -> None:
    users = [make_annotator(f"team-{i}") for i in range(3)]
    client = studio_client
    first = corpus.ingest([articles(tmp_path / "batch1", 30, seed=1)], store=store, schema=schema)
    assert first.version == "0.1.0"

    # round 1 ---------------------------------------------------------------------------------
    r1 = corpus.start_round(client, store, "r1", sample=12, overlap=3, seed=1, schema=schema)
    annotate(ls_client, client, store, "r1", users, schema)
    corpus.pull_round(client, store, "r1", schema=schema)
    gold1 = corpus.adjudicate(store, "r1")
    r1_docs = set(r1.state.doc_ids)
    assert len(r1_docs) == 12 and gold1.written

    # more articles, round 2: disjoint from round 1, and says why ------------------------------
    second = corpus.ingest([articles(tmp_path / "batch2", 20, seed=2)], store=store, schema=schema)
    assert second.parent == gold1.version  # lineage is a line
    r2 = corpus.start_round(client, store, "r2", sample=12, overlap=3, seed=1, schema=schema)
    assert not set(r2.state.doc_ids) & r1_docs
    assert r2.state.version == second.version  # the latest version by default
    assert r2.state.excluded["sent to annotators in round r1"] >= 12
    annotate(ls_client, client, store, "r2", users, schema)
    pulled2 = corpus.pull_round(client, store, "r2", schema=schema)
    tables = store.manifest(pulled2.version or "").tables
    assert "gold_annotations" in tables  # round 1's gold is carried forward
    gold2 = corpus.adjudicate(store, "r2")
    rounds_with_gold = {
        g["round"] for g in store.iter_rows(gold2.version or "", "gold_annotations")
    }
    assert rounds_with_gold == {"r1", "r2"}

    # the labels change: trade splits, exchanges renames, climate merges ------------------------
    v2, migration = schema_v2(tmp_path)
    dry = corpus.migrate_schema(store, migration, schema=v2, dry_run=True)
    assert not dry.written and dry.version is None
    migrated = corpus.migrate_schema(store, migration, schema=v2)
    assert migrated.written and migrated.relabel, "some gold or spans used the split label"
    after = store.version(migrated.version or "")
    used = {s["issue"] for s in after.arrow("spans").to_pylist()}
    used |= {s["issue"] for s in after.arrow("gold_spans").to_pylist()}
    assert not used & {"trade", "exchanges", "climate"}
    # the version the labels are in now (docs/how-to/schema-migrations.md "A label is mapped once")
    assert {r["schema_version"] for r in after.arrow("annotations").to_pylist()} == {2}

    # round 3 relabels the documents of the split label, under the new schema -----------------
    r3 = corpus.start_round(
        client, store, "r3", overlap=3, seed=1, schema=v2, strategy="relabel-migrated"
    )
    assert set(r3.state.doc_ids) <= set(migrated.relabel) and r3.state.doc_ids
    assert r3.state.settings.strategy == "relabel-migrated"
    annotate(ls_client, client, store, "r3", users, v2)
    corpus.pull_round(client, store, "r3", schema=v2)
    gold3 = corpus.adjudicate(store, "r3")

    # an old round is still pulled against the schema it was made under, mapped to the new one
    (store.root / "rounds" / "r1" / "pull_state.json").unlink()
    again = corpus.pull_round(client, store, "r1", schema=v2)
    assert again.rejects == []
    r1_rows = [r for r in store.iter_rows(again.version or "", "spans") if r["round"] == "r1"]
    assert r1_rows and {r["schema_version"] for r in r1_rows} == {2}
    assert not {r["issue"] for r in r1_rows} & {"trade", "exchanges", "climate"}

    # the release holds every round's gold, with its provenance, in the current schema ----------
    release = corpus.build_release(
        store, store.latest_name() or "", release="1.0.0", schema=v2, force="small test corpus"
    )
    rows = [
        r
        for split in ("train", "validation", "test")
        for r in _parquet(release.path / "documents" / f"{split}-00000-of-00001.parquet")
    ]
    by_doc = {r["doc_id"]: r for r in rows}
    assert set(by_doc) == r1_docs | set(r2.state.doc_ids)
    decided_in_r3 = {g.doc_id for g in gold3.gold.gold_annotations if g.stance is not None}
    assert decided_in_r3 and {by_doc[d]["gold_round"] for d in decided_in_r3} == {"r3"}
    others = (r1_docs | set(r2.state.doc_ids)) - set(r3.state.doc_ids)
    assert {by_doc[d]["gold_round"] for d in others} == {"r1", "r2"}
    assert Counter(r["decided_by"] for r in rows).keys() <= {"unanimous", "majority", "unresolved"}
    card = (release.path / "README.md").read_text(encoding="utf-8")
    assert "migrated from version 1 to version 2" in card and "version 2" in card
    assert gold3.version is not None
    corpus.verify_release(release.path)


def _parquet(path: Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()


def test_two_stores_on_one_server_keep_separate_projects(
    tmp_path: Path, schema: AnnotationSchema, studio_client: StudioClient
) -> None:
    """The user's case: two stores using the same round name on one team server shared a
    project, mixed their tasks, and each archived the other's texts as rejects."""
    a, b = Store(tmp_path / "a"), Store(tmp_path / "b")
    write_article(tmp_path / "in-a", "a.txt", "Store A", "Trade talks about chips.")
    write_article(tmp_path / "in-b", "b.txt", "Store B", "Investment and climate news.")
    corpus.ingest([tmp_path / "in-a"], store=a, schema=schema)
    corpus.ingest([tmp_path / "in-b"], store=b, schema=schema)
    ra = corpus.start_round(studio_client, a, "same-name", schema=schema)
    rb = corpus.start_round(studio_client, b, "same-name", schema=schema)
    assert ra.state.project_id != rb.state.project_id
    assert ra.state.project_title != rb.state.project_title
    assert a.store_id()[:6] in ra.state.project_title
    for store, result in ((a, ra), (b, rb)):
        keys = studio_client.task_keys(result.state.project_id or 0)
        assert sorted(keys) == result.state.doc_ids  # only its own tasks
        pulled = corpus.pull_round(studio_client, store, "same-name", schema=schema)
        assert pulled.rejects == []
    # a round file pointing at the other store's project is refused, never adopted
    state = json.loads((b.root / "rounds" / "same-name" / "round.json").read_text())
    state["project_id"] = ra.state.project_id
    (b.root / "rounds" / "same-name" / "round.json").write_text(json.dumps(state))
    with pytest.raises(RoundError) as info:
        corpus.pull_round(studio_client, b, "same-name", schema=schema)
    assert "belongs to another store" in info.value.message and a.store_id() in info.value.message


def test_round_show_and_status(
    tmp_path: Path, store: Store, schema: AnnotationSchema, studio_client: StudioClient,
    ls_client: Any, make_annotator: Callable[..., Any],
) -> None:  # fmt: skip
    corpus.ingest([articles(tmp_path / "in", 12, seed=5)], store=store, schema=schema)
    started = corpus.start_round(
        studio_client, store, "st", sample=6, overlap=2, strategy="stratified", schema=schema
    )
    assert len(started.state.scores) == 6 and started.state.population == 12
    users = [make_annotator(f"st-{i}") for i in range(2)]
    annotate(ls_client, studio_client, store, "st", users, schema)
    state = load_round(store.root, "st")
    task = studio_client.task_keys(state.project_id or 0)[state.doc_ids[0]][0][0]
    skipper = make_annotator("st-skip")
    ls_client.annotations.create(id=task, completed_by=skipper.id, result=[], was_cancelled=True)
    status = corpus.round_status(studio_client, store, "st")
    assert (status.tasks, status.annotated, status.skipped) == (6, 6, 0)
    assert {status.per_annotator[u.email]["done"] for u in users} == {6}
    assert status.per_annotator[skipper.email] == {"done": 0, "skipped": 1}
