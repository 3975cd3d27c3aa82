"""Release build: Parquet + card read back by datasets, grouped stable splits, every gate."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import build_gold_version
from datasets import ClassLabel, List, load_dataset

from corpus.errors import ReleaseError, ReleaseGateError
from corpus.ids import row_hash
from corpus.label_schema import AnnotationSchema
from corpus.release import ReleaseResult, build_release
from corpus.store import Store


def build(
    store: Store, schema: AnnotationSchema, version: str, release: str, **kw: Any
) -> ReleaseResult:
    result = build_release(store, version, release=release, schema=schema, **kw)
    assert isinstance(result, ReleaseResult)
    return result


@pytest.fixture(scope="module")
def gold(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, str]:
    from corpus.label_schema import load_schema

    root = tmp_path_factory.mktemp("gold")
    store = Store(root / "store")
    return store, build_gold_version(store, load_schema(), root / "articles", n=48)


@pytest.fixture(scope="module")
def release(gold: tuple[Store, str]) -> ReleaseResult:
    from corpus.label_schema import load_schema

    store, version = gold
    return build(store, load_schema(), version, "1.0.0")  # passes its gates, unforced


def test_every_config_loads_offline_with_class_labels(
    release: ReleaseResult, schema: AnnotationSchema, tmp_path: Path
) -> None:
    for config, splits in release.rows.items():
        ds = load_dataset(str(release.path), config, cache_dir=str(tmp_path / config))
        assert {s: ds[s].num_rows for s in ds} == splits
    docs = load_dataset(str(release.path), "documents", cache_dir=str(tmp_path / "d"))
    features = docs["train"].features
    assert (
        isinstance(features["stance"], ClassLabel)
        and features["stance"].names == schema.stance_names
    )
    assert isinstance(features["spans"], List)
    assert features["spans"].feature["label"].names == schema.issue_names
    assert features["spans"].feature["stance"].names == schema.span_stance_names
    tokens = load_dataset(str(release.path), "tokens", cache_dir=str(tmp_path / "t"))
    assert tokens["train"].features["tags"].feature.names[:3] == ["O", "B-trade", "I-trade"]


def test_offsets_hold_in_every_view(
    release: ReleaseResult, schema: AnnotationSchema, tmp_path: Path
) -> None:
    docs = load_dataset(str(release.path), "documents", cache_dir=str(tmp_path / "d"))
    sentences = load_dataset(str(release.path), "sentences", cache_dir=str(tmp_path / "s"))
    tokens = load_dataset(str(release.path), "tokens", cache_dir=str(tmp_path / "t"))
    n_spans = 0
    for split in ("train", "validation", "test"):
        for doc in docs[split]:
            for s in doc["spans"]:
                assert 0 <= s["start"] < s["end"] <= len(doc["text"])
                n_spans += 1
        tags = schema.issue_names
        for sent, tok in zip(sentences[split], tokens[split], strict=True):
            assert (sent["doc_id"], sent["sentence_index"]) == (
                tok["doc_id"],
                tok["sentence_index"],
            )
            # BIO tags give back exactly the sentence's spans (no span lost or moved)
            rebuilt, pos, current = [], 0, None
            for word, tag in zip(tok["tokens"], tok["tags"], strict=True):
                start = sent["text"].index(word, pos)
                pos = start + len(word)
                if tag and (tag - 1) % 2 == 0:
                    current = [start, pos, (tag - 1) // 2]
                    rebuilt.append(current)
                elif tag and current is not None:
                    current[1] = pos
                else:
                    current = None
            expected = [[s["start"], s["end"], s["label"]] for s in sent["spans"]]
            assert [tuple(x) for x in rebuilt] == [tuple(x) for x in expected], (sent["text"], tags)
    assert n_spans == release.alignment["spans"] and release.alignment["unaligned"] == 0


def test_groups_share_a_split_and_manifest_lists_every_file(
    release: ReleaseResult, gold: tuple[Store, str]
) -> None:
    store, version = gold
    manifest = json.loads((release.path / "manifest.json").read_text())
    docs = store.read_table(version, "documents").to_pylist()
    split_of = manifest["split"]["documents"]
    groups: dict[str, set[str]] = {}
    for d in docs:
        if d["doc_id"] in split_of:
            groups.setdefault(d["dup_group"], set()).add(split_of[d["doc_id"]])
    assert all(len(s) == 1 for s in groups.values())
    files = {p.relative_to(release.path).as_posix() for p in release.path.rglob("*") if p.is_file()}
    assert set(manifest["files"]) == files - {"manifest.json", "croissant.json", "SHA256SUMS"}
    sums = (release.path / "SHA256SUMS").read_text().splitlines()
    assert {line.split("  ", 1)[1] for line in sums} == files - {"SHA256SUMS"}
    assert manifest["simulated"] is True and manifest["forced"] is None
    assert release.forced == [] and manifest["split"]["uncovered"] == []
    card = (release.path / "README.md").read_text()
    assert "Simulated annotations" in card and "Release gates overridden" not in card
    assert "Every label is in every split." in card
    assert "Krippendorff's alpha" in card and "images/agreement-sim/stance_confusion.png" in card
    assert (release.path / "images" / "agreement-sim" / "stance_confusion.png").is_file()
    rows = load_dataset(
        str(release.path), "documents", split="train", cache_dir=str(release.path.parent / ".c")
    )
    table = manifest["tables"]["documents/train"]
    assert table["rows"] == rows.num_rows


def test_release_is_immutable(
    release: ReleaseResult, gold: tuple[Store, str], schema: AnnotationSchema
) -> None:
    store, version = gold
    with pytest.raises(ReleaseError, match="never overwritten"):
        build(store, schema, version, "1.0.0", force="x")
    mode = (release.path / "documents" / "train-00000-of-00001.parquet").stat().st_mode
    assert not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def rewrite(
    store: Store,
    version: str,
    new: str,
    table: str,
    change: Callable[[dict[str, Any]], dict[str, Any]],
    extra: dict[str, Any] | None = None,
) -> str:
    """A copy of ``version`` with one table's rows changed (to build bad inputs)."""
    manifest = store.manifest(version)
    with store.lock():
        writer = store.begin(new)
        for name, info in manifest.tables.items():
            shards = store.table_shards(version, name)
            out = writer.table(name, store.table_schema(version, name))
            if name == table:
                rows = [change(r) for r in store.read_table(version, name).to_pylist()]
                out.write_rows(rows, sum(row_hash(r) for r in rows))
            else:
                out.link(shards, info.rows, int(info.content_sha256, 16))
        writer.commit(
            manifest.model_copy(
                update={
                    "version": new,
                    "parent": version,
                    "extra": {**manifest.extra, **(extra or {})},
                }
            )
        )
    return new


@pytest.mark.parametrize(
    ("table", "change", "extra", "gate"),
    [
        ("gold_spans", lambda r: {**r, "start": r["start"] + 1}, None, "offsets:"),
        (
            "documents",
            lambda r: {**r, "title": r["title"] + " (ask jane.doe@example.org)"},
            None,
            "privacy:",
        ),
        (
            "documents",
            lambda r: {**r, "dup_group": r["doc_id"], "text_sha256": "same"},
            None,
            "duplicates:",
        ),
        (
            "documents",
            lambda r: r,
            {"rejects": [{"reason": "drift: edited in Label Studio"}]},
            "drift:",
        ),
    ],
    ids=["offsets", "privacy", "duplicates", "drift"],
)
def test_each_gate(
    tmp_path: Path, schema: AnnotationSchema, table: str, change: Any, extra: Any, gate: str
) -> None:
    store = Store(tmp_path / "store")
    version = build_gold_version(store, schema, tmp_path / "articles", n=24)
    bad = rewrite(store, version, "5.0.0", table, change, extra)
    with pytest.raises(ReleaseError) as info:
        build(store, schema, bad, "1.0.0")
    assert gate in str(info.value)
    forced = build(store, schema, bad, "1.0.0", force="testing the gate")
    assert any(g.startswith(gate) for g in forced.forced)


def test_a_label_too_rare_for_every_split_is_refused_and_force_records_it(
    tmp_path: Path, schema: AnnotationSchema
) -> None:
    """An issue on two documents cannot reach three splits: the gate says so, marks it as
    unavoidable (no split assignment passes it), and --force records the reason."""
    store = Store(tmp_path / "store")
    version = build_gold_version(store, schema, tmp_path / "articles", n=30)
    spans = store.read_table(version, "gold_spans").to_pylist()
    keep = sorted({s["doc_id"] for s in spans if s["issue"] == "climate"})[:2]
    assert len(keep) == 2

    def rare(row: dict[str, Any]) -> dict[str, Any]:
        if row["issue"] == "climate" and row["doc_id"] not in keep:
            return {**row, "issue": "trade"}
        return row

    bad = rewrite(store, version, "5.0.0", "gold_spans", rare)
    with pytest.raises(ReleaseGateError) as info:
        build(store, schema, bad, "1.0.0")
    assert "labels: no example of issue climate in" in str(info.value)
    assert "it is in only 2 document group(s), fewer than the 3 splits" in str(info.value)
    assert "--force" in info.value.hint
    assert [g for g in info.value.gates if g["gate"] == "labels"] == [
        {"gate": "labels", "message": str(info.value).split("labels: ")[1].split("\n")[0],
         "unavoidable": True}
    ]  # fmt: skip
    assert not (store.root / "releases" / "1.0.0").exists()
    forced = build(store, schema, bad, "1.0.0", force="two climate documents only")
    manifest = json.loads((forced.path / "manifest.json").read_text())
    assert manifest["forced"]["reason"] == "two climate documents only"
    assert manifest["split"]["scarce"] == {"issue climate": 2}
    assert "issue climate (in only 2 document group(s))" in (forced.path / "README.md").read_text()


def test_version_without_gold_is_refused(tmp_path: Path, schema: AnnotationSchema) -> None:
    from conftest import SEEDS

    from corpus.ingestion import ingest

    store = Store(tmp_path / "s")
    ingest([SEEDS], store=store, schema=schema)
    with pytest.raises(ReleaseError, match="no gold annotations") as info:
        build(store, schema, "0.1.0", "1.0.0")
    assert "corpus adjudicate" in info.value.hint


def test_growing_the_corpus_moves_nothing(tmp_path: Path, schema: AnnotationSchema) -> None:
    store = Store(tmp_path / "store")
    v1 = build_gold_version(store, schema, tmp_path / "a1", n=30, name="r1")
    first = build(store, schema, v1, "1.0.0", force="small")  # 30 documents: maybe a gap
    v2 = build_gold_version(store, schema, tmp_path / "a2", n=30, seed=9, name="r2")
    second = build(store, schema, v2, "1.1.0", force="small")
    m1 = json.loads((first.path / "manifest.json").read_text())["split"]["documents"]
    m2 = json.loads((second.path / "manifest.json").read_text())["split"]["documents"]
    assert all(m2[d] == s for d, s in m1.items() if d in m2)
    assert len(m2) > len(m1)
    changelog = (second.path / "CHANGELOG.md").read_text()
    assert "documents that moved split: 0 (none, as intended)" in changelog
    assert f"documents added: {len(set(m2) - set(m1))}" in changelog


def test_too_few_groups_for_three_splits_is_refused(
    tmp_path: Path, schema: AnnotationSchema
) -> None:
    store = Store(tmp_path / "store")
    version = build_gold_version(store, schema, tmp_path / "articles", n=2)
    with pytest.raises(ReleaseError, match="would be empty") as info:
        build(store, schema, version, "1.0.0", force="even forced, an empty split cannot load")
    assert "at least one group" in info.value.hint
