"""Ingest orchestration: stream inputs through worker processes into a new store version.

Workers run :func:`process_units` on batches of files or records (read, then the pure
:func:`corpus.ingestion.batch.process_batch`) and send back Arrow record batches with the
documents' ids, MinHash signatures and row hashes. This process gathers them, in input
order, into dedup batches of up to ``DEDUP_DOCS`` documents, matches each against the
on-disk near-duplicate index (:mod:`corpus.ingestion.dedup`), which drops exact duplicates
and assigns groups, and appends the batch to the version's tables. Memory is a dedup batch
and the index's probe buffers, whatever the size of the store.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from corpus.about import __version__
from corpus.engines import check_engine
from corpus.errors import IngestError, Problem, StoreError, display_path, translate_os_errors
from corpus.ids import row_hash
from corpus.ingestion import core, dedup
from corpus.ingestion.batch import DocBatch, process_batch
from corpus.ingestion.core import RawRecord, RecordProblem
from corpus.ingestion.ledger import FileLedger, InputsTable
from corpus.ingestion.readers import (
    DEFAULT_MAX_BYTES,
    TABLE_SUFFIXES,
    InputFiles,
    ReadOptions,
    TextFile,
    iter_table_records,
    read_text_file,
)
from corpus.ingestion.result import IngestResult
from corpus.ingestion.tables import continue_from, write_doc_batch
from corpus.ingestion.workers import run_in_order, warm_up
from corpus.label_schema import AnnotationSchema, load_schema
from corpus.models import InputsSummary, NormalizationInfo, ProblemRecord, VersionManifest
from corpus.neardup import NearDupIndex, doc_keys, key_ids
from corpus.progress import Progress, ProgressCallback, Steps, drive
from corpus.store import Store, VersionWriter, as_store, next_minor, parse_version

Unit = TextFile | RawRecord | Problem
Outcome = tuple[DocBatch, list[Problem]]
SCHEMAS = core.SCHEMAS
BATCH_FILES = 64
BATCH_CHARS = 2_000_000
INLINE_BYTES = 4_000_000  # below this, worker processes cost more than they save
DEDUP_DOCS = 8192  # documents matched against the index at a time (the probe reads its
DEDUP_CHARS = 24_000_000  # key blocks once per batch: larger batches, fewer reads)


def process_units(units: list[Unit], options: ReadOptions, version: str) -> Outcome:
    """The workers' batch function: read text files, then the pure
    :func:`~corpus.ingestion.batch.process_batch`.

    Returns the batch's documents as columns and its bad inputs, in input order.
    """
    raws: list[RawRecord] = []
    positions: list[int] = []
    problems: list[tuple[int, Problem]] = []
    for index, unit in enumerate(units):
        if isinstance(unit, Problem):
            problems.append((index, unit))
            continue
        if isinstance(unit, TextFile):
            try:
                raws.append(read_text_file(unit, options))
            except RecordProblem as exc:
                problems.append((index, Problem(unit.path, exc.reason, exc.hint)))
                continue
        else:
            raws.append(unit)
        positions.append(index)
    batch, bad = process_batch(raws, version=version)
    for position, failure in bad:
        raw = raws[position]
        problem = Problem(raw.source_path, failure.reason, failure.hint, raw.source_record)
        problems.append((positions[position], problem))
    problems.sort(key=lambda item: item[0])
    return batch, [problem for _, problem in problems]


def _batches(
    files: Iterable[Path], options: ReadOptions, ledger: FileLedger
) -> Iterator[tuple[list[Unit], int]]:
    """Work batches with the number of files each one completes (each file is added to
    ``ledger`` as it is batched)."""
    text_batch: list[Unit] = []
    for path in files:
        ledger.add(path)
        if path.suffix.lower() not in TABLE_SUFFIXES:
            text_batch.append(TextFile(str(path)))
            if len(text_batch) >= BATCH_FILES:
                yield text_batch, len(text_batch)
                text_batch = []
            continue
        if text_batch:  # documents go in input order: the text files before this table
            yield text_batch, len(text_batch)
            text_batch = []
        batch: list[Unit] = []
        chars = 0
        for number, item in iter_table_records(path, options):
            if isinstance(item, RecordProblem):
                batch.append(Problem(display_path(path), item.reason, item.hint, number or None))
            else:
                batch.append(item)
                chars += len(item.text)
            if chars >= BATCH_CHARS:
                yield batch, 0
                batch, chars = [], 0
        yield batch, 1
    if text_batch:
        yield text_batch, len(text_batch)


def _choose_version(store: Store, version: str | None) -> tuple[str, str | None]:
    parent, used = store.latest_name(), store.last_used_version()
    if version is None:
        return next_minor(used), parent
    if used is not None and parse_version(version) <= parse_version(used):
        raise StoreError(
            f"version {version} is not greater than the latest version number used, {used}",
            hint="Versions only grow; leave --version out to take the next minor version.",
        )
    return version, parent


@translate_os_errors
def ingest(
    paths: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    *,
    store: Store | str | os.PathLike[str],
    schema: AnnotationSchema | None = None,
    version: str | None = None,
    message: str | None = None,
    fields: Mapping[str, str] | None = None,
    encoding: str = "utf-8",
    max_bytes: int = DEFAULT_MAX_BYTES,
    skip_bad: bool = False,
    workers: int | None = None,
    engine: str = "local",
    ray_address: str | None = None,
    progress: ProgressCallback | None = None,
) -> IngestResult:
    """Ingest files or folders (one path, or a list of them) into a new, immutable version
    of ``store``.

    ``fields`` maps our field names to the columns of tabular input (``{"title":
    "headline"}``). With bad inputs and ``skip_bad=False`` nothing is written and
    :class:`~corpus.errors.IngestError` lists every problem. Ingesting nothing new writes
    nothing (``result.written`` is False).

    ``engine="ray"`` runs the work on a Ray cluster (:mod:`corpus.ingestion.ray_engine`;
    the one at ``ray_address``, else a new local one) and writes the same tables.
    """
    check_engine(engine)
    if max_bytes < 1:
        raise ValueError(f"max_bytes must be at least 1, not {max_bytes}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    options = ReadOptions(encoding=encoding, max_bytes=max_bytes, fields=dict(fields or {}))
    if isinstance(paths, str | os.PathLike):  # one path, not its characters
        paths = [paths]
    steps = _ingest(
        [Path(p) for p in paths],
        store=as_store(store),
        schema=schema or load_schema(),
        version=version,
        message=message,
        options=options,
        skip_bad=skip_bad,
        workers=workers,
        engine=(engine, ray_address),
    )
    return drive(steps, progress)


def _ingest(
    paths: list[Path],
    *,
    store: Store,
    schema: AnnotationSchema,
    version: str | None,
    message: str | None,
    options: ReadOptions,
    skip_bad: bool,
    workers: int | None,
    engine: tuple[str, str | None] = ("local", None),
) -> Steps[IngestResult]:
    found = InputFiles(paths, bytes_up_to=INLINE_BYTES)  # a first walk: counts, bad inputs
    problems = found.problems
    n_workers = workers if workers is not None else (multiprocessing.cpu_count() or 1)
    if found.bytes < INLINE_BYTES:
        n_workers = 1
    if n_workers > 1 and engine[0] == "local":
        warm_up(process_units)  # the workers' imports go on beside the work below
    with store.lock():
        new_version, parent = _choose_version(store, version)
        writer = store.begin(new_version)
        try:
            if engine[0] == "ray":
                from corpus.ingestion import ray_engine

                result, inputs = yield from ray_engine.ingest_into(
                    writer, store, parent, list(found), problems, options,
                    skip_bad=skip_bad, address=engine[1],
                )  # fmt: skip
            else:
                result, inputs = yield from _ingest_into(
                    writer, store, parent, found, problems, options, n_workers
                )
            result.ignored = found.ignored
            if result.problems and not skip_bad:
                raise IngestError(
                    f"{len(result.problems)} bad input(s); nothing was written",
                    problems=result.problems,
                )
            if result.documents_added == 0:
                writer.abort()
                result.version, result.written = None, False
                return result
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
                dedup=dedup.METHOD,
                inputs=inputs,
                tables={},
                report=[ProblemRecord.model_validate(p.to_dict()) for p in result.problems],
                extra=_extra(result),
            )
            result.path = writer.commit(manifest)
            result.written = True
        except BaseException:
            writer.abort()
            raise
    return result


def _extra(result: IngestResult) -> dict[str, object]:
    """The manifest's ``extra``: an old documents table rewritten, files left unread."""
    extra: dict[str, object] = {}
    if result.migrated:
        extra["migrated"] = result.migrated
    if result.ignored:
        extra["ignored"] = [p.to_dict() for p in result.ignored]
    return extra


def _ingest_into(
    writer: VersionWriter,
    store: Store,
    parent: str | None,
    files: InputFiles,
    problems: list[Problem],
    options: ReadOptions,
    workers: int,
) -> Steps[tuple[IngestResult, InputsSummary]]:
    """Stream every input into ``writer`` (the files walked as they are batched, never
    listed); returns (result, the summary of the version's ``inputs`` table)."""
    result = IngestResult(version=writer.version, parent=parent, written=False)
    result.problems.extend(problems)
    opened: list[NearDupIndex] = []

    def setup() -> None:
        if parent is not None:
            continue_from(store, parent, writer, result.migrated)
        opened.append(dedup.open_index(store, parent, writer, result.migrated))

    ledger = FileLedger(InputsTable(writer))
    done = 0
    total = len(files)
    work = functools.partial(process_units, options=options, version=writer.version)
    outcomes = run_in_order(work, _batches(files, options, ledger), workers, setup=setup)
    out = _Output(writer, result)
    pending: list[DocBatch] = []
    try:
        for (batch, bad), files_done in outcomes:
            result.problems.extend(bad)
            ledger.count(batch.source_paths, batch.source_sha256)
            ledger.done(files_done)
            pending.append(batch)
            if _full(pending):
                out.flush(opened[0], pending)
                pending = []
            done += files_done
            yield Progress("ingest", f"{result.documents_added} new documents", done, total)
        if opened:
            out.flush(opened[0], pending)
            opened[0].save()
    finally:
        for index in opened:
            index.close()
    result.files = ledger.files
    return result, ledger.finish()


def _full(pending: list[DocBatch]) -> bool:
    docs = sum(len(b) for b in pending)
    chars = sum(int(b.tables["documents"].column("text").nbytes) for b in pending)
    return docs >= DEDUP_DOCS or chars >= DEDUP_CHARS


class _Output:
    """The version's tables, written one dedup batch at a time."""

    def __init__(self, writer: VersionWriter, result: IngestResult) -> None:
        self.version = writer.version
        self.result = result
        self.tables = {name: writer.table(name, schema) for name, schema in SCHEMAS.items()}
        self.merges = dedup.merges_table(writer)

    def flush(self, index: NearDupIndex, batches: list[DocBatch]) -> None:
        """Match ``batches`` (input order) against the index, then write their rows."""
        if not batches:
            return
        keys = doc_keys([d for b in batches for d in b.doc_ids])
        sigs = np.concatenate([b.signatures for b in batches])
        found = index.add(keys, sigs)
        groups = key_ids(found.group)
        start = 0
        for batch in batches:
            end = start + len(batch)
            keep = ~found.exact[start:end]
            write_doc_batch(self.tables, batch, keep, groups[start:end])
            self.result.paragraphs += int(batch.n_paragraphs[keep].sum())
            self.result.sentences += int(batch.n_sentences[keep].sum())
            start = end
        self.result.exact_duplicates += int(found.exact.sum())
        self.result.documents_added += int((~found.exact).sum())
        self.result.near_duplicates += int(found.near.sum())
        rows = dedup.merge_rows(found.merges, self.version)
        self.merges.write_rows(rows, sum(row_hash(r) for r in rows))
