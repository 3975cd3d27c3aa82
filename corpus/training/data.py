"""A release as training data: its documents (text, gold stance, gold spans) and its
``tokens`` config (BIO tags per sentence), read with ``datasets.load_dataset``.

The release's files are checked against its ``SHA256SUMS`` and manifest first, and their
sha256 go into the model's manifest. A release without text (built offsets-only), without
gold, or with a split too small to train on is refused with an error naming it.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpus.errors import ModelError, ReleaseError
from corpus.release import releases_dir
from corpus.release.verify import check_files, read_manifest
from corpus.store import Store, as_store

SPLITS = ("train", "validation", "test")
MIN_PER_CLASS = 2  # labelled documents a stance label needs to be learned (and calibrated)


@dataclass(frozen=True)
class Doc:
    doc_id: str
    text: str
    stance: str | None  # gold stance; None when unresolved
    spans: tuple[tuple[int, int, str], ...]  # gold issue spans (start, end, label)
    dup_group: str
    language: str


@dataclass(frozen=True)
class Sentence:
    doc_id: str
    words: tuple[str, ...]
    tags: tuple[str, ...]


@dataclass
class ReleaseData:
    path: Path
    release: str
    version: str
    schema_hash: str
    stance_labels: list[str]
    tags: list[str]
    docs: dict[str, list[Doc]] = field(default_factory=dict)  # split -> documents
    sentences: dict[str, list[Sentence]] = field(default_factory=dict)  # split -> sentences
    files: dict[str, str] = field(default_factory=dict)  # release file -> sha256

    @property
    def issue_labels(self) -> list[str]:
        return list(dict.fromkeys(t[2:] for t in self.tags if t != "O"))

    @property
    def language(self) -> str:
        langs = Counter(d.language for docs in self.docs.values() for d in docs)
        return langs.most_common(1)[0][0] if langs else "en"

    def labelled(self, split: str) -> list[Doc]:
        return [d for d in self.docs.get(split, []) if d.stance is not None]


def release_path(store: Store | str | os.PathLike[str] | None, release: str | Path) -> Path:
    """A release folder: a path to one, or a release number in ``<store>/releases/``."""
    path = Path(release)
    if (path / "manifest.json").is_file():
        return path.resolve()
    if store is not None:
        named = releases_dir(as_store(store)) / str(release)
        if (named / "manifest.json").is_file():
            return named.resolve()
    raise ReleaseError(
        f"no release {str(release)!r}: neither a release folder nor a release of the store",
        hint="Pass a release folder, or the number of a release in the store's releases/ "
        "folder (built with `corpus release build`).",
    )


def _load(path: Path, config: str, cache_dir: Path) -> Any:
    import datasets
    from datasets import load_dataset

    quiet = datasets.are_progress_bars_disabled()
    datasets.disable_progress_bars()
    try:
        return load_dataset(str(path), config, cache_dir=str(cache_dir))
    finally:
        if not quiet:
            datasets.enable_progress_bars()


def read_release(
    store: Store | str | os.PathLike[str] | None,
    release: str | Path,
    *,
    cache_dir: Path | None = None,
) -> ReleaseData:
    """The release's documents and sentences per split (checksums checked first), read
    with ``datasets.load_dataset`` into ``cache_dir`` (default: a temporary folder, removed
    after: ``datasets`` can serve a stale copy cached for another folder of that name)."""
    path = release_path(store, release)
    manifest = read_manifest(path)
    check_files(path, manifest)
    name = str(manifest.get("release", path.name))
    tables = manifest.get("tables", {})
    for config in ("documents", "tokens"):
        if not any(key.startswith(f"{config}/") for key in tables):
            raise ModelError(
                f"release {name} at {path} has no {config} config to train on",
                path=path,
                hint="Train on a release built by `corpus release build` with its text.",
            )
    if cache_dir is None:  # datasets may serve another folder's cached copy: read afresh
        with tempfile.TemporaryDirectory(prefix="corpus-release-") as tmp:
            return _read(path, manifest, Path(tmp))
    return _read(path, manifest, cache_dir)


def _read(path: Path, manifest: dict[str, Any], cache_dir: Path) -> ReleaseData:
    name = str(manifest.get("release", path.name))
    docs_ds = _load(path, "documents", cache_dir)
    tokens_ds = _load(path, "tokens", cache_dir)
    stance_names: list[str] = docs_ds["train"].features["stance"].names
    issue_names: list[str] = docs_ds["train"].features["spans"].feature["label"].names
    tag_names: list[str] = tokens_ds["train"].features["tags"].feature.names
    data = ReleaseData(
        path=path,
        release=name,
        version=str(manifest.get("version", "")),
        schema_hash=str(manifest.get("schema_hash", "")),
        stance_labels=stance_names,
        tags=tag_names,
        files={
            rel: str(info["sha256"])
            for rel, info in sorted(manifest["files"].items())
            if rel.startswith(("documents/", "tokens/")) or rel == "README.md"
        },
    )
    for split in SPLITS:
        if split not in docs_ds:
            continue
        rows = docs_ds[split]
        if "text" not in rows.column_names or any(t is None for t in rows["text"]):
            raise ModelError(
                f"release {name} at {path} has no text in its documents ({split} split): "
                "it was built offsets-only",
                path=path,
                hint="Train on a release built with its text (the default of "
                "`corpus release build`).",
            )
        data.docs[split] = [
            Doc(
                doc_id=r["doc_id"],
                text=r["text"],
                stance=stance_names[r["stance"]] if r["stance"] is not None and r["stance"] >= 0
                else None,
                spans=tuple(
                    (s["start"], s["end"], issue_names[s["label"]])
                    for s in r["spans"] or []
                    if s["label"] is not None and s["label"] >= 0
                ),
                dup_group=r["dup_group"] or r["doc_id"],
                language=r["language"] or "en",
            )
            for r in rows
        ]  # fmt: skip
        if split in tokens_ds:
            data.sentences[split] = [
                Sentence(r["doc_id"], tuple(r["tokens"]), tuple(tag_names[t] for t in r["tags"]))
                for r in tokens_ds[split]
                if r["tokens"]
            ]
    return data


def check_trainable(data: ReleaseData) -> None:
    """Refuse a release whose train or validation split cannot train a model."""
    where = f"release {data.release} ({data.path})"
    train = data.labelled("train")
    if not data.docs.get("train") or not train:
        raise ModelError(
            f"{where} has no gold stance in its train split "
            f"({len(data.docs.get('train', []))} documents, none with a gold stance)",
            path=data.path,
            hint="Adjudicate the round (`corpus adjudicate ROUND`) and build a release of "
            "the version it writes.",
        )
    counts = Counter(d.stance for d in train)
    learnable = [label for label, n in counts.items() if n >= MIN_PER_CLASS]
    if len(learnable) < 2:
        shown = ", ".join(f"{label} {n}" for label, n in sorted(counts.items()))
        raise ModelError(
            f"the train split of {where} is too small to train: {len(train)} labelled "
            f"document(s) ({shown}); a stance model needs at least two labels with "
            f"{MIN_PER_CLASS} documents each",
            path=data.path,
            hint="Label and adjudicate more documents, then build a new release.",
        )
    if not any(t != "O" for s in data.sentences.get("train", []) for t in s.tags):
        raise ModelError(
            f"the train split of {where} has no gold issue span: the span tagger has "
            "nothing to learn from",
            path=data.path,
            hint="Adjudicate rounds whose annotators marked issue spans.",
        )
    if not data.labelled("validation"):
        raise ModelError(
            f"the validation split of {where} has no document with a gold stance to "
            "choose hyper-parameters on",
            path=data.path,
            hint="Build the release with a larger validation share (--ratios), or label "
            "more documents.",
        )


__all__ = [
    "MIN_PER_CLASS",
    "SPLITS",
    "Doc",
    "ReleaseData",
    "Sentence",
    "check_trainable",
    "read_release",
    "release_path",
]
