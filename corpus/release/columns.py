"""The two big configs, ``sentences`` and ``tokens``, built column by column with Arrow.

A release has a sentences row and a tokens row per sentence: a million each for 20,000
articles. :mod:`corpus.release.tables` builds one Python dict per row (the reference, also
used for offsets-only releases); this module builds the same tables from the stored
``sentences`` table with Arrow compute and numpy, so that Python touches only the rows that
need it:

* sentences with gold spans (their spans are cut at the sentence, their tokens cut at span
  boundaries and tagged): the reference functions, row by row;
* sentences holding a character that the fast path cannot treat exactly like Python: one
  outside the Basic Multilingual Plane (the byte pass decodes characters of up to three
  bytes) or a control character other than ``\\n``, ``\\r``, ``\\t``.

Tokens elsewhere are ``\\w+|[^\\w\\s]`` (the reference's pattern), found by a numpy pass over
the UTF-8 bytes (:func:`tokenize_many`) with Python's own ``\\w`` and ``\\s`` tabulated for every
BMP code point. The privacy gate runs its pattern only on the strings Arrow finds an ``@`` in.
Their content hashes are taken from the tables (:mod:`corpus.release.content_hash`). Tests
check that the tables equal the reference's.
"""

from __future__ import annotations

import functools
import os
import re
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from corpus.label_schema import AnnotationSchema
from corpus.release import tables
from corpus.release.sentence_spans import SentenceSpans, sentence_spans
from corpus.release.splits import SPLITS
from corpus.release.tables import EMAIL, AlignmentReport

SPECIAL = r"[\x{00}-\x{08}\x{0b}\x{0c}\x{0e}-\x{1f}\x{10000}-\x{10ffff}]"


@dataclass
class BigTables:
    """config -> split -> table, and the config/splits holding an e-mail address."""

    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    leaks: list[str] = field(default_factory=list)


@functools.lru_cache(maxsize=1)
def _kinds() -> Any:
    """0 (space), 1 (word character) or 2 (anything else) for every BMP code point, as
    Python's ``\\s`` and ``\\w`` see them (surrogates never occur in text)."""
    import numpy as np

    table = np.full(0x10000, 2, np.uint8)
    chars = "".join(chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF)
    for match in re.finditer(r"\w+", chars):
        for ch in match.group():
            table[ord(ch)] = 1
    for match in re.finditer(r"\s+", chars):
        for ch in match.group():
            table[ord(ch)] = 0
    return table


THREADS = min(2, os.cpu_count() or 1)  # chunks tokenized at once
CHUNK_ROWS = 10_000  # rows tokenized at once: its per-byte arrays stay small enough to be
# reused by the allocator (larger ones are fresh mappings, and their page faults cost more
# than the work: 100,000 rows took twice as long)


def tokenize_many(texts: Any, cuts: Mapping[int, Sequence[int]]) -> tuple[Any, dict[int, Any]]:
    """``tokenize(text, cuts[i])`` of every text (BMP only) at once: a list array of the
    tokens, and for the rows in ``cuts`` their tokens' (start, end) code point offsets.

    Done with numpy over the UTF-8 bytes, a chunk of rows at a time: every byte gets the kind
    of its character (space, word, other; only non-ASCII characters are decoded), a token
    starts at a non-space character that does not continue a run of word characters, or
    begins its text, or sits at a cut; the tokens' bytes are the non-space bytes, in order.
    """
    import pyarrow as pa

    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    rows = sorted(cuts)
    chunks = []
    for lo in range(0, max(len(texts), 1), CHUNK_ROWS):
        hi = min(lo + CHUNK_ROWS, len(texts))
        mine = {i - lo: cuts[i] for i in rows[bisect_left(rows, lo) : bisect_left(rows, hi)]}
        chunks.append((texts.slice(lo, hi - lo), mine))
    if THREADS > 1 and len(chunks) > 1:  # numpy and Arrow release the GIL in their loops
        with ThreadPoolExecutor(THREADS) as pool:
            done = list(pool.map(lambda chunk: _tokenize_chunk(*chunk), chunks))
    else:
        done = [_tokenize_chunk(*chunk) for chunk in chunks]
    parts, offsets = [], {}
    for lo, (tokens, found) in zip(range(0, max(len(texts), 1), CHUNK_ROWS), done, strict=True):
        parts.append(tokens)
        offsets.update({i + lo: v for i, v in found.items()})
    return pa.concat_arrays(parts) if len(parts) > 1 else parts[0], offsets


def _tokenize_chunk(texts: Any, cuts: Mapping[int, Sequence[int]]) -> tuple[Any, dict[int, Any]]:
    import numpy as np
    import pyarrow as pa

    n = len(texts)
    raw = np.frombuffer(texts.buffers()[1], np.int32)[texts.offset : texts.offset + n + 1]
    first_byte = int(raw[0]) if n else 0
    data = np.frombuffer(texts.buffers()[2] or b"", np.uint8)[first_byte : int(raw[-1]) if n
                                                              else 0]  # fmt: skip
    bounds = raw.astype(np.int64) - first_byte
    table = _kinds()
    kind = table[:128][np.minimum(data, 127)]  # ASCII; every byte >= 0x80 fixed below
    wide = np.flatnonzero(data >= 0xC0)  # lead bytes of non-ASCII characters
    if len(wide):
        pad = np.concatenate([data, np.zeros(2, np.uint8)])
        b0 = pad[wide].astype(np.int64)
        b1, b2 = pad[wide + 1].astype(np.int64) & 0x3F, pad[wide + 2].astype(np.int64) & 0x3F
        three = b0 >= 0xE0
        code = np.where(three, ((b0 & 0x0F) << 12) | (b1 << 6) | b2, ((b0 & 0x1F) << 6) | b1)
        kinds = table[code]
        kind[wide] = kinds
        kind[wide + 1] = kinds  # continuation bytes take their character's kind
        kind[(wide + 2)[three]] = kinds[three]
    cont = (data & 0xC0) == 0x80
    starts = (kind != 0) & ~cont
    starts[1:] &= ~((kind[1:] == 1) & (kind[:-1] == 1))
    firsts = bounds[:-1][bounds[:-1] < bounds[1:]]  # first byte of each non-empty row
    starts[firsts] = kind[firsts] != 0
    lead_pos = np.flatnonzero(~cont)  # byte offset of every character
    row_char = np.searchsorted(lead_pos, bounds)  # character index where each row starts
    if cuts:
        rows = np.concatenate([np.full(len(c), i, np.int64) for i, c in cuts.items()])
        chars = row_char[rows] + np.concatenate([np.asarray(c, np.int64) for c in cuts.values()])
        inside = chars < row_char[rows + 1]
        at = lead_pos[chars[inside]]
        starts[at] = kind[at] != 0
    token_first = np.flatnonzero(starts)
    keep = kind != 0
    compact = np.concatenate([[0], np.cumsum(keep, dtype=np.int64)])
    value_offsets = np.concatenate([compact[token_first], [compact[-1]]])
    values = pa.StringArray.from_buffers(
        len(token_first), pa.py_buffer(value_offsets.astype(np.int32)),
        pa.py_buffer(data[keep].tobytes()),
    )  # fmt: skip
    row_tokens = np.searchsorted(token_first, bounds)
    list_offsets = pa.array(row_tokens - row_tokens[0], pa.int32())
    found: dict[int, Any] = {}
    if cuts:  # (start, end) of the tokens of the rows with cuts, as character offsets
        stops = np.flatnonzero((starts | (kind == 0))[lead_pos])  # characters ending a token
        stops = np.concatenate([stops, [len(lead_pos)]])
        rows = np.array(sorted(cuts), np.int64)
        counts = row_tokens[rows + 1] - row_tokens[rows]
        picked = np.repeat(row_tokens[rows] - np.cumsum(np.concatenate([[0], counts[:-1]])),
                           counts) + np.arange(int(counts.sum()))  # fmt: skip
        first = np.searchsorted(lead_pos, token_first[picked])
        ends = stops[np.searchsorted(stops, first, side="right")]
        base = np.repeat(row_char[rows], counts)
        pairs = list(zip((first - base).tolist(), (ends - base).tolist(), strict=True))
        at = 0
        for i, k in zip(rows.tolist(), counts.tolist(), strict=True):
            found[i] = pairs[at : at + k]
            at += k
    return pa.ListArray.from_arrays(list_offsets, values), found


def big_tables(
    sentences: Any,
    docs: Mapping[str, Mapping[str, Any]],
    split_of: Mapping[str, str],
    stance_of: Mapping[str, str | None],
    spans_of: Mapping[str, Sequence[Mapping[str, Any]]],
    schema: AnnotationSchema,
    report: AlignmentReport,
) -> BigTables:
    """``sentences`` and ``tokens`` of a full-text release, per split, from the stored
    sentences table (``doc_id``, ``index``, ``start``, ``end``, ``text``)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    feats = tables.features(schema)
    names = sorted(docs)
    wanted = pc.is_in(sentences["doc_id"], value_set=pa.array(names, pa.string()))
    t = sentences if pc.all(wanted).as_py() else sentences.filter(wanted)
    t = t.sort_by([("doc_id", "ascending"), ("index", "ascending")]).combine_chunks()
    n = t.num_rows
    doc_no = pc.index_in(t["doc_id"], value_set=pa.array(names, pa.string())).to_numpy()
    starts, ends = t["start"].to_numpy(), t["end"].to_numpy()
    bounds = np.searchsorted(doc_no, np.arange(len(names) + 1))
    stance = np.array([tables.stance_id(schema, stance_of[d]) for d in names], np.int64)
    codes = np.array([SPLITS.index(split_of[d]) for d in names], np.int64)[doc_no]

    # gold spans cut at sentences (the reference's rules), for the rows that have some
    span_type = feats["sentences"].arrow_schema.field("spans").type
    cut = sentence_spans(names, bounds, starts, ends, spans_of, schema, report)
    if cut is None:  # sentence starts out of order: the reference, document by document
        cut = reference_spans(names, bounds, starts, ends, spans_of, schema, report)
    span_lists = cut.lists()
    span_rows = np.array(sorted(span_lists), np.int64)
    counts = np.bincount(cut.row, minlength=n).astype(np.int64)
    item = span_type.value_type
    spans_col = pa.ListArray.from_arrays(
        pa.array(np.concatenate([[0], np.cumsum(counts)]), pa.int32()),
        pa.StructArray.from_arrays(
            [pa.array(cut.columns[f.name], f.type) for f in item], fields=list(item)
        ),
    ).cast(span_type)
    index = t["index"].cast(pa.int32())
    sentence_table = pa.Table.from_arrays(
        [t["doc_id"], index, t["text"], pa.array(stance[doc_no], pa.int64()), spans_col],
        schema=feats["sentences"].arrow_schema,
    )

    # tokens: numpy where it can (cut at span boundaries), the reference where it must
    special = pc.match_substring_regex(t["text"], SPECIAL).to_numpy(zero_copy_only=False)
    fast_rows, slow_rows = np.flatnonzero(~special), np.flatnonzero(special)
    position = np.full(n, -1, np.int64)
    position[fast_rows] = np.arange(len(fast_rows))
    cuts = {int(position[i]): [x for sp in span_lists[i] for x in (sp["start"], sp["end"])]
            for i in span_rows.tolist() if position[i] >= 0}  # fmt: skip
    fast_text = t["text"] if len(fast_rows) == n else t["text"].take(pa.array(fast_rows))
    tokens_fast, offsets_of = tokenize_many(fast_text, cuts)
    tags_fast = np.zeros(len(tokens_fast.values), np.int64)
    token_offsets = tokens_fast.offsets.to_numpy()
    slow: dict[int, dict[str, Any]] = {}
    texts = dict(zip((spans_or_slow := sorted({*span_rows.tolist(), *slow_rows.tolist()})),
                     t["text"].take(pa.array(spans_or_slow, pa.int64())).to_pylist(),
                     strict=True))  # fmt: skip
    picked = t.select(["doc_id", "index"]).take(pa.array(spans_or_slow, pa.int64()))
    ids = dict(zip(spans_or_slow, zip(picked["doc_id"].to_pylist(), picked["index"].to_pylist(),
                                      strict=True), strict=True))  # fmt: skip
    for i in spans_or_slow:  # row order: the unaligned spans are reported in the reference's
        doc_id, sentence_index = ids[i]
        row = {"doc_id": doc_id, "sentence_index": sentence_index, "spans": span_lists.get(i, [])}
        if special[i]:
            slow[i] = tables.token_row({"text": texts[i]}, row, schema, report)
        else:
            k = int(position[i])
            spans = row["spans"]
            if len(spans) == 1:
                tags = tag_one(offsets_of[k], spans[0], row, report)
            else:
                tags = tables.tag_tokens(texts[i], offsets_of[k], row, report)
            tags_fast[token_offsets[k] : token_offsets[k + 1]] = tags
    order = np.empty(n, np.int64)
    order[fast_rows] = np.arange(len(fast_rows))
    order[slow_rows] = len(fast_rows) + np.arange(len(slow_rows))
    token_schema = feats["tokens"].arrow_schema
    fast_columns = {
        "tokens": tokens_fast,
        "tags": pa.ListArray.from_arrays(tokens_fast.offsets, pa.array(tags_fast)),
    }
    columns = []
    for name in ("tokens", "tags"):
        kind = token_schema.field(name).type
        rest = pa.array([slow[i][name] for i in slow_rows.tolist()], kind)
        both = pa.concat_arrays([fast_columns[name].cast(kind), rest])
        columns.append(both.take(pa.array(order)) if len(slow_rows) else both)
    token_table = pa.Table.from_arrays([t["doc_id"], index, *columns], schema=token_schema)

    out = BigTables()
    for config, table, column in (("sentences", sentence_table, t["text"]),
                                  ("tokens", token_table, token_table["tokens"])):  # fmt: skip
        out.leaks += [f"{config}/{SPLITS[c]}" for c in _leaking(column, codes)]
        out.tables[config] = {s: table.filter(pa.array(codes == c)) for c, s in enumerate(SPLITS)}
    return out


def tag_one(
    tokens: Sequence[tuple[int, int]],
    span: Mapping[str, int],
    row: Mapping[str, Any],
    report: AlignmentReport,
) -> list[int]:
    """:func:`corpus.release.tables.tag_tokens` for a sentence with one span, whose tokens
    are cut at its start and end (as :func:`tokenize_many` cuts them): no token straddles
    either, and every character that is not a space is in a token, so the tokens inside the
    span cover it exactly whenever there is one (the reference's first and last character
    test always holds), and none was taken before."""
    tags = [0] * len(tokens)
    lo = bisect_left([a for a, _ in tokens], span["start"])
    hi = bisect_right([b for _, b in tokens], span["end"])
    if span["label"] < 0 or lo >= hi:
        report.unaligned.append({
            "doc_id": row["doc_id"], "sentence_index": row["sentence_index"],
            "start": span["start"], "end": span["end"],
            "reason": "overlaps another span" if lo < hi else "no whole token inside",
        })  # fmt: skip
        return tags
    first = 1 + 2 * span["label"]
    tags[lo:hi] = [first] + [first + 1] * (hi - lo - 1)
    return tags


def reference_spans(
    names: Sequence[str],
    bounds: Any,
    starts: Any,
    ends: Any,
    spans_of: Mapping[str, Sequence[Mapping[str, Any]]],
    schema: AnnotationSchema,
    report: AlignmentReport,
) -> SentenceSpans:
    """:func:`sentence_spans` by the reference functions, document by document."""
    import numpy as np

    rows: list[int] = []
    pieces: list[dict[str, int]] = []
    for k, doc_id in enumerate(names):
        spans = spans_of.get(doc_id) or []
        if not spans:
            continue
        lo, hi = int(bounds[k]), int(bounds[k + 1])
        sents = [{"start": int(a), "end": int(b)} for a, b in zip(starts[lo:hi], ends[lo:hi],
                                                                   strict=True)]  # fmt: skip
        for j, piece in enumerate(tables.cut_spans(sents, spans, report)):
            found = tables.span_dicts(piece, schema, offset=sents[j]["start"])
            rows += [lo + j] * len(found)
            pieces += found
    columns = {f: np.array([p[f] for p in pieces], np.int64) for f in ("start", "end", "label",
                                                                       "stance")}  # fmt: skip
    return SentenceSpans(np.array(rows, np.int64), columns)


def _leaking(strings: Any, codes: Any) -> list[int]:
    """The split codes of the rows whose strings (a string or list-of-strings column) hold an
    e-mail address: Arrow finds the strings holding ``@``, :data:`EMAIL` checks those only. Equal to
    scanning the rows' canonical JSON (their other values hold no ``@``, and an escape
    starts with a backslash, which the pattern does not cross)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    row_of = np.arange(len(strings))
    if pa.types.is_list(strings.type):
        lengths = pc.list_value_length(strings).to_numpy(zero_copy_only=False)
        row_of = np.repeat(row_of, lengths)
        strings = strings.flatten()
    at = np.flatnonzero(pc.match_substring(strings, "@").to_numpy(zero_copy_only=False))
    texts = strings.take(pa.array(at, pa.int64())).to_pylist()
    hits = [
        int(r) for r, text in zip(row_of[at].tolist(), texts, strict=True) if EMAIL.search(text)
    ]
    return sorted({int(codes[r]) for r in hits})
