"""`corpus release build`: an immutable release folder from a dataset version with gold.

The folder is what ``datasets.load_dataset(folder, config)`` reads: one Parquet file per
config and split (``<config>/<split>-00000-of-00001.parquet``, the Hub's names) and a
``README.md`` card whose YAML declares the configs, features (ClassLabel names) and split
sizes. Beside them: ``manifest.json`` (checksums, lineage, split seed and assignment),
``croissant.json`` (Croissant 1.1 + RAI), ``SHA256SUMS`` and ``CHANGELOG.md``. It is built in
a temporary folder and renamed into place; an existing release is never overwritten.

The stages are separate: reading the version, the split (:mod:`corpus.release.links`,
:mod:`corpus.release.splits`), the rows (:mod:`corpus.release.rows`), the gates
(:mod:`corpus.release.gates`) and the writing (:mod:`corpus.release.writer`).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from corpus.about import __version__
from corpus.engines import check_engine, engine_session
from corpus.engines.rows import read_rows, read_table
from corpus.errors import ReleaseError, ReleaseGateError, translate_os_errors
from corpus.label_schema import AnnotationSchema, load_schema
from corpus.labels.gold import effective_gold
from corpus.neardup.components import group_components
from corpus.progress import Progress, ProgressCallback, Steps, drive
from corpus.release import content_hash, gates, links, tables
from corpus.release.rows import labels_by_document, release_rows
from corpus.release.splits import DEFAULT_RATIOS, SPLITS, check_ratios, stratify
from corpus.release.tables import TEXT_MODES, TextMode
from corpus.release.verify import check_files, check_tables, read_card, read_manifest
from corpus.release.writer import ReleaseWriter, check_new_folder, remove_leftovers, shard_path
from corpus.rounds.schemas import schema_history
from corpus.rounds.state import round_order
from corpus.store import Store, as_store, lineage, parse_version, version_folders

REHYDRATE_CARD = ".rehydrate/README.md"  # the card of the full release, for rehydration


@dataclass
class ReleaseResult:
    release: str
    path: Path
    version: str
    rows: dict[str, dict[str, int]] = field(default_factory=dict)  # config -> split -> rows
    forced: list[str] = field(default_factory=list)
    alignment: dict[str, Any] = field(default_factory=dict)
    changelog: str = ""
    text: str = "full"
    splits: dict[str, Any] = field(default_factory=dict)  # units, links, gaps, conflicts
    warnings: list[str] = field(default_factory=list)  # e.g. stray folders in releases/

    def to_dict(self) -> dict[str, Any]:
        return {
            "release": self.release,
            "path": str(self.path),
            "version": self.version,
            "text": self.text,
            "rows": self.rows,
            "splits": self.splits,
            "forced": self.forced,
            "alignment": self.alignment,
            "warnings": self.warnings,
        }


def releases_dir(store: Store) -> Path:
    return store.root / "releases"


def previous_release(
    store: Store, release: str, explicit: Path | None, warnings: list[str] | None = None
) -> Path | None:
    """The newest release below ``release`` in the store (or the one named). Folders of
    ``releases/`` whose name is not a version number are ignored, each with a line in
    ``warnings``."""
    if explicit is not None:
        return explicit
    folder = releases_dir(store)
    found = version_folders(folder)
    if warnings is not None:
        warnings += found.warnings(folder)
    older = [
        folder / name
        for name in found.versions
        if (folder / name / "manifest.json").is_file()
        and parse_version(name) < parse_version(release)
    ]
    return older[-1] if older else None


def _previous_groups(prev_dir: Path | None) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The previous release's manifest and split of groups, after verifying the release
    (checksums, the card against the files, row counts and content hashes): the splits of
    an edited release are never inherited."""
    if prev_dir is None:
        return None, {}
    verify_previous(prev_dir)
    path = prev_dir / "manifest.json"
    try:
        prev = json.loads(path.read_text(encoding="utf-8"))
        groups = prev["split"]["groups"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ReleaseError(
            f"cannot read the split of the previous release from {path}: {exc}",
            hint="Pass --previous DIR with an intact release folder (its splits are kept).",
        ) from None
    bad = sorted(g for g, s in groups.items() if s not in SPLITS)
    if bad:
        raise ReleaseError(
            f"{path} places group {bad[0]} in unknown split {groups[bad[0]]!r}",
            hint="Restore that release folder from its published copy.",
        )
    return prev, groups


def verify_previous(prev_dir: Path) -> None:
    """:func:`corpus.release.verify.verify_release`'s checks without loading the data
    (checksums, the card, Parquet row counts and content hashes), as a clear error naming
    the previous release."""
    try:
        manifest = read_manifest(prev_dir)
        check_files(prev_dir, manifest)
        check_tables(prev_dir, read_card(prev_dir), manifest)
    except (ReleaseError, OSError) as exc:
        why = exc.message if isinstance(exc, ReleaseError) else str(exc)
        raise ReleaseError(
            f"the previous release {prev_dir} does not verify, so its splits are not "
            f"inherited: {why}",
            hint="Restore that release from its published copy (`corpus release verify "
            f"{prev_dir}` names what differs), or pass --previous DIR with an intact one.",
        ) from None


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
    text: TextMode = "full",
    keep_titles: bool = False,
    license: str = "cc-by-4.0",
    pretty_name: str = "US–China economic cooperation stance corpus",
    url: str | None = None,
    creators: Sequence[str] = (),
    citation: str | None = None,
    engine: str = "local",
    ray_address: str | None = None,
    progress: ProgressCallback | None = None,
) -> ReleaseResult:
    """Build release ``release`` (X.Y.Z) of dataset ``version``; see the module doc.

    ``force`` (a reason) overrides failed gates and is recorded in the manifest and card.
    ``text="none"`` leaves every article text out (and the titles, unless ``keep_titles``):
    offsets, labels, ``text_sha256`` and sources only; :func:`rehydrate_release` puts the
    text back from the user's own copies. ``url``, ``creators`` and ``citation`` go into
    the card and ``croissant.json`` (a BibTeX entry is made up when no citation is given).
    ``engine="ray"`` reads the released documents' rows out of the corpus-sized tables
    with Ray tasks (:func:`corpus.engines.rows.read_rows`); the rest is the same.
    """
    check_engine(engine)
    if text not in TEXT_MODES:
        raise ValueError(f"text must be one of {', '.join(TEXT_MODES)}, not {text!r}")
    from corpus.release.facts import check_creator, check_url

    url = None if url is None else check_url(url)
    creators = [check_creator(c) for c in creators]
    store = as_store(store)
    settings = {"ratios": check_ratios(ratios), "seed": seed, "force": force, "text": text,
                "titles": keep_titles or text == "full", "license": license,
                "pretty_name": pretty_name, "url": url, "creators": list(creators),
                "citation": citation, "engine": (engine, ray_address)}  # fmt: skip
    steps = _build(store, schema or load_schema(), version, release, out, previous, settings)
    with store.lock(), no_cycle_collection():  # one writer at a time
        return drive(steps, progress)


@contextlib.contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector off for a while: a build makes millions of small objects and
    no reference cycles, and the collector scanned them again and again (about 40% of the
    build's time on the release benchmark). Reference counting still frees everything."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _build(
    store: Store,
    schema: AnnotationSchema,
    version: str,
    release: str,
    out: Path | None,
    previous: Path | None,
    settings: dict[str, Any],
) -> Steps[ReleaseResult]:
    parse_version(release)
    target = out or releases_dir(store) / release
    check_new_folder(target)
    home = releases_dir(store).resolve()
    if target.resolve().is_relative_to(home) and target.resolve() != home / release:
        raise ReleaseError(
            f"{target} is inside the store's releases folder {home} but is not the folder of "
            f"release {release}: the store reads that folder as releases by their number",
            hint=f"Leave out --out (the release goes to {home / release}), or pass a folder "
            "outside the store's releases.",
        )
    if "gold_annotations" not in store.manifest(version).tables:
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
    engine, address = settings["engine"]
    with engine_session(engine, address):  # one Ray session for both tables
        found = read_rows(store, version, "documents", stance_of, engine=engine, address=address)
        docs = {d["doc_id"]: {**d, "provenance": provenance[d["doc_id"]]} for d in found}
        sentences = read_table(store, version, "sentences", docs, engine=engine, address=address)
    if sentences is None:
        raise ReleaseError(f"version {version} has no sentences table", hint="Re-ingest it.")
    spans_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in gold_spans:
        spans_of[s["doc_id"]].append(s)
    raw_annotations = [a for a in _rows(store, version, "annotations") if a["doc_id"] in docs]
    raw_spans = [s for s in _rows(store, version, "spans") if s["doc_id"] in docs]

    yield Progress("split", f"placing {len(docs)} documents in splits")
    warnings: list[str] = []
    prev, prev_groups = _previous_groups(previous_release(store, release, previous, warnings))
    pairs = links.near_duplicate_pairs(store, version, docs)
    labels = {d: links.document_labels(stance_of[d], spans_of.get(d, [])) for d in docs}
    groups = {d: docs[d]["dup_group"] for d in docs}
    roots = group_components(store, version, set(groups.values()))  # merges ingest recorded
    units = links.release_units(groups, labels, pairs, roots)
    assignment = stratify(units, ratios=settings["ratios"], seed=settings["seed"],
                          previous=prev_groups)  # fmt: skip
    group_split = assignment.group_splits(units)
    empty = [s for s in SPLITS if s not in assignment.splits.values()]
    if empty:
        raise ReleaseError(
            f"{len(units)} document group(s) cannot fill {', '.join(SPLITS)}: "
            f"{', '.join(empty)} would be empty, and datasets cannot load an empty split",
            hint="Adjudicate more documents (each split needs at least one group).",
        )
    split_of = {d: group_split[docs[d]["dup_group"]] for d in docs}

    yield Progress("rows", f"building rows for {len(docs)} documents")
    rows = release_rows(
        docs, split_of, stance_of, spans_of, sentences, raw_annotations, raw_spans, schema,
        text=settings["text"], titles=settings["titles"],
    )  # fmt: skip
    del sentences

    all_spans = [*(s for v in spans_of.values() for s in v), *raw_spans]
    not_annotated = gates.unannotated(schema, gold_spans, raw_spans)
    failures = [
        *gates.unknown_labels(schema, gold, gold_spans, raw_annotations, raw_spans),
        *gates.data_gates(store, version, docs, split_of, all_spans, pairs),
        *gates.stability_gate(assignment, release, prev["release"] if prev else None),
        *gates.label_gates(units, assignment, schema, skip=not_annotated),
        *gates.privacy_gate(rows.leaks),
    ]
    if failures and not settings["force"]:
        raise ReleaseGateError(
            "the release gates failed:\n" + "\n".join(f"  - {f}" for f in failures),
            gates=[f.to_dict() for f in failures],
            hint="Fix the data, or pass --force REASON to override "
            "(the reason is recorded in the manifest and the card).",
        )
    cross_links = {
        (docs[a]["dup_group"], docs[b]["dup_group"])
        for a, b in pairs
        if docs[a]["dup_group"] != docs[b]["dup_group"]
    }
    split_meta = {
        "seed": settings["seed"], "ratios": list(settings["ratios"]),
        "method": "iterative stratification (Sechidis et al. 2011) of near-duplicate "
        "components on stance, issue and span-stance labels",
        "previous_release": prev["release"] if prev else None,
        "units": len(units), "links": len(cross_links),
        "labels": len({x for u in units for x in u.labels}),
        "uncovered": [f"{links.describe(x)} in {s}" for x, s in assignment.uncovered],
        "scarce": {links.describe(x): n for x, n in assignment.scarce.items()},
        "conflicts": assignment.conflicts,
        "not_annotated": not_annotated,
        "groups": group_split,
        "documents": split_of,
    }  # fmt: skip
    path = yield from _write(store, schema, version, release, target, rows, split_meta,
                             failures, settings, prev, warnings)  # fmt: skip
    report = rows.report
    return ReleaseResult(
        release=release,
        path=path,
        version=version,
        rows={k: {s: info["rows"] for s, info in v.items()} for k, v in _by_config(rows.tables)},
        forced=[str(f) for f in failures] if settings["force"] else [],
        alignment={
            "spans": report.spans,
            "across_sentences": report.across_sentences,
            "unaligned": len(report.unaligned),
        },
        changelog=(path / "CHANGELOG.md").read_text(encoding="utf-8"),
        text=settings["text"],
        splits={k: split_meta[k] for k in ("units", "links", "uncovered", "scarce", "conflicts")},
        warnings=warnings,
    )


def _by_config(info: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, dict[str, Any]]]]:
    out: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for key, value in info.items():
        config, split = key.split("/")
        out[config][split] = value
    return list(out.items())


def _write(
    store: Store,
    schema: AnnotationSchema,
    version: str,
    release: str,
    target: Path,
    rows: Any,
    split_meta: dict[str, Any],
    failures: list[gates.GateFailure],
    settings: dict[str, Any],
    prev: dict[str, Any] | None,
    warnings: list[str],
) -> Steps[Path]:
    from corpus.release.card import label_distribution, render_card, render_changelog
    from corpus.release.croissant import release_croissant
    from corpus.release.facts import describe, store_facts

    text, titles = settings["text"], settings["titles"]
    feats = tables.features(schema, text=text, titles=titles)
    chain = lineage(store, version)
    extras = [store.manifest(v).extra for v in chain]
    meta: dict[str, Any] = {
        "release": release,
        "version": version,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "tool_version": __version__,
        "schema_hash": schema.hash(),
        "schema_history": schema_history(store),
        "lineage": chain,
        "rounds": sorted({str(r) for e in extras if isinstance(r := e.get("round"), str)}),
        "simulated": any(bool(e.get("simulated")) for e in extras),
        "text": {"mode": text, "titles": titles},
        "split": split_meta,
        "forced": {"reason": settings["force"], "gates": [str(f) for f in failures]}
        if failures
        else None,
        "alignment": {
            "spans": rows.report.spans,
            "across_sentences": rows.report.across_sentences,
            "unaligned": rows.report.unaligned,
        },
        "content_hash": content_hash.CURRENT,  # the definition of tables' content_sha256
        "tables": rows.tables,
        "labels": labels_by_document(rows.rows),
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(target.parent)
    with ReleaseWriter(target, name=release) as writer:
        yield Progress("write", "writing Parquet")
        for config in tables.CONFIGS:
            for split in SPLITS:
                writer.parquet(config, split, rows.table(config, split), feats[config])
        yield Progress("card", "rendering the dataset card and croissant.json")
        facts = store_facts(store, schema, meta["rounds"], writer.tmp, warnings)
        info = {k: settings[k] for k in ("pretty_name", "license", "url", "creators", "citation")}
        meta["metadata"], meta["rai"] = describe(meta, schema, facts, **info)
        meta["card"] = facts
        writer.text("CHANGELOG.md", render_changelog(meta, prev))
        distribution = label_distribution(rows.rows["documents"], schema)
        card = render_card(schema, meta, writer.sizes, feats, distribution=distribution,
                           facts=facts)  # fmt: skip
        writer.text("README.md", card)
        if text == "none":
            full = {**meta, "text": {"mode": "full", "titles": True, "rehydrated_from": release}}
            full["metadata"] = describe(full, schema, facts, **info)[0]
            meta["text"]["full_metadata"] = full["metadata"]
            meta["text"]["full_tables"] = rows.full_tables
            sizes = {c: {s: (n, 0) for s, (n, _) in v.items()} for c, v in writer.sizes.items()}
            full_card = render_card(schema, full, sizes, tables.features(schema),
                                    distribution=distribution, facts=facts)  # fmt: skip
            writer.text(REHYDRATE_CARD, full_card)
        paths = {c: {s: shard_path(c, s) for s in SPLITS} for c in tables.CONFIGS}
        return writer.seal(meta, lambda files: release_croissant(meta, feats, files, paths))
