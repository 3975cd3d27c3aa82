"""`corpus release build`: an immutable release folder from a dataset version with gold.

The folder is what ``datasets.load_dataset(folder, config)`` reads: one Parquet file per
config and split (``<config>/<split>-00000-of-00001.parquet``, the Hub's names) and a
``README.md`` card whose YAML declares the configs, features (ClassLabel names) and split
sizes. Beside them: ``manifest.json`` (checksums, lineage, split seed and assignment),
``SHA256SUMS`` and ``CHANGELOG.md``. It is built in a temporary folder and renamed into
place; an existing release is never overwritten.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from corpus.about import __version__
from corpus.adjudication.precedence import effective_gold
from corpus.atomic import fsync_dir
from corpus.engines import check_engine
from corpus.engines.rows import read_rows
from corpus.errors import ReleaseError, translate_os_errors
from corpus.faults import fault_point
from corpus.ids import canonical_json, file_sha256, hash_hex, sha256_int
from corpus.label_schema import AnnotationSchema, load_schema
from corpus.progress import Progress, ProgressCallback, Steps, drive
from corpus.release import tables
from corpus.release.gates import check_gates, lineage, unknown_labels
from corpus.release.splits import DEFAULT_RATIOS, SPLITS, Group, assign_splits, check_ratios
from corpus.rounds.schemas import schema_history
from corpus.rounds.state import round_order
from corpus.store import Store, as_store, parse_version

TMP_PREFIX = ".tmp-release-"
_SEMVER = re.compile(r"^\d+\.\d+\.\d+$")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


@dataclass
class ReleaseResult:
    release: str
    path: Path
    version: str
    rows: dict[str, dict[str, int]] = field(default_factory=dict)  # config -> split -> rows
    forced: list[str] = field(default_factory=list)
    alignment: dict[str, Any] = field(default_factory=dict)
    changelog: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "release": self.release,
            "path": str(self.path),
            "version": self.version,
            "rows": self.rows,
            "forced": self.forced,
            "alignment": self.alignment,
        }


def releases_dir(store: Store) -> Path:
    return store.root / "releases"


def previous_release(store: Store, release: str, explicit: Path | None) -> Path | None:
    """The newest release below ``release`` in the store (or the one named)."""
    if explicit is not None:
        return explicit
    folder = releases_dir(store)
    if not folder.is_dir():
        return None
    older = [
        p
        for p in folder.iterdir()
        if _SEMVER.match(p.name)
        and (p / "manifest.json").is_file()
        and parse_version(p.name) < parse_version(release)
    ]
    return max(older, key=lambda p: parse_version(p.name)) if older else None


def remove_leftovers(folder: Path) -> list[Path]:
    """Temporary release folders of killed builds (the caller holds the store lock)."""
    found = sorted(folder.glob(f"{TMP_PREFIX}*")) if folder.is_dir() else []
    for path in found:
        shutil.rmtree(path, ignore_errors=True)
    return found


def _rows(store: Store, version: str, table: str) -> list[dict[str, Any]]:
    if table not in store.manifest(version).tables:
        return []
    return list(store.iter_rows(version, table))


@translate_os_errors
def build_release(
    store: Store | str | os.PathLike[str],
    version: str,
    *,
    release: str,
    schema: AnnotationSchema | None = None,
    out: Path | None = None,
    ratios: tuple[float, float, float] = DEFAULT_RATIOS,
    seed: int = 0,
    force: str | None = None,
    previous: Path | None = None,
    license: str = "cc-by-4.0",
    pretty_name: str = "US–China economic cooperation stance corpus",
    engine: str = "local",
    ray_address: str | None = None,
    progress: ProgressCallback | None = None,
) -> ReleaseResult:
    """Build release ``release`` (X.Y.Z) of dataset ``version``; see the module doc.

    ``force`` (a reason) overrides failed gates and is recorded in the manifest and card.
    ``engine="ray"`` reads the released documents' rows out of the corpus-sized tables
    with Ray tasks (:func:`corpus.engines.rows.read_rows`); the rest is the same.
    """
    check_engine(engine)
    store = as_store(store)
    steps = _build(
        store,
        schema or load_schema(),
        version,
        release,
        out=out,
        ratios=check_ratios(ratios),
        seed=seed,
        force=force,
        previous=previous,
        license=license,
        pretty_name=pretty_name,
        engine=(engine, ray_address),
    )
    with store.lock():  # one writer at a time: leftovers of killed builds go safely
        return drive(steps, progress)


def _build(
    store: Store,
    schema: AnnotationSchema,
    version: str,
    release: str,
    *,
    out: Path | None,
    ratios: tuple[float, float, float],
    seed: int,
    force: str | None,
    previous: Path | None,
    license: str,
    pretty_name: str,
    engine: tuple[str, str | None] = ("local", None),
) -> Steps[ReleaseResult]:
    from corpus.release.card import render_card, render_changelog

    parse_version(release)
    target = out or releases_dir(store) / release
    if target.exists():
        raise ReleaseError(
            f"{target} already exists; a release is never overwritten",
            hint="Pick a new release number (releases are immutable).",
        )
    manifest = store.manifest(version)
    if "gold_annotations" not in manifest.tables:
        raise ReleaseError(
            f"version {version} has no gold annotations",
            hint="Run `corpus adjudicate ROUND` and release the version it writes.",
        )
    yield Progress("read", f"reading version {version}")
    gold, gold_spans = effective_gold(  # one decision per document, across rounds
        _rows(store, version, "gold_annotations"),
        _rows(store, version, "gold_spans"),
        round_order(store.root),
    )
    stance_of = {g["doc_id"]: g["stance"] for g in gold}
    provenance = {g["doc_id"]: (g["round"], g["decided_by"]) for g in gold}
    # the engine hook: the rows of the released documents, out of the corpus-sized tables
    read = functools.partial(read_rows, store, version, engine=engine[0], address=engine[1])
    docs = {d["doc_id"]: d for d in read("documents", stance_of)}
    sentences: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in read("sentences", docs):
        sentences[s["doc_id"]].append(s)
    spans_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in gold_spans:
        spans_of[s["doc_id"]].append(s)
    raw_annotations = [a for a in _rows(store, version, "annotations") if a["doc_id"] in docs]
    raw_spans = [s for s in _rows(store, version, "spans") if s["doc_id"] in docs]

    # splits -------------------------------------------------------------------------------
    prev_dir = previous_release(store, release, previous)
    prev = json.loads((prev_dir / "manifest.json").read_text()) if prev_dir else None
    prev_groups: dict[str, str] = prev["split"]["groups"] if prev else {}
    members: dict[str, list[str]] = defaultdict(list)
    for doc_id, d in docs.items():
        members[d["dup_group"]].append(doc_id)
    groups = [
        Group(g, Counter(str(stance_of[d]) for d in ds).most_common(1)[0][0], len(ds))
        for g, ds in sorted(members.items())
    ]
    group_split = assign_splits(groups, ratios=ratios, seed=seed, previous=prev_groups)
    empty = [s for i, s in enumerate(SPLITS) if ratios[i] > 0 and s not in group_split.values()]
    if empty:
        raise ReleaseError(
            f"{len(groups)} document group(s) cannot fill {', '.join(SPLITS)}: "
            f"{', '.join(empty)} would be empty, and datasets cannot load an empty split",
            hint="Adjudicate more documents (each split needs at least one group).",
        )
    split_of = {d: group_split[docs[d]["dup_group"]] for d in docs}

    # rows -----------------------------------------------------------------------------------
    yield Progress("rows", f"building rows for {len(docs)} documents")
    report = tables.AlignmentReport()
    by_split: dict[str, dict[str, list[dict[str, Any]]]] = {
        c: {s: [] for s in SPLITS} for c in tables.CONFIGS
    }
    for doc_id in sorted(docs):
        doc, split = docs[doc_id], split_of[doc_id]
        spans = spans_of.get(doc_id, [])
        by_split["documents"][split].append(
            tables.document_row(
                doc, stance_of[doc_id], spans, schema, provenance=provenance[doc_id]
            )
        )
        sents = sorted(sentences[doc_id], key=lambda s: s["index"])
        srows = tables.sentence_rows(doc, sents, stance_of[doc_id], spans, schema, report)
        by_split["sentences"][split].extend(srows)
        by_split["tokens"][split].extend(
            tables.token_row(sent, row, schema, report)
            for sent, row in zip(sents, srows, strict=True)
        )
    for row in tables.raw_rows(raw_annotations, raw_spans, schema):
        by_split["raw_annotations"][split_of[row["doc_id"]]].append(row)

    # content hashes (and the privacy check, on the same canonical JSON) ----------------------
    table_info: dict[str, dict[str, Any]] = {}
    leaks: list[str] = []
    for config, splits in by_split.items():
        for split, rows in splits.items():
            total = 0
            for row in rows:
                text = canonical_json(row)
                total += sha256_int(text)
                if "@" in text and EMAIL.search(text):
                    leaks.append(f"{config}/{split}")
            table_info[f"{config}/{split}"] = {"rows": len(rows), "content_sha256": hash_hex(total)}

    # gates ----------------------------------------------------------------------------------
    failures = unknown_labels(schema, gold, gold_spans, raw_annotations, raw_spans)
    failures += check_gates(store, version, docs, split_of, spans_of, raw_spans, by_split, schema)
    failures += [f"privacy: an e-mail address appears in {where}" for where in sorted(set(leaks))]
    if failures and not force:
        raise ReleaseError(
            "the release gates failed:\n" + "\n".join(f"  - {f}" for f in failures),
            hint="Fix the data, or pass --force REASON to override "
            "(the reason is recorded in the manifest and the card).",
        )

    # write ----------------------------------------------------------------------------------
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(target.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{release}-", dir=target.parent))
    try:
        yield Progress("write", "writing Parquet")
        feats = tables.features(schema)
        files: dict[str, dict[str, Any]] = {}
        sizes: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
        for config in tables.CONFIGS:
            (tmp / config).mkdir()
            for split in SPLITS:
                rows = by_split[config][split]
                rel = f"{config}/{split}-00000-of-00001.parquet"
                n_bytes = _write_parquet(rows, feats[config], tmp / rel)
                sizes[config][split] = (len(rows), n_bytes)
                files[rel] = {"rows": len(rows)}
                fault_point("release:writing")
        chain = lineage(store, version)
        rounds = sorted(
            {str(r) for v in chain if isinstance(r := store.manifest(v).extra.get("round"), str)}
        )
        simulated = any(store.manifest(v).extra.get("simulated") for v in chain)
        meta = {
            "release": release,
            "version": version,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "tool_version": __version__,
            "schema_hash": schema.hash(),
            "schema_history": schema_history(store),
            "lineage": chain,
            "rounds": rounds,
            "simulated": bool(simulated),
            "split": {
                "seed": seed,
                "ratios": list(ratios),
                "previous_release": prev["release"] if prev else None,
                "groups": group_split,
                "documents": split_of,
            },
            "forced": {"reason": force, "gates": failures} if failures else None,
            "alignment": {
                "spans": report.spans,
                "across_sentences": report.across_sentences,
                "unaligned": report.unaligned,
            },
            "tables": table_info,
        }
        meta["labels"] = {
            r["doc_id"]: [r["stance"], len(r["spans"])]
            for rows in by_split["documents"].values()
            for r in rows
        }
        changes = render_changelog(meta, prev)
        (tmp / "CHANGELOG.md").write_text(changes, encoding="utf-8")
        yield Progress("card", "rendering the dataset card")
        card = render_card(
            store, schema, meta, sizes, feats, pretty_name=pretty_name, license=license, out=tmp
        )
        (tmp / "README.md").write_text(card, encoding="utf-8")
        for path in sorted(p for p in tmp.rglob("*") if p.is_file()):
            rel = path.relative_to(tmp).as_posix()
            files.setdefault(rel, {})["sha256"] = file_sha256(path)
            files[rel]["bytes"] = path.stat().st_size
        meta["files"] = files
        (tmp / "manifest.json").write_text(
            json.dumps(meta, indent=2, ensure_ascii=False) + "\n", "utf-8"
        )
        sums = [f"{file_sha256(p)}  {p.relative_to(tmp).as_posix()}"
                for p in sorted(tmp.rglob("*")) if p.is_file()]  # fmt: skip
        (tmp / "SHA256SUMS").write_text("\n".join(sums) + "\n", encoding="utf-8")
        for path in tmp.rglob("*"):
            if path.is_file():
                path.chmod(0o444)
                _fsync(path)
        for path in [*(p for p in tmp.rglob("*") if p.is_dir()), tmp]:
            fsync_dir(path)
        fault_point("release:before-rename")
        tmp.rename(target)
        fsync_dir(target.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ReleaseResult(
        release=release,
        path=target,
        version=version,
        rows={c: {s: n for s, (n, _) in v.items()} for c, v in sizes.items()},
        forced=failures if force else [],
        alignment={
            "spans": report.spans,
            "across_sentences": report.across_sentences,
            "unaligned": len(report.unaligned),
        },
        changelog=changes,
    )


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_parquet(rows: list[dict[str, Any]], features: Any, path: Path) -> int:
    """Rows in the Arrow schema of ``features``, whose metadata carries the ClassLabel names
    (what ``Dataset.to_parquet`` writes, without its per-value encoding and progress bar).
    Label ids are already integers here: the row builders map names to ids."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(rows, schema=features.arrow_schema)
    pq.write_table(table, str(path))
    return int(table.nbytes)
