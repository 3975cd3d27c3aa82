"""The ``inputs`` table of an ingest: one row per file read, written as files complete.

The manifest keeps only the sum (:class:`~corpus.models.InputsSummary`); a million input
files are a million rows streamed into the table, never a list in memory or in
``manifest.json``. A file appears once it gave at least one document (before
de-duplication), in input order: the rows are those manifests listed inline before.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

from corpus.errors import display_path
from corpus.features import arrow_schema
from corpus.ids import row_hash
from corpus.models import INPUTS_TABLE, InputFile, InputsSummary
from corpus.store import TableWriter, VersionWriter

SCHEMA = arrow_schema(InputFile)
ROWS = 8192  # rows written at a time


class InputsTable:
    """Rows of a version's ``inputs`` table, appended in input order."""

    def __init__(self, writer: VersionWriter) -> None:
        self.table: TableWriter = writer.table(INPUTS_TABLE, SCHEMA)
        self.rows: list[dict[str, Any]] = []
        self.files = self.bytes = self.documents = 0

    def add(self, path: str, sha256: str, size: int, documents: int) -> None:
        self.rows.append({"path": path, "sha256": sha256, "bytes": size, "documents": documents})
        self.files += 1
        self.bytes += size
        self.documents += documents
        if len(self.rows) >= ROWS:
            self._flush()

    def _flush(self) -> None:
        self.table.write_rows(self.rows, sum(row_hash(r) for r in self.rows))
        self.rows = []

    def finish(self) -> InputsSummary:
        """Write the last rows; the manifest's summary of the table."""
        self._flush()
        return InputsSummary(files=self.files, bytes=self.bytes, documents=self.documents)


class FileLedger:
    """The files between the walk and the table: only those still in the workers' hands.

    :meth:`add` each file as it is batched (in input order), :meth:`count` the documents of
    each batch as it comes back (batches come back in input order), :meth:`done` once the
    batch completes files: their rows go to the table and leave the ledger.
    """

    def __init__(self, table: InputsTable) -> None:
        self.table = table
        self.queue: deque[list[Any]] = deque()  # [path, bytes, sha256, documents]
        self.open: dict[str, list[Any]] = {}  # the latest queued entry of each path
        self.files = 0

    def add(self, path: Path) -> None:
        try:
            size = path.stat().st_size
        except OSError:  # gone since the walk: the worker reports it
            size = 0
        self._queue(display_path(path), size)
        self.files += 1

    def _queue(self, key: str, size: int) -> list[Any]:
        entry = [key, size, "", 0]
        self.queue.append(entry)
        self.open[key] = entry
        return entry

    def count(self, paths: list[str], shas: list[str]) -> None:
        """A batch's documents: the source path and sha256 of each."""
        for path, sha in zip(paths, shas, strict=True):
            entry = self.open.get(path) or self._queue(path, 0)
            entry[2] = sha
            entry[3] += 1

    def done(self, files: int) -> None:
        """The next ``files`` files (in input order) have given all their documents."""
        for _ in range(min(files, len(self.queue))):
            entry = self.queue.popleft()
            path, size, sha, documents = entry
            if self.open.get(path) is entry:
                del self.open[path]
            if documents:
                self.table.add(path, sha, size, documents)

    def finish(self) -> InputsSummary:
        self.done(len(self.queue))
        return self.table.finish()


__all__ = ["ROWS", "SCHEMA", "FileLedger", "InputsTable"]
