"""Canonical JSON of release rows, assembled by Arrow, and the content hashes over it.

The content hash of a release table is the sum of the sha256 of each row's canonical JSON
(:func:`corpus.ids.row_hash`, sorted keys, orjson's escaping). For the million rows of the
``sentences`` and ``tokens`` configs, :mod:`corpus.release.columns` builds that JSON here,
column by column: string bodies escaped only where a byte scan finds something to escape,
lists joined by Arrow, each row's text then hashed from one buffer. Tests check every piece
against orjson and the reference row builders.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from typing import Any

from corpus.ids import canonical_json

_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"))
SCAN_BYTES = 1 << 22  # bytes scanned at once for characters to escape


@functools.lru_cache(maxsize=8)
def byte_table(chars: str) -> Any:
    """256 booleans marking the bytes of ``chars`` (ASCII), for :func:`holding`."""
    import numpy as np

    table = np.zeros(256, bool)
    table[[ord(ch) for ch in chars]] = True
    return table


def escaped(strings: Any) -> Any:
    """JSON string bodies (orjson's escaping, for text without other control characters):
    only the strings holding something to escape are rewritten."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    mask = holding(strings, byte_table("".join(old for old, _ in _ESCAPES)))
    if not mask.any():
        return strings
    chosen = pa.array(mask)
    some = strings.filter(chosen)
    for old, new in _ESCAPES:
        some = pc.replace_substring(some, old, new)
    return pc.replace_with_mask(strings, chosen, some.cast(strings.type))


def holding(strings: Any, table: Any) -> Any:
    """A numpy mask of the strings (a string or large string array without nulls) holding a
    byte that ``table`` (256 booleans) marks: a scan of the bytes, not of each string."""
    import numpy as np
    import pyarrow as pa

    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    n = len(strings)
    mask = np.zeros(n, bool)
    if not n:
        return mask
    wide = strings.type == pa.large_string()
    offsets = np.frombuffer(strings.buffers()[1], np.int64 if wide else np.int32)
    offsets = offsets[strings.offset : strings.offset + n + 1].astype(np.int64)
    data = np.frombuffer(strings.buffers()[2] or b"", np.uint8)
    lo, hi = int(offsets[0]), int(offsets[-1])
    for at in range(lo, hi, SCAN_BYTES):  # in pieces: small temporaries are reused
        hits = np.flatnonzero(table[data[at : min(at + SCAN_BYTES, hi)]]) + at
        mask[np.searchsorted(offsets, hits, side="right") - 1] = True
    return mask


def join(*parts: Any) -> Any:
    """Element-wise concatenation of string arrays and literals (as large strings)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.large_string()
    cast = []
    for part in parts:
        if isinstance(part, str):
            cast.append(pa.scalar(part, text))
        else:
            if isinstance(part, pa.ChunkedArray):
                part = part.combine_chunks()
            cast.append(part.cast(text))
    return pc.binary_join_element_wise(*cast, pa.scalar("", text))


def json_lists(lists: Any, *, quoted: bool) -> Any:
    """Each list as JSON text: ``[1,2]``, or ``["a","b"]`` with ``quoted`` (its strings hold
    no control character other than \\n, \\r, \\t)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.large_string()
    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks()
    lengths = pc.list_value_length(lists)
    if not quoted:  # tags: all zeros but in the sentences with spans
        flat = pc.list_flatten(lists)
        nonzero = np.flatnonzero(flat.to_numpy(zero_copy_only=False))
        zeros = join("[", pc.binary_repeat(pa.scalar("0,", text), lengths), "]")
        zeros = pc.replace_substring(zeros, ",]", "]")
        if not len(nonzero):
            return zeros
        bounds = np.concatenate([[0], np.cumsum(lengths.to_numpy(zero_copy_only=False))])
        rows = np.unique(np.searchsorted(bounds, nonzero, side="right") - 1)
        mask = np.zeros(len(lists), bool)
        mask[rows] = True
        tagged = pa.array([canonical_json(v) for v in lists.take(pa.array(rows)).to_pylist()],
                          text)  # fmt: skip
        return pc.replace_with_mask(zeros, pa.array(mask), tagged)
    values = pc.list_flatten(lists).cast(text)
    offsets = pa.array(np.concatenate([[0], np.cumsum(lengths.to_numpy(zero_copy_only=False))]))
    rebuilt = pa.LargeListArray.from_arrays(offsets, escaped(values))
    joined = join('["', pc.binary_join(rebuilt, pa.scalar('","', text)), '"]')
    return pc.if_else(pc.equal(lengths, 0), pa.scalar("[]", text), joined)


def add_hashes(json: Any, codes: Any, into: list[int]) -> None:
    """Add the sha256 (as integers) of each JSON text to the total of its split."""
    import numpy as np
    import pyarrow as pa

    json = json.cast(pa.large_string())
    if isinstance(json, pa.ChunkedArray):
        json = json.combine_chunks()
    offsets = np.frombuffer(json.buffers()[1], dtype=np.int64)[json.offset :][: len(json) + 1]
    data = memoryview(json.buffers()[2] or b"")
    bounds = offsets.tolist()
    sha, big = hashlib.sha256, int.from_bytes
    for i, code in enumerate(codes.tolist()):
        into[code] += big(sha(data[bounds[i] : bounds[i + 1]]).digest(), "big")


def sentence_json(table: Any, rows: Any, span_lists: Mapping[int, Any]) -> Any:
    """The canonical JSON of the sentences rows ``rows`` (their text holds no special
    character): keys doc_id, doc_stance, sentence_index, spans, text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = table if len(rows) == table.num_rows else table.take(pa.array(rows))
    spans = pa.array([canonical_json(span_lists.get(i) or []) for i in rows.tolist()]
                     if len(span_lists) * 4 > len(rows) else
                     _sparse_json(rows, span_lists), pa.large_string())  # fmt: skip
    return join(
        '{"doc_id":"', t["doc_id"], '","doc_stance":', pc.cast(t["doc_stance"], pa.string()),
        ',"sentence_index":', pc.cast(t["sentence_index"], pa.string()), ',"spans":', spans,
        ',"text":"', escaped(t["text"]), '"}',
    )  # fmt: skip


def _sparse_json(rows: Any, lists: Mapping[int, Any]) -> list[str]:
    """``canonical_json(lists.get(i, []))`` for each row, "[]" without a dict look-up each."""
    out = ["[]"] * len(rows)
    where = {int(i): k for k, i in enumerate(rows.tolist())} if lists else {}
    for i, value in lists.items():
        if i in where:
            out[where[i]] = canonical_json(value)
    return out


def token_json(table: Any, rows: Any) -> Any:
    """The canonical JSON of the tokens rows ``rows``: doc_id, sentence_index, tags, tokens."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = table if len(rows) == table.num_rows else table.take(pa.array(rows))
    return join(
        '{"doc_id":"', t["doc_id"],
        '","sentence_index":', pc.cast(t["sentence_index"], pa.string()),
        ',"tags":', json_lists(t["tags"], quoted=False),
        ',"tokens":', json_lists(t["tokens"], quoted=True), "}",
    )  # fmt: skip
