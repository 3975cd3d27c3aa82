"""Writing a model folder the way a version is written, and listing the store's models.

The folder is filled under a temporary name in ``<store>/models/`` (its sha256 and size
in the manifest, then sealed by :func:`corpus.atomic.seal_folder`), then renamed into place
while the store lock is held: a crash leaves the old state or the whole model, never half
of one, and a name is never reused (models are immutable). Leftovers of a killed run (their
owner lock free) are removed by the next write; a folder another training is still
filling is not.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import filelock

from corpus.atomic import fsync_dir, seal_folder
from corpus.errors import ModelError
from corpus.faults import fault_point
from corpus.inference.folder import (
    MANIFEST,
    ModelManifest,
    check_folder,
    file_entry,
    models_dir,
    read_manifest,
)
from corpus.store import Store, as_store

TMP_PREFIX = ".tmp-model-"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ModelError(
            f"{name!r} is not a valid model name",
            hint="Use letters, digits, '.', '_' or '-', up to 64 characters (e.g. stance-1).",
        )
    return name


def default_name(store: Store, release: str) -> str:
    """``release-<release>``, or the first free ``release-<release>-<n>``."""
    base = f"release-{release}"
    folder = models_dir(store.root)
    n, name = 1, base
    while (folder / name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def _remove_stale(folder: Path) -> list[Path]:
    """Remove the temporary folders of killed writers: those whose owner lock
    (``<tmp>.lock``, held by the writing process until it ends) can be taken. A folder
    another live process is filling is left alone (issue 18: two trainings at once)."""
    removed = []
    for leftover in sorted(folder.glob(f"{TMP_PREFIX}*")):
        if not leftover.is_dir():
            continue
        owner = filelock.FileLock(f"{leftover}.lock", timeout=0, thread_local=False)
        try:
            owner.acquire()
        except filelock.Timeout:
            continue  # a live writer's
        try:
            shutil.rmtree(leftover, ignore_errors=True)
            removed.append(leftover)
        finally:
            owner.release()
            Path(f"{leftover}.lock").unlink(missing_ok=True)
    return removed


def write_model(
    store: Store, name: str, fill: Callable[[Path], ModelManifest]
) -> tuple[Path, ModelManifest, str]:
    """``fill(tmp)`` writes the model's files into ``tmp`` and returns its manifest (files
    are listed here); the folder then becomes ``<store>/models/<name>``.

    Each writer fills its own temporary folder, held by an owner lock for as long as it
    writes; only folders whose owner is gone are removed as leftovers."""
    check_name(name)
    folder = models_dir(store.root)
    target = folder / name
    if target.exists():
        raise ModelError(
            f"a model named {name!r} already exists at {target}; models are never overwritten",
            path=target,
            hint="Pick another --name, or leave --name out for a fresh one.",
        )
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"{TMP_PREFIX}{name}-{uuid.uuid4().hex[:12]}"
    owner = filelock.FileLock(f"{tmp}.lock", timeout=0, thread_local=False)
    owner.acquire()  # before the folder exists: no other writer ever takes it for a leftover
    try:
        tmp.mkdir()
        manifest = fill(tmp)
        files = {
            p.relative_to(tmp).as_posix(): file_entry(p)
            for p in sorted(tmp.rglob("*"))
            if p.is_file()
        }
        manifest = manifest.model_copy(update={"files": files})
        (tmp / MANIFEST).write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
        seal_folder(tmp)
        fault_point("model:before-rename")
        with store.lock():
            _remove_stale(folder)
            if target.exists():
                raise ModelError(
                    f"a model named {name!r} was written meanwhile at {target}",
                    path=target,
                    hint="Pick another --name.",
                )
            tmp.rename(target)
            fsync_dir(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        owner.release()
        Path(f"{tmp}.lock").unlink(missing_ok=True)
    _, version = read_manifest(target)
    return target, manifest, version


@dataclass
class ModelInfo:
    name: str
    path: Path
    version: str | None
    release: str | None
    created: str | None
    scores: dict[str, Any]
    problem: str | None = None  # why the folder cannot be used (damaged, unreadable)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "path": str(self.path)}


def list_models(store: Store | str | os.PathLike[str]) -> list[ModelInfo]:
    """Every model folder of the store, each checked; a damaged one says why."""
    folder = models_dir(as_store(store).root)
    out = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if not path.is_dir() or path.name.startswith("."):
            continue
        try:
            manifest, version = check_folder(path)
        except ModelError as exc:
            out.append(ModelInfo(path.name, path, None, None, None, {}, problem=exc.message))
            continue
        out.append(
            ModelInfo(
                manifest.name,
                path,
                version,
                manifest.release.release,
                manifest.created,
                manifest.scores,
            )
        )
    return out


__all__ = ["TMP_PREFIX", "ModelInfo", "check_name", "default_name", "list_models", "write_model"]
