"""Issue 12's user case: 150 articles, one round, three annotators, nine issues each in about
16 documents. The stance-only splitter refused it ("labels: no example of investment_economy
in validation") and left a near-duplicate chain in two splits; the release now builds
without --force, with every label in every split and the chain in one."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import build_newsroom_version

from corpus.errors import ReleaseGateError
from corpus.ids import file_sha256
from corpus.ingestion.minhash import signature_similarity
from corpus.label_schema import AnnotationSchema, load_schema
from corpus.neardup.bands import THRESHOLD
from corpus.release import ReleaseResult, build_release, verify_release
from corpus.release.links import near_duplicate_pairs
from corpus.store import Store


@pytest.fixture(scope="module")
def newsroom(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, str]:
    root = tmp_path_factory.mktemp("newsroom")
    store = Store(root / "store")
    return store, build_newsroom_version(store, load_schema(), root / "articles")


@pytest.fixture(scope="module")
def release(newsroom: tuple[Store, str]) -> ReleaseResult:
    store, gold = newsroom
    return build_release(store, gold, release="1.0.0", schema=load_schema())  # no force


def trio(store: Store, gold: str) -> dict[str, dict[str, object]]:
    docs = store.read_table(gold, "documents", ["doc_id", "title", "dup_group"]).to_pylist()
    return {d["title"][-1]: d for d in docs if "Near-duplicate" in d["title"]}


def test_the_gold_has_the_users_shape(
    newsroom: tuple[Store, str], schema: AnnotationSchema
) -> None:
    store, gold = newsroom
    assert len(store.read_table(gold, "gold_annotations")) == 150
    assert len({a["annotator"] for a in store.read_table(gold, "annotations").to_pylist()}) == 3
    spans = store.read_table(gold, "gold_spans").to_pylist()
    per_issue = Counter(issue for _, issue in {(s["doc_id"], s["issue"]) for s in spans})
    assert sorted(per_issue) == sorted(schema.issue_names)
    assert all(14 <= n <= 16 for n in per_issue.values()), per_issue


def test_the_release_passes_its_gates_without_force(
    release: ReleaseResult, schema: AnnotationSchema, tmp_path: Path
) -> None:
    assert release.forced == []
    manifest = json.loads((release.path / "manifest.json").read_text())
    assert manifest["forced"] is None
    assert manifest["split"]["uncovered"] == [] and manifest["split"]["scarce"] == {}
    for split in ("train", "validation", "test"):
        rows = pq.read_table(release.path / "documents" / f"{split}-00000-of-00001.parquet")
        docs = rows.to_pylist()
        assert {r["stance"] for r in docs} == set(range(len(schema.stance_names))), split
        assert {s["label"] for r in docs for s in r["spans"]} == set(
            range(len(schema.issue_names))
        ), split
        assert {s["stance"] for r in docs for s in r["spans"]} >= set(
            range(len(schema.span_stance_names))
        ), split
    sizes = release.rows["documents"]
    assert sizes["train"] >= 110 and 11 <= sizes["validation"] <= 22 and 11 <= sizes["test"] <= 22
    report = verify_release(release.path, cache_dir=tmp_path)
    assert report.configs == release.rows and report.croissant["all_records"] is True


def test_a_document_close_to_two_others_joins_them_in_one_split(
    newsroom: tuple[Store, str], release: ReleaseResult
) -> None:
    store, gold = newsroom
    found = trio(store, gold)
    ids = {k: str(v["doc_id"]) for k, v in found.items()}
    sigs = {
        r["doc_id"]: r["signature"]
        for r in store.read_table(gold, "minhashes").to_pylist()
        if r["doc_id"] in ids.values()
    }
    similarity = {
        pair: signature_similarity(sigs[ids[pair[0]]], sigs[ids[pair[1]]])
        for pair in ("AB", "AC", "BC")
    }
    assert similarity["AB"] < THRESHOLD <= min(similarity["AC"], similarity["BC"])
    # ingest (by design) never merges two groups: the user's {A, C} and {B}
    groups = {k: v["dup_group"] for k, v in found.items()}
    assert groups["A"] != groups["B"] and groups["C"] in (groups["A"], groups["B"])
    pairs = near_duplicate_pairs(store, gold, ids.values())
    assert sorted(pairs) == sorted(
        tuple(sorted((ids[a], ids[b]))) for a, b in ("AC", "BC")
    )  # the links the release finds, with the very code of the leakage gate
    manifest = json.loads((release.path / "manifest.json").read_text())
    assert len({manifest["split"]["documents"][i] for i in ids.values()}) == 1
    assert manifest["split"]["links"] == 1 and manifest["split"]["units"] == 148


def test_linking_groups_an_earlier_release_placed_apart_needs_a_major_release(
    newsroom: tuple[Store, str], release: ReleaseResult, tmp_path: Path
) -> None:
    """As if release 1.0.0 had been built before C existed, with A and B in two splits: C now
    links them, so one side must move. That is a major change (Croissant 1.1 versioning): a
    minor release is refused, a major one moves the smaller side and says so."""
    store, gold = newsroom
    found = trio(store, gold)
    manifest = json.loads((release.path / "manifest.json").read_text())
    placed = manifest["split"]
    a, b = str(found["A"]["dup_group"]), str(found["B"]["dup_group"])
    other = next(s for s in ("train", "validation", "test") if s != placed["groups"][a])
    placed["groups"][b] = other
    for k in "ABC":
        if found[k]["dup_group"] == b:
            placed["documents"][str(found[k]["doc_id"])] = other
    # 1.0.0 with B's group in another split, re-sealed so that it verifies (a previous
    # release that does not verify is refused, see test_an_edited_previous_release_...)
    earlier = tmp_path / "1.0.0"
    shutil.copytree(release.path, earlier)
    for path in (earlier / "manifest.json", earlier / "SHA256SUMS"):
        path.chmod(0o644)
    (earlier / "manifest.json").write_text(json.dumps(manifest))
    digest = file_sha256(earlier / "manifest.json")
    sums = (earlier / "SHA256SUMS").read_text().splitlines()
    (earlier / "SHA256SUMS").write_text(
        "".join(f"{digest}  manifest.json\n" if line.endswith(" manifest.json") else f"{line}\n"
                for line in sums)
    )  # fmt: skip
    with pytest.raises(ReleaseGateError) as info:
        build_release(store, gold, release="1.1.0", previous=earlier, out=tmp_path / "1.1.0")
    assert [g["gate"] for g in info.value.gates] == ["stability"]
    assert "build it as 2.0.0" in str(info.value)
    major = build_release(store, gold, release="2.0.0", previous=earlier, out=tmp_path / "2.0.0")
    after = json.loads((major.path / "manifest.json").read_text())["split"]
    assert len(after["conflicts"]) == 1 and major.splits["conflicts"] == after["conflicts"]
    kept = placed["groups"][str(found["C"]["dup_group"])]  # the larger group: C joined it
    assert {after["documents"][str(found[k]["doc_id"])] for k in "ABC"} == {kept}
    assert "documents that moved split: 1" in major.changelog  # the one-document group
    assert "merges groups placed in different splits" in major.changelog
