"""Arrow arrays and record batches built from Python values, without pandas.

Built from buffers rather than with ``pa.array``: converting Python objects makes pyarrow
import pandas, a fixed cost of a few tenths of a second in every ingest worker process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def arrow_array(values: Any, dtype: pa.DataType, *, nullable: bool = True) -> pa.Array:
    """A string, int64 or list<int64> array of Python values (``None`` is null).

    Built from buffers, not with ``pa.array``: converting Python objects makes pyarrow
    import pandas, a fixed cost of a few tenths of a second in every worker process.
    """
    if isinstance(values, pa.Array):
        return values
    n = len(values)
    validity, nulls = None, 0
    if nullable:
        missing = np.fromiter((v is None for v in values), dtype=bool, count=n)
        nulls = int(missing.sum())
        if nulls:
            validity = pa.py_buffer(np.packbits(~missing, bitorder="little"))
            values = [v if v is not None else ("" if dtype == pa.string() else 0) for v in values]
    if dtype == pa.string():
        encoded = [v.encode() for v in values]
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, encoded), np.int64, n), out=offsets[1:])
        if offsets[-1] > np.iinfo(np.int32).max:
            raise ValueError("over 2 GiB of text in one string array; use smaller batches")
        buffers = [
            validity,
            pa.py_buffer(offsets.astype(np.int32)),
            pa.py_buffer(b"".join(encoded)),
        ]
        return pa.Array.from_buffers(dtype, n, buffers, null_count=nulls)
    if dtype == pa.int64():
        data = np.fromiter(values, dtype=np.int64, count=n)
        return pa.Array.from_buffers(dtype, n, [validity, pa.py_buffer(data)], null_count=nulls)
    if pa.types.is_timestamp(dtype) and dtype.unit == "us":
        micros = [_micros(v) for v in values]
        data = np.fromiter(micros, dtype=np.int64, count=n)
        return pa.Array.from_buffers(dtype, n, [validity, pa.py_buffer(data)], null_count=nulls)
    if dtype == pa.list_(pa.int64()):
        offsets32 = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(np.fromiter(map(len, values), np.int64, n), out=offsets32[1:])
        items = arrow_array([x for v in values for x in v], pa.int64(), nullable=False)
        buffers = [validity, pa.py_buffer(offsets32)]
        return pa.Array.from_buffers(dtype, n, buffers, null_count=nulls, children=[items])
    raise TypeError(f"arrow_array() does not build {dtype} arrays")


def _micros(value: Any) -> int:
    """Microseconds since the epoch of an aware datetime (0 stands for a null)."""
    if isinstance(value, int):
        return value
    delta: timedelta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def repeated_strings(values: Sequence[str], counts: Sequence[int]) -> pa.Array:
    """A string array of ``values[i]`` repeated ``counts[i]`` times."""
    encoded = [v.encode() for v in values]
    lengths = np.repeat(np.fromiter(map(len, encoded), np.int64, len(encoded)), counts)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    data = b"".join(e * c for e, c in zip(encoded, counts, strict=True))
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    return pa.Array.from_buffers(pa.string(), len(lengths), buffers)


def record_batch(columns: Mapping[str, Any], schema: pa.Schema) -> pa.RecordBatch:
    """Python value lists (or Arrow arrays), one per field, as a record batch of ``schema``."""
    arrays = [arrow_array(columns[f.name], f.type, nullable=f.nullable) for f in schema]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def rows_batch(rows: Sequence[Mapping[str, Any]], schema: pa.Schema) -> pa.RecordBatch:
    """Row dicts as a record batch of ``schema``: built from buffers where
    :func:`arrow_array` builds every column type, else by pyarrow."""
    try:
        return record_batch({f.name: [r[f.name] for r in rows] for f in schema}, schema)
    except (TypeError, KeyError, AttributeError):  # a type arrow_array does not build, a
        # missing key or a null in a column that takes none: pyarrow decides (or complains)
        return pa.RecordBatch.from_pylist(list(rows), schema=schema)


def mask_array(mask: np.ndarray[Any, np.dtype[np.bool_]]) -> pa.Array:
    """A boolean Arrow array for ``RecordBatch.filter`` (built from buffers, see above)."""
    bits = pa.py_buffer(np.packbits(mask, bitorder="little"))
    return pa.Array.from_buffers(pa.bool_(), len(mask), [None, bits])
