"""A batch of documents as columns: Arrow record batches and row hashes, built column-wise.

:func:`process_batch` turns records into a :class:`DocBatch`; :func:`to_batch` builds one from
segmented documents. The rows and their hashes are exactly those of the per-record reference
(:func:`corpus.ingestion.core.process_record`, :func:`~corpus.ingestion.core.paragraph_rows`,
:func:`~corpus.ingestion.core.sentence_rows`, :func:`~corpus.ingestion.core.document_row`
hashed by :func:`corpus.ids.row_hash`); property tests compare the two. What differs is how:
the batch's texts are encoded and JSON-escaped once (:class:`TextBuffer`), each paragraph and
sentence is cut out of those buffers, and each row's canonical JSON is assembled by Arrow
from its columns; only the sha256 of each row is a Python call.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain, pairwise
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from corpus.ids import row_hash
from corpus.ingestion.core import (
    SCHEMAS,
    ProcessedDoc,
    RawRecord,
    RecordProblem,
    document_row,
    segment_text,
    source_row,
)
from corpus.ingestion.minhash import U32, minhash_signatures
from corpus.ingestion.textbuffer import (
    I64,
    TextBuffer,
    int_array,
    slices,
    string_array,
    string_scalar,
)
from corpus.neardup.bands import NUM_PERM
from corpus.store.arrow import record_batch

_SORT = orjson.OPT_SORT_KEYS


@dataclass
class DocBatch:
    """The columnar result of a batch: one entry per document, in input order.

    ``tables`` holds the rows of every table for all documents of the batch; the documents
    rows have ``dup_group == doc_id`` (the caller decides groups) and ``row_hashes`` gives,
    per table and document, the sum of that document's row hashes (the documents hash
    assumes that same ``dup_group``).
    """

    doc_ids: list[str]
    source_paths: list[str]
    source_sha256: list[str]
    signatures: U32  # (documents, NUM_PERM)
    n_paragraphs: I64
    n_sentences: I64
    row_hashes: dict[str, list[int]]
    tables: dict[str, pa.RecordBatch]

    def __len__(self) -> int:
        return len(self.doc_ids)


def process_batch(
    records: Sequence[RawRecord], *, version: str
) -> tuple[DocBatch, list[tuple[int, RecordProblem]]]:
    """The pure batch function: every good record as columns, every bad one by position."""
    docs: list[ProcessedDoc] = []
    problems: list[tuple[int, RecordProblem]] = []
    for position, raw in enumerate(records):
        try:
            docs.append(segment_text(raw))
        except RecordProblem as exc:
            problems.append((position, exc))
    buffer = TextBuffer([d.text for d in docs])
    sha = hashlib.sha256
    escaped, utf8 = buffer.doc_slices(), buffer.doc_utf8()
    for i, doc in enumerate(docs):  # content_id and text_sha256, from the batch's buffers
        digest = sha(b'{"text":"')
        digest.update(escaped[i])
        digest.update(b'","title":' + orjson.dumps(doc.title) + b"}")
        doc.doc_id = digest.hexdigest()[:16]
        doc.text_sha256 = sha(utf8[i]).hexdigest()
    return _to_batch(docs, buffer, version, None), problems


def to_batch(
    docs: Sequence[ProcessedDoc], *, version: str, signatures: U32 | None = None
) -> DocBatch:
    """Columns and row hashes of every table for ``docs`` (``ingested_in=version``);
    ``signatures`` when they were computed already (else they are computed here)."""
    return _to_batch(docs, TextBuffer([d.text for d in docs]), version, signatures)


def _to_batch(
    docs: Sequence[ProcessedDoc], buffer: TextBuffer, version: str, signatures: U32 | None
) -> DocBatch:
    if signatures is None:
        signatures = minhash_signatures(buffer.texts, buffer)
    n_par = np.fromiter((len(d.paragraphs) for d in docs), np.int64, len(docs))
    n_sen = np.fromiter((len(d.sentences) for d in docs), np.int64, len(docs))
    prefixes = string_array([b'{"doc_id":' + orjson.dumps(d.doc_id) + b',"end":' for d in docs])
    doc_ids = [d.doc_id for d in docs]
    ids = string_array([d.encode() for d in doc_ids])
    par = _units(buffer, ids, prefixes, n_par, chain.from_iterable(d.paragraphs for d in docs), 2)
    sen = _units(buffer, ids, prefixes, n_sen, chain.from_iterable(d.sentences for d in docs), 3)
    hashes: dict[str, list[int]] = {
        "paragraphs": par.pop("hashes"),
        "sentences": sen.pop("hashes"),
        "documents": [],
        "sources": [],
        "minhashes": [],
    }
    documents: list[dict[str, Any]] = []
    sources: list[dict[str, Any]] = []
    signature_lists: list[list[int]] = signatures.tolist()  # type: ignore[assignment]
    sha = hashlib.sha256
    escaped = buffer.doc_slices()
    for i, (doc, signature) in enumerate(zip(docs, signature_lists, strict=True)):
        row = document_row(doc, doc.doc_id, version)
        documents.append(row)
        head = orjson.dumps({**row, "text": ""}, option=_SORT)
        # '"text":""' occurs once: a quote inside a JSON string value is always escaped
        before, _, after = head.partition(b'"text":""')
        digest = sha(before + b'"text":"')
        digest.update(escaped[i])
        digest.update(b'"' + after)
        hashes["documents"].append(int.from_bytes(digest.digest(), "big"))
        sources.append(source_row(doc, version))
        hashes["sources"].append(row_hash(sources[-1]))
        hashes["minhashes"].append(row_hash({"doc_id": doc.doc_id, "signature": signature}))
    columns: dict[str, Any] = {k: [r[k] for r in documents] for k in SCHEMAS["documents"].names}
    columns["text"] = pa.Array.from_buffers(
        pa.string(),
        len(docs),
        [None, pa.py_buffer(buffer.doc_bytes.astype(np.int32)), pa.py_buffer(buffer.data)],
    )
    values = pa.Array.from_buffers(
        pa.int64(), signatures.size, [None, pa.py_buffer(signatures.astype(np.int64).ravel())]
    )
    offsets = np.arange(0, signatures.size + 1, NUM_PERM, dtype=np.int32)
    signature_array = pa.ListArray.from_buffers(
        pa.list_(pa.int64()), len(docs), [None, pa.py_buffer(offsets)], children=[values]
    )
    tables = {
        "documents": record_batch(columns, SCHEMAS["documents"]),
        "sources": record_batch(
            {k: [r[k] for r in sources] for k in SCHEMAS["sources"].names}, SCHEMAS["sources"]
        ),
        "minhashes": record_batch(
            {"doc_id": ids, "signature": signature_array}, SCHEMAS["minhashes"]
        ),
        "paragraphs": record_batch(par, SCHEMAS["paragraphs"]),
        "sentences": record_batch(sen, SCHEMAS["sentences"]),
    }
    return DocBatch(
        doc_ids=doc_ids,
        source_paths=[d.raw.source_path for d in docs],
        source_sha256=[d.raw.source_sha256 for d in docs],
        signatures=signatures,
        n_paragraphs=n_par,
        n_sentences=n_sen,
        row_hashes=hashes,
        tables=tables,
    )


def _units(
    buffer: TextBuffer, ids: pa.Array, prefixes: pa.Array, counts: I64, spans: Any, width: int
) -> dict[str, Any]:
    """The paragraphs (``width`` 2: start, end) or sentences (3: paragraph_index, start,
    end) of every document as columns, with the sum of their row hashes per document."""
    total = int(counts.sum())
    flat = np.fromiter(chain.from_iterable(spans), np.int64, width * total).reshape(total, width)
    doc = np.repeat(np.arange(len(counts)), counts)
    first = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=first[1:])
    index = np.arange(total, dtype=np.int64) - first[doc]
    start, end = flat[:, -2], flat[:, -1]
    byte_start = buffer.byte_offsets(buffer.doc_chars[doc] + start)
    byte_end = buffer.byte_offsets(buffer.doc_chars[doc] + end)
    columns: dict[str, Any] = {
        "doc_id": ids.take(int_array(doc)),
        "index": int_array(index),
        "start": int_array(start),
        "end": int_array(end),
        "text": slices(buffer.data, byte_start, byte_end),
    }
    escaped = slices(
        buffer.escaped, buffer.escaped_offsets(byte_start), buffer.escaped_offsets(byte_end)
    )
    parts: list[Any] = [prefixes.take(int_array(doc)), pc.cast(columns["end"], pa.string())]
    parts += [string_scalar(',"index":'), pc.cast(columns["index"], pa.string())]
    if width == 3:
        columns["paragraph_index"] = int_array(flat[:, 0])
        parts += [string_scalar(',"paragraph_index":')]
        parts += [pc.cast(columns["paragraph_index"], pa.string())]
    parts += [string_scalar(',"start":'), pc.cast(columns["start"], pa.string())]
    parts += [string_scalar(',"text":"'), escaped, string_scalar('"}'), string_scalar("")]
    columns["hashes"] = hash_sums(pc.binary_join_element_wise(*parts), first)
    return columns


def hash_sums(json: pa.Array, bounds: I64) -> list[int]:
    """The sums of the sha256 (big-endian integers) of the strings ``json[bounds[i]:
    bounds[i + 1]]``, for each ``i``: a document's share of a table hash."""
    offsets = np.frombuffer(json.buffers()[1], dtype=np.int32)[json.offset :][: len(json) + 1]
    data = json.buffers()[2].to_pybytes() if len(json) else b""
    at = offsets.tolist()
    sha = hashlib.sha256
    digests = b"".join([sha(data[a:b]).digest() for a, b in pairwise(at)])
    # 256-bit sums as eight 32-bit limbs in 64-bit integers (no overflow below 2**32 rows)
    limbs = np.frombuffer(digests, dtype=">u4").reshape(-1, 8).astype(np.uint64)
    totals = np.zeros((len(limbs) + 1, 8), dtype=np.uint64)
    np.cumsum(limbs, axis=0, out=totals[1:])
    per_doc = (totals[bounds[1:]] - totals[bounds[:-1]]).tolist()
    shifts = [32 * (7 - k) for k in range(8)]
    return [sum(v << s for v, s in zip(row, shifts, strict=True)) for row in per_doc]
