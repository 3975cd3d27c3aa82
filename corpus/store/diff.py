"""Read-only views of a store's versions: list, show, diff."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from corpus.errors import DamagedVersionError
from corpus.models import INPUTS_TABLE, VersionManifest
from corpus.store.versions import Store, Version, as_store

StoreLike = Store | str | os.PathLike[str]


def list_versions(store: StoreLike) -> list[Version]:
    """Every version, oldest first; a damaged one too (``version.damage`` says why)."""
    return as_store(store).versions()


def show_version(store: StoreLike, version: str) -> VersionManifest:
    """A version's manifest, after checking the version (a damaged one is refused with
    :class:`DamagedVersionError`, as every read is)."""
    return as_store(store).verify(version)


@dataclass
class VersionDiff:
    a: str
    b: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[tuple[str, str]] = field(default_factory=list)  # (doc_id in a, doc_id in b)
    tables: dict[str, tuple[int, int]] = field(default_factory=dict)  # rows in a, rows in b

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "added": self.added,
            "removed": self.removed,
            "changed": [{"a": x, "b": y} for x, y in self.changed],
            "tables": {k: {"a": x, "b": y} for k, (x, y) in self.tables.items()},
        }


def lineage(store: StoreLike, version: str) -> list[str]:
    """The version and its ancestors, newest first, as far as the store holds them (an
    ancestor removed by hand ends the chain; ``corpus check`` reports it). Manifests edited
    into a cycle of parents are a :class:`DamagedVersionError` naming them."""
    store = as_store(store)
    present = set(store.version_names())
    chain: list[str] = []
    current: str | None = version
    while current is not None and current in present:
        if current in chain:
            cycle = chain[chain.index(current) :]
            manifests = ", ".join(str(store.version_dir(v) / "manifest.json") for v in cycle)
            raise DamagedVersionError(
                f"the parents of version {version} run in a cycle "
                f"({' -> '.join([*cycle, current])}): manifests {manifests}",
                path=store.version_dir(current) / "manifest.json",
                hint="A parent is always older than its version: the manifests were edited. "
                "Restore those versions from a backup; never edit a version by hand.",
            )
        chain.append(current)
        current = store.manifest(current).parent
    return chain


def _doc_keys(store: Store, version: str) -> dict[str, str]:
    """doc_id -> source key (external id, or path and record) of one version."""
    keys: dict[str, str] = {}
    columns = ["doc_id", "external_id", "source_path", "source_record"]
    for batch in store.iter_batches(version, "documents", columns):
        for doc_id, ext, path, record in zip(*(c.to_pylist() for c in batch.columns), strict=True):
            keys[doc_id] = f"id:{ext}" if ext else f"{path}#{record or 0}"
    return keys


def diff_versions(store: StoreLike, a: str, b: str) -> VersionDiff:
    """Documents added, removed and changed from ``a`` to ``b``.

    Ids are content hashes, so an edited article gets a new id: a document of ``b`` counts
    as *changed* (not added) when its source (external id, or file path and record) held
    a different document in ``a``.
    """
    store = as_store(store)
    ma, mb = store.verify(a), store.verify(b)  # a damaged version is never diffed
    ka, kb = _doc_keys(store, a), _doc_keys(store, b)
    by_key_a: dict[str, str] = {}
    for doc_id, key in ka.items():
        by_key_a.setdefault(key, doc_id)
    diff = VersionDiff(a=a, b=b)
    diff.removed = sorted(d for d in ka if d not in kb)
    for doc_id, key in sorted(kb.items()):
        if doc_id in ka:
            continue
        if key in by_key_a:
            diff.changed.append((by_key_a[key], doc_id))
        else:
            diff.added.append(doc_id)
    for name in sorted((set(ma.tables) | set(mb.tables)) - {INPUTS_TABLE}):  # not contents
        ra = ma.tables[name].rows if name in ma.tables else 0
        rb = mb.tables[name].rows if name in mb.tables else 0
        diff.tables[name] = (ra, rb)
    return diff
