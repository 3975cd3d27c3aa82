"""Writing a model folder the way a version is written, and listing the store's models.

The folder is filled under a temporary name in ``<store>/models/`` (files 0444, each
fsynced, its sha256 and size in the manifest), then renamed into place while the store
lock is held: a crash leaves the old state or the whole model, never half of one, and a
name is never reused (models are immutable). Leftovers of a killed run are removed by the
next write.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpus.atomic import fsync_dir
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


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_model(
    store: Store, name: str, fill: Callable[[Path], ModelManifest]
) -> tuple[Path, ModelManifest, str]:
    """``fill(tmp)`` writes the model's files into ``tmp`` and returns its manifest (files
    are listed here); the folder then becomes ``<store>/models/<name>``."""
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
    tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{name}-", dir=folder))
    try:
        manifest = fill(tmp)
        files = {
            p.relative_to(tmp).as_posix(): file_entry(p)
            for p in sorted(tmp.rglob("*"))
            if p.is_file()
        }
        manifest = manifest.model_copy(update={"files": files})
        (tmp / MANIFEST).write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
        for path in tmp.rglob("*"):
            if path.is_file():
                path.chmod(0o444)
                _fsync(path)
        fsync_dir(tmp)
        fault_point("model:before-rename")
        with store.lock():
            for leftover in folder.glob(f"{TMP_PREFIX}*"):
                if leftover != tmp:
                    shutil.rmtree(leftover, ignore_errors=True)
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
