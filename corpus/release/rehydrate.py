"""`corpus release rehydrate DIR --from SOURCES --out DIR2`: the text back into a release.

An offsets-only release (``corpus release build --text none``) holds every offset and label,
each document's ``text_sha256`` and where it came from, but no text. Rehydration reads the
user's own copies of the articles with the ingest readers (``.txt``/``.md``, ``.jsonl``,
``.csv``, ``.parquet``, the same ``--field`` mapping and encoding), normalises each record
exactly as ingest does, and matches it to a document:

1. by content id: the id computed from the normalised title and text is the doc_id;
2. else by source id: the record's ``id`` field (``external_id``), or its file (the longest
   matching tail of the path stored at ingest) and record number. A document found only
   this way has another text or title than the one released: it is reported as changed.

Then every ``text_sha256`` and every offset (sentences, tokens, spans) is checked against
the text, the full tables are rebuilt and their content hashes compared with the ones the
build recorded for the full-text release. Any document missing or changed stops it with
:class:`~corpus.errors.RehydrateError` listing them; nothing is written. The
result is written like a build (:class:`~corpus.release.writer.ReleaseWriter`): the full
tables, the card of the full release (made at build time, its sizes filled in now), the
changelog and plots, a manifest saying where it came from, croissant.json, SHA256SUMS.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePath
from typing import Any

from corpus.errors import RehydrateError, ReleaseError, translate_os_errors
from corpus.ids import content_id, text_sha256
from corpus.progress import Progress, ProgressCallback, Steps, drive
from corpus.release.build import REHYDRATE_CARD, no_cycle_collection
from corpus.release.content_hash import recorded_definition, table_sha256
from corpus.release.splits import SPLITS
from corpus.release.verify import check_files, read_card, read_manifest
from corpus.release.writer import MANIFEST, ReleaseWriter, check_new_folder, shard_path

_SOURCE_COLUMNS = ("doc_id", "title", "text_sha256", "source_path", "source_record",
                   "external_id")  # fmt: skip


@dataclass
class RehydrateResult:
    release: str
    source: Path
    path: Path
    documents: int
    records: int  # records read from the sources
    unused: int  # of them, records that are no document of the release
    skipped: list[dict[str, Any]] = field(default_factory=list)  # unreadable files, records
    rows: dict[str, dict[str, int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"release": self.release, "source": str(self.source), "path": str(self.path),
                "documents": self.documents, "records": self.records,
                "unused": self.unused, "skipped": self.skipped, "rows": self.rows}  # fmt: skip


@dataclass
class _Record:
    title: str
    text: str
    path: str
    number: int | None
    external_id: str | None


def _read_sources(sources: Sequence[Path], options: Any) -> Iterator[_Record | dict[str, Any]]:
    """Every record of the sources, normalised as ingest does; problems as dicts."""
    from corpus.ingestion.core import RawRecord, RecordProblem, clean_fields
    from corpus.ingestion.readers import (
        TEXT_SUFFIXES,
        TextFile,
        discover,
        iter_table_records,
        read_text_file,
    )

    files, problems = discover(list(sources))
    for p in problems:
        yield p.to_dict()
    for path in files:
        raws: Iterable[tuple[int | None, RawRecord | RecordProblem]]
        if path.suffix.lower() in TEXT_SUFFIXES:
            try:
                raws = [(None, read_text_file(TextFile(str(path)), options))]
            except RecordProblem as exc:
                raws = [(None, exc)]
        else:
            raws = iter_table_records(path, options)
        for number, raw in raws:
            try:
                if isinstance(raw, RecordProblem):
                    raise raw
                title, text = clean_fields(raw)
            except RecordProblem as exc:
                yield {"path": str(path), "record": number or None, "reason": exc.reason}
                continue
            yield _Record(title, text, raw.source_path, raw.source_record, raw.external_id)


def _tail(a: str, b: str) -> int:
    """How many trailing path components two paths share."""
    n = 0
    for x, y in zip(reversed(PurePath(a).parts), reversed(PurePath(b).parts), strict=False):
        if x != y:
            break
        n += 1
    return n


class _Matcher:
    """Documents of the release by content id, external id and (file name, record)."""

    def __init__(self, docs: Mapping[str, Mapping[str, Any]]) -> None:
        self.docs = docs
        self.by_external: dict[str, list[str]] = defaultdict(list)
        self.by_file: dict[tuple[str, int | None], list[str]] = defaultdict(list)
        for doc_id, d in docs.items():
            if d["external_id"]:
                self.by_external[d["external_id"]].append(doc_id)
            self.by_file[PurePath(d["source_path"]).name, d["source_record"]].append(doc_id)

    def by_source(self, r: _Record) -> str | None:
        if r.external_id and len(found := self.by_external.get(r.external_id, [])) == 1:
            return found[0]
        candidates = self.by_file.get((PurePath(r.path).name, r.number), [])
        scored = sorted(((_tail(r.path, self.docs[d]["source_path"]), d) for d in candidates),
                        reverse=True)  # fmt: skip
        if scored and (len(scored) == 1 or scored[0][0] > scored[1][0]):
            return scored[0][1]
        return None


@translate_os_errors
def rehydrate_release(
    release: str | os.PathLike[str],
    sources: Sequence[str | os.PathLike[str]],
    *,
    out: str | os.PathLike[str],
    fields: Mapping[str, str] | None = None,
    encoding: str = "utf-8",
    max_bytes: int = 50 * 1024 * 1024,
    progress: ProgressCallback | None = None,
) -> RehydrateResult:
    """Write the full release of an offsets-only ``release`` into ``out`` from the user's
    copies of the articles (files or folders, the formats ingest reads; ``fields`` maps
    column names as ``--field`` does). See the module docstring."""
    root = Path(release).expanduser().resolve()
    target = Path(out).expanduser().resolve()
    from corpus.ingestion.readers import ReadOptions

    options = ReadOptions(encoding=encoding, max_bytes=max_bytes, fields=fields)
    steps = _rehydrate(root, [Path(s) for s in sources], target, options)
    with no_cycle_collection():
        return drive(steps, progress)


def _rehydrate(
    root: Path,
    sources: list[Path],
    target: Path,
    options: Any,
) -> Steps[RehydrateResult]:
    import pyarrow.parquet as pq

    if not (root / MANIFEST).is_file():
        raise ReleaseError(f"{root} is not a release folder", hint="Pass the release's folder.")
    manifest = read_manifest(root)
    text_mode = manifest.get("text") or {}
    if text_mode.get("mode") != "none":
        raise ReleaseError(
            f"release {manifest.get('release')} at {root} already holds its text",
            hint="Rehydrate an offsets-only release (`corpus release build --text none`).",
        )
    check_new_folder(target)
    check_files(root, manifest)  # the offsets and hashes are what was built
    yield Progress("read", f"reading release {manifest['release']}")
    docs: dict[str, dict[str, Any]] = {}
    for split in SPLITS:
        table = pq.read_table(root / shard_path("documents", split))
        names = [c for c in _SOURCE_COLUMNS if c in table.column_names]
        for row in table.select(names).to_pylist():
            docs[row["doc_id"]] = row
    matcher = _Matcher(docs)
    found: dict[str, _Record] = {}  # by content id: the very title and text released
    differing: dict[str, list[dict[str, Any]]] = defaultdict(list)  # by source id only
    skipped: list[dict[str, Any]] = []
    records = unused = 0
    yield Progress("sources", f"reading {len(sources)} source path(s)")
    for r in _read_sources(sources, options):
        if isinstance(r, dict):
            skipped.append(r)
            continue
        records += 1
        doc_id = content_id(r.title, r.text)
        if doc_id in docs:
            found.setdefault(doc_id, r)
        elif (other := matcher.by_source(r)) is not None:
            differing[other].append(_difference(r, docs[other]))
        else:
            unused += 1
    changed = [c for d, cs in sorted(differing.items()) if d not in found for c in cs]
    missing = [
        {"doc_id": d, **{k: docs[d][k] for k in ("source_path", "source_record", "external_id")}}
        for d in sorted(set(docs) - set(found) - set(differing))
    ]
    if missing or changed:
        raise _problems(manifest, docs, missing, changed, skipped)
    yield Progress("rebuild", f"rebuilding the text of {len(docs)} documents")
    texts = {d: r.text for d, r in found.items()}
    titles = {d: r.title for d, r in found.items()}
    card = read_card(root, REHYDRATE_CARD)
    features = {c.name: c.features for c in card}
    tables = _rebuild(root, features, texts, titles, manifest)
    return (yield from _write(root, target, manifest, features, tables, records, unused, skipped))


def _difference(r: _Record, doc: Mapping[str, Any]) -> dict[str, Any]:
    """Why a record matched by its source id is not the document released."""
    where = r.path + (f" (record {r.number})" if r.number is not None else "")
    digest = text_sha256(r.text)
    if digest != doc["text_sha256"]:
        reason = f"its text differs (sha256 {digest[:12]}…, released {doc['text_sha256'][:12]}…)"
    else:
        reason = "its title differs from the one released"
    return {"doc_id": doc["doc_id"], "source": where, "reason": reason}


def _problems(
    manifest: dict[str, Any],
    docs: Mapping[str, Any],
    missing: list[dict[str, Any]],
    changed: list[dict[str, Any]],
    skipped: list[dict[str, Any]],
) -> RehydrateError:
    lines = [
        f"{len(missing) + len({c['doc_id'] for c in changed})} of {len(docs)} documents of "
        f"release {manifest['release']} cannot be rehydrated from these sources:"
    ]
    for m in missing[:10]:
        where = m["source_path"] + (f" record {m['source_record']}"
                                    if m["source_record"] is not None else "")  # fmt: skip
        lines.append(f"  - missing: {m['doc_id']} (ingested from {where})")
    for c in changed[:10]:
        lines.append(f"  - changed: {c['doc_id']} in {c['source']}: {c['reason']}")
    if len(missing) > 10 or len(changed) > 10:
        lines.append("  - … (--json lists them all)")
    if skipped:
        lines.append(f"  ({len(skipped)} source file(s) or record(s) could not be read)")
    return RehydrateError("\n".join(lines), missing=missing, changed=changed, skipped=skipped)


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise ReleaseError(
            f"offsets out of range: {what}",
            hint="The release or the sources do not match what was built; restore the "
            "release from its published copy (`corpus release verify` it).",
        )


def _rebuild(
    root: Path,
    features: Mapping[str, Any],
    texts: Mapping[str, str],
    titles: Mapping[str, str],
    manifest: dict[str, Any],
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """The full tables, every offset checked, each hash equal to the full build's."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    definition = recorded_definition(manifest)
    out: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(dict)
    expected = manifest["text"]["full_tables"]
    for split in SPLITS:
        read = {c: pq.read_table(root / shard_path(c, split)).to_pylist() for c in features}
        bounds: dict[tuple[str, int], tuple[int, int]] = {}
        for row in read["documents"]:
            text = texts[row["doc_id"]]
            for s in row["spans"]:
                _check(0 <= s["start"] < s["end"] <= len(text), f"a span of {row['doc_id']}")
            row["title"], row["text"] = titles[row["doc_id"]], text
        for row in read["sentences"]:
            start, end, doc = row["start"], row["end"], row["doc_id"]
            _check(0 <= start <= end <= len(texts[doc]), f"sentence {row['sentence_index']} "
                   f"of {doc}")  # fmt: skip
            for s in row["spans"]:
                _check(0 <= s["start"] < s["end"] <= end - start, f"a span in a sentence of {doc}")
            bounds[doc, row["sentence_index"]] = (start, end)
            row["text"] = texts[doc][start:end]
        for row in read["tokens"]:
            start, end = bounds[row["doc_id"], row["sentence_index"]]
            sentence = texts[row["doc_id"]][start:end]
            pairs = list(zip(row["token_start"], row["token_end"], strict=True))
            _check(all(0 <= a < b <= len(sentence) for a, b in pairs),
                   f"a token of {row['doc_id']}")  # fmt: skip
            row["tokens"] = [sentence[a:b] for a, b in pairs]
        for config, feats in features.items():
            rows = [{k: r[k] for k in feats} for r in read[config]]
            table = pa.Table.from_pylist(rows, schema=feats.arrow_schema)
            digest = table_sha256(table, definition)
            want = expected[f"{config}/{split}"]["content_sha256"]
            if digest != want:
                raise ReleaseError(
                    f"the rehydrated {config}/{split} differs from the full release "
                    f"(content hash {digest[:12]}…, recorded {want[:12]}…)",
                    hint="The sources normalise to other texts than the ones released; "
                    "rehydrate from the files that were ingested.",
                )
            out[config][split] = rows
    return dict(out)


def _write(
    root: Path,
    target: Path,
    manifest: dict[str, Any],
    features: Mapping[str, Any],
    tables: Mapping[str, Mapping[str, list[dict[str, Any]]]],
    records: int,
    unused: int,
    skipped: list[dict[str, Any]],
) -> Steps[RehydrateResult]:
    from corpus.release.card import front_matter, replace_front_matter
    from corpus.release.croissant import release_croissant

    yield Progress("write", f"writing {target}")
    text = manifest["text"]
    meta = {k: v for k, v in manifest.items() if k != "files"}
    meta["tables"] = text["full_tables"]
    meta["metadata"] = text["full_metadata"]
    meta["text"] = {
        "mode": "full", "titles": True, "rehydrated_from": manifest["release"],
        "rehydrated": {"at": datetime.now(UTC).isoformat(timespec="seconds"),
                       "records_read": records, "records_unused": unused},
    }  # fmt: skip
    with ReleaseWriter(target, name=f"{manifest['release']}-rehydrated") as writer:
        for config, splits in tables.items():
            for split, rows in splits.items():
                writer.parquet(config, split, rows, features[config])
        info = meta["metadata"]
        yaml = front_matter(meta, writer.sizes, dict(features), pretty_name=info["name"],
                            license=info["license"])  # fmt: skip
        card = (root / REHYDRATE_CARD).read_text(encoding="utf-8")
        writer.text("README.md", replace_front_matter(card, yaml))
        writer.copy("CHANGELOG.md", root / "CHANGELOG.md")
        for image in sorted((root / "images").rglob("*")) if (root / "images").is_dir() else []:
            if image.is_file():
                writer.copy(image.relative_to(root).as_posix(), image)
        paths = {c: {s: shard_path(c, s) for s in splits} for c, splits in tables.items()}
        path = writer.seal(meta, lambda files: release_croissant(meta, features, files, paths))
    return RehydrateResult(
        release=str(manifest["release"]),
        source=root,
        path=path,
        documents=sum(len(r) for r in tables["documents"].values()),
        records=records,
        unused=unused,
        skipped=skipped,
        rows={c: {s: len(r) for s, r in v.items()} for c, v in tables.items()},
    )


__all__ = ["RehydrateResult", "rehydrate_release"]
