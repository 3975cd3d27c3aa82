"""`corpus check`: is every version what was written?

For each version (or those named): the manifest parses and names its own version; its
parent exists and is older; every file listed exists with the recorded size and sha256, and
no other file sits in the folder; an ingest's summary of its input files matches its ``inputs``
table's row count; with ``deep``, every table's rows are read again and their count and
content hash (:mod:`corpus.ids`) compared with the manifest, and the input files' bytes and
documents with the summary. Versions written
before file hashes were recorded are *unverified*, not damaged; ``record`` checks their
rows (deep) and, when those match, records the hashes of their files once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Literal

from corpus.atomic import seal_folder, write_json_atomic
from corpus.errors import (
    DamagedVersionError,
    StoreError,
    VersionNotFoundError,
    translate_os_errors,
)
from corpus.ids import file_sha256, hash_hex, row_hash
from corpus.models import FileRecord, InputsSummary, VersionManifest
from corpus.progress import Progress, ProgressCallback, Steps, drive
from corpus.store.inputs import input_files
from corpus.store.numbers import parse_version
from corpus.store.versions import Store, as_store

Status = Literal["ok", "unverified", "damaged"]
RESTORE = "Restore the version folder from a backup; never edit a version by hand."


@dataclass(frozen=True)
class CheckProblem:
    """One thing wrong with a version: which file, what, and what to do."""

    file: str
    problem: str
    hint: str = RESTORE

    def to_dict(self) -> dict[str, str]:
        return {"file": self.file, "problem": self.problem, "hint": self.hint}


@dataclass
class VersionCheck:
    version: str
    status: Status
    problems: list[CheckProblem] = field(default_factory=list)
    files: int = 0
    deep: bool = False
    recorded: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "status": self.status,
            "files": self.files,
            "deep": self.deep,
            "recorded": self.recorded,
            "problems": [p.to_dict() for p in self.problems],
        }


@dataclass
class CheckReport:
    store: str
    versions: list[VersionCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No version is damaged (unverified versions are not damaged)."""
        return all(v.status != "damaged" for v in self.versions)

    def count(self, status: Status) -> int:
        return sum(v.status == status for v in self.versions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "ok": self.ok,
            "counts": {s: self.count(s) for s in ("ok", "unverified", "damaged")},
            "versions": [v.to_dict() for v in self.versions],
        }


@translate_os_errors
def check_store(
    store: Store | str | os.PathLike[str],
    versions: list[str] | None = None,
    *,
    deep: bool = False,
    record: bool = False,
    progress: ProgressCallback | None = None,
) -> CheckReport:
    """Check every version (or ``versions``); see the module doc. Never raises for damage:
    the report lists it (``report.ok`` is False). A store folder that does not exist is a
    :class:`~corpus.errors.StoreError`, a version asked for that the store does not hold
    :class:`~corpus.errors.VersionNotFoundError`: errors, not a healthy report or damage."""
    store = as_store(store)
    if not store.root.is_dir():
        raise StoreError(
            f"there is no store at {store.root}",
            path=store.root,
            hint="Check --store (or CORPUS_STORE); `corpus ingest` creates a store.",
        )
    known = store.version_names()
    names = versions if versions else known
    for name in names:
        parse_version(name)
        if name not in known:
            raise VersionNotFoundError(
                f"no version {name} in the store {store.root}",
                path=store.version_dir(name),
                hint=f"Its versions are: {', '.join(known) or 'none'} (`corpus versions`).",
            )
    return drive(_check(store, names, deep=deep or record, record=record), progress)


def _check(store: Store, names: list[str], *, deep: bool, record: bool) -> Steps[CheckReport]:
    report = CheckReport(str(store.root))
    known = set(store.version_names())
    for i, name in enumerate(names):
        yield Progress("check", f"version {name}", i, len(names))
        result = VersionCheck(name, "ok", deep=deep)
        report.versions.append(result)
        try:
            manifest = store.manifest(name)
        except DamagedVersionError as exc:
            result.status = "damaged"
            result.problems.append(CheckProblem(f"{name}/manifest.json", exc.message))
            continue
        result.problems += _lineage(store, name, manifest, known)
        if manifest.files:
            result.files = len(manifest.files)
            result.problems += _files(store, name, manifest)
        else:
            result.status = "unverified"
        if deep and not result.problems:
            result.problems += _rows(store, name, manifest)
        if deep and not result.problems:
            result.problems += _input_sums(store, name, manifest)
        if result.problems:
            result.status = "damaged"
        elif record and result.status == "unverified":
            result.files = _record_files(store, name, manifest)
            result.status, result.recorded = "ok", True
    yield Progress("check", "done", len(names), len(names))
    return report


def _lineage(
    store: Store, name: str, manifest: VersionManifest, known: set[str]
) -> list[CheckProblem]:
    where = f"{name}/manifest.json"
    problems = []
    if manifest.version != name:
        problems.append(CheckProblem(where, f"the manifest names version {manifest.version}"))
    parent = manifest.parent
    if parent is not None:
        if parent not in known:
            problems.append(CheckProblem(where, f"its parent version {parent} is missing"))
        elif parse_version(parent) >= parse_version(name):
            problems.append(CheckProblem(where, f"its parent {parent} is not older than it"))
    for table, info in manifest.tables.items():
        missing = [f for f in info.files if manifest.files and f"{table}/{f}" not in manifest.files]
        if missing:
            problems.append(CheckProblem(where, f"table {table} lists unrecorded {missing[0]}"))
    if isinstance(summary := manifest.inputs, InputsSummary):
        listed = manifest.tables.get(summary.table)
        if listed is None:
            problems.append(
                CheckProblem(where, f"its input files' table {summary.table} is missing")
            )
        elif listed.rows != summary.files:
            problems.append(
                CheckProblem(
                    where,
                    f"it records {summary.files} input file(s), its table {summary.table} holds "
                    f"{listed.rows} row(s)",
                )
            )
    return problems


def _input_sums(store: Store, name: str, manifest: VersionManifest) -> list[CheckProblem]:
    """The bytes and documents of the ``inputs`` table's rows against the manifest's sums."""
    summary = manifest.inputs
    if not isinstance(summary, InputsSummary):
        return []
    size = documents = 0
    for file in input_files(store, name):
        size += file.bytes
        documents += file.documents
    if (size, documents) == (summary.bytes, summary.documents):
        return []
    return [
        CheckProblem(
            f"{name}/{summary.table}",
            f"its rows sum to {size} bytes and {documents} documents, the manifest recorded "
            f"{summary.bytes} and {summary.documents}",
        )
    ]


def _files(store: Store, name: str, manifest: VersionManifest) -> list[CheckProblem]:
    folder = store.version_dir(name)
    problems = []
    for rel, rec in sorted(manifest.files.items()):
        path = folder / rel
        if not path.is_file():
            problems.append(CheckProblem(f"{name}/{rel}", "the file is missing"))
        elif path.stat().st_size != rec.bytes:
            size = path.stat().st_size
            problems.append(
                CheckProblem(f"{name}/{rel}", f"{size} bytes, the manifest recorded {rec.bytes}")
            )
        elif file_sha256(path) != rec.sha256:
            problems.append(
                CheckProblem(f"{name}/{rel}", "its sha256 differs from the one recorded")
            )
    listed = set(manifest.files) | {"manifest.json"}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel not in listed:
            problems.append(
                CheckProblem(
                    f"{name}/{rel}",
                    "a file the manifest does not list",
                    "Remove it (versions hold only what was written) or restore the version.",
                )
            )
    return problems


def _rows(store: Store, name: str, manifest: VersionManifest) -> list[CheckProblem]:
    problems = []
    for table, info in sorted(manifest.tables.items()):
        rows = total = 0
        try:
            for batch in store.iter_batches(name, table):
                rows += batch.num_rows
                total += sum(row_hash(r) for r in batch.to_pylist())
        except DamagedVersionError as exc:
            problems.append(CheckProblem(f"{name}/{table}", exc.message))
            continue
        except (OSError, ValueError) as exc:  # pyarrow: ArrowInvalid is a ValueError
            problems.append(CheckProblem(f"{name}/{table}", f"the table cannot be read: {exc}"))
            continue
        if rows != info.rows:
            problems.append(
                CheckProblem(f"{name}/{table}", f"{rows} rows, the manifest recorded {info.rows}")
            )
        elif hash_hex(total) != info.content_sha256:
            problems.append(
                CheckProblem(
                    f"{name}/{table}", "the rows' content hash differs from the one recorded"
                )
            )
    return problems


def _record_files(store: Store, name: str, manifest: VersionManifest) -> int:
    """Record the size and sha256 of an old version's files in its manifest (once)."""
    folder = store.version_dir(name)
    with store.lock():
        files = {
            path.relative_to(folder).as_posix(): FileRecord(
                bytes=path.stat().st_size, sha256=file_sha256(path)
            )
            for path in sorted(folder.rglob("*"))
            if path.is_file() and path.name != "manifest.json"
        }
        path = folder / "manifest.json"
        updated = manifest.model_copy(update={"files": files})
        write_json_atomic(path, updated.model_dump(mode="json"), mode=0o444)
        seal_folder(folder)
    return len(files)


__all__ = ["CheckProblem", "CheckReport", "VersionCheck", "check_store"]
