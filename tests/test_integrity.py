"""A store you can trust: what was written is what is read, or a clear error says why."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS, build_gold_version, write_article
from typer.testing import CliRunner

import corpus
from corpus.cli import app
from corpus.errors import DamagedVersionError, VersionExistsError
from corpus.label_schema import AnnotationSchema
from corpus.store import Store, check_store
from corpus.store.files import forget_verified

runner = CliRunner()
OLD_STORE = ROOT / "tests" / "data" / "store-v768a418"


@pytest.fixture(autouse=True)
def fresh_checks() -> None:
    forget_verified()  # every test checks files again, as a new process would


def _edit(path: Path, old: bytes, new: bytes) -> None:
    """Change a committed file in place, as a user with enough rights could."""
    path.chmod(0o644)
    data = path.read_bytes()
    assert old in data
    with path.open("r+b") as fh:  # in place: the same inode (and every hard link to it)
        fh.write(data.replace(old, new, 1))


def _documents_shard(store: Store, version: str) -> Path:
    return store.version_dir(version) / "documents" / "data-00000-of-00001.arrow"


def test_committed_files_are_read_only_and_hashed(store: Store) -> None:
    corpus.ingest([SEEDS], store=store)
    folder = store.version_dir("0.1.0")
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files and all(stat.S_IMODE(p.stat().st_mode) == 0o444 for p in files)
    manifest = store.manifest("0.1.0")
    listed = {p.relative_to(folder).as_posix() for p in files} - {"manifest.json"}
    assert set(manifest.files) == listed
    shard = "documents/data-00000-of-00001.arrow"
    assert manifest.files[shard].bytes == (folder / shard).stat().st_size


def test_a_tampered_text_is_never_released(
    tmp_path: Path, store: Store, schema: AnnotationSchema
) -> None:
    """The user's case: " China " replaced by " Chile " inside a stored Arrow file."""
    gold = build_gold_version(store, schema, tmp_path / "articles", n=24)
    ingest_version = store.manifest(gold).parent
    assert ingest_version is not None
    _edit(_documents_shard(store, "0.1.0"), b" China ", b" Chile ")
    with pytest.raises(DamagedVersionError) as info:
        corpus.build_release(store, gold, release="1.0.0", schema=schema, force="test")
    assert "documents/data-00000-of-00001.arrow" in info.value.message
    assert "sha256" in info.value.message and info.value.hint
    assert not (store.root / "releases" / "1.0.0").exists()
    result = runner.invoke(
        app, ["release", "build", gold, "--release", "1.0.0", "--store", str(store.root), "--json"]
    )
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["type"] == "DamagedVersionError"


def test_an_edited_file_is_caught_by_every_reader(store: Store, tmp_path: Path) -> None:
    corpus.ingest([SEEDS], store=store)
    write_article(tmp_path / "more", "x.txt", "Extra", "More trade news about China.")
    corpus.ingest([tmp_path / "more"], store=store)
    # the shard is a hard link shared by 0.1.0 and 0.2.0: one edit damages both
    _edit(_documents_shard(store, "0.1.0"), b" China ", b" Chile ")
    for version in ("0.1.0", "0.2.0"):
        with pytest.raises(DamagedVersionError):
            store.read_table(version, "documents")
    with pytest.raises(DamagedVersionError):
        corpus.diff_versions(store, "0.1.0", "0.2.0")
    write_article(tmp_path / "third", "y.txt", "Third", "Still more.")
    with pytest.raises(DamagedVersionError):
        corpus.ingest([tmp_path / "third"], store=store)  # never derived from damage
    assert store.version_names() == ["0.1.0", "0.2.0"]


def test_an_edited_manifest_is_caught(store: Store) -> None:
    corpus.ingest([SEEDS], store=store)
    path = store.version_dir("0.1.0") / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["tables"]["documents"]["rows"] = 7  # still valid JSON, wrong content
    path.chmod(0o644)
    path.write_text(json.dumps(manifest))
    report = check_store(store, deep=True)
    assert not report.ok
    problems = report.versions[0].problems
    assert any("7" in p.problem and p.file.endswith("documents") for p in problems), problems


def _edit_rows(store: Store, version: str, table: str, rows: int) -> None:
    path = store.version_dir(version) / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["tables"][table]["rows"] = rows  # still valid JSON, wrong content
    path.chmod(0o644)
    path.write_text(json.dumps(manifest))


def test_an_edited_row_count_is_refused_by_every_reader(
    tmp_path: Path, store: Store, schema: AnnotationSchema
) -> None:
    """The user's case: an edited row count in manifest.json went unnoticed by ``diff`` and
    ``release build``; every reader of the table now counts its rows."""
    gold = build_gold_version(store, schema, tmp_path / "articles", n=24)
    parent = store.manifest(gold).parent
    assert parent is not None
    _edit_rows(store, gold, "documents", 7)
    with pytest.raises(DamagedVersionError) as info:
        corpus.build_release(store, gold, release="1.0.0", schema=schema, force="test")
    assert "holds 24 rows, its manifest records 7" in info.value.message and info.value.hint
    assert not (store.root / "releases" / "1.0.0").exists()
    diffed = runner.invoke(app, ["diff", parent, gold, "--store", str(store.root), "--json"])
    assert diffed.exit_code == 1
    error = json.loads(diffed.stdout)["error"]
    assert error["type"] == "DamagedVersionError" and "manifest records 7" in error["message"]


def test_a_deleted_file_is_a_clear_error(store: Store) -> None:
    corpus.ingest([SEEDS], store=store)
    shard = store.version_dir("0.1.0") / "sentences" / "data-00000-of-00001.arrow"
    shard.unlink()
    with pytest.raises(DamagedVersionError) as info:
        store.read_table("0.1.0", "sentences")
    assert str(shard) in info.value.message and "missing" in info.value.message


def test_a_version_without_its_manifest_stays_listed_and_its_number_is_not_reused(
    store: Store, tmp_path: Path
) -> None:
    corpus.ingest([SEEDS], store=store)
    write_article(tmp_path / "more", "x.txt", "Extra", "More trade news.")
    corpus.ingest([tmp_path / "more"], store=store)
    (store.version_dir("0.2.0") / "manifest.json").unlink()
    listed = runner.invoke(app, ["versions", "--store", str(store.root), "--json"])
    rows = json.loads(listed.stdout)["versions"]
    assert [r["version"] for r in rows] == ["0.1.0", "0.2.0"]
    assert rows[1]["damaged"] and "missing" in rows[1]["damaged"]
    shown = runner.invoke(app, ["versions", "--store", str(store.root)])
    assert "DAMAGED" in shown.stdout
    # the next ingest does not fail with VersionExistsError, nor derive from the damage
    write_article(tmp_path / "third", "y.txt", "Third", "Still more.")
    with pytest.raises(DamagedVersionError) as info:
        corpus.ingest([tmp_path / "third"], store=store)
    assert "0.2.0" in info.value.message
    # moved aside by the user: its number stays used
    shutil.move(store.version_dir("0.2.0"), tmp_path / "aside")
    result = corpus.ingest([tmp_path / "third"], store=store)
    assert result.version == "0.3.0" and result.parent == "0.1.0"
    with pytest.raises(VersionExistsError):
        store.begin("0.3.0")


def test_check_reports_each_problem_with_its_file(store: Store) -> None:
    corpus.ingest([SEEDS], store=store)
    folder = store.version_dir("0.1.0")
    _edit(folder / "paragraphs" / "data-00000-of-00001.arrow", b"China", b"Chile")
    (folder / "sentences" / "state.json").unlink()
    (folder / "notes.txt").write_text("not ours")
    result = runner.invoke(app, ["check", "--store", str(store.root), "--json"])
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "DamagedVersionError"
    problems = {p["file"]: p["problem"] for p in error["report"]["versions"][0]["problems"]}
    assert "sha256 differs" in problems["0.1.0/paragraphs/data-00000-of-00001.arrow"]
    assert "missing" in problems["0.1.0/sentences/state.json"]
    assert "does not list" in problems["0.1.0/notes.txt"]
    text = runner.invoke(app, ["check", "--store", str(store.root)])
    assert text.exit_code == 1 and "damaged" in text.stdout and "restore" in text.stdout.lower()


def test_check_deep_recomputes_row_hashes(store: Store) -> None:
    corpus.ingest([SEEDS], store=store)
    report = check_store(store, deep=True)
    assert report.ok and report.versions[0].status == "ok" and report.versions[0].deep
    result = runner.invoke(app, ["check", "--deep", "--store", str(store.root)])
    assert result.exit_code == 0 and "0.1.0" in result.stdout and "ok" in result.stdout


def test_an_old_store_is_unverified_until_recorded(tmp_path: Path) -> None:
    store = Store(tmp_path / "old")
    shutil.copytree(OLD_STORE, store.root)
    report = check_store(store)
    assert report.ok and report.versions[0].status == "unverified"
    text = runner.invoke(app, ["check", "--store", str(store.root)])
    assert text.exit_code == 0 and "corpus check --record" in text.stdout
    recorded = check_store(store, record=True)
    assert recorded.versions[0].recorded and recorded.versions[0].status == "ok"
    again = check_store(store)
    assert again.versions[0].status == "ok" and again.versions[0].files == 15
    _edit(_documents_shard(store, "0.1.0"), b"China", b"Chile")
    assert not check_store(store).ok


def test_record_refuses_rows_that_do_not_match(tmp_path: Path) -> None:
    store = Store(tmp_path / "old")
    shutil.copytree(OLD_STORE, store.root)
    for path in store.root.rglob("*"):
        if path.is_file():
            path.chmod(0o644)
    shard = _documents_shard(store, "0.1.0")
    _edit(shard, b"China", b"Chile")
    report = check_store(store, record=True)
    assert not report.ok and not report.versions[0].recorded
    assert not store.manifest("0.1.0").files  # nothing blessed


def test_read_only_copies_of_a_store_still_read(store: Store, tmp_path: Path) -> None:
    corpus.ingest([SEEDS], store=store)
    copy = tmp_path / "copy"
    shutil.copytree(store.root, copy)
    for path in sorted(copy.rglob("*"), reverse=True):
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        assert Store(copy).version("0.1.0").table("documents").num_rows == 1
        assert check_store(copy).ok
    finally:
        for path in copy.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        copy.chmod(0o755)
