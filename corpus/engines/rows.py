"""Reading the rows of some documents from a stored table, on either engine.

The release build needs the documents and sentences of the adjudicated documents: a few
thousand rows out of tables that grow with the corpus. :func:`read_rows` streams the table
and keeps the rows of ``doc_ids``: on this machine (``local``), or with one Ray task per
shard (``ray``). A Ray task opens its shard through a pyarrow filesystem resolved from the
store's root (:func:`filesystem`): a store on a shared mount is read where it is, never
copied to a worker's disk first, and every shard's sha256 is checked against the manifest
as it is read. :class:`~corpus.store.Store` roots are filesystem paths (a store on object
storage is used through a mount); :func:`filesystem` also resolves URIs, for callers of
:func:`read_shard` that hold one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from corpus.engines import check_engine, ray_session
from corpus.errors import DamagedVersionError
from corpus.store import Store


def read_rows(
    store: Store,
    version: str,
    table: str,
    doc_ids: Collection[str],
    *,
    engine: str = "local",
    address: str | None = None,
) -> list[dict[str, Any]]:
    """The rows of ``table`` whose ``doc_id`` is in ``doc_ids``, in stored order."""
    found = read_table(store, version, table, doc_ids, engine=engine, address=address)
    return [] if found is None else found.to_pylist()


def read_table(
    store: Store,
    version: str,
    table: str,
    doc_ids: Collection[str],
    *,
    engine: str = "local",
    address: str | None = None,
) -> pa.Table | None:
    """:func:`read_rows` as an Arrow table (None: the version has no such table)."""
    check_engine(engine)
    if table not in store.manifest(version).tables:
        return None
    wanted = pa.array(sorted(set(doc_ids)), pa.string())
    if engine == "local":
        parts = [
            batch.filter(pc.is_in(batch.column("doc_id"), value_set=wanted))
            for batch in store.iter_batches(version, table)
        ]
        return pa.Table.from_batches(parts, schema=store.table_schema(version, table))
    manifest = store.manifest(version)
    shards = [
        (f"versions/{version}/{table}/{name}", manifest.files.get(f"{table}/{name}"))
        for name in manifest.tables[table].files
    ]
    with ray_session(address) as ray:
        task = ray.remote(read_shard)
        ids = ray.put(wanted)
        refs = [
            task.remote(str(store.root), rel, rec.sha256 if rec else None, ids)
            for rel, rec in shards
        ]
        parts = ray.get(refs)
    return pa.concat_tables(parts)


def filesystem(root: str) -> tuple[Any, str]:
    """A pyarrow filesystem and the path in it for a store ``root`` (a path or a URI)."""
    from pyarrow import fs

    try:
        return fs.FileSystem.from_uri(root)  # type: ignore[no-any-return]
    except (pa.ArrowInvalid, ValueError):
        pass
    if "://" not in root:
        return fs.LocalFileSystem(), root
    import fsspec  # type: ignore[import-untyped]

    fsspec_fs, path = fsspec.core.url_to_fs(root)
    return fs.PyFileSystem(fs.FSSpecHandler(fsspec_fs)), path


class _Hashing:
    """A read-only file object over a pyarrow stream that hashes what is read through it."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.digest = hashlib.sha256()
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        data = bytes(self.source.read(None if size < 0 else size))
        self.digest.update(data)
        return data

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.closed = True


def read_shard(root: str, rel: str, sha256: str | None, doc_ids: pa.Array) -> pa.Table:
    """One Arrow IPC stream shard, filtered to ``doc_ids`` batch by batch (memory: one
    record batch), its sha256 checked against ``sha256`` once it is read to the end."""
    fs, base = filesystem(root)
    path = f"{base.rstrip('/')}/{rel}"
    parts = []
    with fs.open_input_stream(path) as source:
        hashing = _Hashing(source)
        reader = pa.ipc.open_stream(pa.PythonFile(hashing, mode="r"))
        schema = reader.schema
        for batch in reader:
            parts.append(batch.filter(pc.is_in(batch.column("doc_id"), value_set=doc_ids)))
        hashing.read()  # whatever follows the end-of-stream marker
    if sha256 is not None and hashing.digest.hexdigest() != sha256:
        raise DamagedVersionError(
            f"{root}/{rel} does not have the sha256 its manifest recorded "
            "(the file was changed after it was written)"
        )
    return pa.Table.from_batches(parts, schema=schema)
