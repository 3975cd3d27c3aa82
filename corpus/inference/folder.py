"""A stored model folder: its manifest, where it lives, and a verified read.

``<store>/models/<name>/`` holds ``manifest.json``, ``stance.joblib`` (the scikit-learn
stance pipeline), ``tagger.crfsuite`` (the CRF span tagger, CRFsuite's own format), a
``README.md`` model card and the test split's ``confusion.png``. Every file but the
manifest is listed in it with its sha256 and size, and files are read-only (0444): a
model, like a dataset version, is never changed after it is written. Reading a model
checks every file first; a folder that fails the check is refused.

A model's *version* is ``<name>-<8 hex>``, the hex a hash of its two weight files' sha256:
it names the exact weights (and is known before the card that shows it is written).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from corpus.errors import ModelError
from corpus.ids import file_sha256

MODELS = "models"
MANIFEST = "manifest.json"
STANCE_FILE = "stance.joblib"
TAGGER_FILE = "tagger.crfsuite"
CARD = "README.md"
CONFUSION = "confusion.png"
FORMAT = 1
_HINT = (
    "A model folder is immutable: train the model again with `corpus model train` (under "
    "another --name), or restore the folder from a backup."
)


class ReleaseRef(BaseModel):
    """The release a model was trained on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    release: str = Field(description="Release number, e.g. 1.0.0.")
    path: str = Field(description="Where the release folder was when the model was trained.")
    version: str = Field(description="Dataset version the release was built from.")
    schema_hash: str
    files: dict[str, str] = Field(description="sha256 of every release file the model read.")


class FileEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sha256: str
    bytes: int


class ModelManifest(BaseModel):
    """``manifest.json`` of a model folder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: int = FORMAT
    name: str
    created: str
    training_seconds: float
    release: ReleaseRef
    schema_hash: str = Field(description="Hash of the annotation schema of the release.")
    stance_labels: list[str] = Field(description="The schema's stance labels, in order.")
    trained_stance_labels: list[str] = Field(description="Stance labels the model can predict.")
    tags: list[str] = Field(description="BIO tags of the span tagger.")
    language: str = Field(description="Language used to cut new texts into sentences.")
    libraries: dict[str, str]
    parameters: dict[str, Any] = Field(description="Chosen hyper-parameters.")
    selection: dict[str, Any] = Field(description="Validation scores of every candidate.")
    data: dict[str, Any] = Field(description="Documents and sentences used, per split.")
    scores: dict[str, Any] = Field(description="Validation and test scores (see the card).")
    notes: list[str] = Field(default_factory=list)
    files: dict[str, FileEntry]


def models_dir(store_root: Path) -> Path:
    return store_root / MODELS


def resolve(store_root: Path, model: str | os.PathLike[str]) -> Path:
    """A model folder: a path to one, or a name under ``<store>/models/``."""
    path = Path(model)
    if (path / MANIFEST).is_file():
        return path
    named = models_dir(store_root) / str(model)
    if os.sep not in str(model) and (named / MANIFEST).is_file():
        return named
    raise ModelError(
        f"no model {str(model)!r}: neither a model folder nor a model in {models_dir(store_root)}",
        path=path,
        hint="Run `corpus model list` to see the stored models, or train one with "
        "`corpus model train RELEASE`.",
    )


def read_manifest(folder: Path) -> tuple[ModelManifest, str]:
    """The manifest and the model version (name + short hash of the manifest)."""
    try:
        raw = (folder / MANIFEST).read_bytes()
        manifest = ModelManifest.model_validate(json.loads(raw))
    except (OSError, ValueError, ValidationError) as exc:
        raise ModelError(
            f"model folder {folder} has no readable {MANIFEST}: {exc}", path=folder, hint=_HINT
        ) from None
    if manifest.format != FORMAT:
        raise ModelError(
            f"model folder {folder} has format {manifest.format}; this corpus reads {FORMAT}",
            path=folder,
            hint="Train the model again with this version of corpus.",
        )
    weights = [manifest.files.get(STANCE_FILE), manifest.files.get(TAGGER_FILE)]
    if weights[0] is None or weights[1] is None:
        raise ModelError(
            f"model folder {folder} lists no {STANCE_FILE} or {TAGGER_FILE} in its {MANIFEST}",
            path=folder,
            hint=_HINT,
        )
    return manifest, model_version(manifest.name, weights[0].sha256, weights[1].sha256)


def model_version(name: str, stance_sha256: str, tagger_sha256: str) -> str:
    """``<name>-<8 hex>``: the model's name and a short hash of its weights."""
    digest = hashlib.sha256(f"{stance_sha256}\n{tagger_sha256}".encode()).hexdigest()
    return f"{name}-{digest[:8]}"


def verified_bytes(folder: Path, manifest: ModelManifest) -> dict[str, bytes]:
    """Every listed file's bytes, each checked against its sha256 and size; an unlisted or
    missing file, or one that changed, refuses the whole folder (:class:`ModelError`)."""
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    extra = sorted(on_disk - set(manifest.files) - {MANIFEST})
    if extra:
        raise ModelError(
            f"model {manifest.name} at {folder} is damaged: {extra[0]} is not listed in its "
            f"{MANIFEST}",
            path=folder,
            hint=_HINT,
        )
    out: dict[str, bytes] = {}
    for rel, entry in sorted(manifest.files.items()):
        path = folder / rel
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ModelError(
                f"model {manifest.name} at {folder} is damaged: {rel} is missing",
                path=folder,
                hint=_HINT,
            ) from None
        digest = hashlib.sha256(data).hexdigest()
        if len(data) != entry.bytes or digest != entry.sha256:
            raise ModelError(
                f"model {manifest.name} at {folder} is damaged: {rel} does not have the sha256 "
                f"its manifest recorded ({entry.sha256[:12]}…, the file {digest[:12]}…)",
                path=folder,
                hint=_HINT,
            )
        out[rel] = data
    return out


def check_folder(folder: Path) -> tuple[ModelManifest, str]:
    """Verify every file of a model folder without loading it: (manifest, model version)."""
    manifest, version = read_manifest(folder)
    verified_bytes(folder, manifest)
    return manifest, version


def file_entry(path: Path) -> FileEntry:
    return FileEntry(sha256=file_sha256(path), bytes=path.stat().st_size)


__all__ = [
    "CARD",
    "CONFUSION",
    "MANIFEST",
    "MODELS",
    "STANCE_FILE",
    "TAGGER_FILE",
    "FileEntry",
    "ModelManifest",
    "ReleaseRef",
    "check_folder",
    "file_entry",
    "model_version",
    "models_dir",
    "read_manifest",
    "resolve",
    "verified_bytes",
]
