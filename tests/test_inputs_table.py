"""Issue 20: the files an ingest read are rows of the version's ``inputs`` table, and the
manifest keeps only their sum (docs/concepts/store.md, "What a version records"); manifests
that list them inline (older versions) keep reading, verifying and showing."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from conftest import ROOT, write_article
from typer.testing import CliRunner

import corpus
from corpus.cli import app
from corpus.ingestion import run as ingest_run
from corpus.models import InputFile, InputsSummary
from corpus.store import (
    Store,
    check_store,
    derive_version,
    diff_versions,
    input_files,
    input_summary,
)

runner = CliRunner()
OLD_STORE = ROOT / "tests" / "data" / "store-v768a418"


def _folder(folder: Path) -> list[InputFile]:
    """Inputs of every kind; the rows the table must hold, in input order."""
    write_article(folder, "a.txt", "Port talks", "Talks resumed at the port on Monday.")
    shutil.copy(folder / "a.txt", folder / "b.txt")  # an exact duplicate: read, then dropped
    records = [
        {"title": "Wire one", "text": "Tariffs eased after the talks."},
        {"title": "", "text": "no title: a bad record"},
        {"title": "Wire two", "text": "Soybean exports rose again."},
    ]
    (folder / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (folder / "empty.txt").write_bytes(b"")  # bad: no document, no row
    (folder / "notes.bin").write_bytes(b"\x00")  # not read
    write_article(folder / "sub", "c.md", "# Chip curbs", "Curbs widened. Firms objected.")
    docs = {"a.txt": 1, "b.txt": 1, "d.jsonl": 2, "sub/c.md": 1}
    return [
        InputFile(
            path=str(folder / name),
            sha256=hashlib.sha256((folder / name).read_bytes()).hexdigest(),
            bytes=(folder / name).stat().st_size,
            documents=n,
        )
        for name, n in docs.items()
    ]


@pytest.mark.parametrize("workers", [1, 2])
def test_the_inputs_table_lists_each_file_and_the_manifest_sums_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    expected = _folder(tmp_path / "in")
    if workers > 1:  # worker processes, batches of two files: rows still in input order
        monkeypatch.setattr(ingest_run, "INLINE_BYTES", 0)
        monkeypatch.setattr(ingest_run, "BATCH_FILES", 2)
    store = Store(tmp_path / "store")
    result = corpus.ingest(tmp_path / "in", store=store, skip_bad=True, workers=workers)
    assert result.files == 5 and result.documents_added == 4 and result.exact_duplicates == 1
    assert list(input_files(store, "0.1.0")) == expected
    manifest = store.manifest("0.1.0")
    assert manifest.inputs == InputsSummary(
        files=4, bytes=sum(f.bytes for f in expected), documents=5
    )
    assert input_summary(manifest) == manifest.inputs
    assert manifest.tables["inputs"].rows == 4
    text = (store.version_dir("0.1.0") / "manifest.json").read_text()
    assert "a.txt" not in text  # the manifest names no input file
    assert check_store(store, deep=True).ok


def test_each_ingest_lists_its_own_files_and_other_versions_none(tmp_path: Path) -> None:
    """The table describes how its version was made: a later ingest lists only its own
    files, a version derived by another stage (a pull) lists none, and diff compares
    contents, not inputs."""
    write_article(tmp_path / "one", "a.txt", "Port talks", "Talks resumed at the port.")
    write_article(tmp_path / "two", "b.txt", "Chip curbs", "Curbs widened; firms objected.")
    store = Store(tmp_path / "store")
    corpus.ingest(tmp_path / "one", store=store)
    corpus.ingest(tmp_path / "two", store=store)
    assert [Path(f.path).name for f in input_files(store, "0.2.0")] == ["b.txt"]
    assert store.manifest("0.2.0").tables["inputs"].rows == 1
    with store.lock():
        derived = derive_version(
            store, "0.2.0", round_name=None, tables={}, kind="pull", message="m", extra={}
        )
    manifest = store.manifest(derived)
    assert "inputs" not in manifest.tables and manifest.inputs == []
    assert list(input_files(store, derived)) == []
    assert input_summary(manifest) == InputsSummary(files=0, bytes=0, documents=0)
    assert "inputs" not in diff_versions(store, "0.1.0", derived).tables
    assert check_store(store, deep=True).ok


def _edit_manifest(store: Store, change: dict[str, int]) -> None:
    path = store.version_dir("0.1.0") / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["inputs"].update(change)  # still valid, wrong content
    path.chmod(0o644)
    path.write_text(json.dumps(manifest))


def test_check_compares_the_summary_with_the_table(tmp_path: Path) -> None:
    _folder(tmp_path / "in")
    store = Store(tmp_path / "store")
    corpus.ingest(tmp_path / "in", store=store, skip_bad=True)
    _edit_manifest(store, {"files": 5})
    (problem,) = check_store(store).versions[0].problems
    assert "5 input file(s)" in problem.problem and "4 row(s)" in problem.problem
    _edit_manifest(store, {"files": 4, "documents": 9})
    assert check_store(store).ok  # counts only, without reading rows
    (problem,) = check_store(store, deep=True).versions[0].problems
    assert problem.file == "0.1.0/inputs" and "recorded" in problem.problem


def test_an_old_manifest_listing_its_inputs_still_reads_verifies_and_shows(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "old")
    shutil.copytree(OLD_STORE, store.root)
    manifest = store.manifest("0.1.0")
    assert isinstance(manifest.inputs, list)
    (only,) = input_files(store, "0.1.0")
    assert only.path == "seeds/000_c2ba7c1140b5ce6c.txt" and only.bytes == 10113
    assert input_summary(manifest) == InputsSummary(files=1, bytes=10113, documents=1)
    assert check_store(store, deep=True).ok
    shown = runner.invoke(app, ["show", "0.1.0", "--store", str(store.root), "--inputs"])
    assert shown.exit_code == 0, shown.stdout
    assert "1 input file(s) (10,113 bytes)" in shown.stdout
    assert "seeds/000_c2ba7c1140b5ce6c.txt  1 document(s)" in shown.stdout
    recorded = check_store(store, record=True)  # recording file hashes keeps the list
    assert recorded.ok and isinstance(Store(store.root).manifest("0.1.0").inputs, list)


def test_show_lists_the_inputs_table_and_the_files(tmp_path: Path) -> None:
    expected = _folder(tmp_path / "in")
    store = tmp_path / "store"
    corpus.ingest(tmp_path / "in", store=store, skip_bad=True)
    shown = runner.invoke(app, ["show", "0.1.0", "--store", str(store)])
    assert shown.exit_code == 0, shown.stdout
    assert "4 input file(s)" in shown.stdout and "│ inputs " in shown.stdout
    listed = runner.invoke(app, ["show", "0.1.0", "--store", str(store), "--inputs", "--json"])
    shown_json = json.loads(listed.stdout)
    assert shown_json["inputs"] == [f.model_dump() for f in expected]
    assert shown_json["manifest"]["inputs"] == {
        "table": "inputs",
        "files": 4,
        "bytes": sum(f.bytes for f in expected),
        "documents": 5,
    }
