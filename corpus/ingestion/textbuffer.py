"""A batch's texts as one UTF-8 buffer and its JSON-escaped twin, with offset maps.

Every row of the paragraphs and sentences tables is a slice of its document's text, and every
row's canonical JSON (:func:`corpus.ids.canonical_json`) holds that slice JSON-escaped. JSON
escaping works byte by byte on UTF-8 (only ASCII bytes are ever escaped, and each escape is
context-free), so the escaped text of a slice is a slice of the escaped text of the whole
batch. :class:`TextBuffer` escapes a batch once and maps character offsets to byte offsets
in both buffers, so rows are cut out of them with Arrow instead of being encoded one by one.
"""

from __future__ import annotations

import itertools
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
    present = np.flatnonzero(np.bincount(arr[pos], minlength=256)).tolist()
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

    ``doc_chars[i]`` is the character offset of text ``i`` in the concatenation and
    ``doc_bytes[i]`` its byte offset in ``data`` (one more entry each, the total);
    :meth:`byte_offsets` and :meth:`escaped_offsets` map character offsets into the
    concatenation to byte offsets into the two buffers.
    """

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = texts
        joined = "".join(texts)
        self.data = joined.encode()
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        self.doc_chars = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(lengths, out=self.doc_chars[1:])
        # the characters of more than one byte (few, in most text): the byte offset of each
        # one's first byte, its character offset, and the bytes added before it (cumulative)
        self.wide: I64 = np.zeros(0, dtype=np.int64)
        self._wide_chars: I64 = self.wide
        self._wide_added: I64 = np.zeros(1, dtype=np.int64)
        if len(self.data) != len(joined):
            arr = np.frombuffer(self.data, dtype=np.uint8)
            self.wide = np.flatnonzero(arr >= 0xC0).astype(np.int64)  # a first byte of 2-4
            first = arr[self.wide]
            extra = 1 + (first >= 0xE0).astype(np.int64) + (first >= 0xF0)
            self._wide_added = np.zeros(len(extra) + 1, dtype=np.int64)
            np.cumsum(extra, out=self._wide_added[1:])
            self._wide_chars = self.wide - self._wide_added[:-1]
        self.doc_bytes = self.byte_offsets(self.doc_chars)
        self._escaped: tuple[bytes, I64, I64] | None = None

    def byte_offsets(self, chars: I64) -> I64:
        """UTF-8 byte offsets of character offsets into the concatenated texts."""
        if not len(self.wide):
            return chars
        return chars + self._wide_added[np.searchsorted(self._wide_chars, chars)]

    def wide_code_points(self) -> np.ndarray[Any, np.dtype[np.uint32]]:
        """The code points of the characters of more than one byte, in order."""
        arr = np.frombuffer(self.data, dtype=np.uint8)
        at = self.wide
        first = arr[at].astype(np.uint32)
        n = np.diff(self._wide_added) + 1  # bytes of each character
        code = first & np.where(n == 2, 0x1F, np.where(n == 3, 0x0F, 0x07)).astype(np.uint32)
        for k in (1, 2, 3):
            more = n > k
            nxt = arr[np.minimum(at + k, len(arr) - 1)].astype(np.uint32) & 0x3F
            code = np.where(more, (code << 6) | nxt, code)
        return code

    def _escape(self) -> tuple[bytes, I64, I64]:
        if self._escaped is None:
            self._escaped = json_escape(self.data)
        return self._escaped

    @property
    def escaped(self) -> bytes:
        """The JSON-escaped ``data`` (the body of its JSON string)."""
        return self._escape()[0]

    @property
    def doc_escaped(self) -> I64:
        """``doc_bytes`` as offsets into ``escaped``."""
        return self.escaped_offsets(self.doc_bytes)

    def escaped_offsets(self, offsets: I64) -> I64:
        """Offsets into ``escaped`` of byte offsets into ``data`` (character boundaries)."""
        _, pos, added = self._escape()
        if not len(pos):
            return offsets
        return offsets + added[np.searchsorted(pos, offsets)]

    def doc_slices(self) -> list[bytes]:
        """The escaped text of each document (the body of its JSON string)."""
        escaped, at = self.escaped, self.doc_escaped
        bounds: list[int] = at.tolist()  # type: ignore[assignment]
        return [escaped[a:b] for a, b in itertools.pairwise(bounds)]

    def doc_utf8(self) -> list[memoryview]:
        """The UTF-8 bytes of each document."""
        data, at = memoryview(self.data), self.doc_bytes
        bounds: list[int] = at.tolist()  # type: ignore[assignment]
        return [data[a:b] for a, b in itertools.pairwise(bounds)]


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
