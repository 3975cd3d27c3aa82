"""The versioned Arrow store.

``<store>/versions/<version>/`` holds ``manifest.json`` and one folder per table in the
layout of ``datasets.Dataset.save_to_disk`` (Arrow IPC stream shards, ``state.json``,
``dataset_info.json``), so every table loads with ``datasets.load_from_disk``. A version is
written into ``<store>/.tmp/`` and renamed into place, and never modified afterwards; a
table a version shares with its parent is hard-linked, not copied.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import filelock
import pyarrow as pa
from pydantic import ValidationError

from corpus.errors import (
    DamagedVersionError,
    StoreError,
    StoreLockedError,
    VersionExistsError,
    VersionNotFoundError,
    os_error,
)
from corpus.models import INPUTS_TABLE, FileRecord, VersionManifest
from corpus.store.files import check_file, check_rows
from corpus.store.meta import holds_rounds, lost_identity, now, read_meta, update_meta
from corpus.store.meta import record_version as record_version_in
from corpus.store.numbers import next_minor, parse_version, version_folders
from corpus.store.writer import VersionWriter, remove_tree

DOCUMENT_COLUMNS = ("doc_id", "title", "text", "text_sha256", "dup_group")


class Store:
    """A store folder: immutable versions, one writer at a time.

    >>> store = Store("data")            # doctest: +SKIP
    >>> [v.name for v in store.versions()]  # doctest: +SKIP
    ['0.1.0', '0.2.0']
    >>> store.version("0.1.0").table("documents")  # a datasets.Dataset  # doctest: +SKIP
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    # --- the public view ----------------------------------------------------------------

    def versions(self) -> list[Version]:
        """Every version, oldest first."""
        return [Version(self, name) for name in self.version_names()]

    def version(self, name: str) -> Version:
        """One version (:class:`VersionNotFoundError` when the store has none of that name)."""
        self.manifest(name)
        return Version(self, name)

    def latest(self) -> Version | None:
        """The newest version, or None for an empty store."""
        name = self.latest_name()
        return None if name is None else Version(self, name)

    # --- names and files ----------------------------------------------------------------

    @property
    def versions_dir(self) -> Path:
        return self.root / "versions"

    def version_dir(self, version: str) -> Path:
        return self.versions_dir / version

    def version_names(self) -> list[str]:
        """The names of every version, oldest first."""
        return version_folders(self.versions_dir).versions

    def latest_name(self) -> str | None:
        """The newest version (damaged or not: reading a damaged one fails clearly)."""
        names = self.version_names()
        return names[-1] if names else None

    def last_used_version(self) -> str | None:
        """The highest version number ever used here (its folder may be damaged or gone)."""
        last = read_meta(self.root).get("last_version")
        used = [*self.version_names(), *filter(None, [last])]
        return max(used, key=parse_version) if used else None

    def next_version(self) -> str:
        """The next minor version number; a number once used is never used again."""
        return next_minor(self.last_used_version())

    def store_id(self) -> str:
        """The store's identity, created once (under the lock) and kept in ``store.json``.

        Never minted for a store that holds rounds but lost its ``store.json``: that is a
        :class:`StoreError` saying how to restore it (see :mod:`corpus.store.meta`)."""
        meta = read_meta(self.root)
        if "store_id" not in meta:
            if holds_rounds(self.root):
                raise lost_identity(self.root)
            with self.lock():
                meta = update_meta(self.root, lambda m: "store_id" not in m)
        return str(meta["store_id"])

    def record_server(self, identity: str, url: str) -> None:
        """Remember a Label Studio server the first time this store talks to it."""
        if identity in read_meta(self.root).get("servers", {}):
            return

        def add(meta: dict[str, Any]) -> bool:
            servers = meta.setdefault("servers", {})
            if identity in servers:
                return False
            servers[identity] = {"first_url": url, "first_seen": now()}
            return True

        with self.lock():
            update_meta(self.root, add)

    def record_version(self, version: str) -> None:
        """Remember the highest version number used (the caller holds the lock)."""
        record_version_in(self.root, version)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the store's write lock; a second writer fails at once with a clear error.

        The second writer may be another process or another thread of this one: both get
        :class:`StoreLockedError`. The lock is re-entrant within the thread that holds it (a
        pull holds it while it derives a version). Taking it removes the leftovers of killed
        writers (``.tmp/``). A store folder this lock created is removed again when nothing
        was written into it (a failed first command leaves no store behind).
        """
        key = self.root.resolve()
        me = threading.get_ident()
        with _HELD_GUARD:
            owner, depth = _HELD.get(key, (me, 0))
            if owner != me:
                raise StoreLockedError(
                    f"the store {self.root} is locked by another thread of this process",
                    path=self.root / ".lock",
                    hint="Writers of one store take turns: wait for the other thread's write "
                    "to finish (share one writer between threads).",
                )
            _HELD[key] = (me, depth + 1)
        try:
            if depth:
                yield
            else:
                with self._file_lock():
                    yield
        finally:
            with _HELD_GUARD:
                if depth:
                    _HELD[key] = (me, depth)
                else:
                    del _HELD[key]

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        """The lock between processes (``<store>/.lock``), taken at once or refused."""
        created = not self.root.exists()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise os_error(exc, "create the store folder") from None
        lock_path = self.root / ".lock"
        lock = filelock.FileLock(str(lock_path), timeout=0, thread_local=False)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise StoreLockedError(
                f"the store {self.root} is locked by another writer ({lock_path})", path=lock_path
            ) from None
        try:
            remove_tree(self.root / ".tmp")  # leftovers of a crash
            yield
        finally:
            if created:
                remove_tree(self.root / ".tmp")
            lock.release()
            if created and {p.name for p in self.root.iterdir()} <= {".lock"}:
                _remove_empty_store(self.root)

    def begin(self, version: str) -> VersionWriter:
        parse_version(version)
        if self.version_dir(version).exists():
            raise VersionExistsError(f"version {version} already exists in {self.root}")
        return VersionWriter(self.root, version)

    def damage(self, version: str) -> str | None:
        """Why a version cannot be read (its manifest is missing or broken), or None."""
        try:
            self.manifest(version)
        except DamagedVersionError as exc:
            return exc.message
        return None

    def manifest(self, version: str) -> VersionManifest:
        folder = self.version_dir(version)
        path = folder / "manifest.json"
        if not folder.is_dir():
            raise VersionNotFoundError(f"no version {version} in the store {self.root}", path=path)
        try:
            st = path.stat()
        except FileNotFoundError:
            st = None
        if st is None or not path.is_file():
            raise DamagedVersionError(
                f"version {version} is damaged: {path} is missing", path=path
            ) from None
        key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns)
        if (cached := _MANIFESTS.get(key)) is not None:
            return cached
        try:
            manifest = VersionManifest.model_validate_json(path.read_bytes())
        except ValidationError as exc:
            first = exc.errors()[0]
            where = " -> ".join(str(p) for p in first["loc"]) or "(top level)"
            raise DamagedVersionError(
                f"version {version} is damaged: {path} does not parse "
                f"({exc.error_count()} problem(s), first: [{where}] {first['msg']})",
                path=path,
            ) from None
        if len(_MANIFESTS) >= 64:  # manifests of large ingests list every input file
            _MANIFESTS.pop(next(iter(_MANIFESTS)))
        _MANIFESTS[key] = manifest
        return manifest

    def verify(self, version: str) -> VersionManifest:
        """Check every file of a version against its manifest (size and sha256) and every
        table's row count, once per process; its manifest.

        Every read goes through here: a version is read whole or not at all, so a damaged
        table that a command does not need still stops it (sampling, diff, show, a derived
        version). :class:`DamagedVersionError` names the first file that differs. Versions
        written before file hashes were recorded are read unverified (``corpus check``
        lists them).
        """
        manifest = self.manifest(version)
        base = str(self.version_dir(version))
        layout = _LAYOUTS.get(base)
        if layout is None or layout[0] is not manifest:  # paths built once per manifest
            files = [(f"{base}/{rel}", record) for rel, record in manifest.files.items()]
            tables = [
                ([Path(base, table, f) for f in info.files], info.rows, table)
                for table, info in manifest.tables.items()
            ]
            layout = _LAYOUTS[base] = (manifest, files, tables)
            if len(_LAYOUTS) > 64:
                _LAYOUTS.pop(next(iter(_LAYOUTS)))
        for path, record in layout[1]:
            check_file(path, record, version)
        for shards, rows, table in layout[2]:
            check_rows(shards, rows, version, table)
        return manifest

    def verify_table(self, version: str, table: str) -> None:
        """:meth:`verify` (kept for callers that name the table they read)."""
        self.verify(version)

    def verify_files(self, version: str, folder: str) -> list[str]:
        """Check every file of a version's ``folder`` (a table's, or e.g. ``dedup``) against
        the manifest, once per process; their paths relative to the folder."""
        manifest = self.manifest(version)
        base = self.version_dir(version)
        found = []
        for rel, record in manifest.files.items():
            top, _, rest = rel.partition("/")
            if top == folder and rest:
                check_file(base / rel, record, version)
                found.append(rest)
        return found

    def table_shards(self, version: str, table: str) -> list[Path]:
        """The table's shard files, after checking them (see :meth:`verify_table`)."""
        manifest = self.manifest(version)
        if table not in manifest.tables:
            raise StoreError(
                f"version {version} has no table {table!r}",
                hint=f"Its tables are: {', '.join(sorted(manifest.tables))}.",
            )
        self.verify(version)
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

    def iter_rows(self, version: str, table: str) -> Iterator[dict[str, Any]]:
        """A table's rows as dicts, batch by batch."""
        for batch in self.iter_batches(version, table):
            yield from batch.to_pylist()

    def documents(
        self,
        version: str,
        doc_ids: Collection[str] | None = None,
        columns: Sequence[str] = DOCUMENT_COLUMNS,
    ) -> dict[str, dict[str, Any]]:
        """Document rows of a version by doc_id (only ``doc_ids``, when given)."""
        wanted = None if doc_ids is None else set(doc_ids)
        names = list(dict.fromkeys(["doc_id", *columns]))
        docs: dict[str, dict[str, Any]] = {}
        for batch in self.iter_batches(version, "documents", names):
            for row in batch.to_pylist():
                if wanted is None or row["doc_id"] in wanted:
                    docs[row["doc_id"]] = row
        return docs

    def read_table(self, version: str, table: str, columns: list[str] | None = None) -> pa.Table:
        batches = list(self.iter_batches(version, table, columns))
        if batches:
            return pa.Table.from_batches(batches)
        schema = self.table_schema(version, table)
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
        """Reuse every table of ``parent`` (but ``skip``) in ``writer``, unchanged, and its
        other folders (the near-duplicate index ``dedup``). Every file is checked against
        the parent's manifest first: a version is never derived from a damaged one. The
        ``inputs`` table describes how the parent was made and stays with it."""
        manifest = self.verify(parent)
        for name, info in manifest.tables.items():
            if name not in skip and name != INPUTS_TABLE:
                records = [manifest.files.get(f"{name}/{f}") for f in info.files]
                writer.table(name, self.table_schema(parent, name)).link(
                    self.table_shards(parent, name),
                    info.rows,
                    int(info.content_sha256, 16),
                    records,
                )
        folders = {rel.partition("/")[0] for rel in manifest.files if "/" in rel}
        base = self.version_dir(parent)
        for top in sorted(folders - set(manifest.tables) - set(skip)):
            for rest in self.verify_files(parent, top):
                writer.link_file(base / top / rest, top, rest, manifest.files[f"{top}/{rest}"])

    def load(self, version: str, table: str) -> Any:
        """The table as a ``datasets.Dataset`` (``load_from_disk``)."""
        from datasets import Dataset, load_from_disk
        from datasets.table import InMemoryTable

        self.table_shards(version, table)  # raises a clear error for unknown names
        if self.manifest(version).tables[table].rows == 0:
            # stores written before issue 18 keep empty tables as streams without a batch,
            # which load_from_disk cannot read: an empty table of the same columns instead
            return Dataset(InMemoryTable(self.table_schema(version, table).empty_table()))
        return load_from_disk(str(self.version_dir(version) / table))


@dataclass(frozen=True)
class Version:
    """One immutable version of a store: its manifest and its tables."""

    store: Store
    name: str

    def __str__(self) -> str:
        return self.name

    @property
    def path(self) -> Path:
        return self.store.version_dir(self.name)

    @cached_property
    def manifest(self) -> VersionManifest:
        return self.store.manifest(self.name)

    @cached_property
    def damage(self) -> str | None:
        """Why the version cannot be read (missing or broken manifest), or None."""
        return self.store.damage(self.name)

    @property
    def parent(self) -> str | None:
        return self.manifest.parent

    @property
    def tables(self) -> list[str]:
        return sorted(self.manifest.tables)

    def table(self, name: str) -> Any:
        """The table as a ``datasets.Dataset`` (memory-mapped, loaded with ``load_from_disk``)."""
        return self.store.load(self.name, name)

    def arrow(self, name: str, columns: list[str] | None = None) -> pa.Table:
        """The table as a ``pyarrow.Table``."""
        return self.store.read_table(self.name, name, columns)


# Parsed manifests by (path, inode, size, mtime): a manifest is written once and sealed,
# and a replaced or edited one has another key.
_MANIFESTS: dict[tuple[str, int, int, int], VersionManifest] = {}

# The file paths of a version's manifest, by version folder (see Store.verify).
_LAYOUTS: dict[
    str, tuple[VersionManifest, list[tuple[str, FileRecord]], list[tuple[list[Path], int, str]]]
] = {}

# Store locks held by this process, by resolved store folder: the thread holding it and
# how deep (re-entrant within that thread only). Changed under _HELD_GUARD.
_HELD: dict[Path, tuple[int, int]] = {}
_HELD_GUARD = threading.Lock()


def _remove_empty_store(root: Path) -> None:
    """Remove a store folder that holds nothing but its lock file."""
    with contextlib.suppress(OSError):
        (root / ".lock").unlink(missing_ok=True)
        root.rmdir()


def as_store(store: Store | str | os.PathLike[str]) -> Store:
    """A :class:`Store` from a store or a path (what every public function accepts)."""
    return store if isinstance(store, Store) else Store(store)
