"""A release's content hashes: version 2 (``columns-sha256``) for new releases, version 1 still
verified (docs/concepts/releases.md, "Content hashes").

* a version-1 release built before version 2 existed (``tests/data/release-v1``) verifies,
  and an edit of its rows is still found;
* new releases record ``columns-sha256`` version 2 in the manifest and the card, and the
  docs' reference implementation recomputes every table's hash from the Parquet files;
* ``corpus.release.content_hash`` equals an independent reference
  (``tests/reference/content_hash.py``) on generated tables;
* an offsets-only release whose manifest records version 1 still rehydrates.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ROOT, build_gold_version
from hypothesis import given, settings
from hypothesis import strategies as st
from reference.content_hash import table_digest

from corpus.errors import ReleaseError
from corpus.label_schema import load_schema
from corpus.release import build_release, content_hash, rehydrate_release, verify_release
from corpus.release.content_hash import V1, V2, columns_sha256, recorded_definition
from corpus.store import Store

V1_RELEASE = ROOT / "tests" / "data" / "release-v1"
SPLITS = ("train", "validation", "test")


def docs_reference() -> Any:
    """``content_sha256`` as the docs define it: the python block of "Content hashes"."""
    page = (ROOT / "docs" / "concepts" / "releases.md").read_text(encoding="utf-8")
    section = page.split("## Content hashes", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    namespace: dict[str, Any] = {}
    exec(code.group(1), namespace)  # the docs' own text, run as written
    return namespace["content_sha256"]


def copy_release(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    for path in target.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target


def test_a_version_1_release_built_before_version_2_verifies(tmp_path: Path) -> None:
    release = copy_release(V1_RELEASE, tmp_path / "release")
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    assert "content_hash" not in manifest
    assert recorded_definition(manifest) == V1
    report = verify_release(release, cache_dir=tmp_path / "cache")
    assert report.configs["sentences"] == {"train": 56, "validation": 32, "test": 30}


def test_an_edited_row_of_a_version_1_release_is_found(tmp_path: Path) -> None:
    """The rows changed and every checksum rewritten to match: only the content hash of
    version 1 can tell."""
    release = copy_release(V1_RELEASE, tmp_path / "release")
    rel = "sentences/test-00000-of-00001.parquet"
    table = pq.read_table(release / rel)
    text = table["text"].to_pylist()
    text[0] = text[0].upper()
    edited = table.set_column(table.schema.get_field_index("text"), "text", pa.array(text))
    pq.write_table(edited, release / rel)
    _rewrite_checksums(release, rel)
    with pytest.raises(
        ReleaseError, match=r"sentences/test: content hash \w+ \(rows-sha256-sum version 1\)"
    ):
        verify_release(release, cache_dir=tmp_path / "cache")


def _rewrite_checksums(release: Path, rel: str) -> None:
    from corpus.ids import file_sha256

    digest, size = file_sha256(release / rel), (release / rel).stat().st_size
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"][rel].update(sha256=digest, bytes=size)
    (release / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    sums = {}
    for line in (release / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        value, name = line.split("  ", 1)
        sums[name] = value
    sums[rel] = digest
    sums["manifest.json"] = file_sha256(release / "manifest.json")
    lines = [f"{v}  {k}" for k, v in sums.items()]
    (release / "SHA256SUMS").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_an_unknown_definition_is_refused() -> None:
    with pytest.raises(ReleaseError, match="does not know"):
        recorded_definition({"content_hash": {"name": "columns-sha256", "version": 9}})


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("hash")
    store, schema = Store(root / "store"), load_schema()
    version = build_gold_version(store, schema, root / "articles", n=24)
    out: dict[str, Any] = {"root": root, "articles": root / "articles"}
    for key, release, kw in (("full", "1.0.0", {}), ("none", "1.0.1", {"text": "none"})):
        out[key] = build_release(store, version, release=release, schema=schema,
                                 force="a small test corpus", **kw).path  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:  # what a build recorded before version 2
        patch.setattr(content_hash, "CURRENT", V1)
        out["none-v1"] = build_release(store, version, release="1.0.2", schema=schema,
                                       force="a small test corpus", text="none").path  # fmt: skip
    return out


@pytest.mark.parametrize("kind", ["full", "none"])
def test_new_releases_record_version_2_and_the_docs_function_recomputes_it(
    built: dict[str, Any], kind: str
) -> None:
    release: Path = built[kind]
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["content_hash"] == {"name": "columns-sha256", "version": 2}
    assert "columns-sha256 version 2" in (release / "README.md").read_text(encoding="utf-8")
    content_sha256 = docs_reference()
    for key, info in manifest["tables"].items():
        config, split = key.split("/")
        path = release / config / f"{split}-00000-of-00001.parquet"
        assert content_sha256(path) == info["content_sha256"], key
    verify_release(release)


def test_a_version_1_offsets_only_release_rehydrates(built: dict[str, Any], tmp_path: Path) -> None:
    release: Path = built["none-v1"]
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["content_hash"] == V1
    result = rehydrate_release(release, sources=[built["articles"]], out=tmp_path / "full")
    rehydrated = json.loads((result.path / "manifest.json").read_text(encoding="utf-8"))
    assert rehydrated["content_hash"] == V1
    full = json.loads((built["full"] / "manifest.json").read_text(encoding="utf-8"))
    for config in ("documents", "sentences", "tokens", "raw_annotations"):
        for split in SPLITS:
            rel = f"{config}/{split}-00000-of-00001.parquet"
            assert pq.read_table(result.path / rel).equals(pq.read_table(built["full"] / rel))
    assert set(rehydrated["tables"]) == set(full["tables"])
    verify_release(result.path)


# --- the implementation against the independent reference, on generated tables ---------

TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=6)
INTS = st.integers(-(2**31), 2**31 - 1)
TIMES = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)).map(
    lambda d: d.replace(tzinfo=UTC)
)
SPAN = pa.struct([("start", pa.int32()), ("label", pa.int64()), ("name", pa.string())])
COLUMNS: dict[str, tuple[pa.DataType, Any, Any]] = {
    # name: (Arrow type, reference type, values)
    "text": (pa.string(), "string", TEXT),
    "index": (pa.int32(), "int", INTS),
    "label": (pa.int64(), "int", st.integers(-(2**63), 2**63 - 1)),
    "flag": (pa.bool_(), "bool", st.booleans()),
    "at": (pa.timestamp("us", tz="UTC"), "timestamp", TIMES),
    "tokens": (pa.list_(pa.string()), ("list", "string"), st.lists(TEXT, max_size=4)),
    "tags": (pa.list_(pa.int64()), ("list", "int"), st.lists(INTS, max_size=4)),
    "spans": (
        pa.list_(SPAN),
        ("list", ("struct", [("start", "int"), ("label", "int"), ("name", "string")])),
        st.lists(
            st.fixed_dictionaries(
                {"start": st.none() | INTS, "label": INTS, "name": st.none() | TEXT}
            )
            | st.none(),
            max_size=3,
        ),
    ),
}


@st.composite
def tables(draw: Any) -> tuple[pa.Table, int, int]:
    names = draw(st.lists(st.sampled_from(sorted(COLUMNS)), min_size=1, max_size=5, unique=True))
    n = draw(st.integers(0, 8))
    columns = {}
    for name in names:
        kind, _, values = COLUMNS[name]
        nullable = draw(st.booleans())
        column = draw(st.lists(st.none() | values if nullable else values, min_size=n, max_size=n))
        columns[name] = pa.array(column, kind)
    table = pa.table(columns)
    skip = draw(st.integers(0, n))
    take = draw(st.integers(0, n - skip))
    return table, skip, take


@settings(max_examples=200, deadline=None)
@given(tables(), st.booleans())
def test_the_columnar_hash_equals_the_reference(case: tuple[pa.Table, int, int],
                                               chunked: bool) -> None:  # fmt: skip
    table, skip, take = case
    part = table.slice(skip, take)  # offsets into shared buffers
    if chunked and take > 1:  # several chunks per column
        part = pa.concat_tables([part.slice(0, 1), part.slice(1)])
    shape = [(name, COLUMNS[name][1]) for name in part.column_names]
    assert columns_sha256(part) == table_digest(part.to_pylist(), shape)


def test_the_reference_on_a_hand_worked_case() -> None:
    rows = [{"a": "é", "b": [1, None]}, {"a": None, "b": None}]
    stream = (
        (2).to_bytes(8, "little") + b"a\0" + b"\1\0" + (2).to_bytes(8, "little") + "é".encode()
        + b"b\0" + b"\1\0" + (2).to_bytes(8, "little") + b"\1\0" + (1).to_bytes(8, "little")
    )  # fmt: skip
    want = hashlib.sha256(stream).hexdigest()
    assert table_digest(rows, [("a", "string"), ("b", ("list", "int"))]) == want
    table = pa.table({"a": pa.array(["é", None]), "b": pa.array([[1, None], None])})
    assert columns_sha256(table) == want


def test_definitions_are_named_and_versioned() -> None:
    assert (V1["name"], V1["version"], V2["name"], V2["version"]) == (
        "rows-sha256-sum", 1, "columns-sha256", 2,
    )  # fmt: skip
    assert content_hash.CURRENT == V2
