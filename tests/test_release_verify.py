"""`verify_release`: a good release passes and loads; any change to it is caught and named."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from conftest import build_gold_version
from datasets import ClassLabel, Dataset, List, load_dataset

from corpus.errors import ReleaseError
from corpus.label_schema import AnnotationSchema, load_schema
from corpus.release import ReleaseResult, build_release
from corpus.release.tables import features
from corpus.release.verify import verify_release
from corpus.store import Store

PARQUET = "documents/train-00000-of-00001.parquet"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, str, ReleaseResult]:
    root = tmp_path_factory.mktemp("verify")
    store, schema = Store(root / "store"), load_schema()
    version = build_gold_version(store, schema, root / "articles", n=40)
    result = build_release(
        store, version, release="1.0.0", schema=schema, force="small test corpus"
    )
    assert isinstance(result, ReleaseResult)
    return store, version, result


@pytest.fixture
def release(built: tuple[Store, str, ReleaseResult]) -> ReleaseResult:
    return built[2]


@pytest.fixture
def copy(release: ReleaseResult, tmp_path: Path) -> Path:
    """A writable copy of the release to tamper with."""
    dest = tmp_path / "release"
    shutil.copytree(release.path, dest)
    for p in dest.rglob("*"):
        p.chmod(p.stat().st_mode | stat.S_IWUSR)
    return dest


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def reseal(folder: Path) -> None:
    """Recompute manifest.json files and SHA256SUMS, as a buggy builder would have written
    them: the checksums then agree, and only the deeper checks can find the difference."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    for rel, info in manifest["files"].items():
        info["sha256"], info["bytes"] = _sha(folder / rel), (folder / rel).stat().st_size
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "SHA256SUMS")
    sums = [f"{_sha(p)}  {p.relative_to(folder).as_posix()}" for p in files]
    (folder / "SHA256SUMS").write_text("\n".join(sums) + "\n", encoding="utf-8")


def test_a_built_release_verifies_and_loads_every_config(
    release: ReleaseResult, tmp_path: Path
) -> None:
    report = verify_release(release.path, cache_dir=tmp_path / "cache")
    assert report.configs == release.rows
    assert report.release == "1.0.0" and report.path == release.path
    on_disk = sorted(p.relative_to(release.path).as_posix() for p in release.path.rglob("*")
                     if p.is_file() and p.name != "SHA256SUMS")  # fmt: skip
    assert report.files == on_disk
    assert list((tmp_path / "cache").iterdir()) == []  # the temporary cache is gone


def test_every_config_loads_offline_with_class_label_names(
    release: ReleaseResult, schema: AnnotationSchema, tmp_path: Path
) -> None:
    import datasets.config

    assert datasets.config.HF_HUB_OFFLINE
    loaded = {
        c: load_dataset(str(release.path), c, cache_dir=str(tmp_path / c)) for c in release.rows
    }
    for config, ds in loaded.items():
        assert {s: ds[s].num_rows for s in ds} == release.rows[config]
    docs = loaded["documents"]["train"].features
    assert isinstance(docs["stance"], ClassLabel) and docs["stance"].names == schema.stance_names
    for feats in (docs, loaded["sentences"]["train"].features):
        assert isinstance(feats["spans"], List)
        assert feats["spans"].feature["label"].names == schema.issue_names
        assert feats["spans"].feature["stance"].names == schema.span_stance_names
    assert loaded["sentences"]["train"].features["doc_stance"].names == schema.stance_names
    tags = loaded["tokens"]["train"].features["tags"]
    assert isinstance(tags, List) and isinstance(tags.feature, ClassLabel)
    assert tags.feature.names == ["O"] + [
        f"{p}-{name}" for name in schema.issue_names for p in ("B", "I")
    ]
    assert loaded["raw_annotations"]["train"].features["stance"].names == schema.stance_names
    row = loaded["documents"]["train"][0]
    assert row["stance"] == -1 or 0 <= row["stance"] < len(schema.stance_names)


def test_release_files_are_read_only_and_never_rebuilt(
    built: tuple[Store, str, ReleaseResult], schema: AnnotationSchema
) -> None:
    store, version, release = built
    for p in release.path.rglob("*"):
        if p.is_file():
            assert p.stat().st_mode & 0o222 == 0, p
    before = _sha(release.path / "manifest.json")
    with pytest.raises(ReleaseError, match="never overwritten"):
        build_release(store, version, release="1.0.0", schema=schema, force="again")
    assert _sha(release.path / "manifest.json") == before


def test_a_flipped_byte_is_caught_and_the_file_named(copy: Path) -> None:
    path = copy / PARQUET
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ReleaseError, match=re.escape(f"sha256 mismatch for {PARQUET}")) as err:
        verify_release(copy)
    assert "SHA256SUMS" in str(err.value) and err.value.hint


def test_an_edited_card_is_caught_by_its_checksum_then_by_the_split_sizes(copy: Path) -> None:
    card = copy / "README.md"
    text = card.read_text(encoding="utf-8")
    rows = pq.ParquetFile(copy / PARQUET).metadata.num_rows
    edited = text.replace(f"num_examples: {rows}\n", f"num_examples: {rows + 1}\n", 1)
    assert edited != text
    card.write_text(edited, encoding="utf-8")
    with pytest.raises(ReleaseError, match=r"sha256 mismatch for README\.md"):
        verify_release(copy)
    reseal(copy)
    with pytest.raises(
        ReleaseError, match=rf"documents/train num_examples is {rows + 1} .* {rows}"
    ):
        verify_release(copy)


def test_an_extra_or_missing_file_is_caught(copy: Path) -> None:
    (copy / "notes.txt").write_text("not part of the release\n", encoding="utf-8")
    with pytest.raises(ReleaseError, match=r"extra file notes\.txt"):
        verify_release(copy)
    (copy / "notes.txt").unlink()
    (copy / "CHANGELOG.md").unlink()
    with pytest.raises(ReleaseError, match=r"missing file CHANGELOG.md \(listed in SHA256SUMS"):
        verify_release(copy)


def _rewrite_documents(copy: Path, schema: AnnotationSchema, stance: int) -> None:
    rows = pq.read_table(copy / PARQUET).to_pylist()
    rows[0]["stance"] = stance
    Dataset.from_list(rows, features=features(schema)["documents"]).to_parquet(str(copy / PARQUET))


def test_changed_rows_are_caught_by_the_content_hash(copy: Path, schema: AnnotationSchema) -> None:
    rows = pq.read_table(copy / PARQUET).to_pylist()
    _rewrite_documents(copy, schema, (rows[0]["stance"] + 1) % len(schema.stance_names))
    reseal(copy)
    with pytest.raises(ReleaseError, match=r"documents/train: content hash .* differs"):
        verify_release(copy)


def test_out_of_range_labels_are_caught(copy: Path) -> None:
    """datasets refuses to write such a label but loads one silently (#8596): pyarrow writes."""
    import pyarrow as pa

    table = pq.read_table(copy / PARQUET)
    stance = table.column("stance").to_pylist()
    stance[0] = 99
    i = table.schema.get_field_index("stance")
    table = table.set_column(i, table.schema.field(i), pa.array(stance, pa.int64()))
    pq.write_table(table, copy / PARQUET)
    reseal(copy)
    with pytest.raises(ReleaseError, match=rf"label out of range: {PARQUET} stance holds 99"):
        verify_release(copy)


def test_features_differing_from_the_card_are_caught(copy: Path, schema: AnnotationSchema) -> None:
    feats = features(schema)["documents"].copy()
    feats["stance"] = ClassLabel(names=[*schema.stance_names[:-1], "renamed"])
    rows = pq.read_table(copy / PARQUET).to_pylist()
    Dataset.from_list(rows, features=feats).to_parquet(str(copy / PARQUET))
    reseal(copy)
    with pytest.raises(ReleaseError, match=rf"metadata of {PARQUET} differ .* 'stance'"):
        verify_release(copy)


def test_not_a_release_folder(tmp_path: Path) -> None:
    with pytest.raises(ReleaseError, match=r"missing file README\.md"):
        verify_release(tmp_path)
    with pytest.raises(ReleaseError, match="is not a release folder"):
        verify_release(tmp_path / "absent")


def _edit_croissant(folder: Path, change: Callable[[dict[str, Any]], None]) -> None:
    doc = json.loads((folder / "croissant.json").read_text(encoding="utf-8"))
    change(doc)
    (folder / "croissant.json").write_text(json.dumps(doc), encoding="utf-8")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "SHA256SUMS")
    sums = [f"{_sha(p)}  {p.relative_to(folder).as_posix()}" for p in files]
    (folder / "SHA256SUMS").write_text("\n".join(sums) + "\n", encoding="utf-8")


def _record_set(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in doc["recordSet"] if r["@id"] == name)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: next(f for f in d["distribution"] if f["@id"] == PARQUET).update(
                sha256="0" * 64
            ),
            f"croissant.json has sha256 {'0' * 64} for {PARQUET}",
        ),
        (
            lambda d: d.update(distribution=[f for f in d["distribution"] if f["@id"] != PARQUET]),
            f"croissant.json does not list the file {PARQUET}",
        ),
        (
            lambda d: _record_set(d, "documents")["field"][1].update(dataType="sc:Bogus"),
            "mlcroissant does not validate croissant.json",
        ),
        (
            lambda d: _record_set(d, "tokens")["field"].pop(),
            "croissant.json record set tokens has the fields",
        ),
        (
            lambda d: d.update(recordSet=[r for r in d["recordSet"] if r["@id"] != "sentences"]),
            "croissant.json has no record set for config sentences",
        ),
        (
            lambda d: next(f for f in d["distribution"] if f["@id"] == "sentences-parquet").update(
                includes=["sentences/train-00000-of-00001.parquet"]
            ),
            "mlcroissant reads {'train': ",
        ),
    ],
    ids=["sha256", "file-missing", "invalid", "column-missing", "config-missing", "records"],
)
def test_a_croissant_json_that_does_not_describe_the_release_is_caught(
    copy: Path, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    _edit_croissant(copy, change)
    with pytest.raises(ReleaseError) as info:
        verify_release(copy)
    assert message in str(info.value)
    assert "croissant.json" in info.value.hint


def test_verify_reads_a_bounded_number_of_croissant_records_and_says_so(
    release: ReleaseResult, tmp_path: Path
) -> None:
    report = verify_release(release.path, cache_dir=tmp_path, croissant_records=5)
    assert report.croissant["all_records"] is False
    assert all(sum(n.values()) == 5 for n in report.croissant["records"].values())
    assert "first 5 records of each config" in report.croissant["note"]
    full = verify_release(release.path, cache_dir=tmp_path, croissant_records=None)
    assert full.croissant["records"] == release.rows and full.croissant["note"] is None
