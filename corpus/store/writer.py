"""Writing a version: Arrow IPC shards per table in a temporary folder, then one rename.

A table folder has the layout of ``datasets.Dataset.save_to_disk`` (shards, ``state.json``,
``dataset_info.json``), so every table loads with ``datasets.load_from_disk``.

A commit is crash-safe: every file is written in ``<store>/.tmp/<version>-<id>/``, its size
and sha256 are recorded in the manifest, it is made read-only (0444) and fsynced; then the
manifest is written and fsynced and the folder renamed into ``versions/`` (and the parent
folder fsynced). A crash before the rename leaves only a temporary folder, which the next
writer removes; after it, the whole version. Shards shared with the parent are hard links to
the parent's read-only files, so no code path ever writes into a committed file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from corpus.atomic import fsync_dir, seal_folder
from corpus.errors import VersionExistsError
from corpus.faults import fault_point
from corpus.ids import file_sha256, hash_hex
from corpus.models import FileRecord, TableInfo, VersionManifest
from corpus.store.arrow import rows_batch
from corpus.store.meta import record_version


@dataclass
class TableWriter:
    """Streams record batches of one table into Arrow IPC shards."""

    folder: Path
    schema: pa.Schema
    files: list[str] = field(default_factory=list)
    rows: int = 0
    hash_sum: int = 0
    known: dict[str, FileRecord] = field(default_factory=dict)  # shards' size and sha256
    _sink: pa.ipc.RecordBatchStreamWriter | None = None
    _file: _HashingFile | None = None

    def _open(self) -> pa.ipc.RecordBatchStreamWriter:
        if self._sink is None:
            name = f"data-{len(self.files):05d}.arrow"
            self.files.append(name)
            self._file = _HashingFile(self.folder / name)
            self._sink = pa.ipc.new_stream(self._file, self.schema)
        return self._sink

    def link(
        self,
        shards: list[Path],
        rows: int,
        hash_sum: int,
        records: list[FileRecord | None] | None = None,
    ) -> None:
        """Reuse a parent's immutable shards (hard link, or copy across file systems).

        ``records`` are the shards' size and sha256 as the parent recorded them (None where
        the parent recorded none: the file is hashed at commit).
        """
        self.close()
        if rows == 0 and not all(_holds_a_batch(src) for src in shards):
            return  # an empty shard of an older store held no batch to load: written anew
        for i, src in enumerate(shards):
            name = f"data-{len(self.files):05d}.arrow"
            dst = self.folder / name
            try:
                os.link(src, dst)
            except OSError:
                shutil.copy2(src, dst)
            self.files.append(name)
            if records is not None and (record := records[i]) is not None:
                self.known[name] = record
        self.rows += rows
        self.hash_sum += hash_sum

    def adopt(self, shards: list[tuple[Path, FileRecord]], rows: int, hash_sum: int) -> None:
        """Take over shards written by other processes (the Ray engine's workers) in this
        version's temporary folder: each is moved into the table's folder; the records are
        their size and sha256 as the writer computed them."""
        self.close()
        if rows == 0:  # no rows: an empty batch is written at finish (see there)
            for src, _ in shards:
                src.unlink(missing_ok=True)
            return
        for src, record in shards:
            name = f"data-{len(self.files):05d}.arrow"
            src.rename(self.folder / name)
            self.files.append(name)
            self.known[name] = record
        self.rows += rows
        self.hash_sum += hash_sum

    def write_rows(self, rows: list[dict[str, Any]], hash_sum: int) -> None:
        if rows:
            self.write_batch(rows_batch(rows, self.schema), hash_sum)

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
        if self._file is not None:  # hashed as written: the manifest need not read it back
            self._file.close()
            self.known[self.files[-1]] = self._file.record()
            self._file = None

    def finish(self) -> tuple[TableInfo, dict[str, FileRecord]]:
        """Close the table; its info and the size and sha256 of each of its files."""
        self.close()
        if not self.files:  # an empty table still needs one shard holding one empty batch:
            # a stream with no batch at all does not load (ArrowInvalid, issue 18 case 11)
            empty = [pa.nulls(0, f.type) for f in self.schema]
            self._open().write_batch(pa.RecordBatch.from_arrays(empty, schema=self.schema))
            self.close()
        features = _features_json(self.schema)
        n = len(self.files)
        renamed = []
        records: dict[str, FileRecord] = {}
        for i, name in enumerate(self.files):
            final = f"data-{i:05d}-of-{n:05d}.arrow"
            (self.folder / name).rename(self.folder / final)
            renamed.append(final)
            records[final] = self.known.get(name) or _record(self.folder / final)
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
        for name, value in (("state.json", state), ("dataset_info.json", info)):
            write_json(self.folder / name, value)
            records[name] = _record(self.folder / name)
        table = TableInfo(rows=self.rows, content_sha256=hash_hex(self.hash_sum), files=renamed)
        return table, records


def _record(path: Path) -> FileRecord:
    return FileRecord(bytes=path.stat().st_size, sha256=file_sha256(path))


class _HashingFile:
    """A file being written that keeps the size and sha256 of what is written to it."""

    def __init__(self, path: Path) -> None:
        self._fh = path.open("wb")
        self._sha = hashlib.sha256()
        self.size = 0
        self.closed = False

    def write(self, data: Any) -> int:
        self._fh.write(data)
        self._sha.update(data)
        n = len(data)
        self.size += n
        return n

    def flush(self) -> None:
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()
        self.closed = True

    def record(self) -> FileRecord:
        return FileRecord(bytes=self.size, sha256=self._sha.hexdigest())


_VALUE_DTYPES = {  # datasets' dtype names where they are not str(arrow type)
    pa.bool_(): "bool",
    pa.float16(): "float16",
    pa.float32(): "float32",
    pa.float64(): "float64",
}
_NAMED = (
    *(pa.int8(), pa.int16(), pa.int32(), pa.int64()),
    *(pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64()),
    *(pa.string(), pa.large_string(), pa.binary(), pa.large_binary()),
)


def _value_dtype(dtype: pa.DataType) -> str | None:
    if dtype in _VALUE_DTYPES:
        return _VALUE_DTYPES[dtype]
    if dtype in _NAMED:
        return str(dtype)
    if pa.types.is_timestamp(dtype):
        unit = dtype.unit
        return f"timestamp[{unit}, tz={dtype.tz}]" if dtype.tz else f"timestamp[{unit}]"
    return None


def _feature(dtype: pa.DataType) -> dict[str, Any] | None:
    if pa.types.is_list(dtype):
        inner = _feature(dtype.value_type)
        return None if inner is None else {"_type": "List", "feature": inner}
    value = _value_dtype(dtype)
    return None if value is None else {"_type": "Value", "dtype": value}


def features_json(schema: pa.Schema) -> dict[str, Any] | None:
    """``datasets.Features.from_arrow_schema(schema).to_dict()`` for the column types a
    store holds (values, timestamps and lists of them, no schema metadata), else None.

    Written out here because importing datasets takes about a second at the end of every
    ingest; a test compares it with datasets' own for every stored schema.
    """
    features = {f.name: _feature(f.type) for f in schema}
    if schema.metadata or None in features.values():
        return None
    return features


def _features_json(schema: pa.Schema) -> Any:
    """:func:`features_json`, or datasets' own for anything else."""
    features = features_json(schema)
    if features is not None:
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
    """A version being written into the store at ``root``: lives in ``.tmp`` until
    :meth:`commit` renames it to ``versions/<version>`` (:meth:`Store.begin` makes one)."""

    def __init__(self, root: Path, version: str) -> None:
        self.root = root
        self.version = version
        self.tmp = root / ".tmp" / f"{version}-{uuid.uuid4().hex[:8]}"
        self.tmp.mkdir(parents=True)
        self.tables: dict[str, TableWriter] = {}
        # folders of other files (the near-duplicate index): linked files' parent records,
        # by path relative to the folder, with the inode linked (a replaced file is hashed)
        self.folders: dict[str, dict[str, tuple[FileRecord, int]]] = {}

    def folder(self, name: str) -> Path:
        """A folder of files that are not tables (e.g. ``dedup``): every file in it at
        :meth:`commit` is recorded in the manifest and sealed like a table's shards."""
        path = self.tmp / name
        path.mkdir(parents=True, exist_ok=True)
        self.folders.setdefault(name, {})
        return path

    def link_file(self, src: Path, name: str, rel: str, record: FileRecord | None) -> None:
        """Reuse a parent's file as ``<name>/<rel>`` (hard link, or copy across file
        systems); ``record`` is its size and sha256 as the parent recorded them."""
        dst = self.folder(name) / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
        if record is not None:
            self.folders[name][rel] = (record, dst.stat().st_ino)

    def table(self, name: str, schema: pa.Schema) -> TableWriter:
        if name not in self.tables:
            folder = self.tmp / name
            folder.mkdir()
            self.tables[name] = TableWriter(folder, schema)
        return self.tables[name]

    def commit(self, manifest: VersionManifest) -> Path:
        """Seal every file, write the manifest with their checksums, rename into place."""
        infos: dict[str, TableInfo] = {}
        files: dict[str, FileRecord] = {}
        for name, writer in self.tables.items():
            infos[name], records = writer.finish()
            for rel, record in records.items():
                files[f"{name}/{rel}"] = record
        for name, known in self.folders.items():
            files.update(_record_folder(self.tmp, name, known))
        manifest = manifest.model_copy(update={"tables": infos, "files": files})
        write_json(self.tmp / "manifest.json", manifest.model_dump(mode="json"))
        seal_folder(self.tmp)
        final = self.root / "versions" / self.version
        final.parent.mkdir(parents=True, exist_ok=True)
        fault_point("version:before-rename")
        try:
            self.tmp.rename(final)
        except OSError as exc:
            raise VersionExistsError(
                f"version {self.version} already exists in {self.root}", path=final
            ) from exc
        fsync_dir(final.parent)
        record_version(self.root, self.version)
        return final

    def abort(self) -> None:
        for writer in self.tables.values():
            with contextlib.suppress(Exception):
                writer.close()
        remove_tree(self.tmp)


def _record_folder(
    root: Path, name: str, known: dict[str, tuple[FileRecord, int]]
) -> dict[str, FileRecord]:
    """Record every file under ``root/name`` (a linked file keeps its parent's record unless
    it was replaced since); :func:`corpus.atomic.seal_folder` seals them at commit."""
    folder = root / name
    records: dict[str, FileRecord] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        linked = known.get(rel)
        if linked is not None and linked[1] == path.stat().st_ino:
            records[f"{name}/{rel}"] = linked[0]
        else:
            records[f"{name}/{rel}"] = _record(path)
    return records


def remove_tree(folder: Path) -> None:
    """Remove a temporary folder (read-only files go too: removal needs a writable folder)."""
    shutil.rmtree(folder, ignore_errors=True)


def _holds_a_batch(shard: Path) -> bool:
    """Whether an Arrow stream file holds at least one record batch (an empty table's shard
    written by this version of corpus does: one empty batch, so that it loads)."""
    with pa.OSFile(str(shard)) as source, pa.ipc.open_stream(source) as reader:
        return any(True for _ in reader)
