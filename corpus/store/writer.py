"""Writing a version: Arrow IPC shards per table in a temporary folder, then one rename.

A table folder has the layout of ``datasets.Dataset.save_to_disk`` (shards, ``state.json``,
``dataset_info.json``), so every table loads with ``datasets.load_from_disk``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from corpus.errors import VersionExistsError
from corpus.ids import hash_hex
from corpus.models import TableInfo, VersionManifest

if TYPE_CHECKING:
    from corpus.store.versions import Store


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
        write_json(self.folder / "state.json", state)
        write_json(self.folder / "dataset_info.json", info)
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


def write_json(path: Path, value: Any) -> None:
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
        write_json(self.tmp / "manifest.json", manifest.model_dump(mode="json"))
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
