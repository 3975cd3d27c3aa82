"""Sorted runs: Arrow IPC files of fixed-width columns, sorted by their first column.

The first column is a uint64 key sorted over the whole file; the others are fixed width
(uint64, or a fixed-size list of uint32); no nulls; record batches of at most
:data:`BLOCK` rows. Any Arrow reader (pyarrow, DuckDB, polars, ``datasets``) reads them as
ordinary IPC files.

A lookup never loads a file: opening one reads its footer and each batch's first and last
key (the batches are the hash-range buckets of the run); a probe then reads only the key
buffers of batches whose range holds a needle (``os.pread``), searches them with numpy and
reads only the matching rows of the other columns. Memory is one key block, whatever the
size of the file.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

BLOCK = 1 << 16  # rows per record batch (a probe block)
MAX_FILE_ROWS = 1 << 24  # a merge starts a new file past this many rows
SLICE_BYTES = 4 << 20  # rows merged at a time, in bytes
CHUNK_BYTES = 1 << 20  # the most a probe reads of a column at once

Columns = list[np.ndarray[Any, Any]]
_SCRATCH = np.empty(0, dtype=np.uint64)  # one key block, shared by every run (one thread)


@dataclass(frozen=True)
class RunInfo:
    """One written run file: its path (relative to the index folder), rows, key range."""

    path: str
    rows: int
    first: int
    last: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "rows": self.rows, "first": self.first, "last": self.last}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunInfo:
        return cls(str(data["path"]), int(data["rows"]), int(data["first"]), int(data["last"]))


@dataclass
class _Batch:
    rows: int
    first: int
    last: int
    offsets: list[int]  # file offset of each column's data buffer


class RunFile:
    """Read access to one sorted run (see the module docstring)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(path)
        self.batches: list[_Batch] = []
        with pa.memory_map(self.path) as mm:
            base = mm.read_buffer(1).address  # zero-copy: the address of the map's start
            mm.seek(0)
            reader = pa.ipc.open_file(mm)
            self.schema = reader.schema
            self.widths = [_width(f.type) for f in self.schema]
            self.dtypes = [_dtype(f.type) for f in self.schema]
            for i in range(reader.num_record_batches):
                batch = reader.get_batch(i)
                offsets = [_data_buffer(c).address - base for c in batch.columns]
                self.batches.append(_Batch(batch.num_rows, 0, 0, offsets))
        self.fd = os.open(self.path, os.O_RDONLY)
        for b in self.batches:
            if b.rows:
                b.first = int(self._read(b.offsets[0], 1, np.dtype(np.uint64))[0])
                b.last = int(self._read(b.offsets[0] + 8 * (b.rows - 1), 1, np.dtype(np.uint64))[0])
        self.rows = sum(b.rows for b in self.batches)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def _read(self, offset: int, count: int, dtype: np.dtype[Any]) -> np.ndarray[Any, Any]:
        size = count * dtype.itemsize
        data = os.pread(self.fd, size, offset)
        if len(data) != size:
            raise OSError(f"short read in {self.path}")
        return np.frombuffer(data, dtype=dtype)

    def keys(self, bi: int) -> np.ndarray[Any, np.dtype[np.uint64]]:
        """A batch's keys, read into a buffer shared by all runs (valid until the next
        call of any run's ``keys``)."""
        global _SCRATCH
        b = self.batches[bi]
        if len(_SCRATCH) < b.rows:
            _SCRATCH = np.empty(max(b.rows, BLOCK), dtype=np.uint64)
        view = _SCRATCH[: b.rows]
        if os.preadv(self.fd, [view.data.cast("B")], b.offsets[0]) != 8 * b.rows:
            raise OSError(f"short read in {self.path}")
        return view

    def column(self, bi: int, col: int, rows: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """Values of column ``col`` at ``rows`` (ascending) of batch ``bi``: a chunk of at
        most :data:`CHUNK_BYTES` is read whole when it holds many of them, else row by row
        (memory: one chunk, whatever the width of the column)."""
        b = self.batches[bi]
        dtype, width = self.dtypes[col], self.widths[col]
        per = width // dtype.itemsize
        out = np.empty((len(rows), per), dtype=dtype)
        chunk = max(1, CHUNK_BYTES // width)
        which = rows // chunk
        bounds = np.flatnonzero(np.diff(which)) + 1
        for lo, hi in zip(
            np.concatenate(([0], bounds)).tolist(),
            np.append(bounds, len(rows)).tolist(),
            strict=True,
        ):
            first = int(which[lo]) * chunk
            n = min(chunk, b.rows - first)
            if (hi - lo) * 16 > n:
                data = self._read(b.offsets[col] + first * width, n * per, dtype)
                out[lo:hi] = data.reshape(n, per)[rows[lo:hi] - first]
                continue
            for i, r in zip(range(lo, hi), rows[lo:hi].tolist(), strict=True):
                out[i] = self._read(b.offsets[col] + r * width, per, dtype)
        result: np.ndarray[Any, Any] = out if per > 1 else out.reshape(-1)
        return result

    def lookup(
        self, needles: np.ndarray[Any, np.dtype[np.uint64]]
    ) -> Iterator[tuple[int, np.ndarray[Any, Any], np.ndarray[Any, Any]]]:
        """For sorted ``needles``: (batch, needle index, row) of every row whose key equals a
        needle (a key stored k times gives k rows)."""
        for bi, b in enumerate(self.batches):
            if not b.rows:
                continue
            lo = int(np.searchsorted(needles, np.uint64(b.first), "left"))
            hi = int(np.searchsorted(needles, np.uint64(b.last), "right"))
            if lo >= hi:
                continue
            keys = self.keys(bi)
            sub = needles[lo:hi]
            left = np.searchsorted(keys, sub, "left")
            hit = np.flatnonzero(keys[np.minimum(left, b.rows - 1)] == sub)
            if not len(hit):
                continue
            count = np.searchsorted(keys, sub[hit], "right") - left[hit]
            needle_idx = np.repeat(lo + hit, count)
            starts = np.repeat(left[hit] - np.cumsum(count) + count, count)
            yield bi, needle_idx, starts + np.arange(len(needle_idx))

    def range_rows(self, bi: int, lo: int, hi: int | None) -> tuple[int, int]:
        """Rows [i, j) of batch ``bi`` with lo <= key < hi (hi None: no upper bound)."""
        b = self.batches[bi]
        if not b.rows or b.last < lo or (hi is not None and b.first >= hi):
            return 0, 0
        keys = self.keys(bi)
        i = int(np.searchsorted(keys, np.uint64(lo), "left"))
        j = b.rows if hi is None else int(np.searchsorted(keys, np.uint64(hi), "left"))
        return i, j

    def read_rows(self, bi: int, i: int, j: int) -> Columns:
        b = self.batches[bi]
        out = []
        for col, (dtype, width) in enumerate(zip(self.dtypes, self.widths, strict=True)):
            per = width // dtype.itemsize
            arr = self._read(b.offsets[col] + i * width, (j - i) * per, dtype)
            out.append(arr.reshape(j - i, per) if per > 1 else arr)
        return out


def _width(t: pa.DataType) -> int:
    if pa.types.is_fixed_size_list(t):
        return int(t.list_size * t.value_type.bit_width // 8)
    return int(t.bit_width // 8)


def _dtype(t: pa.DataType) -> np.dtype[Any]:
    if pa.types.is_fixed_size_list(t):
        t = t.value_type
    dtype: np.dtype[Any] = np.dtype(t.to_pandas_dtype())
    return dtype


def _data_buffer(arr: pa.Array) -> pa.Buffer:
    if arr.null_count or arr.offset:
        raise ValueError("sorted runs hold no nulls and no sliced arrays")
    if pa.types.is_fixed_size_list(arr.type):
        return arr.values.buffers()[-1]
    return arr.buffers()[-1]


def _arrays(schema: pa.Schema, cols: Columns) -> list[pa.Array]:
    """Arrow arrays over the columns' buffers (``pa.array`` of numpy would import pandas,
    about a second in every ingest)."""
    arrays = []
    for f, c in zip(schema, cols, strict=True):
        part = np.ascontiguousarray(c, dtype=_dtype(f.type))
        if pa.types.is_fixed_size_list(f.type):
            flat = _numeric(part.reshape(-1), f.type.value_type)
            arrays.append(pa.FixedSizeListArray.from_arrays(flat, f.type.list_size))
        else:
            arrays.append(_numeric(part, f.type))
    return arrays


def _numeric(values: np.ndarray[Any, Any], dtype: pa.DataType) -> pa.Array:
    return pa.Array.from_buffers(dtype, len(values), [None, pa.py_buffer(values)])


def write_runs(
    folder: Path,
    stem: str,
    schema: pa.Schema,
    chunks: Iterable[Columns],
    *,
    max_rows: int = MAX_FILE_ROWS,
) -> list[RunInfo]:
    """Write sorted ``chunks`` (column arrays, key first; concatenated they are sorted) as
    run files ``<stem>-<part>.arrow`` under ``folder`` of at most about ``max_rows`` rows
    each (a file ends between chunks). Returns the files, in key order."""
    folder.mkdir(parents=True, exist_ok=True)
    infos: list[RunInfo] = []
    writer: Any = None
    sink: Any = None
    rows, first, last, name = 0, 0, 0, ""

    def finish() -> None:
        nonlocal writer, sink
        if writer is not None:
            writer.close()
            sink.close()
            infos.append(RunInfo(name, rows, first, last))
            writer = sink = None

    for cols in chunks:
        n = len(cols[0])
        if not n:
            continue
        if writer is not None and rows >= max_rows:
            finish()
        if writer is None:
            name = f"{stem}-{len(infos):03d}.arrow"
            sink = pa.OSFile(str(folder / name), "wb")
            writer = pa.ipc.new_file(sink, schema)
            rows, first = 0, int(cols[0][0])
        for s in range(0, n, BLOCK):
            part = [c[s : s + BLOCK] for c in cols]
            writer.write_batch(pa.record_batch(_arrays(schema, part), schema=schema))
        rows += n
        last = int(cols[0][-1])
    finish()
    return infos


def sort_columns(cols: Columns) -> Columns:
    """Rows sorted by the key (then by the second column when it is a plain uint64)."""
    if len(cols) > 1 and cols[1].ndim == 1:
        order = np.lexsort((cols[1], cols[0]))
    else:
        order = np.argsort(cols[0], kind="stable")
    return [c[order] for c in cols]


def merge_runs(
    runs: list[RunFile], folder: Path, stem: str, *, max_rows: int = MAX_FILE_ROWS
) -> list[RunInfo]:
    """Merge sorted runs into new run files, one key range at a time.

    Keys are uniform (hashes, sha256 prefixes), so equal ranges of the key space hold
    about equal rows: memory is a few copies of one slice (:data:`SLICE_BYTES`).
    """
    schema = runs[0].schema
    slice_rows = max(1, SLICE_BYTES // sum(runs[0].widths))
    total = sum(r.rows for r in runs)
    slices = max(1, math.ceil(total / slice_rows))
    edges: list[int | None] = [(2**64 * i) // slices for i in range(slices)] + [None]

    def chunks() -> Iterator[Columns]:
        for lo, hi in itertools.pairwise(edges):
            parts: list[Columns] = []
            for run in runs:
                for bi in range(len(run.batches)):
                    i, j = run.range_rows(bi, int(lo or 0), hi)
                    if j > i:
                        parts.append(run.read_rows(bi, i, j))
            if parts:
                yield sort_columns(
                    [np.concatenate([p[c] for p in parts]) for c in range(len(parts[0]))]
                )

    return write_runs(folder, stem, schema, chunks(), max_rows=max_rows)
