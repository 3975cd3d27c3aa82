"""`corpus release verify DIR`: check a release folder against its own records.

In this order, stopping at the FIRST difference (a :class:`ReleaseError` naming the file
or config and what differs):

1. checksums: every file on disk, in ``SHA256SUMS`` and in ``manifest.json`` ``files``
   exists, is listed in both (``manifest.json`` and ``croissant.json``, written after it, only
   in ``SHA256SUMS``; nothing lists ``SHA256SUMS``) and has the recorded sha256 and size; an
   unlisted file is an error;
2. the card (``README.md`` YAML, read the way ``datasets`` reads it): its configs, their
   ``dataset_info`` and the manifest's ``tables`` name the same config/splits;
3. per config and split: the Parquet row count equals the card's ``num_examples``, the
   manifest's rows; the Parquet's features (Arrow types and the ClassLabel names in its
   metadata) equal the card's; the content hash of the rows equals the manifest's
   ``content_sha256`` under the definition the manifest's ``content_hash`` names (version 1,
   ``rows-sha256-sum``, when it names none; :mod:`corpus.release.content_hash`); every
   ClassLabel value is in range (-1 = missing);
4. ``datasets.load_dataset(DIR, config)`` of every config into a fresh, temporary cache,
   with the card's split sizes checked, and the loaded features equal to the card's;
5. ``croissant.json`` with ``mlcroissant`` (:mod:`corpus.release.verify_croissant`): its
   files and checksums, validation, a record set per config with the card's columns, and
   the records of every config read through it and counted per split.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from corpus.errors import ReleaseError, translate_os_errors
from corpus.ids import file_sha256
from corpus.release.content_hash import recorded_definition, table_sha256
from corpus.release.verify_croissant import DEFAULT_RECORDS, check_croissant
from corpus.release.writer import CROISSANT, MANIFEST, SUMS, UNLISTED

CARD = "README.md"
_SUM_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")
_HINT = (
    "The release folder was changed after it was built. Rebuild it with "
    "`corpus release build`, or restore the published copy; never edit a release by hand."
)


@dataclass
class VerifyReport:
    """What :func:`verify_release` checked: every file, and each config's loaded splits."""

    path: Path
    release: str
    files: list[str] = field(default_factory=list)  # relative paths, sorted
    configs: dict[str, dict[str, int]] = field(default_factory=dict)  # config -> split -> rows
    text: str = "full"  # "none": an offsets-only release
    croissant: dict[str, Any] = field(default_factory=dict)  # records read, warnings, note

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "release": self.release,
            "text": self.text,
            "files": self.files,
            "configs": self.configs,
            "croissant": self.croissant,
        }


def _fail(message: str, hint: str = _HINT) -> ReleaseError:
    return ReleaseError(message, hint=hint)


def _safe_rel(rel: str, where: str) -> str:
    p = PurePosixPath(rel)
    if p.is_absolute() or ".." in p.parts or "\\" in rel or not rel:
        raise _fail(f"{where} lists {rel!r}, which is not a path inside the release")
    return rel


def read_sums(path: Path) -> dict[str, str]:
    """``SHA256SUMS`` as {relative path: sha256}."""
    sums: dict[str, str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        m = _SUM_LINE.match(line)
        if m is None:
            raise _fail(f"{SUMS} line {n} is not '<sha256>  <path>': {line[:80]!r}")
        sums[_safe_rel(m.group(2), SUMS)] = m.group(1)
    return sums


def read_manifest(root: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _fail(f"cannot read {root / MANIFEST}: {exc}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise _fail(f"{root / MANIFEST} has no 'files' table")
    return manifest


def check_files(root: Path, manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Step 1: every file listed, present and with its recorded sha256; returns them with
    their sha256 and size."""
    sums = read_sums(root / SUMS)
    listed: dict[str, dict[str, Any]] = {
        _safe_rel(rel, MANIFEST): info for rel, info in manifest["files"].items()
    }
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    checked: dict[str, dict[str, Any]] = {}
    for rel in sorted(on_disk | sums.keys() | listed.keys()):
        if rel == SUMS:
            continue
        where = " and ".join(
            name for name, table in ((SUMS, sums), (MANIFEST, listed)) if rel in table
        )
        if rel not in on_disk:
            raise _fail(f"missing file {rel} (listed in {where})")
        if rel not in sums:
            raise _fail(f"extra file {rel}: not listed in {SUMS}")
        if rel not in UNLISTED and rel not in listed:
            raise _fail(f"{rel} is listed in {SUMS} but not in {MANIFEST} files")
        digest = file_sha256(root / rel)
        size = (root / rel).stat().st_size
        if digest != sums[rel]:
            raise _fail(f"sha256 mismatch for {rel}: {SUMS} has {sums[rel]}, the file {digest}")
        info = listed.get(rel)
        if info is not None:
            if info.get("sha256") != digest:
                raise _fail(
                    f"sha256 mismatch for {rel}: {MANIFEST} has {info.get('sha256')}, "
                    f"the file {digest}"
                )
            if info.get("bytes") != size:
                raise _fail(f"size mismatch for {rel}: {MANIFEST} has {info.get('bytes')}, "
                            f"the file {size} bytes")  # fmt: skip
        checked[rel] = {"sha256": digest, "bytes": size}
    return checked


@dataclass
class CardConfig:
    name: str
    features: Any  # datasets.Features
    splits: dict[str, int]  # split -> num_examples
    files: dict[str, list[str]]  # split -> relative Parquet paths


def read_card(root: Path, card: str = CARD) -> list[CardConfig]:
    """Step 2: the card's configs as ``datasets`` reads them (configs + dataset_info);
    ``card``: another card of the release (data files are found relative to ``root``)."""
    from datasets.info import DatasetInfosDict
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCard

    try:
        data = DatasetCard.load(root / card).data
        configs = MetadataConfigs.from_dataset_card_data(data)
        infos = DatasetInfosDict.from_dataset_card_data(data)
    except Exception as exc:  # YAML or datasets parser errors: any failure is a bad card
        raise _fail(f"{card}: the card's YAML does not parse: {exc}") from None
    if not configs:
        raise _fail(f"{card}: the card declares no configs")
    out = []
    for name, params in configs.items():
        info = infos.get(name)
        if info is None or info.features is None or not info.splits:
            raise _fail(f"{card}: config {name} has no dataset_info with features and splits")
        files: dict[str, list[str]] = {}
        data_files = params.get("data_files")
        if not isinstance(data_files, list) or not all(isinstance(d, dict) for d in data_files):
            raise _fail(f"{card}: config {name} must list data_files as {{split, path}} entries")
        for entry in data_files:
            patterns = entry["path"] if isinstance(entry["path"], list) else [entry["path"]]
            found = sorted(
                {p.relative_to(root).as_posix() for pat in patterns for p in root.glob(pat)}
            )
            if not found:
                raise _fail(f"{card}: config {name} split {entry['split']}: no file matches "
                            f"{', '.join(patterns)}")  # fmt: skip
            files[str(entry["split"])] = found
        splits = {s: int(info.splits[s].num_examples) for s in info.splits}
        if set(splits) != set(files):
            raise _fail(
                f"{card}: config {name} has data_files for {sorted(files)} "
                f"but dataset_info splits {sorted(splits)}"
            )
        out.append(CardConfig(name, info.features, splits, files))
    extra = sorted(set(infos) - set(configs))
    if extra:
        raise _fail(f"{card}: dataset_info describes config {extra[0]}, which configs lacks")
    return out


def _first_feature_difference(card: Any, found: Any) -> str:
    for name in [*card, *(k for k in found if k not in card)]:
        if name not in found:
            return f"column {name!r} is missing"
        if name not in card:
            return f"column {name!r} is not in the card"
        if card[name] != found[name]:
            return f"column {name!r}: card {card[name]!r}, Parquet {found[name]!r}"
    return "the column order differs"


def _label_problem(values: Any, feature: Any, where: str) -> str | None:
    """Where a ClassLabel value is outside -1..n-1 (datasets does not check; #8596)."""
    import pyarrow.compute as pc
    from datasets import ClassLabel, LargeList, List

    if isinstance(feature, ClassLabel):
        low, high = (v.as_py() for v in pc.min_max(values).values())
        if low is not None and (low < -1 or high >= feature.num_classes):
            return (
                f"{where} holds {low if low < -1 else high}, outside -1..{feature.num_classes - 1}"
            )
    elif isinstance(feature, List | LargeList):
        return _label_problem(pc.list_flatten(values), feature.feature, f"{where}[]")
    elif isinstance(feature, dict):
        for key, sub in feature.items():
            problem = _label_problem(pc.struct_field(values, key), sub, f"{where}.{key}")
            if problem:
                return problem
    return None


def check_tables(root: Path, card: list[CardConfig], manifest: dict[str, Any]) -> None:
    """Step 3: rows, features, content hashes and label ranges of every Parquet file."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from datasets import Features

    definition = recorded_definition(manifest)  # version 1 when the manifest names none
    tables: dict[str, dict[str, Any]] = manifest.get("tables") or {}
    extra = sorted(set(tables) - {f"{c.name}/{s}" for c in card for s in c.splits})
    if extra:
        raise _fail(f"{MANIFEST} records table {extra[0]}, which the card does not declare")
    for config in card:
        expected = config.features.arrow_schema.remove_metadata()
        for split, want in config.splits.items():
            key = f"{config.name}/{split}"
            if key not in tables:
                raise _fail(f"{CARD} declares {key}, which {MANIFEST} tables lacks")
            rows = 0
            for rel in config.files[split]:
                meta = pq.ParquetFile(root / rel).metadata
                schema = meta.schema.to_arrow_schema()
                if schema.remove_metadata() != expected:
                    found = Features.from_arrow_schema(schema.remove_metadata())
                    diff = _first_feature_difference(config.features, found)
                    raise _fail(f"features of {rel} differ from the card ({key}): {diff}")
                found = Features.from_arrow_schema(schema)
                if found != config.features:
                    diff = _first_feature_difference(config.features, found)
                    raise _fail(f"features in the metadata of {rel} differ from the card: {diff}")
                recorded = manifest["files"].get(rel, {}).get("rows")
                if recorded is not None and recorded != meta.num_rows:
                    raise _fail(f"{rel} has {meta.num_rows} rows, {MANIFEST} files says {recorded}")
                rows += meta.num_rows
            if rows != want:
                raise _fail(
                    f"{CARD}: {key} num_examples is {want} but the Parquet holds {rows} rows"
                )
            if tables[key].get("rows") != rows:
                raise _fail(f"{key}: {MANIFEST} tables says {tables[key].get('rows')} rows, "
                            f"the Parquet holds {rows}")  # fmt: skip
            read = []
            for rel in config.files[split]:
                table = pq.read_table(root / rel)
                for name, feature in config.features.items():
                    problem = _label_problem(table.column(name), feature, f"{rel} {name}")
                    if problem:
                        raise _fail(f"label out of range: {problem}")
                read.append(table)
            digest = table_sha256(pa.concat_tables(read), definition)
            del read
            if tables[key].get("content_sha256") != digest:
                raise _fail(f"{key}: content hash {digest} ({definition['name']} version "
                            f"{definition['version']}) differs from {MANIFEST} "
                            f"({tables[key].get('content_sha256')})")  # fmt: skip


@contextlib.contextmanager
def _quiet_progress() -> Iterator[None]:
    """No progress bars from ``datasets`` while verifying (the library never prints)."""
    import datasets

    was_disabled = datasets.are_progress_bars_disabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if not was_disabled:
            datasets.enable_progress_bars()


def check_loads(root: Path, card: list[CardConfig], cache: Path) -> dict[str, dict[str, int]]:
    """Step 4: ``load_dataset(root, config)`` of every config, split sizes checked."""
    from datasets import load_dataset

    loaded: dict[str, dict[str, int]] = {}
    with _quiet_progress():
        for config in card:
            try:
                ds = load_dataset(str(root), config.name, cache_dir=str(cache / config.name))
            except Exception as exc:  # any failure of the loader is the finding
                raise _fail(
                    f"load_dataset({str(root)!r}, {config.name!r}) failed: "
                    f"{type(exc).__name__}: {exc}"
                ) from None
            counts = {split: ds[split].num_rows for split in ds}
            features = {split: ds[split].features for split in ds}
            del ds
            if counts != config.splits:
                raise _fail(f"load_dataset of {config.name} gave splits {counts}, "
                            f"the card declares {config.splits}")  # fmt: skip
            for split, feats in features.items():
                if feats != config.features:
                    diff = _first_feature_difference(config.features, feats)
                    raise _fail(f"load_dataset of {config.name}/{split}: features differ: {diff}")
            loaded[config.name] = counts
    return loaded


@translate_os_errors
def verify_release(
    path: str | os.PathLike[str],
    *,
    cache_dir: Path | None = None,
    croissant_records: int | None = DEFAULT_RECORDS,
) -> VerifyReport:
    """Check every checksum, the card against the files, load every config, and check
    ``croissant.json`` with mlcroissant.

    ``load_dataset`` reads into a fresh temporary cache (created inside ``cache_dir`` when
    given) that is deleted afterwards, so a stale cache never hides a problem. mlcroissant
    reads every record when the release holds at most ``croissant_records`` rows (``None``:
    always), else that many per config. Raises :class:`ReleaseError` at the first difference.
    """
    root = Path(path).expanduser().resolve()
    if not root.is_dir():
        raise ReleaseError(f"{root} is not a release folder", hint="Pass the release's folder.")
    for name in (CARD, MANIFEST, CROISSANT, SUMS):
        if not (root / name).is_file():
            raise _fail(f"missing file {name} in {root}")
    manifest = read_manifest(root)
    files = check_files(root, manifest)
    card = read_card(root)
    check_tables(root, card, manifest)
    if cache_dir is not None:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
    cache = Path(tempfile.mkdtemp(prefix="corpus-verify-", dir=cache_dir)).resolve()
    try:
        loaded = check_loads(root, card, cache)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    croissant = check_croissant(root, files, card, records=croissant_records)
    text = manifest.get("text") or {}
    return VerifyReport(
        path=root,
        release=str(manifest.get("release", root.name)),
        files=sorted(files),
        configs=loaded,
        text=str(text.get("mode", "full")) if isinstance(text, dict) else "full",
        croissant=croissant,
    )


__all__ = ["VerifyReport", "verify_release"]
