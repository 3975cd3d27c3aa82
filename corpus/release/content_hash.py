"""The content hash of a released table: which definition a release uses, and computing it.

A release's ``manifest.json`` records every config/split's ``content_sha256``, and since
version 2 also the definition it was computed with (``content_hash``: a name and a version;
a manifest without that field is version 1):

* version 1, ``rows-sha256-sum`` (:data:`V1`): the sum modulo 2**256 of the sha256 of each
  row's canonical JSON (:func:`corpus.ids.row_hash`); row order does not matter.
* version 2, ``columns-sha256`` (:data:`V2`): one sha256 over the table as read from its
  Parquet file(s), column by column in schema order, of a fixed byte encoding of the values
  (:func:`columns_sha256`; the docs' "Content hashes" section states it with a reference
  implementation). Rows count in their file order.

Version 2 is what new releases record: it is computed from the Arrow buffers without a
Python object per row. ``release verify`` and rehydration check either.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from corpus.errors import ReleaseError
from corpus.ids import hash_hex, row_hash

V1 = {"name": "rows-sha256-sum", "version": 1}
V2 = {"name": "columns-sha256", "version": 2}
CURRENT = V2
_BY_VERSION = {1: V1, 2: V2}


def recorded_definition(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The definition a release's manifest records (version 1 when it names none)."""
    found = manifest.get("content_hash")
    if found is None:
        return V1
    version = found.get("version") if isinstance(found, dict) else None
    known = _BY_VERSION.get(version) if isinstance(version, int) else None
    if known is None or known["name"] != found["name"]:
        raise ReleaseError(
            f"manifest.json names content hash {found!r}, which this version of corpus does "
            f"not know (it knows {_known()})",
            hint="Verify the release with the corpus version that built it "
            "(manifest.json tool_version), or upgrade corpus.",
        )
    return known


def _known() -> str:
    return ", ".join(f"{d['name']} v{d['version']}" for d in _BY_VERSION.values())


def table_sha256(table: Any, definition: Mapping[str, Any]) -> str:
    """``content_sha256`` of an Arrow table under ``definition`` (:data:`V1` or :data:`V2`)."""
    if definition["version"] == 1:
        return rows_sha256(table.to_pylist())
    return columns_sha256(table)


def rows_sha256(rows: Iterable[Mapping[str, Any]]) -> str:
    """Version 1: the sum of the rows' :func:`corpus.ids.row_hash`, as 64 hex digits."""
    return hash_hex(sum(row_hash(r) for r in rows))


def columns_sha256(table: Any) -> str:
    """Version 2 of an Arrow table: sha256 over the number of rows (8 bytes, little endian),
    then per column in schema order its name in UTF-8, a zero byte and :func:`_encode` of its
    values."""
    digest = hashlib.sha256(table.num_rows.to_bytes(8, "little"))
    for name, column in zip(table.column_names, table.columns, strict=True):
        digest.update(name.encode() + b"\0")
        _encode(column.combine_chunks() if column.num_chunks != 1 else column.chunk(0), digest)
    return digest.hexdigest()


def _encode(values: Any, digest: Any) -> None:
    """A column's bytes: one byte per value (1 present, 0 null), then of the present values
    only: strings as their UTF-8 byte lengths (8 bytes, little endian, each) followed by all
    their bytes; integers and timestamps (microseconds since 1970-01-01 UTC) as 8-byte
    signed little-endian; booleans as one byte 0 or 1; lists as their lengths (8 bytes each)
    followed by the encoding of all their items in order; structs as the encoding of each
    field's values in field order."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = values.type
    if values.null_count:
        digest.update(values.is_valid().to_numpy(zero_copy_only=False).view(np.uint8).tobytes())
        values = values.filter(values.is_valid())
    else:
        digest.update(b"\1" * len(values))
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        wide = pa.types.is_large_string(kind)
        offsets = np.frombuffer(values.buffers()[1], np.int64 if wide else np.int32)
        offsets = offsets[values.offset : values.offset + len(values) + 1].astype(np.int64)
        digest.update(np.diff(offsets).astype("<u8").tobytes())
        if len(values):
            data = values.buffers()[2]
            digest.update(memoryview(data)[int(offsets[0]) : int(offsets[-1])] if data else b"")
    elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
        digest.update(pc.list_value_length(values).to_numpy().astype("<u8").tobytes())
        _encode(values.flatten(), digest)
    elif pa.types.is_struct(kind):
        for field in values.flatten():
            _encode(field, digest)
    elif pa.types.is_boolean(kind):
        digest.update(values.to_numpy(zero_copy_only=False).view(np.uint8).tobytes())
    elif pa.types.is_timestamp(kind):
        micros = values.cast(pa.timestamp("us", kind.tz)).cast(pa.int64())
        digest.update(micros.to_numpy().astype("<i8").tobytes())
    elif pa.types.is_integer(kind):
        digest.update(values.cast(pa.int64()).to_numpy().astype("<i8").tobytes())
    else:
        raise TypeError(f"columns-sha256 does not define an encoding of {kind}")


__all__ = [
    "CURRENT",
    "V1",
    "V2",
    "columns_sha256",
    "recorded_definition",
    "rows_sha256",
    "table_sha256",
]
