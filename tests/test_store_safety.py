"""Issue 18, store cases: what the store reads is whole or refused, and its writers do not
trip over each other (docs/concepts/store.md "The store", "Checking a store").

Each test names the case of issue 18 it covers; each failed on the code before the fix.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import tomllib
from pathlib import Path

import datasets
import pyarrow as pa
import pytest
from conftest import ROOT, SEEDS, build_gold_version, write_article
from typer.testing import CliRunner

import corpus
from corpus.cli import app
from corpus.errors import DamagedVersionError, ReleaseError, StoreError, StoreLockedError
from corpus.label_schema import AnnotationSchema
from corpus.release.splits import SPLITS
from corpus.store import Store, check_store, is_version, lineage, parse_version, version_folders
from corpus.store.files import forget_verified

runner = CliRunner()


@pytest.fixture(autouse=True)
def fresh_checks() -> None:
    forget_verified()  # every test checks files again, as a new process would


def _two_versions(store: Store, tmp_path: Path) -> tuple[str, str]:
    a = corpus.ingest([SEEDS], store=store).version
    write_article(tmp_path / "more", "b.txt", "Soybeans", "Tariffs on soybeans were cut.")
    b = corpus.ingest([tmp_path / "more"], store=store).version
    assert a is not None and b is not None
    return a, b


def _shard(store: Store, version: str, table: str) -> Path:
    """The table's last shard: the version's own (earlier ones may be its parent's, linked)."""
    return store.version_dir(version) / table / store.manifest(version).tables[table].files[-1]


def _change_one_byte(path: Path) -> None:
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncate(path: Path, n: int) -> None:
    path.chmod(0o644)
    path.write_bytes(path.read_bytes()[:-n])


def _edit_manifest(store: Store, version: str, **changes: object) -> Path:
    path = store.version_dir(version) / "manifest.json"
    path.chmod(0o644)
    value = json.loads(path.read_text())
    value.update(changes)
    path.write_text(json.dumps(value))
    return path


# --- case 10: the lock, concurrent trainings, the pseudonym key ---------------------------


def test_a_second_thread_cannot_enter_the_lock(store: Store) -> None:
    """issue 18 case 10: `Store.lock()` let a second thread in (which then crashed with a
    KeyError); now a second thread gets StoreLockedError, as a second process does, and
    takes the lock once the first thread let go."""
    held, done = threading.Event(), threading.Event()
    first_error: list[BaseException] = []

    def hold() -> None:
        try:
            with store.lock():
                held.set()
                done.wait()
        except BaseException as exc:  # pragma: no cover - reported below
            first_error.append(exc)

    def try_lock(out: list[object]) -> None:
        try:
            with store.lock(), store.lock():  # re-entrant within its own thread
                out.append("entered")
        except StoreLockedError as exc:
            out.append(exc)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(30)
    second: list[object] = []
    other = threading.Thread(target=try_lock, args=(second,))
    other.start()
    other.join()
    done.set()
    holder.join()
    assert not first_error
    assert len(second) == 1 and isinstance(second[0], StoreLockedError)
    assert "another thread" in second[0].message
    after: list[object] = []
    again = threading.Thread(target=try_lock, args=(after,))
    again.start()
    again.join()
    assert after == ["entered"]


_TRAINER = """
import sys
from pathlib import Path
from corpus.inference.folder import ModelManifest, ReleaseRef
from corpus.store import Store
from corpus.training.store import write_model

def fill(tmp: Path) -> ModelManifest:
    for name in ("stance.joblib", "tagger.crfsuite"):
        (tmp / name).write_bytes(sys.argv[2].encode() + name.encode())
    if sys.argv[3] == "wait":
        print("filling", flush=True)
        sys.stdin.readline()  # the other training runs meanwhile
    ref = ReleaseRef(release="1.0.0", path="r", version="0.1.0", schema_hash="h", files={})
    return ModelManifest(
        name=sys.argv[2], created="now", training_seconds=0.0, release=ref, schema_hash="h",
        stance_labels=[], trained_stance_labels=[], tags=[], language="en", libraries={},
        parameters={}, selection={}, data={}, scores={}, files={},
    )

write_model(Store(sys.argv[1]), sys.argv[2], fill)
print("written", flush=True)
"""


def test_two_trainings_at_once_keep_their_own_temporary_folders(
    store: Store, tmp_path: Path
) -> None:
    """issue 18 case 10: two concurrent model trainings deleted each other's temporary
    folder. A training still filling its folder (a real second process) keeps it while
    another one finishes; the folder of a killed training (no owner) is removed."""
    models = store.root / "models"
    models.mkdir(parents=True)
    (models / ".tmp-model-dead-0000").mkdir()  # a killed writer's leftover
    script = tmp_path / "train.py"
    script.write_text(_TRAINER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    slow = subprocess.Popen(
        [sys.executable, str(script), str(store.root), "slow", "wait"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert slow.stdout is not None and slow.stdin is not None
        assert slow.stdout.readline().strip() == "filling"
        fast = subprocess.run(
            [sys.executable, str(script), str(store.root), "fast", "go"],
            capture_output=True, text=True, env=env, check=False,
        )  # fmt: skip
        assert fast.returncode == 0, fast.stderr
        slow.stdin.write("go\n")
        slow.stdin.flush()
        out, _ = slow.communicate(timeout=120)
        assert slow.returncode == 0 and "written" in out
    finally:
        if slow.poll() is None:
            slow.kill()
            slow.wait()
    assert sorted(m.name for m in corpus.list_models(store)) == ["fast", "slow"]
    assert not list(models.glob(".tmp-model-*"))


def test_a_damaged_pseudonym_key_is_refused_never_replaced(store: Store) -> None:
    """issue 18 case 10: an empty or truncated pseudonym key (what a crash during the old
    unsynced write left) is a clear error, and the file is left as it is."""
    from corpus.rounds.pulled import pseudonym_key

    key = pseudonym_key(store)
    assert len(key) == 32 and pseudonym_key(store) == key
    path = store.root / ".pseudonym-key"
    assert path.stat().st_mode & 0o777 == 0o600
    for damaged in (b"", key[:10]):
        path.write_bytes(damaged)
        with pytest.raises(StoreError, match="pseudonym key") as err:
            pseudonym_key(store)
        assert "every annotator pseudonym" in err.value.hint
        assert path.read_bytes() == damaged


# --- case 11: zero-row tables load ---------------------------------------------------------


def test_an_empty_table_loads_with_both_calls(store: Store) -> None:
    """issue 18 case 11: every fresh store had a table (dup_merges, zero rows) that neither
    `Version.table` nor `datasets.load_from_disk` could load (ArrowInvalid)."""
    version = corpus.ingest([SEEDS], store=store).version
    latest = corpus.Store(store.root).latest()
    assert latest is not None and latest.manifest.tables["dup_merges"].rows == 0
    table = latest.table("dup_merges")
    assert len(table) == 0 and "into" in table.column_names
    loaded = datasets.load_from_disk(str(store.version_dir(str(version)) / "dup_merges"))
    assert len(loaded) == 0 and loaded.column_names == table.column_names
    assert latest.arrow("dup_merges").num_rows == 0
    assert check_store(store, deep=True).ok


def _old_style_empty(store: Store, version: str, table: str) -> None:
    """Rewrite a zero-row table the way stores before issue 18 held it: an Arrow stream
    with a schema and no batch (and its manifest record to match)."""
    from corpus.ids import file_sha256

    shard = _shard(store, version, table)
    schema = store.table_schema(version, table)
    shard.chmod(0o644)
    with pa.ipc.new_stream(str(shard), schema):
        pass
    rel = f"{table}/{shard.name}"
    path = store.version_dir(version) / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["files"][rel] = {"bytes": shard.stat().st_size, "sha256": file_sha256(shard)}
    _edit_manifest(store, version, files=manifest["files"])


def test_empty_tables_of_older_stores_load_and_are_rewritten(store: Store, tmp_path: Path) -> None:
    """issue 18 case 11, existing stores: an empty table written without a batch loads
    through `Version.table`, and the next version writes it loadable again."""
    first = corpus.ingest([SEEDS], store=store).version
    assert first is not None
    _old_style_empty(store, first, "dup_merges")
    forget_verified()
    with pytest.raises(pa.ArrowInvalid):  # what the old layout does to datasets
        datasets.load_from_disk(str(store.version_dir(first) / "dup_merges"))
    assert len(store.version(first).table("dup_merges")) == 0
    write_article(tmp_path / "more", "b.txt", "Soybeans", "Tariffs on soybeans were cut.")
    second = corpus.ingest([tmp_path / "more"], store=store).version
    loaded = datasets.load_from_disk(str(store.version_dir(str(second)) / "dup_merges"))
    assert len(loaded) == 0


# --- case 12 and the store's further cases: damaged versions are never read ----------------


@pytest.mark.parametrize("damage", ["one byte", "100 bytes truncated"])
def test_a_damaged_version_is_not_diffed_or_shown(
    store: Store, tmp_path: Path, damage: str
) -> None:
    """issue 18 case 12: after one changed byte or 100 truncated bytes in a paragraphs
    shard, `corpus diff` exited 0 with a full diff; now diff and show refuse the version
    with DamagedVersionError, like `corpus check`."""
    a, b = _two_versions(store, tmp_path)
    shard = _shard(store, b, "paragraphs")
    if damage == "one byte":
        _change_one_byte(shard)
    else:
        _truncate(shard, 100)
    s = ["--store", str(store.root)]
    assert runner.invoke(app, ["check", *s]).exit_code == 1
    for args in (["diff", a, b], ["show", b]):
        result = runner.invoke(app, [*args, *s, "--json"])
        assert result.exit_code == 1, result.output
        error = json.loads(result.output)["error"]
        assert error["type"] == "DamagedVersionError" and "paragraphs" in error["message"]
    with pytest.raises(DamagedVersionError):
        corpus.diff_versions(store, a, b)


def test_sampling_reads_only_whole_versions(store: Store, tmp_path: Path) -> None:
    """issue 18, store: `round start` sampled a damaged version. Every read of a version
    checks the whole version first, so the documents a round samples come from an intact
    one (here: a damaged sentences shard stops the read of its documents)."""
    a, _ = _two_versions(store, tmp_path)
    assert store.documents(a)
    forget_verified()
    _change_one_byte(_shard(store, a, "sentences"))
    with pytest.raises(DamagedVersionError, match="sentences"):
        store.documents(a)


def test_manifests_edited_into_a_cycle_are_a_clear_error(store: Store, tmp_path: Path) -> None:
    """issue 18 case 12: manifests edited into a parent cycle made `corpus show` loop
    forever; the lineage now names the manifests of the cycle (in a child process, so the
    old code fails by its timeout instead of hanging the suite)."""
    a, b = _two_versions(store, tmp_path)
    _edit_manifest(store, a, parent=b)
    code = (
        "import json, sys\n"
        "from typer.testing import CliRunner\nfrom corpus.cli import app\n"
        f"r = CliRunner().invoke(app, ['show', {b!r}, '--store', {str(store.root)!r}, '--json'])\n"
        "print(r.exit_code); print(r.output)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True,
    )  # fmt: skip
    exit_code, output = done.stdout.split("\n", 1)
    assert exit_code == "1", output
    error = json.loads(output)["error"]
    assert error["type"] == "DamagedVersionError"
    assert "cycle" in error["message"] and f"{a}/manifest.json" in error["message"]
    with pytest.raises(DamagedVersionError, match="cycle"):
        lineage(store, b)


def test_check_of_a_missing_store_is_an_error(tmp_path: Path) -> None:
    """issue 18, store: `check --store <a path that does not exist>` reported a healthy
    empty store; a version the store never had was called damaged."""
    missing = tmp_path / "nowhere"
    result = runner.invoke(app, ["check", "--store", str(missing)])
    assert result.exit_code == 1 and "no store at" in result.output
    assert not missing.exists()
    store = Store(tmp_path / "store")
    corpus.ingest([SEEDS], store=store)
    result = runner.invoke(app, ["check", "9.9.9", "--store", str(store.root), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.output)["error"]["type"] == "VersionNotFoundError"


def test_store_json_of_wrong_types_is_a_clear_error(store: Store) -> None:
    """issue 18, store: a `store.json` with values of the wrong type ended in an internal
    error (or was silently treated as empty, minting a new identity)."""
    corpus.ingest([SEEDS], store=store)
    path = store.root / "store.json"
    good = json.loads(path.read_text())
    for bad in ({**good, "last_version": 3}, {**good, "servers": []}, [good]):
        path.write_text(json.dumps(bad))
        args = ["ingest", str(SEEDS), "--store", str(store.root), "--json"]
        result = runner.invoke(app, args)
        assert result.exit_code == 1, result.output
        error = json.loads(result.output)["error"]
        assert error["type"] == "StoreError" and "store.json is damaged" in error["message"]
        assert json.loads(path.read_text()) == bad  # never replaced


def test_a_failed_first_command_leaves_no_store(tmp_path: Path) -> None:
    """issue 18, store: a failed first command left a store folder holding only `.lock`
    or `.tmp/`."""
    target = tmp_path / "new-store"
    result = runner.invoke(app, ["ingest", str(tmp_path / "missing"), "--store", str(target)])
    assert result.exit_code == 1
    assert not target.exists()
    with pytest.raises(RuntimeError), Store(target).lock():
        raise RuntimeError("the command fails before writing anything")
    assert not target.exists()


@pytest.mark.parametrize("command", [["round", "status", "r1"], ["round", "pull", "r1"]])
def test_a_round_command_on_a_missing_store_starts_no_server(
    tmp_path: Path, command: list[str]
) -> None:
    """issue 18, store: a failed first command left a store folder holding `studio/` (the
    local Label Studio was set up before the command found there was no store)."""
    target = tmp_path / "new-store"
    result = runner.invoke(app, [*command, "--store", str(target), "--json"])
    assert result.exit_code == 1, result.output
    error = json.loads(result.output)["error"]
    assert error["type"] == "StoreError" and "no store at" in error["message"]
    assert not target.exists()


def test_a_store_that_lost_store_json_keeps_no_new_identity(store: Store) -> None:
    """issue 18, store: a store whose `store.json` was lost got a fresh identity from a
    read-only `round status` and then disowned its own projects. A store holding rounds
    but no store.json is a clear error saying how to restore it; nothing is written."""
    corpus.ingest([SEEDS], store=store)
    identity = store.store_id()
    (store.root / "rounds" / "r1").mkdir(parents=True)
    (store.root / "store.json").unlink()
    with pytest.raises(StoreError, match=r"store\.json is missing") as err:
        store.store_id()
    assert "corpus-store:" in err.value.hint and "store_id" in err.value.hint
    assert not (store.root / "store.json").exists()
    (store.root / "store.json").write_text(json.dumps({"store_id": identity}))
    assert store.store_id() == identity


# --- case 14: one definition of version numbers; the previous release is verified ---------


def test_one_definition_of_version_numbers(tmp_path: Path) -> None:
    """issue 18 case 14: three patterns of version numbers disagreed (`01.1.0` passed one
    and broke another). One rule: three integers without leading zeros; a folder of
    another name is ignored, with a warning."""
    assert parse_version("1.12.0") == (1, 12, 0)
    for bad in ("01.1.0", "1.0", "v1.0.0", "1.0.0.0", "1.-1.0", " 1.0.0"):
        assert not is_version(bad)
        with pytest.raises(StoreError):
            parse_version(bad)
    for name in ("0.2.0", "0.10.0", "01.1.0", "latest"):
        (tmp_path / name).mkdir()
    found = version_folders(tmp_path)
    assert found.versions == ["0.2.0", "0.10.0"]
    assert found.stray == ["01.1.0", "latest"]
    assert "01.1.0 is not a version number" in found.warnings(tmp_path)[0]
    pattern = r"\d+\.\d+\.\d+"
    copies = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "corpus").rglob("*.py")
        if pattern in p.read_text(encoding="utf-8") or "_SEMVER" in p.read_text(encoding="utf-8")
    ]
    assert copies == []


def test_the_import_circle_of_the_store_is_gone() -> None:
    """issue 18: the store package's import circle (integrity <-> versions <-> writer) was
    hidden by an ignore line of the acyclic contract and a function-level import."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    acyclic = next(c for c in contracts if c["id"] == "acyclic")
    assert "ignore_imports" not in acyclic
    for module in ("versions", "writer", "meta", "files", "numbers"):
        source = (ROOT / "corpus" / "store" / f"{module}.py").read_text(encoding="utf-8")
        assert "corpus.store.integrity" not in source
        assert "TYPE_CHECKING" not in source


def test_sealing_a_folder_has_one_definition() -> None:
    """issue 18: sealing a folder (read-only files, fsync of files and folders) was written
    in the store writer, the release writer and the model writer; one function now."""
    offenders = []
    for path in (ROOT / "corpus").rglob("*.py"):
        if path.name == "atomic.py":
            continue
        text = path.read_text(encoding="utf-8")
        if "os.fsync(fd)" in text or (".chmod(0o444)" in text and "publish" not in path.name):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, str, Path]:
    """A store with gold and its release 1.0.0."""
    from corpus.label_schema import load_schema
    from corpus.release import build_release

    root = tmp_path_factory.mktemp("released")
    store = Store(root / "store")
    version = build_gold_version(store, load_schema(), root / "articles", n=48)
    first = build_release(store, version, release="1.0.0", schema=load_schema())
    return store, version, first.path


def test_a_stray_release_folder_is_ignored_with_a_warning(
    released: tuple[Store, str, Path], tmp_path: Path
) -> None:
    """issue 18 case 14: a stray `releases/01.1.0` (a folder with a manifest, not a version
    number) broke every build; the build ignores it and says so in its result."""
    from corpus.release.build import previous_release

    store, _, _ = released
    copy = Store(tmp_path / "store")
    shutil.copytree(store.root / "releases", copy.root / "releases")
    stray = copy.root / "releases" / "01.1.0"
    stray.mkdir()
    (stray / "manifest.json").write_text("{}")
    warnings: list[str] = []
    assert previous_release(copy, "1.1.0", None, warnings) == copy.root / "releases" / "1.0.0"
    assert len(warnings) == 1 and "01.1.0 is not a version number" in warnings[0]


def test_an_edited_previous_release_is_not_inherited(
    released: tuple[Store, str, Path], tmp_path: Path, schema: AnnotationSchema
) -> None:
    """issue 18 case 14: `release build --previous` followed a previous release without
    verifying it, so a swapped train/test was inherited. The previous release is checked
    (checksums, card, row counts and hashes) first, and a changed one is refused."""
    from corpus.release import build_release

    original, version, _ = released
    shutil.copytree(original.root, tmp_path / "store", symlinks=True)
    store = Store(tmp_path / "store")
    previous = store.root / "releases" / "1.0.0"
    train, test = (previous / "documents" / f"{s}-00000-of-00001.parquet" for s in SPLITS[::2])
    swap = train.with_name("swap")
    train.rename(swap)
    test.rename(train)
    swap.rename(test)
    with pytest.raises(ReleaseError, match=r"previous release .* does not verify") as err:
        build_release(store, version, release="1.1.0", schema=schema, previous=previous)
    assert "corpus release verify" in err.value.hint
    assert not (store.root / "releases" / "1.1.0").exists()
