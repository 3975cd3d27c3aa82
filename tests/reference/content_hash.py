"""Reference twin of a release table's content hash, version 2 (``columns-sha256``).

The sentences of docs/concepts/releases.md ("Content hashes"): "The sha256 of one stream of
bytes: the number of rows as 8 bytes, little endian; then, for each column in the order of the
schema, its name in UTF-8 and a zero byte, then the column's values encoded as follows. One
byte per value, 1 if it is present and 0 if it is null; then, of the present values only: a
string as its length in UTF-8 bytes (8 bytes, little endian, for each string) followed by the
UTF-8 bytes of all of them; an integer (any width) or a timestamp (microseconds since
1970-01-01 UTC) as 8 bytes, signed, little endian; a boolean as one byte, 0 or 1; a list as
its length (8 bytes, for each list) followed by all its items, in order, encoded as one
column of the item type; a struct as one column per field, in field order, of that field's
values."

Written from those sentences, not from ``corpus/``: rows are plain dicts (what
``Table.to_pylist`` gives) and the column types a small tree of plain values, so nothing here
touches Arrow buffers. Each column's bytes are collected into one ``bytearray`` value by value
with :mod:`struct`, then the whole stream is hashed at once.

Types: ``"string"``, ``"int"``, ``"bool"``, ``"timestamp"``, ``("list", item)``,
``("struct", [(name, type), ...])``.

Stable API (imported by ``tests/test_release_hash.py``): :func:`table_digest`.
"""

from __future__ import annotations

import hashlib
import struct
from datetime import UTC, datetime
from typing import Any

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(value: datetime) -> int:
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def column_bytes(values: list[Any], kind: Any) -> bytes:
    """The encoding of one column's values (a list, ``None`` for a null)."""
    out = bytearray()
    for value in values:
        out.append(0 if value is None else 1)
    present = [v for v in values if v is not None]
    if kind == "string":
        encoded = [v.encode("utf-8") for v in present]
        for data in encoded:
            out += struct.pack("<Q", len(data))
        for data in encoded:
            out += data
    elif kind == "int":
        for v in present:
            out += struct.pack("<q", v)
    elif kind == "timestamp":
        for v in present:
            out += struct.pack("<q", _micros(v))
    elif kind == "bool":
        for v in present:
            out += b"\x01" if v else b"\x00"
    elif kind[0] == "list":
        items: list[Any] = []
        for v in present:
            out += struct.pack("<Q", len(v))
            items.extend(v)
        out += column_bytes(items, kind[1])
    elif kind[0] == "struct":
        for name, sub in kind[1]:
            out += column_bytes([v[name] for v in present], sub)
    else:
        raise ValueError(f"no encoding for {kind!r}")
    return bytes(out)


def table_digest(rows: list[dict[str, Any]], columns: list[tuple[str, Any]]) -> str:
    """The hex content hash of ``rows`` whose columns (in schema order) are ``columns``."""
    stream = bytearray(struct.pack("<Q", len(rows)))
    for name, kind in columns:
        stream += name.encode("utf-8") + b"\x00"
        stream += column_bytes([row[name] for row in rows], kind)
    return hashlib.sha256(bytes(stream)).hexdigest()
