"""Ingest orchestration: stream inputs through worker processes into a new store version."""

from __future__ import annotations

import itertools
import multiprocessing
from collections import Counter
from collections.abc import Generator, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from datasketch import MinHashLSH

from corpus import __version__
from corpus.errors import IngestError, Problem, StoreError
from corpus.features import arrow_schema
from corpus.ingest import core
from corpus.ingest.core import ProcessedDoc, RawRecord, RecordProblem, process_record
from corpus.ingest.readers import (
    TABLE_SUFFIXES,
    ReadOptions,
    TextFile,
    discover,
    iter_table_records,
    read_text_file,
)
from corpus.models import (
    Document,
    InputFile,
    MinHashRow,
    NormalizationInfo,
    Paragraph,
    ProblemRecord,
    Sentence,
    Source,
    VersionManifest,
)
from corpus.schema import AnnotationSchema
from corpus.store import Store, VersionWriter, next_minor, parse_version

Unit = TextFile | RawRecord | Problem
Signature = np.ndarray[Any, np.dtype[np.uint64]]
Outcome = ProcessedDoc | Problem
BATCH_FILES = 64
BATCH_CHARS = 2_000_000
INLINE_BYTES = 4_000_000  # below this, worker processes cost more than they save
FLUSH_ROWS = 20_000


@dataclass(frozen=True)
class Progress:
    """Emitted as inputs are processed."""

    done: int
    total: int
    documents: int


@dataclass
class IngestResult:
    version: str | None
    parent: str | None
    written: bool
    documents_added: int = 0
    exact_duplicates: int = 0
    near_duplicates: int = 0
    paragraphs: int = 0
    sentences: int = 0
    files: int = 0
    problems: list[Problem] = field(default_factory=list)
    path: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "parent": self.parent,
            "written": self.written,
            "documents_added": self.documents_added,
            "exact_duplicates": self.exact_duplicates,
            "near_duplicates": self.near_duplicates,
            "paragraphs": self.paragraphs,
            "sentences": self.sentences,
            "files": self.files,
            "problems": [p.to_dict() for p in self.problems],
            "path": str(self.path) if self.path else None,
        }


@dataclass(frozen=True)
class Finished:
    """The last event: what was written (or why nothing was)."""

    result: IngestResult


IngestEvent = Progress | Finished


def process_units(units: list[Unit], options: ReadOptions) -> list[Outcome]:
    """Pure batch function run by the workers: read, parse, normalise, segment, hash."""
    out: list[Outcome] = []
    for unit in units:
        if isinstance(unit, Problem):
            out.append(unit)
            continue
        where = unit.path if isinstance(unit, TextFile) else unit.source_path
        record = unit.source_record if isinstance(unit, RawRecord) else None
        try:
            raw = read_text_file(unit, options) if isinstance(unit, TextFile) else unit
            out.append(process_record(raw))
        except RecordProblem as exc:
            out.append(Problem(where, exc.reason, exc.hint, record))
    return out


def _batches(files: list[Path], options: ReadOptions) -> Iterator[tuple[list[Unit], int]]:
    """Work batches with the number of files each one completes."""
    text_batch: list[Unit] = []
    for path in files:
        if path.suffix.lower() not in TABLE_SUFFIXES:
            text_batch.append(TextFile(str(path)))
            if len(text_batch) >= BATCH_FILES:
                yield text_batch, len(text_batch)
                text_batch = []
            continue
        batch: list[Unit] = []
        chars = 0
        for number, item in iter_table_records(path, options):
            if isinstance(item, RecordProblem):
                batch.append(Problem(str(path), item.reason, item.hint, number or None))
            else:
                batch.append(item)
                chars += len(item.text)
            if chars >= BATCH_CHARS:
                yield batch, 0
                batch, chars = [], 0
        yield batch, 1
    if text_batch:
        yield text_batch, len(text_batch)


def _run(
    batches: Iterable[tuple[list[Unit], int]], options: ReadOptions, workers: int
) -> Iterator[tuple[list[Outcome], int]]:
    """Results in input order; at most 2 batches per worker in flight (bounded memory)."""
    if workers <= 1:
        for units, files_done in batches:
            yield process_units(units, options), files_done
        return
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        window: list[tuple[Future[list[Outcome]], int]] = []
        it = iter(batches)
        for units, files_done in itertools.islice(it, 2 * workers):
            window.append((pool.submit(process_units, units, options), files_done))
        while window:
            future, files_done = window.pop(0)
            result = future.result()
            nxt = next(it, None)
            if nxt is not None:
                window.append((pool.submit(process_units, nxt[0], options), nxt[1]))
            yield result, files_done


class _Deduper:
    """Exact duplicates by doc_id; near-duplicates by MinHash LSH (datasketch)."""

    def __init__(self) -> None:
        self.lsh = MinHashLSH(threshold=core.DEDUP_THRESHOLD, num_perm=core.NUM_PERM)
        self.signatures: dict[str, Signature] = {}
        self.group: dict[str, str] = {}

    def add_known(self, doc_id: str, signature: list[int], group: str) -> None:
        self._insert(doc_id, np.asarray(signature, dtype=np.uint64))
        self.group[doc_id] = group

    def _insert(self, doc_id: str, sig: Signature) -> None:
        self.signatures[doc_id] = sig
        self.lsh.insert(doc_id, _lean(sig), check_duplication=False)

    def assign(self, doc_id: str, signature: list[int]) -> tuple[str, bool]:
        """The dup_group for a new document, and whether it joined an existing group."""
        sig = np.asarray(signature, dtype=np.uint64)
        groups = []
        for other in self.lsh.query(_lean(sig)):
            similarity = float(np.mean(self.signatures[other] == sig))
            if similarity >= core.DEDUP_THRESHOLD:
                groups.append(self.group[other])
        group = min(groups) if groups else doc_id
        self._insert(doc_id, sig)
        self.group[doc_id] = group
        return group, bool(groups)


def _lean(sig: Signature) -> Any:
    from datasketch import MinHash

    return MinHash(num_perm=core.NUM_PERM, hashvalues=sig, scheme=core.SCHEME)


SCHEMAS = {
    "documents": arrow_schema(Document),
    "paragraphs": arrow_schema(Paragraph),
    "sentences": arrow_schema(Sentence),
    "sources": arrow_schema(Source),
    "minhashes": arrow_schema(MinHashRow),
}


def _choose_version(store: Store, version: str | None) -> tuple[str, str | None]:
    parent = store.latest()
    if version is None:
        return next_minor(parent), parent
    if parent is not None and parse_version(version) <= parse_version(parent):
        raise StoreError(
            f"version {version} is not greater than the latest version {parent}",
            hint="Versions only grow; leave --version out to take the next minor version.",
        )
    return version, parent


def ingest_iter(
    paths: list[Path],
    *,
    store: Store,
    schema: AnnotationSchema,
    version: str | None = None,
    message: str | None = None,
    options: ReadOptions | None = None,
    skip_bad: bool = False,
    workers: int | None = None,
) -> Iterator[IngestEvent]:
    """Ingest files or folders into a new version; yields :class:`Progress`, then :class:`Finished`.

    With bad inputs and ``skip_bad=False`` nothing is written and :class:`IngestError`
    lists every problem. Ingesting nothing new writes nothing.
    """
    options = options or ReadOptions()
    files, problems = discover(paths)
    total_bytes = sum(p.stat().st_size for p in files if p.is_file())
    n_workers = workers if workers is not None else (multiprocessing.cpu_count() or 1)
    if total_bytes < INLINE_BYTES:
        n_workers = 1
    with store.lock():
        new_version, parent = _choose_version(store, version)
        writer = store.begin(new_version)
        try:
            result, inputs = yield from _ingest_into(
                writer, store, parent, files, problems, options, n_workers
            )
            result.files = len(files)
            if result.problems and not skip_bad:
                raise IngestError(
                    f"{len(result.problems)} bad input(s); nothing was written",
                    problems=result.problems,
                )
            if result.documents_added == 0:
                writer.abort()
                result.version, result.written = None, False
                yield Finished(result)
                return
            manifest = VersionManifest(
                version=new_version,
                parent=parent,
                kind="ingest",
                created=datetime.now(UTC).isoformat(timespec="seconds"),
                tool_version=__version__,
                schema_hash=schema.hash(),
                message=message,
                normalization=NormalizationInfo(),
                segmenter=core.SEGMENTER,
                dedup={
                    "method": "datasketch MinHashLSH over word 5-shingles",
                    "num_perm": core.NUM_PERM,
                    "threshold": core.DEDUP_THRESHOLD,
                },
                inputs=inputs,
                tables={},
                report=[ProblemRecord.model_validate(p.to_dict()) for p in result.problems],
            )
            result.path = writer.commit(manifest)
            result.written = True
        except BaseException:
            writer.abort()
            raise
    yield Finished(result)


def _ingest_into(
    writer: VersionWriter,
    store: Store,
    parent: str | None,
    files: list[Path],
    problems: list[Problem],
    options: ReadOptions,
    workers: int,
) -> Generator[IngestEvent, None, tuple[IngestResult, list[InputFile]]]:
    """Stream every input into ``writer``; returns (result, inputs)."""
    result = IngestResult(version=writer.version, parent=parent, written=False)
    result.problems.extend(problems)
    dedup = _Deduper()
    known: set[str] = set()
    tables = {name: writer.table(name, schema) for name, schema in SCHEMAS.items()}
    if parent is not None:
        manifest = store.manifest(parent)
        for name, info in manifest.tables.items():
            shards = store.table_shards(parent, name)
            schema = SCHEMAS.get(name) or _shard_schema(shards[0])
            writer.table(name, schema).link(shards, info.rows, int(info.content_sha256, 16))
        groups: dict[str, str] = {}
        for batch in store.iter_batches(parent, "documents", ["doc_id", "dup_group"]):
            groups.update(zip(*(c.to_pylist() for c in batch.columns), strict=True))
        for batch in store.iter_batches(parent, "minhashes"):
            for doc_id, sig in zip(*(c.to_pylist() for c in batch.columns), strict=True):
                dedup.add_known(doc_id, sig, groups[doc_id])
        known.update(groups)
    sizes = {str(p): p.stat().st_size for p in files}
    counts: Counter[str] = Counter()
    shas: dict[str, str] = {}
    buffers: dict[str, list[dict[str, Any]]] = {name: [] for name in SCHEMAS}
    hashes: Counter[str] = Counter()

    def flush(force: bool = False) -> None:
        for name, rows in buffers.items():
            if rows and (force or len(rows) >= FLUSH_ROWS):
                tables[name].write_rows(rows, hashes.pop(name, 0))
                buffers[name] = []

    done = 0
    total = len(files)
    for outcomes, files_done in _run(_batches(files, options), options, workers):
        for item in outcomes:
            if isinstance(item, Problem):
                result.problems.append(item)
                continue
            raw = item.raw
            counts[raw.source_path] += 1
            shas[raw.source_path] = raw.source_sha256
            source_row: dict[str, object] = {
                "doc_id": item.doc_id,
                "source_path": raw.source_path,
                "source_sha256": raw.source_sha256,
                "source_record": raw.source_record,
                "ingested_in": writer.version,
            }
            buffers["sources"].append(source_row)
            hashes["sources"] += core.row_hash(source_row)
            if item.doc_id in known:
                result.exact_duplicates += 1
                continue
            known.add(item.doc_id)
            group, near = dedup.assign(item.doc_id, item.signature)
            result.near_duplicates += near
            _add_document(item, group, writer.version, buffers, hashes)
            result.documents_added += 1
            result.paragraphs += len(item.paragraphs)
            result.sentences += len(item.sentences)
        flush()
        done += files_done
        yield Progress(done=done, total=total, documents=result.documents_added)
    flush(force=True)
    inputs = [
        InputFile(path=path, sha256=shas[path], bytes=sizes.get(path, 0), documents=n)
        for path, n in counts.items()
    ]
    return result, inputs


def _add_document(
    doc: ProcessedDoc,
    group: str,
    version: str,
    buffers: dict[str, list[dict[str, Any]]],
    hashes: Counter[str],
) -> None:
    raw = doc.raw
    row: dict[str, Any] = {
        "doc_id": doc.doc_id,
        "title": doc.title,
        "text": doc.text,
        "text_sha256": doc.text_sha256,
        "source_path": raw.source_path,
        "source_sha256": raw.source_sha256,
        "source_record": raw.source_record,
        "external_id": raw.external_id,
        "url": raw.url,
        "source": raw.source,
        "published_at": raw.published_at,
        "dup_group": group,
        "n_paragraphs": len(doc.paragraphs),
        "n_sentences": len(doc.sentences),
        "ingested_in": version,
    }
    buffers["documents"].append(row)
    hashes["documents"] += core.row_hash(row)
    buffers["paragraphs"].extend(core.paragraph_rows(doc))
    hashes["paragraphs"] += doc.unit_hash["paragraphs"]
    buffers["sentences"].extend(core.sentence_rows(doc))
    hashes["sentences"] += doc.unit_hash["sentences"]
    minhash_row: dict[str, object] = {"doc_id": doc.doc_id, "signature": doc.signature}
    buffers["minhashes"].append(minhash_row)
    hashes["minhashes"] += core.row_hash(minhash_row)


def _shard_schema(shard: Path) -> Any:
    import pyarrow as pa

    with pa.memory_map(str(shard)) as source:
        return pa.ipc.open_stream(source).schema


def ingest(paths: list[Path], **kwargs: Any) -> IngestResult:
    """Run :func:`ingest_iter` to the end and return its result."""
    for event in ingest_iter(paths, **kwargs):
        if isinstance(event, Finished):
            return event.result
    raise AssertionError("ingest_iter ended without a result")  # pragma: no cover
