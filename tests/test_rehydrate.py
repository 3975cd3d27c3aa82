"""Releases without the text (`release build --text none`) and `release rehydrate`: the
offsets-only release carries no article text, and rehydrating it from the original files
gives back the full release table by table; edited or missing articles are reported and
nothing is written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from conftest import build_gold_version
from datasets import load_dataset
from typer.testing import CliRunner

from corpus.cli import app
from corpus.errors import RehydrateError, ReleaseError
from corpus.label_schema import load_schema
from corpus.release import ReleaseResult, build_release, rehydrate_release, verify_release
from corpus.store import Store

SPLITS = ("train", "validation", "test")
CONFIGS = ("documents", "sentences", "tokens", "raw_annotations")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("rehydrate")
    store, schema = Store(root / "store"), load_schema()
    version = build_gold_version(store, schema, root / "articles", n=30)
    out = {"root": root, "articles": root / "articles", "store": store}
    kinds: list[tuple[str, str, dict[str, Any]]] = [
        ("full", "1.0.0", {}),
        ("none", "1.0.1", {"text": "none"}),
        ("titles", "1.0.2", {"text": "none", "keep_titles": True}),
    ]
    for key, release, kw in kinds:
        out[key] = build_release(store, version, release=release, schema=schema, **kw)
    return out


def parquet(release: Path, config: str, split: str) -> Any:
    return pq.read_table(release / config / f"{split}-00000-of-00001.parquet")


def test_an_offsets_only_release_carries_no_text(built: dict[str, Any], tmp_path: Path) -> None:
    full, none = built["full"].path, built["none"].path
    sentences = [
        s for split in SPLITS for s in parquet(full, "sentences", split).column("text").to_pylist()
    ]
    titles = [t for split in SPLITS for t in parquet(full, "documents", split)["title"].to_pylist()]
    assert {c: parquet(none, c, "train").column_names for c in CONFIGS[:3]} == {
        "documents": ["doc_id", "text_sha256", "stance", "spans", "dup_group", "source", "url",
                      "published_at", "language", "gold_round", "decided_by", "source_path",
                      "source_record", "external_id"],
        "sentences": ["doc_id", "sentence_index", "start", "end", "doc_stance", "spans"],
        "tokens": ["doc_id", "sentence_index", "token_start", "token_end", "tags"],
    }  # fmt: skip
    long = [s for s in sentences if len(s) > 40][:50]
    for path in none.rglob("*"):  # no sentence and no title in any file, as it is stored
        if path.is_file() and path.suffix != ".png":
            data = path.read_bytes().decode("utf-8", "replace")
            assert not any(s in data for s in long), path
            if path.name != "README.md" or path.parent.name != ".rehydrate":
                assert not any(t in data for t in titles), path
    card = (none / "README.md").read_text()
    assert "**No article text.**" in card and "nor the titles" in card
    assert "corpus release rehydrate" in card
    assert "Offsets only: no article text (titles left out)" in built["none"].changelog
    assert verify_release(none, cache_dir=tmp_path).text == "none"
    docs = load_dataset(str(none), "documents", cache_dir=str(tmp_path / "c"))
    assert docs["train"][0]["text_sha256"] and "text" not in docs["train"].features
    kept = parquet(built["titles"].path, "documents", "train").column_names
    assert kept[:3] == ["doc_id", "title", "text_sha256"]


@pytest.mark.parametrize("kind", ["none", "titles"])
def test_rehydrating_from_the_original_files_gives_back_the_full_release(
    built: dict[str, Any], kind: str, tmp_path: Path
) -> None:
    full: ReleaseResult = built["full"]
    result = rehydrate_release(built[kind].path, [built["articles"]], out=tmp_path / "full")
    assert result.documents == 30 and result.records == 30 and result.unused == 0
    assert result.rows == full.rows
    for config in CONFIGS:
        for split in SPLITS:  # schema (ClassLabel metadata included) and every value
            assert parquet(result.path, config, split).equals(parquet(full.path, config, split))
    mine = json.loads((result.path / "manifest.json").read_text())
    theirs = json.loads((full.path / "manifest.json").read_text())
    assert mine["tables"] == theirs["tables"]  # the content hash of every table
    assert mine["text"]["rehydrated_from"] == built[kind].release
    report = verify_release(result.path, cache_dir=tmp_path / "v")
    assert report.text == "full" and report.configs == full.rows
    assert report.croissant["records"] == full.rows
    card = (result.path / "README.md").read_text()
    assert "**Rehydrated.**" in card and "**No article text.**" not in card
    for config in CONFIGS:
        a = load_dataset(str(result.path), config, cache_dir=str(tmp_path / "a" / config))
        b = load_dataset(str(full.path), config, cache_dir=str(tmp_path / "b" / config))
        for split in SPLITS:
            assert a[split].features == b[split].features
            assert a[split].to_list() == b[split].to_list()


def test_rehydrating_from_records_of_another_format_matches_by_content_id(
    built: dict[str, Any], tmp_path: Path
) -> None:
    """The same articles as JSONL records (other paths, other layout): normalised as ingest
    does, each gets its content id back."""
    lines = []
    for path in sorted(built["articles"].glob("*.txt")):
        title, _, body = path.read_text().partition("\n\n")
        lines.append(json.dumps({"headline": title + "  ", "body": body.replace("\n", "\r\n")}))
    (tmp_path / "articles.jsonl").write_text("\n".join(lines) + "\n")
    result = rehydrate_release(
        built["none"].path, [tmp_path / "articles.jsonl"], out=tmp_path / "full",
        fields={"title": "headline", "text": "body"},
    )  # fmt: skip
    assert result.documents == 30
    assert parquet(result.path, "documents", "test").equals(
        parquet(built["full"].path, "documents", "test")
    )


def test_an_edited_and_a_missing_article_are_reported_and_nothing_is_written(
    built: dict[str, Any], tmp_path: Path
) -> None:
    copy = tmp_path / "my-copy"
    shutil.copytree(built["articles"], copy)
    files = sorted(copy.glob("*.txt"))
    edited, gone = files[3], files[7]
    text = edited.read_text()
    edited.write_text(text.replace(" the ", " a ", 1))
    gone.unlink()
    (copy / "unrelated.txt").write_text("Another story\n\nNothing to do with the release.\n")
    store: Store = built["store"]
    stored = store.documents(store.latest_name() or "", columns=["source_path"])
    docs = {Path(d["source_path"]).name: d for d in stored.values()}
    with pytest.raises(RehydrateError) as info:
        rehydrate_release(built["none"].path, [copy], out=tmp_path / "full")
    error = info.value
    assert [m["doc_id"] for m in error.missing] == [docs[gone.name]["doc_id"]]
    assert [c["doc_id"] for c in error.changed] == [docs[edited.name]["doc_id"]]
    assert error.changed[0]["source"].endswith(edited.name)
    assert error.changed[0]["reason"].startswith("its text differs")
    message = str(error)
    assert message.startswith("2 of 30 documents of release 1.0.1 cannot be rehydrated")
    assert f"missing: {docs[gone.name]['doc_id']} (ingested from " in message
    assert f"changed: {docs[edited.name]['doc_id']} in " in message
    assert "nothing was written" in error.hint
    assert not (tmp_path / "full").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-release-")]


def test_a_full_release_or_an_existing_target_is_refused(
    built: dict[str, Any], tmp_path: Path
) -> None:
    with pytest.raises(ReleaseError, match="already holds its text"):
        rehydrate_release(built["full"].path, [built["articles"]], out=tmp_path / "x")
    (tmp_path / "taken").mkdir()
    with pytest.raises(ReleaseError, match="never overwritten"):
        rehydrate_release(built["none"].path, [built["articles"]], out=tmp_path / "taken")


def test_the_cli_rehydrates_and_reports_as_json(built: dict[str, Any], tmp_path: Path) -> None:
    args = ["release", "rehydrate", str(built["none"].path), "--out", str(tmp_path / "full")]
    done = CliRunner().invoke(app, [*args, "--from", str(built["articles"]), "--json"])
    assert done.exit_code == 0, done.output
    payload = json.loads(done.stdout)
    assert payload["ok"] is True and payload["documents"] == 30
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "a.txt").write_text("A story\n\nNot in the release.\n")
    args[-1] = str(tmp_path / "again")
    failed = CliRunner().invoke(app, [*args, "--from", str(empty), "--json"])
    assert failed.exit_code == 1
    error = json.loads(failed.stdout)["error"]
    assert error["type"] == "RehydrateError" and len(error["missing"]) == 30
