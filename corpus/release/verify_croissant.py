"""Step 5 of `corpus release verify`: ``croissant.json`` checked with ``mlcroissant``.

1. every file of the release but ``croissant.json`` and ``SHA256SUMS`` is a ``cr:FileObject``
   with its sha256 and size, and nothing else is (mlcroissant itself does not check the
   sha256 of files it reads through a FileSet);
2. ``mlcroissant`` validates the file without errors (its warnings are reported);
3. one record set per config, its fields the card's columns (after the split field);
4. records read through ``mlcroissant``: every record of every config, counted per split
   against the card, when the release holds at most ``records`` rows (``None``: always);
   above that, the first ``records`` of each config (mlcroissant yields about 5,000 records
   a second: reading a million takes minutes), and the report says so.

``mlcroissant`` (with pandas and rdflib) is imported only here. Its warnings about its own
dependencies (rdflib's ConjunctiveGraph, pandas' reset_index) are silenced narrowly and its
log messages are kept from the terminal: the library never prints.
"""

from __future__ import annotations

import contextlib
import json
import logging
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from corpus.errors import ReleaseError
from corpus.release.writer import CROISSANT, SUMS

DEFAULT_RECORDS = 100_000
_HINT = (
    "croissant.json does not describe this release. Rebuild the release with "
    "`corpus release build`, or restore the published copy; never edit a release by hand."
)


def _fail(message: str) -> ReleaseError:
    return ReleaseError(message, hint=_HINT)


@contextlib.contextmanager
def quiet_mlcroissant() -> Iterator[None]:
    """mlcroissant's dependency warnings off (only these), its log kept from stderr."""
    logger = logging.getLogger("absl")
    level = logger.level
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", "ConjunctiveGraph is deprecated", DeprecationWarning, "rdflib"
        )
        warnings.filterwarnings(
            "ignore", "The inplace keyword in DataFrame.reset_index", DeprecationWarning
        )
        logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            logger.setLevel(level)


def check_croissant(
    root: Path,
    files: dict[str, dict[str, Any]],
    configs: Sequence[Any],
    *,
    records: int | None = DEFAULT_RECORDS,
) -> dict[str, Any]:
    """Check ``root/croissant.json`` (see the module docstring); ``files``: path -> sha256
    and bytes of every file checked in step 1; ``configs``: the card's configs."""
    path = root / CROISSANT
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _fail(f"cannot read {path}: {exc}") from None
    objects = {d.get("@id"): d for d in doc.get("distribution", [])
               if d.get("@type") == "cr:FileObject"}  # fmt: skip
    expected = {rel: info for rel, info in files.items() if rel not in (CROISSANT, SUMS)}
    for rel in sorted(set(objects) | set(expected)):
        if rel not in objects:
            raise _fail(f"{CROISSANT} does not list the file {rel}")
        if rel not in expected:
            raise _fail(f"{CROISSANT} lists {rel}, which is not a file of the release")
        got = objects[rel]
        if got.get("sha256") != expected[rel]["sha256"]:
            raise _fail(f"{CROISSANT} has sha256 {got.get('sha256')} for {rel}, the file "
                        f"{expected[rel]['sha256']}")  # fmt: skip
        if got.get("contentSize") != f"{expected[rel]['bytes']} B":
            raise _fail(f"{CROISSANT} gives {rel} a size of {got.get('contentSize')}, the file "
                        f"has {expected[rel]['bytes']} B")  # fmt: skip
    import mlcroissant as mlc

    with quiet_mlcroissant():
        try:
            dataset = mlc.Dataset(jsonld=str(path))
        except mlc.ValidationError as exc:
            raise _fail(f"mlcroissant does not validate {CROISSANT}: {exc}") from None
        issues = dataset.metadata.ctx.issues
        sets = {r.uuid: r for r in dataset.metadata.record_sets}
        total = sum(sum(c.splits.values()) for c in configs)
        full = records is None or total <= records
        counts: dict[str, dict[str, int]] = {}
        for config in configs:
            if config.name not in sets:
                raise _fail(f"{CROISSANT} has no record set for config {config.name}")
            names = [f.name for f in sets[config.name].fields]
            if names != ["split", *config.features]:
                raise _fail(f"{CROISSANT} record set {config.name} has the fields {names}, the "
                            f"card {['split', *config.features]}")  # fmt: skip
            counts[config.name] = _count(dataset, config.name, None if full else records)
            if full and counts[config.name] != config.splits:
                raise _fail(f"mlcroissant reads {counts[config.name]} records of "
                            f"{config.name}, the card declares {config.splits}")  # fmt: skip
    return {
        "warnings": sorted(issues.warnings),
        "records": counts,
        "all_records": full,
        "note": None if full else (
            f"read the first {records:,} records of each config through mlcroissant (the "
            f"release holds {total:,}: reading all takes minutes); pass records=None "
            "(--croissant-records all) to count every one"
        ),
    }  # fmt: skip


def _count(dataset: Any, record_set: str, limit: int | None) -> dict[str, int]:
    counts: Counter[str] = Counter()
    split_field = f"{record_set}/split"
    try:
        for n, record in enumerate(dataset.records(record_set), 1):
            split = record[split_field]
            counts[split.decode() if isinstance(split, bytes) else str(split)] += 1
            if limit is not None and n >= limit:
                break
    except Exception as exc:  # any failure of the reader is the finding
        raise _fail(
            f"mlcroissant cannot read the records of {record_set}: {type(exc).__name__}: {exc}"
        ) from None
    return dict(counts)
