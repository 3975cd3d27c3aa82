"""Label-schema migrations (pure): checked against both schema versions, rows mapped."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from corpus.errors import SchemaError
from corpus.label_schema import AnnotationSchema, parse_schema
from corpus.labels.mapping import SPLIT, LabelMap, map_rows, step_of
from corpus.migrations import Migration, check_migration, load_migration

RAW = yaml.safe_load((ROOT / "schemas" / "annotation.yaml").read_text(encoding="utf-8"))


def version(n: int, *, drop: tuple[str, ...] = (), add: tuple[str, ...] = ()) -> AnnotationSchema:
    raw = {**RAW, "schema_version": n}
    issues = [i for i in RAW["issues"] if i["name"] not in drop]
    template = RAW["issues"][0]
    issues += [{**template, "name": name, "title": name, "examples": []} for name in add]
    return parse_schema(yaml.safe_dump({**raw, "issues": issues}))


def migration(**rules: object) -> Migration:
    return Migration.model_validate({"from": 1, "to": 2, **rules})


def test_a_migration_that_fits_is_described() -> None:
    old = version(1)
    new = version(2, drop=("trade", "exchanges", "climate"),
                  add=("trade_goods", "trade_services", "people_to_people", "tourism"))  # fmt: skip
    plan = migration(
        issue=[
            {"split": {"from": "trade", "into": ["trade_goods", "trade_services"]}},
            {"rename": {"from": "exchanges", "to": "people_to_people"}},
            {"remove": "climate"},
        ]
    )
    report = check_migration(plan, old, new)
    assert report.changes["issue"] == [
        "split trade -> trade_goods, trade_services (relabel)",
        "rename exchanges -> people_to_people",
        "remove climate",
    ]
    assert report.added["issue"] == ["tourism"] and report.changes["stance"] == []


@pytest.mark.parametrize(
    ("rules", "problem"),
    [
        ({}, "'trade' of version 1 is not in version 2 and no rule says what becomes of it"),
        ({"issue": [{"rename": {"from": "nope", "to": "trade_goods"}}]}, "'nope' is not a label"),
        (
            {"issue": [{"rename": {"from": "trade", "to": "nope"}}]},
            "'nope' is not a label of version 2",
        ),
        ({"issue": [{"remove": "trade"}, {"remove": "trade"}]}, "'trade' has more than one rule"),
        ({"stance": [{"split": {"from": "supportive", "into": ["a", "b"]}}]}, "only issue labels"),
        (
            {"issue": [{"rename": {"from": "trade", "to": "taiwan"}}]},
            "'trade' is renamed onto 'taiwan', a label version 1 already has",
        ),
    ],
)
def test_a_migration_that_does_not_fit_is_refused(rules: dict[str, object], problem: str) -> None:
    new = version(2, drop=("trade",), add=("trade_goods",))
    with pytest.raises(SchemaError) as info:
        check_migration(migration(**rules), version(1), new)
    assert problem in info.value.message and info.value.hint


def test_versions_must_match_and_be_consecutive(tmp_path: Path) -> None:
    with pytest.raises(SchemaError):
        check_migration(migration(), version(3), version(4))
    bad = tmp_path / "m.yaml"
    bad.write_text("from: 1\nto: 3\n", encoding="utf-8")
    with pytest.raises(SchemaError) as info:
        load_migration(bad)
    assert "one version to the next" in info.value.message
    bad.write_text("from: 1\nto: 2\nissue:\n  - rename: {from: a, to: b}\n    remove: c\n")
    with pytest.raises(SchemaError) as info:
        load_migration(bad)
    assert "one of rename, merge, remove, split" in info.value.message


def test_rows_are_mapped_dropped_or_marked_for_relabelling() -> None:
    plan = migration(
        issue=[
            {"split": {"from": "trade", "into": ["trade_goods", "trade_services"]}},
            {"merge": {"from": ["climate", "exchanges"], "into": "diplomacy_dialogue"}},
            {"remove": "taiwan"},
        ],
        span_stance=[{"rename": {"from": "opposed", "to": "against"}}],
        stance=[{"remove": "mixed"}],
    )
    spans = [
        {"doc_id": "d1", "issue": "trade", "stance": "opposed"},
        {"doc_id": "d1", "issue": "climate", "stance": "opposed"},
        {"doc_id": "d2", "issue": "taiwan", "stance": None},
        {"doc_id": "d2", "issue": "investment_economy", "stance": "neutral"},
    ]
    annotations = [{"doc_id": "d1", "stance": "mixed"}, {"doc_id": "d2", "stance": "opposed"}]
    mapped = map_rows(
        LabelMap.of([plan], 2), {"spans": spans, "annotations": annotations}, made_under=1
    )
    assert mapped.rows["spans"] == [
        {"doc_id": "d1", "issue": "diplomacy_dialogue", "stance": "against", "schema_version": 2},
        {"doc_id": "d2", "issue": "investment_economy", "stance": "neutral", "schema_version": 2},
    ]
    assert [a["stance"] for a in mapped.rows["annotations"]] == [None, "opposed"]
    assert dict(mapped.relabel) == {"d1": ["trade"]}
    assert dict(mapped.dropped) == {
        "spans: trade (split: relabel)": 1,
        "spans: taiwan (removed)": 1,
    }


def test_maps_chain_across_versions() -> None:
    one = migration(issue=[{"rename": {"from": "a", "to": "b"}}, {"remove": "x"},
                           {"split": {"from": "s", "into": ["s1", "s2"]}}])  # fmt: skip
    two = Migration.model_validate(
        {
            "from": 2,
            "to": 3,
            "issue": [{"rename": {"from": "b", "to": "c"}}, {"rename": {"from": "y", "to": "z"}}],
        }
    )
    both = LabelMap.of([two, one], 3)
    assert step_of(one)["issue"] == {"a": "b", "x": None, "s": SPLIT}
    assert both.label("issue", "a", 1) == "c" and both.label("issue", "x", 1) is None
    assert both.label("issue", "s", 1) == SPLIT and both.label("issue", "y", 1) == "z"
    assert both.label("issue", "kept", 1) == "kept"
    assert both.label("issue", "b", 3) == "b", "a label of the current version stays"
    with pytest.raises(SchemaError, match="no migration from label schema 1 to 2"):
        LabelMap.of([two], 3).label("issue", "a", 1)


def test_a_rename_onto_an_existing_label_is_refused(tmp_path: Path) -> None:
    """issue 18 further case: `schema migrate` accepted a rename onto an existing label and
    silently merged its spans into it. docs/how-to/schema-migrations.md "Labels that change between
    rounds": that must be written as a merge."""
    from corpus.rounds.migrate import migrate_schema
    from corpus.rounds.schemas import save_snapshot
    from corpus.store import Store

    store = Store(tmp_path / "store")
    save_snapshot(store, version(1))
    path = tmp_path / "m.yaml"
    path.write_text(
        "from: 1\nto: 2\nissue:\n  - rename: {from: climate, to: diplomacy_dialogue}\n",
        encoding="utf-8",
    )
    with pytest.raises(SchemaError) as info:
        migrate_schema(store, path, schema=version(2, drop=("climate",)), dry_run=True)
    assert "'climate' is renamed onto 'diplomacy_dialogue'" in info.value.message
    assert "merge: {from: [climate, diplomacy_dialogue], into: diplomacy_dialogue}" in (
        info.value.message
    )
    assert info.value.hint and "must be written as a merge" in info.value.hint
    path.write_text(
        "from: 1\nto: 2\nissue:\n"
        "  - merge: {from: [climate, diplomacy_dialogue], into: diplomacy_dialogue}\n",
        encoding="utf-8",
    )
    assert migrate_schema(store, path, schema=version(2, drop=("climate",)), dry_run=True)


def test_a_new_round_under_an_older_schema_than_the_store_is_refused(tmp_path: Path) -> None:
    """issue 18 further case: after a migration a new round started under the old schema
    without a word and showed the removed labels. docs/how-to/schema-migrations.md "Labels that
    change between rounds": a new round is made under the store's current schema."""
    from typing import Any, cast

    from conftest import write_article

    import corpus
    from corpus.errors import RoundError
    from corpus.rounds.push import start_round
    from corpus.rounds.schemas import check_current_schema, save_snapshot
    from corpus.store import Store

    store = Store(tmp_path / "store")
    write_article(tmp_path / "in", "a.txt", "Trade", "Trade talks resumed.")
    corpus.ingest([tmp_path / "in"], store=store, schema=version(1))
    save_snapshot(store, version(1))
    path = tmp_path / "m.yaml"
    path.write_text("from: 1\nto: 2\nissue:\n  - remove: climate\n", encoding="utf-8")
    v2 = version(2, drop=("climate",))
    corpus.migrate_schema(store, path, schema=v2)
    check_current_schema(store, v2)  # the current schema is fine
    with pytest.raises(RoundError) as info:
        # refused before Label Studio is asked anything (no client is needed to say no)
        start_round(cast(Any, None), store, "r2", schema=version(1))
    assert "label-schema version 2" in info.value.message
    assert info.value.hint and "--schema" in info.value.hint
    assert str(store.root / "schemas" / f"v2-{v2.hash()[:12]}.json") in info.value.hint
    assert not (store.root / "rounds" / "r2").exists()
