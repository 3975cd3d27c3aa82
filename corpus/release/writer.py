"""Writing a release folder: Parquet per config and split, side files, then the seal.

:class:`ReleaseWriter` builds the folder in a temporary sibling (``.tmp-release-*``) and
renames it into place only when complete, so a release folder is whole or absent. The seal
writes, in this order (each file may list the ones before it, never one after it):

1. ``manifest.json``: the build's records and the size and sha256 of every other file;
2. ``croissant.json``: Croissant 1.1 metadata listing every file above with its sha256,
   ``manifest.json`` included;
3. ``SHA256SUMS``: every file, ``croissant.json`` and ``manifest.json`` included.

Then every file is made read-only and fsynced, and the folder is renamed. The writer takes
Arrow tables or plain rows; it does not know how they were made (the build, rehydration, or
an engine writing shards in parallel).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from corpus.atomic import fsync_dir, seal_folder
from corpus.faults import fault_point
from corpus.ids import file_sha256

TMP_PREFIX = ".tmp-release-"
MANIFEST = "manifest.json"
CROISSANT = "croissant.json"
SUMS = "SHA256SUMS"
# files not listed in the manifest's ``files``: itself and those written after it
UNLISTED = (MANIFEST, CROISSANT, SUMS)


def shard_path(config: str, split: str) -> str:
    """A config's split file, named as the Hub names them."""
    return f"{config}/{split}-00000-of-00001.parquet"


def enclosing_release(path: Path) -> Path | None:
    """The release folder (one holding ``manifest.json`` and ``SHA256SUMS``) that ``path``
    lies inside, if any: a new folder there would be a file its checksums do not list."""
    for parent in path.expanduser().resolve().parents:
        if (parent / MANIFEST).is_file() and (parent / SUMS).is_file():
            return parent
    return None


def check_new_folder(target: Path) -> None:
    """Refuse (:class:`~corpus.errors.ReleaseError`) writing a release to ``target`` when it
    exists or lies inside an existing release (which would then fail its verification)."""
    from corpus.errors import ReleaseError

    if target.exists():
        raise ReleaseError(
            f"{target} already exists; a release is never overwritten",
            hint="Pick a new release number or a new --out folder (releases are immutable).",
        )
    inside = enclosing_release(target)
    if inside is not None:
        raise ReleaseError(
            f"{target} is inside the release {inside}: a folder written there breaks that "
            "release's verification (its SHA256SUMS would not list it)",
            hint="Pass --out a folder outside every release (the default is "
            "<store>/releases/X.Y.Z).",
        )


def remove_leftovers(folder: Path) -> list[Path]:
    """Temporary release folders of killed builds (the caller holds the store lock)."""
    found = sorted(folder.glob(f"{TMP_PREFIX}*")) if folder.is_dir() else []
    for path in found:
        shutil.rmtree(path, ignore_errors=True)
    return found


class ReleaseWriter:
    """A release folder under construction (use as a context manager: an error removes it)."""

    def __init__(self, target: Path, *, name: str) -> None:
        self.target = target
        target.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{name}-", dir=target.parent))
        self.rows: dict[str, int] = {}  # Parquet file -> rows
        self.sizes: dict[str, dict[str, tuple[int, int]]] = {}  # config -> split -> (rows, bytes)
        self._digests: dict[str, str] = {}  # files are never changed once written

    def __enter__(self) -> ReleaseWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)  # gone already once sealed

    def parquet(self, config: str, split: str, rows: Any, features: Any) -> None:
        """One split of a config: ``rows`` (a list of dicts or a ``pyarrow.Table``) in the
        Arrow schema of ``features``, whose metadata carries the ClassLabel names (what
        ``Dataset.to_parquet`` writes, without its per-value encoding). Label ids are already
        integers here: the row builders map names to ids."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        rel = shard_path(config, split)
        (self.tmp / config).mkdir(exist_ok=True)
        if isinstance(rows, pa.Table):
            table = rows.select(list(features)).cast(features.arrow_schema)
        else:
            table = pa.Table.from_pylist(rows, schema=features.arrow_schema)
        pq.write_table(table, str(self.tmp / rel))
        self.rows[rel] = table.num_rows
        self.sizes.setdefault(config, {})[split] = (table.num_rows, int(table.nbytes))
        fault_point("release:writing")

    def text(self, rel: str, content: str) -> None:
        path = self.tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")

    def copy(self, rel: str, source: Path) -> None:
        path = self.tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, path)

    def _files(self, skip: Sequence[str]) -> dict[str, dict[str, Any]]:
        files: dict[str, dict[str, Any]] = {}
        for path in sorted(p for p in self.tmp.rglob("*") if p.is_file()):
            rel = path.relative_to(self.tmp).as_posix()
            if rel in skip:
                continue
            entry: dict[str, Any] = {"rows": self.rows[rel]} if rel in self.rows else {}
            if rel not in self._digests:
                self._digests[rel] = file_sha256(path)
            entry["sha256"] = self._digests[rel]
            entry["bytes"] = path.stat().st_size
            files[rel] = entry
        return files

    def seal(
        self,
        meta: dict[str, Any],
        croissant: Callable[[Mapping[str, Mapping[str, Any]]], dict[str, Any]],
    ) -> Path:
        """Write manifest, croissant.json and SHA256SUMS (in that order), make every file
        read-only, fsync, and rename the folder into place. ``croissant`` gets every file
        written so far (manifest.json included) with its sha256 and bytes."""
        meta["files"] = self._files(UNLISTED)
        self.text(MANIFEST, pretty_json(meta))
        listed = self._files((CROISSANT, SUMS))
        self.text(CROISSANT, pretty_json(croissant(listed)))
        sums = [f"{info['sha256']}  {rel}" for rel, info in self._files((SUMS,)).items()]
        self.text(SUMS, "\n".join(sums) + "\n")
        seal_folder(self.tmp)
        fault_point("release:before-rename")
        self.tmp.rename(self.target)
        fsync_dir(self.target.parent)
        return self.target


def pretty_json(value: Any) -> str:
    """``json.dumps(value, indent=2, ensure_ascii=False)`` and a newline, written by orjson
    (Python's encoder is pure Python when indenting: about a second for the manifest of a
    20,000-document release); Python's where orjson would differ (a NaN or infinity, which it
    writes as null, a float whose exponent it writes otherwise, a key that is not a string)."""
    import orjson

    if _plain(value):
        return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n"
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def _plain(value: Any) -> bool:
    """Whether orjson writes ``value`` exactly as ``json.dumps`` does (floats it writes alike,
    64-bit integers, string keys, JSON types only)."""
    import orjson

    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if not all(type(k) is str for k in item):
                return False
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, float):  # NaN, infinities and some exponents differ
            if orjson.dumps(item) != repr(item).encode():
                return False
        elif isinstance(item, int) and not isinstance(item, bool):
            if not -(2**63) <= item < 2**64:  # orjson's range
                return False
        elif not (item is None or isinstance(item, str | bool)):
            return False
    return True
