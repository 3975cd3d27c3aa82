"""The versioned Arrow store.

``<store>/versions/<version>/`` holds ``manifest.json`` and one folder per table in the
layout of ``datasets.Dataset.save_to_disk`` (Arrow IPC stream shards, ``state.json``,
``dataset_info.json``), so every table loads with ``datasets.load_from_disk``. A version is
written into ``<store>/.tmp/`` and renamed into place, and never modified afterwards; a
table a version shares with its parent is hard-linked, not copied.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import filelock
import numpy as np
import pyarrow as pa

from corpus.errors import StoreError, StoreLockedError, VersionExistsError, VersionNotFoundError
from corpus.models import TableInfo, VersionManifest

_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
MASK256 = (1 << 256) - 1


def parse_version(version: str) -> tuple[int, int, int]:
    m = _SEMVER.match(version)
    if not m:
        raise StoreError(
            f"{version!r} is not a version number",
            hint="Use MAJOR.MINOR.PATCH, for example 1.2.0.",
        )
    return int(m[1]), int(m[2]), int(m[3])


def next_minor(version: str | None) -> str:
    if version is None:
        return "0.1.0"
    major, minor, _ = parse_version(version)
    return f"{major}.{minor + 1}.0"


def hash_hex(total: int) -> str:
    return f"{total & MASK256:064x}"


def arrow_array(values: Any, dtype: pa.DataType, *, nullable: bool = True) -> pa.Array:
    """A string, int64 or list<int64> array of Python values (``None`` is null).

    Built from buffers, not with ``pa.array``: converting Python objects makes pyarrow
    import pandas, a fixed cost of a few tenths of a second in every worker process.
    """
    if isinstance(values, pa.Array):
        return values
    n = len(values)
    validity, nulls = None, 0
    if nullable:
        missing = np.fromiter((v is None for v in values), dtype=bool, count=n)
        nulls = int(missing.sum())
        if nulls:
            validity = pa.py_buffer(np.packbits(~missing, bitorder="little"))
            values = [v if v is not None else ("" if dtype == pa.string() else 0) for v in values]
    if dtype == pa.string():
        encoded = [v.encode() for v in values]
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, encoded), np.int64, n), out=offsets[1:])
        if offsets[-1] > np.iinfo(np.int32).max:
            raise ValueError("over 2 GiB of text in one string array; use smaller batches")
        buffers = [
            validity,
            pa.py_buffer(offsets.astype(np.int32)),
            pa.py_buffer(b"".join(encoded)),
        ]
        return pa.Array.from_buffers(dtype, n, buffers, null_count=nulls)
    if dtype == pa.int64():
        data = np.fromiter(values, dtype=np.int64, count=n)
        return pa.Array.from_buffers(dtype, n, [validity, pa.py_buffer(data)], null_count=nulls)
    if dtype == pa.list_(pa.int64()):
        offsets32 = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(np.fromiter(map(len, values), np.int64, n), out=offsets32[1:])
        items = arrow_array([x for v in values for x in v], pa.int64(), nullable=False)
        buffers = [validity, pa.py_buffer(offsets32)]
        return pa.Array.from_buffers(dtype, n, buffers, null_count=nulls, children=[items])
    raise TypeError(f"arrow_array() does not build {dtype} arrays")


def repeated_strings(values: Sequence[str], counts: Sequence[int]) -> pa.Array:
    """A string array of ``values[i]`` repeated ``counts[i]`` times."""
    encoded = [v.encode() for v in values]
    lengths = np.repeat(np.fromiter(map(len, encoded), np.int64, len(encoded)), counts)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    data = b"".join(e * c for e, c in zip(encoded, counts, strict=True))
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    return pa.Array.from_buffers(pa.string(), len(lengths), buffers)


def record_batch(columns: Mapping[str, Any], schema: pa.Schema) -> pa.RecordBatch:
    """Python value lists (or Arrow arrays), one per field, as a record batch of ``schema``."""
    arrays = [arrow_array(columns[f.name], f.type, nullable=f.nullable) for f in schema]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def mask_array(mask: np.ndarray[Any, np.dtype[np.bool_]]) -> pa.Array:
    """A boolean Arrow array for ``RecordBatch.filter`` (built from buffers, see above)."""
    bits = pa.py_buffer(np.packbits(mask, bitorder="little"))
    return pa.Array.from_buffers(pa.bool_(), len(mask), [None, bits])


@dataclass
class TableWriter:
    """Streams record batches of one table into Arrow IPC shards."""

    folder: Path
    schema: pa.Schema
    files: list[str] = field(default_factory=list)
    rows: int = 0
    hash_sum: int = 0
    _sink: pa.ipc.RecordBatchStreamWriter | None = None

    def _open(self) -> pa.ipc.RecordBatchStreamWriter:
        if self._sink is None:
            name = f"data-{len(self.files):05d}.arrow"
            self.files.append(name)
            self._sink = pa.ipc.new_stream(str(self.folder / name), self.schema)
        return self._sink

    def link(self, shards: list[Path], rows: int, hash_sum: int) -> None:
        """Reuse a parent's immutable shards (hard link, or copy across file systems)."""
        self.close()
        for src in shards:
            name = f"data-{len(self.files):05d}.arrow"
            dst = self.folder / name
            try:
                os.link(src, dst)
            except OSError:
                shutil.copy2(src, dst)
            self.files.append(name)
        self.rows += rows
        self.hash_sum += hash_sum

    def write_rows(self, rows: list[dict[str, Any]], hash_sum: int) -> None:
        if rows:
            self.write_batch(pa.RecordBatch.from_pylist(rows, schema=self.schema), hash_sum)

    def write_batch(self, batch: pa.RecordBatch, hash_sum: int) -> None:
        """Append a record batch whose rows hash to ``hash_sum`` (sum of row hashes)."""
        if batch.num_rows:
            self._open().write_batch(batch)
            self.rows += batch.num_rows
            self.hash_sum += hash_sum

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()
            self._sink = None

    def finish(self) -> TableInfo:
        self.close()
        if not self.files:  # an empty table still needs one (empty) shard to load
            self._open()
            self.close()
        features = _features_json(self.schema)
        n = len(self.files)
        renamed = []
        for i, name in enumerate(self.files):
            final = f"data-{i:05d}-of-{n:05d}.arrow"
            (self.folder / name).rename(self.folder / final)
            renamed.append(final)
        self.files = renamed
        state: dict[str, Any] = {
            "_data_files": [{"filename": f} for f in renamed],
            "_fingerprint": hash_hex(self.hash_sum)[:16],
            "_format_columns": None,
            "_format_kwargs": {},
            "_format_type": None,
            "_output_all_columns": False,
            "_split": None,
        }
        info = {
            "citation": "",
            "description": "",
            "features": features,
            "homepage": "",
            "license": "",
        }
        _write_json(self.folder / "state.json", state)
        _write_json(self.folder / "dataset_info.json", info)
        return TableInfo(rows=self.rows, content_sha256=hash_hex(self.hash_sum), files=renamed)


_VALUE_DTYPES = {
    pa.string(): "string",
    pa.int64(): "int64",
    pa.bool_(): "bool",
    pa.float64(): "float64",
}


def _feature(dtype: pa.DataType) -> dict[str, Any] | None:
    if dtype in _VALUE_DTYPES:
        return {"_type": "Value", "dtype": _VALUE_DTYPES[dtype]}
    if pa.types.is_list(dtype):
        inner = _feature(dtype.value_type)
        return None if inner is None else {"_type": "List", "feature": inner}
    return None


def _features_json(schema: pa.Schema) -> Any:
    """``datasets.Features.from_arrow_schema(schema).to_dict()``.

    Written out here for plain value and list columns (what the tests compare with
    datasets): importing datasets takes about a second at the end of every ingest.
    """
    features = {f.name: _feature(f.type) for f in schema}
    if not schema.metadata and None not in features.values():
        return features
    from datasets import Features

    return Features.from_arrow_schema(schema).to_dict()


def _write_json(path: Path, value: Any) -> None:
    with path.open("w", encoding="utf-8") as fh:
        json.dump(value, fh, indent=2, ensure_ascii=False, sort_keys=True)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())


class VersionWriter:
    """A version being written: lives in ``.tmp`` until :meth:`commit` renames it."""

    def __init__(self, store: Store, version: str) -> None:
        self.store = store
        self.version = version
        self.tmp = store.root / ".tmp" / f"{version}-{uuid.uuid4().hex[:8]}"
        self.tmp.mkdir(parents=True)
        self.tables: dict[str, TableWriter] = {}

    def table(self, name: str, schema: pa.Schema) -> TableWriter:
        if name not in self.tables:
            folder = self.tmp / name
            folder.mkdir()
            self.tables[name] = TableWriter(folder, schema)
        return self.tables[name]

    def commit(self, manifest: VersionManifest) -> Path:
        infos = {name: writer.finish() for name, writer in self.tables.items()}
        manifest = manifest.model_copy(update={"tables": infos})
        _write_json(self.tmp / "manifest.json", manifest.model_dump(mode="json"))
        final = self.store.version_dir(self.version)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.tmp.rename(final)
        except OSError as exc:
            raise VersionExistsError(
                f"version {self.version} already exists in {self.store.root}", path=final
            ) from exc
        return final

    def abort(self) -> None:
        for writer in self.tables.values():
            with contextlib.suppress(Exception):
                writer.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


class Store:
    """A store folder: immutable versions, one writer at a time."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def versions_dir(self) -> Path:
        return self.root / "versions"

    def version_dir(self, version: str) -> Path:
        return self.versions_dir / version

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the store's write lock; a second writer fails at once with a clear error."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the store folder {self.root}: {exc.strerror}"
            ) from None
        lock_path = self.root / ".lock"
        lock = filelock.FileLock(str(lock_path), timeout=0)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise StoreLockedError(
                f"the store {self.root} is locked by another writer ({lock_path})", path=lock_path
            ) from None
        try:
            shutil.rmtree(self.root / ".tmp", ignore_errors=True)  # leftovers of a crash
            yield
        finally:
            lock.release()

    def begin(self, version: str) -> VersionWriter:
        parse_version(version)
        if self.version_dir(version).exists():
            raise VersionExistsError(f"version {version} already exists in {self.root}")
        return VersionWriter(self, version)

    def versions(self) -> list[str]:
        if not self.versions_dir.is_dir():
            return []
        found = [
            p.name
            for p in self.versions_dir.iterdir()
            if _SEMVER.match(p.name) and (p / "manifest.json").is_file()
        ]
        return sorted(found, key=parse_version)

    def latest(self) -> str | None:
        versions = self.versions()
        return versions[-1] if versions else None

    def manifest(self, version: str) -> VersionManifest:
        path = self.version_dir(version) / "manifest.json"
        if not path.is_file():
            raise VersionNotFoundError(f"no version {version} in the store {self.root}", path=path)
        return VersionManifest.model_validate_json(path.read_text(encoding="utf-8"))

    def table_shards(self, version: str, table: str) -> list[Path]:
        manifest = self.manifest(version)
        if table not in manifest.tables:
            raise StoreError(
                f"version {version} has no table {table!r}",
                hint=f"Its tables are: {', '.join(sorted(manifest.tables))}.",
            )
        folder = self.version_dir(version) / table
        return [folder / f for f in manifest.tables[table].files]

    def iter_batches(
        self, version: str, table: str, columns: list[str] | None = None
    ) -> Iterator[pa.RecordBatch]:
        """Stream a table's record batches (memory-mapped, never the whole table at once)."""
        for shard in self.table_shards(version, table):
            with pa.memory_map(str(shard)) as source:
                reader = pa.ipc.open_stream(source)
                for batch in reader:
                    yield batch.select(columns) if columns else batch

    def read_table(self, version: str, table: str, columns: list[str] | None = None) -> pa.Table:
        batches = list(self.iter_batches(version, table, columns))
        if batches:
            return pa.Table.from_batches(batches)
        shard = self.table_shards(version, table)[0]
        with pa.memory_map(str(shard)) as source:
            schema = pa.ipc.open_stream(source).schema
        if columns:
            schema = pa.schema([schema.field(c) for c in columns])
        return schema.empty_table()

    def table_schema(self, version: str, table: str) -> pa.Schema:
        """The Arrow schema of a stored table (read from its first shard)."""
        with pa.memory_map(str(self.table_shards(version, table)[0])) as source:
            return pa.ipc.open_stream(source).schema

    def link_tables(
        self, parent: str, writer: VersionWriter, *, skip: Collection[str] = ()
    ) -> None:
        """Reuse every table of ``parent`` (but ``skip``) in ``writer``, unchanged."""
        for name, info in self.manifest(parent).tables.items():
            if name not in skip:
                writer.table(name, self.table_schema(parent, name)).link(
                    self.table_shards(parent, name), info.rows, int(info.content_sha256, 16)
                )

    def load(self, version: str, table: str) -> Any:
        """The table as a ``datasets.Dataset`` (``load_from_disk``)."""
        from datasets import load_from_disk

        self.table_shards(version, table)  # raises a clear error for unknown names
        return load_from_disk(str(self.version_dir(version) / table))


def derive_version(
    store: Store,
    parent: str,
    *,
    round_name: str,
    tables: Mapping[str, tuple[pa.Schema, list[dict[str, Any]]]],
    kind: str,
    message: str,
    extra: dict[str, object],
) -> str:
    """A new version (next minor) from ``parent`` holding one round's rows in ``tables``.

    Every other table of the parent is linked unchanged; each table in ``tables`` keeps the
    parent's rows of *other* rounds and gets this round's rows. The caller holds the lock.
    """
    from datetime import UTC, datetime

    from corpus import __version__
    from corpus.ingest.core import row_hash
    from corpus.models import NormalizationInfo

    manifest = store.manifest(parent)
    version = next_minor(store.latest())
    writer = store.begin(version)
    try:
        store.link_tables(parent, writer, skip=tables.keys())
        for table, (schema, rows) in tables.items():
            out = writer.table(table, schema)
            if table in manifest.tables:
                kept = [
                    r
                    for b in store.iter_batches(parent, table)
                    for r in b.to_pylist()
                    if r["round"] != round_name
                ]
                out.write_rows(kept, sum(row_hash(r) for r in kept))
            out.write_rows(rows, sum(row_hash(r) for r in rows))
        writer.commit(
            VersionManifest(
                version=version,
                parent=parent,
                kind=kind,
                created=datetime.now(UTC).isoformat(timespec="seconds"),
                tool_version=__version__,
                schema_hash=manifest.schema_hash,
                message=message,
                normalization=NormalizationInfo(),
                segmenter=manifest.segmenter,
                dedup=manifest.dedup,
                inputs=[],
                tables={},
                report=[],
                extra={"round": round_name, **extra},
            )
        )
    except BaseException:
        writer.abort()
        raise
    return version
