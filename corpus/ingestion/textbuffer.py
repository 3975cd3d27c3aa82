"""A batch's texts as one UTF-8 buffer and its JSON-escaped twin, with offset maps.

Every row of the paragraphs and sentences tables is a slice of its document's text, and every
row's canonical JSON (:func:`corpus.ids.canonical_json`) holds that slice JSON-escaped. JSON
escaping works byte by byte on UTF-8 (only ASCII bytes are ever escaped, and each escape is
context-free), so the escaped text of a slice is a slice of the escaped text of the whole
batch. :class:`TextBuffer` escapes a batch once and maps character offsets to byte offsets
in both buffers, so rows are cut out of them with Arrow instead of being encoded one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

I64 = np.ndarray[Any, np.dtype[np.int64]]

# orjson's (and json's) escapes: \" \\ and the control characters, short forms where JSON
# has one; nothing else is escaped (ensure_ascii=False). A property test compares with orjson.
ESCAPES: dict[int, bytes] = {c: b"\\u%04x" % c for c in range(0x20)}
ESCAPES.update({0x22: b'\\"', 0x5C: b"\\\\", 8: b"\\b", 9: b"\\t", 10: b"\\n", 12: b"\\f"})
ESCAPES[13] = b"\\r"
_EXTRA = np.zeros(256, dtype=np.uint8)  # bytes an escape adds, per byte value
for _code, _escape in ESCAPES.items():
    _EXTRA[_code] = len(_escape) - 1


def json_escape(data: bytes) -> tuple[bytes, I64, I64]:
    """The body of the JSON string of UTF-8 ``data`` (no quotes), the byte offsets of the
    escaped bytes, and the bytes added before each of them (cumulative, one more entry)."""
    arr = np.frombuffer(data, dtype=np.uint8)
    flags = _EXTRA[arr]
    pos = np.flatnonzero(flags)
    added = np.zeros(len(pos) + 1, dtype=np.int64)
    if not len(pos):
        return data, pos, added
    np.cumsum(flags[pos], out=added[1:])
    present = np.unique(arr[pos]).tolist()
    if 0x5C in present:  # the backslash first: the other escapes add backslashes
        present.remove(0x5C)
        present.insert(0, 0x5C)
    for code in present:
        data = data.replace(bytes((code,)), ESCAPES[code])
    if len(data) != len(arr) + int(added[-1]):  # pragma: no cover - the table is complete
        raise AssertionError("JSON escaping added an unexpected number of bytes")
    return data, pos, added


class TextBuffer:
    """The texts of a batch, concatenated: UTF-8 (``data``) and JSON-escaped (``escaped``).

    ``doc_chars[i]`` is the character offset of text ``i`` in the concatenation (one more
    entry, the total); :meth:`byte_offsets` and :meth:`escaped_offsets` map character
    offsets into the concatenation to byte offsets into the two buffers.
    """

    def __init__(self, texts: Sequence[str]) -> None:
        joined = "".join(texts)
        self.data = joined.encode()
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        self.doc_chars = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(lengths, out=self.doc_chars[1:])
        self._char_bytes: I64 | None = None  # None: ASCII, a character is a byte
        if len(self.data) != len(joined):
            arr = np.frombuffer(self.data, dtype=np.uint8)
            starts = np.flatnonzero((arr & 0xC0) != 0x80)  # not a continuation byte
            self._char_bytes = np.append(starts, len(self.data))
        self.escaped, self._escape_pos, self._added = json_escape(self.data)
        self.doc_bytes = self.byte_offsets(self.doc_chars)
        self.doc_escaped = self.escaped_offsets(self.doc_bytes)

    def byte_offsets(self, chars: I64) -> I64:
        """UTF-8 byte offsets of character offsets into the concatenated texts."""
        return chars if self._char_bytes is None else self._char_bytes[chars]

    def escaped_offsets(self, offsets: I64) -> I64:
        """Offsets into ``escaped`` of byte offsets into ``data`` (character boundaries)."""
        if not len(self._escape_pos):
            return offsets
        return offsets + self._added[np.searchsorted(self._escape_pos, offsets)]

    def doc_slice(self, i: int) -> bytes:
        """The escaped text of document ``i`` (the body of its JSON string)."""
        return self.escaped[self.doc_escaped[i] : self.doc_escaped[i + 1]]

    def doc_bytes_of(self, i: int) -> memoryview:
        """The UTF-8 bytes of document ``i``."""
        return memoryview(self.data)[self.doc_bytes[i] : self.doc_bytes[i + 1]]


def slices(data: bytes, starts: I64, ends: I64) -> pa.Array:
    """A string array of ``data[starts[i]:ends[i]]`` (UTF-8 slices at character boundaries).

    The slices must be in order and must not overlap: the array is cut out of ``data``
    with one Arrow ``take`` (each slice, and each gap between two slices, is an element of
    an array over ``data``, and the slices are every other element).
    """
    n = len(starts)
    if n and (starts[0] < 0 or np.any(starts[1:] < ends[:-1]) or np.any(ends < starts)):
        raise ValueError("slices() needs ordered, non-overlapping slices")
    if len(data) > np.iinfo(np.int32).max:
        raise ValueError("over 2 GiB of text in one batch; use smaller batches")
    bounds = np.empty(2 * n + 2, dtype=np.int32)
    bounds[0], bounds[-1] = 0, len(data)
    bounds[1:-1:2], bounds[2:-1:2] = starts, ends
    whole = pa.Array.from_buffers(
        pa.string(), 2 * n + 1, [None, pa.py_buffer(bounds), pa.py_buffer(data)]
    )
    return whole.take(int_array(np.arange(1, 2 * n, 2, dtype=np.int64)))


def int_array(values: I64) -> pa.Array:
    """An int64 Arrow array over a numpy array (no conversion through Python objects)."""
    values = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])


def string_array(values: Sequence[bytes]) -> pa.Array:
    """A string array of UTF-8 ``values``."""
    offsets = np.zeros(len(values) + 1, dtype=np.int32)
    np.cumsum(np.fromiter(map(len, values), np.int64, len(values)), out=offsets[1:])
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(values))]
    return pa.Array.from_buffers(pa.string(), len(values), buffers)


def string_scalar(value: str) -> pa.Scalar:
    """A string scalar (``pa.scalar`` converts through Python objects and imports pandas)."""
    return string_array([value.encode()])[0]
