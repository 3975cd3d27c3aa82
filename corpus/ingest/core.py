"""Pure per-document work: normalise, parse, segment, hash.

Nothing here touches disk or global state, so a batch of records can be processed in any
worker process (or, later, on a distributed engine) with the same result:
:func:`process_batch` turns a batch of :class:`RawRecord` into a columnar
:class:`DocBatch` (Arrow record batches plus per-document ids, signatures and row hashes).

The MinHash signatures are datasketch's (``MinHash(num_perm=64, seed=1, scheme="affine32")``
fed the word 5-shingle hashes) computed with vectorised numpy over a whole batch; the tests
check them against ``MinHash.update_batch``. datasketch itself is imported only where its
objects are needed (similarity, and the LSH index in the main process).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial
from json.encoder import encode_basestring
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import sentencex
import xxhash

from corpus.features import arrow_schema
from corpus.models import Document, MinHashRow, Paragraph, Sentence, Source
from corpus.store import record_batch, repeated_strings

SEGMENTER = {"name": "sentencex", "version": "1.0"}
NUM_PERM = 64
SHINGLE = 5
DEDUP_THRESHOLD = 0.7
SCHEME = "affine32"
SCHEMAS = {
    "documents": arrow_schema(Document),
    "paragraphs": arrow_schema(Paragraph),
    "sentences": arrow_schema(Sentence),
    "sources": arrow_schema(Source),
    "minhashes": arrow_schema(MinHashRow),
}

_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_WORD = re.compile(r"\w+")
_MASK32 = np.uint64(0xFFFFFFFF)
# canonical_json of a paragraph / sentence row (keys sorted), filled in without a dict
_PARAGRAPH_JSON = '{"doc_id":%s,"end":%d,"index":%d,"start":%d,"text":%s}'
_SENTENCE_JSON = '{"doc_id":%s,"end":%d,"index":%d,"paragraph_index":%d,"start":%d,"text":%s}'

U32 = np.ndarray[Any, np.dtype[np.uint32]]
U64 = np.ndarray[Any, np.dtype[np.uint64]]
I64 = np.ndarray[Any, np.dtype[np.int64]]


class RecordProblem(ValueError):
    """A record that cannot become a document; the message is the reason for the report."""

    def __init__(self, reason: str, hint: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


@dataclass(frozen=True)
class RawRecord:
    """One article as read from its source, before normalisation."""

    source_path: str
    source_sha256: str
    source_record: int | None
    title: str
    text: str
    external_id: str | None = None
    url: str | None = None
    source: str | None = None
    published_at: str | None = None
    language: str = "en"


@dataclass
class ProcessedDoc:
    """A normalised, segmented document (offsets into ``text``)."""

    doc_id: str
    title: str
    text: str
    text_sha256: str
    raw: RawRecord
    paragraphs: list[tuple[int, int]]
    sentences: list[tuple[int, int, int]]  # (paragraph_index, start, end)
    signature: list[int] = field(default_factory=list)
    unit_hash: dict[str, int] = field(default_factory=dict)  # table -> sum of row hashes
    text_json: str = ""  # ``text`` as a JSON string (escaped once, used by the id and hashes)


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


def normalize(text: str) -> str:
    """Strip leading BOMs, turn every newline into ``\\n`` and compose to NFC; keep all else."""
    text = text.lstrip("\ufeff")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text


def split_title(content: str) -> tuple[str, str]:
    """Seed layout: first non-empty line is the title, the rest (after blank lines) the body."""
    stripped = content.lstrip()
    if not stripped:
        raise RecordProblem("the file is empty", "Remove it or add a title line and paragraphs.")
    title, _, body = stripped.partition("\n")
    title = title.strip()
    if title.startswith("#"):  # Markdown heading
        title = title.lstrip("#").strip()
    body = body.lstrip("\n").rstrip()
    if not body.strip():
        raise RecordProblem(
            "the file has a title but no body text",
            "Add the article's paragraphs after a blank line, or remove the file.",
        )
    return title, body


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Blank-line separated blocks (single lines when there is no blank line), trimmed."""
    sep = _BLANK_LINE if _BLANK_LINE.search(text) else re.compile(r"\n")
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in sep.finditer(text):
        spans.append((pos, m.start()))
        pos = m.end()
    spans.append((pos, len(text)))
    out = []
    for start, end in spans:
        block = text[start:end]
        lead = len(block) - len(block.lstrip())
        trail = len(block.rstrip())
        if trail > lead:
            out.append((start + lead, start + trail))
    return out


def sentence_spans(text: str, start: int, end: int, language: str) -> list[tuple[int, int]]:
    """Sentences of ``text[start:end]`` as absolute, whitespace-trimmed offsets."""
    chunk = text[start:end]
    out = []
    for b in sentencex.get_sentence_boundaries(language, chunk):
        s, e = b["start_index"], b["end_index"]
        piece = chunk[s:e]
        lead = len(piece) - len(piece.lstrip())
        trail = len(piece.rstrip())
        if trail > lead:
            out.append((start + s + lead, start + s + trail))
    if not out:
        out.append((start, end))
    return out


def canonical_json(obj: object) -> str:
    """JSON with sorted keys, no spaces and characters kept (``ensure_ascii=False``).

    Written by orjson, about 8x faster than the standard library and the same text as
    ``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` for
    strings, integers, booleans, null, lists and objects (a property test checks); floats
    are written in orjson's shortest exact form.
    """
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()


def content_id(title: str, text: str, *, text_json: str | None = None) -> str:
    """Stable document id: the same normalised article has the same id from any source.

    The sha256 of ``canonical_json({"text": text, "title": title})``, formatted directly
    (``text_json`` is ``text`` already JSON-encoded, if the caller has it).
    """
    body = text_json if text_json is not None else encode_basestring(text)
    data = '{"text":%s,"title":%s}' % (body, encode_basestring(title))  # noqa: UP031
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def _sha_int(data: str) -> int:
    return int.from_bytes(hashlib.sha256(data.encode()).digest(), "big")


_from_digest = partial(int.from_bytes, byteorder="big")


def row_hash(row: dict[str, object]) -> int:
    """sha256 of a row's canonical JSON, as an integer (summed into a table hash)."""
    return _sha_int(canonical_json(row))


# --- MinHash signatures -----------------------------------------------------------------


@lru_cache(maxsize=1)
def permutations() -> U32:
    """datasketch's affine32 permutations for ``seed=1`` (``MinHash(...).permutations``)."""
    gen = np.random.RandomState(1)
    a = gen.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return np.array([a, b])


def _fmix32(h: U32) -> U32:
    """The MurmurHash3 finalizer datasketch applies to every input hash (affine32)."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


_P1, _P2, _P3, _P4, _P5 = (
    np.uint32(p) for p in (0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D, 0x27D4EB2F, 0x165667B1)
)


def _rotl(h: U32, r: int) -> U32:
    return (h << np.uint32(r)) | (h >> np.uint32(32 - r))


def _xxh32_short(data: bytes, starts: I64, lens: I64) -> U32:
    """``xxhash.xxh32_intdigest(data[s:s+n])`` (seed 0) for many words shorter than 16 bytes."""
    buf = np.frombuffer(data, np.uint8)
    h = lens.astype(np.uint32) + _P5
    for k in range(3):  # 4-byte blocks
        m = np.flatnonzero(lens >= 4 * (k + 1))
        if not len(m):
            break
        at = starts[m] + 4 * k
        block = buf[at].astype(np.uint32)
        for j in (1, 2, 3):
            block |= buf[at + j].astype(np.uint32) << np.uint32(8 * j)
        h[m] = _rotl(h[m] + block * _P3, 17) * _P4
    tail = starts + (lens & ~3)
    rem = lens & 3
    for j in range(3):  # remaining bytes
        m = np.flatnonzero(rem > j)
        if not len(m):
            break
        h[m] = _rotl(h[m] + buf[tail[m] + j].astype(np.uint32) * _P5, 11) * _P1
    h ^= h >> np.uint32(15)
    h *= _P2
    h ^= h >> np.uint32(13)
    h *= _P3
    h ^= h >> np.uint32(16)
    return h


@lru_cache(maxsize=4096)
def _is_word_char(code: int) -> bool:
    return _WORD.match(chr(code)) is not None


_WORD_ASCII = np.array([c < 128 and _is_word_char(c) for c in range(256)])


def _word_codes(text: str) -> U32:
    """The non-ASCII code points of ``text`` that are word characters."""
    cps = np.frombuffer(text.encode("utf-32-le"), np.uint32)
    codes = np.unique(cps[cps > 127])
    return codes[[_is_word_char(int(c)) for c in codes]]


def _word_spans(texts: Sequence[str]) -> tuple[bytes, I64, I64, I64]:
    """UTF-8 of the lower-cased texts joined by ``\\n``, byte starts and ends of every word
    (``_WORD.findall(text.lower())``), and the number of words of each text.

    Without non-ASCII word characters, words are runs of ASCII word bytes of the UTF-8
    (``bytes.lower()`` lower-cases them; no other character lower-cases to a word
    character, which a test checks over all of Unicode). Otherwise code points are
    classified one by one and mapped to byte offsets.
    """
    parts = [t.encode() for t in texts]
    data = b"\n".join(parts)
    joined = "\n".join(texts) if len(data) > sum(map(len, texts)) + len(texts) - 1 else ""
    offsets = None
    if not joined or not len(_word_codes(joined)):
        data = data.lower()
        isword = _WORD_ASCII[np.frombuffer(data, np.uint8)]
        bounds = np.cumsum([0] + [len(p) + 1 for p in parts])
    else:
        lows = [t.lower() for t in texts]
        joined = "\n".join(lows)
        cps = np.frombuffer(joined.encode("utf-32-le"), np.uint32)
        isword = _WORD_ASCII[np.minimum(cps, 128)]
        wide = np.flatnonzero(cps > 127)
        isword[wide] = np.isin(cps[wide], _word_codes(joined))
        nbytes = 1 + (cps >= 0x80).astype(np.int64) + (cps >= 0x800) + (cps >= 0x10000)
        offsets = np.concatenate(([0], np.cumsum(nbytes)))
        bounds = np.cumsum([0] + [len(t) + 1 for t in lows])  # lower() may change lengths
        data = joined.encode()
    padded = np.concatenate(([False], isword, [False]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    starts, ends = edges[0::2], edges[1::2]
    counts = np.diff(np.searchsorted(starts, bounds))
    if offsets is not None:
        starts, ends = offsets[starts], offsets[ends]
    return data, starts, ends, counts


def _word_hashes(texts: Sequence[str]) -> tuple[U32, I64]:
    """xxh32 of every word of each lower-cased text, concatenated; and counts per text.

    A text without words hashes as its whole (not lower-cased) text.
    """
    data, starts, ends, counts = _word_spans(texts)
    lens = ends - starts
    hashes = _xxh32_short(data, starts, lens)
    for i in np.flatnonzero(lens >= 16):  # rare: long words take the library's stripe path
        hashes[i] = xxhash.xxh32_intdigest(data[starts[i] : ends[i]])
    empty = np.flatnonzero(counts == 0)
    if len(empty):  # no word: the whole text is the only token
        at = np.cumsum(counts)[empty] - counts[empty]
        whole = [xxhash.xxh32_intdigest(texts[i].encode()) for i in empty]
        hashes = np.insert(hashes, at, np.array(whole, dtype=np.uint32))
        counts[empty] = 1
    return hashes, counts


def minhash_signatures(texts: Sequence[str]) -> U32:
    """MinHash signatures ``(len(texts), NUM_PERM)`` over word 5-shingles of each text.

    Shingle hashes combine five word hashes; a text of fewer than five words uses its word
    hashes. Each signature is ``MinHash(num_perm=64, seed=1, scheme="affine32",
    hashfunc=int)`` updated with those hashes, computed for the whole batch at once.
    """
    if not texts:
        return np.zeros((0, NUM_PERM), dtype=np.uint32)
    words, counts = _word_hashes(texts)
    n = len(words)
    padded = np.concatenate((words.astype(np.uint64), np.zeros(SHINGLE - 1, np.uint64)))
    acc: U64 = np.zeros(n, dtype=np.uint64)
    for k in range(SHINGLE):
        acc = (acc * np.uint64(1_000_003) + padded[k : k + n]) & _MASK32
    long = counts >= SHINGLE
    ends = np.cumsum(counts)
    per_word_long = np.repeat(long, counts)
    keep = ~per_word_long | (np.arange(n) + SHINGLE <= np.repeat(ends, counts))
    values = np.where(per_word_long, acc, words)[keep].astype(np.uint32)
    sizes = np.where(long, counts - SHINGLE + 1, counts)
    values = _fmix32(values)
    a, b = permutations()[0], permutations()[1]
    out = np.empty((len(texts), NUM_PERM), dtype=np.uint32)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    permuted = np.empty_like(values)
    for k in range(NUM_PERM):  # one permutation at a time: 1-D, in place, cache-friendly
        np.multiply(values, a[k], out=permuted)
        np.add(permuted, b[k], out=permuted)
        out[:, k] = np.minimum.reduceat(permuted, starts)
    return out


def minhash_signature(text: str) -> list[int]:
    """The MinHash signature of one text (see :func:`minhash_signatures`)."""
    return [int(v) for v in minhash_signatures([text])[0]]


def signature_similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """Estimated Jaccard similarity of two signatures (datasketch's estimator)."""
    from datasketch import MinHash

    ma = MinHash(num_perm=NUM_PERM, hashvalues=np.asarray(a, dtype=np.uint64), scheme=SCHEME)
    mb = MinHash(num_perm=NUM_PERM, hashvalues=np.asarray(b, dtype=np.uint64), scheme=SCHEME)
    return float(ma.jaccard(mb))


# --- documents ---------------------------------------------------------------------------


def segment_record(raw: RawRecord) -> ProcessedDoc:
    """Normalise one record, give it its id and split it into paragraphs and sentences."""
    title = " ".join(normalize(raw.title).split())
    text = normalize(raw.text).strip()
    if not title:
        raise RecordProblem("the record has no title", "Give every record a non-empty title.")
    if not text:
        raise RecordProblem("the record has no body text", "Give every record a non-empty text.")
    paragraphs = paragraph_spans(text)
    text_json = encode_basestring(text)
    return ProcessedDoc(
        doc_id=content_id(title, text, text_json=text_json),
        title=title,
        text=text,
        text_sha256=hashlib.sha256(text.encode()).hexdigest(),
        raw=raw,
        paragraphs=paragraphs,
        sentences=[
            (p_index, s, e)
            for p_index, (p_start, p_end) in enumerate(paragraphs)
            for s, e in sentence_spans(text, p_start, p_end, raw.language)
        ],
        text_json=text_json,
    )


def process_record(raw: RawRecord) -> ProcessedDoc:
    """Normalise one record and compute everything the store keeps about it.

    Row by row, through the row dicts: the reference the batch path is tested against.
    """
    doc = segment_record(raw)
    doc.signature = minhash_signature(doc.text)
    doc.unit_hash = {
        "paragraphs": sum(row_hash(r) for r in paragraph_rows(doc)),
        "sentences": sum(row_hash(r) for r in sentence_rows(doc)),
    }
    return doc


def paragraph_rows(doc: ProcessedDoc) -> Iterable[dict[str, object]]:
    for i, (s, e) in enumerate(doc.paragraphs):
        yield {"doc_id": doc.doc_id, "index": i, "start": s, "end": e, "text": doc.text[s:e]}


def sentence_rows(doc: ProcessedDoc) -> Iterable[dict[str, object]]:
    for i, (p, s, e) in enumerate(doc.sentences):
        yield {
            "doc_id": doc.doc_id,
            "index": i,
            "paragraph_index": p,
            "start": s,
            "end": e,
            "text": doc.text[s:e],
        }


def document_row(doc: ProcessedDoc, dup_group: str, version: str) -> dict[str, Any]:
    raw = doc.raw
    return {
        "doc_id": doc.doc_id,
        "title": doc.title,
        "text": doc.text,
        "text_sha256": doc.text_sha256,
        "source_path": raw.source_path,
        "source_sha256": raw.source_sha256,
        "source_record": raw.source_record,
        "external_id": raw.external_id,
        "url": raw.url,
        "source": raw.source,
        "published_at": raw.published_at,
        "dup_group": dup_group,
        "n_paragraphs": len(doc.paragraphs),
        "n_sentences": len(doc.sentences),
        "ingested_in": version,
    }


def source_row(doc: ProcessedDoc, version: str) -> dict[str, Any]:
    raw = doc.raw
    return {
        "doc_id": doc.doc_id,
        "source_path": raw.source_path,
        "source_sha256": raw.source_sha256,
        "source_record": raw.source_record,
        "ingested_in": version,
    }


def unit_hashes(doc: ProcessedDoc) -> tuple[int, int]:
    """The sums of ``row_hash`` over :func:`paragraph_rows` and :func:`sentence_rows`."""
    paragraphs = [doc.text[s:e] for s, e in doc.paragraphs]
    sentences = [doc.text[s:e] for _, s, e in doc.sentences]
    return _unit_hashes(doc, paragraphs, sentences)


def _unit_hashes(doc: ProcessedDoc, paragraphs: list[str], sentences: list[str]) -> tuple[int, int]:
    """Each row's canonical JSON formatted directly (no dict, no key sorting) and hashed."""
    key, sha, enc = encode_basestring(doc.doc_id), hashlib.sha256, encode_basestring
    fmt = _PARAGRAPH_JSON
    digests = [
        sha((fmt % (key, e, i, s, enc(piece))).encode()).digest()
        for i, ((s, e), piece) in enumerate(zip(doc.paragraphs, paragraphs, strict=True))
    ]
    paragraph_sum = sum(map(_from_digest, digests))
    fmt = _SENTENCE_JSON
    digests = [
        sha((fmt % (key, e, i, p, s, enc(piece))).encode()).digest()
        for i, ((p, s, e), piece) in enumerate(zip(doc.sentences, sentences, strict=True))
    ]
    return paragraph_sum, sum(map(_from_digest, digests))


def document_hash(doc: ProcessedDoc, dup_group: str, version: str) -> int:
    """``row_hash(document_row(doc, dup_group, version))``, escaping the text only once."""
    row = document_row(doc, dup_group, version)
    row["text"] = ""
    # '"text":""' occurs once: a quote inside a JSON string value is always escaped
    head = canonical_json(row)
    return _sha_int(head.replace('"text":""', '"text":' + (doc.text_json or "null"), 1))


def to_batch(docs: Sequence[ProcessedDoc], *, version: str) -> DocBatch:
    """Columns and row hashes of every table for ``docs`` (``ingested_in=version``)."""
    for doc in docs:
        if not doc.text_json:
            doc.text_json = encode_basestring(doc.text)
    signatures = minhash_signatures([d.text for d in docs])
    hashes: dict[str, list[int]] = {name: [] for name in SCHEMAS}
    rows: dict[str, list[dict[str, Any]]] = {"documents": [], "sources": [], "minhashes": []}
    par: dict[str, Any] = {k: [] for k in ("index", "start", "end", "text")}
    sen: dict[str, Any] = {k: [] for k in (*par, "paragraph_index")}
    signature_lists: list[list[int]] = signatures.tolist()  # type: ignore[assignment]
    for doc, signature in zip(docs, signature_lists, strict=True):
        doc_id, text = doc.doc_id, doc.text
        paragraphs = [text[s:e] for s, e in doc.paragraphs]
        sentences = [text[s:e] for _, s, e in doc.sentences]
        paragraph_sum, sentence_sum = _unit_hashes(doc, paragraphs, sentences)
        hashes["paragraphs"].append(paragraph_sum)
        hashes["sentences"].append(sentence_sum)
        par["index"] += range(len(paragraphs))
        par["start"] += [s for s, _ in doc.paragraphs]
        par["end"] += [e for _, e in doc.paragraphs]
        par["text"] += paragraphs
        sen["index"] += range(len(sentences))
        sen["paragraph_index"] += [p for p, _, _ in doc.sentences]
        sen["start"] += [s for _, s, _ in doc.sentences]
        sen["end"] += [e for _, _, e in doc.sentences]
        sen["text"] += sentences
        rows["documents"].append(document_row(doc, doc_id, version))
        hashes["documents"].append(document_hash(doc, doc_id, version))
        minhash_row: dict[str, Any] = {"doc_id": doc_id, "signature": signature}
        for name, row in (("sources", source_row(doc, version)), ("minhashes", minhash_row)):
            rows[name].append(row)
            hashes[name].append(row_hash(row))
    tables = {
        name: record_batch({k: [r[k] for r in rows[name]] for k in SCHEMAS[name].names}, schema)
        for name, schema in SCHEMAS.items()
        if name in rows
    }
    doc_ids = [d.doc_id for d in docs]
    par["doc_id"] = repeated_strings(doc_ids, [len(d.paragraphs) for d in docs])
    sen["doc_id"] = repeated_strings(doc_ids, [len(d.sentences) for d in docs])
    tables["paragraphs"] = record_batch(par, SCHEMAS["paragraphs"])
    tables["sentences"] = record_batch(sen, SCHEMAS["sentences"])
    return DocBatch(
        doc_ids=doc_ids,
        source_paths=[d.raw.source_path for d in docs],
        source_sha256=[d.raw.source_sha256 for d in docs],
        signatures=signatures,
        n_paragraphs=np.array([len(d.paragraphs) for d in docs], dtype=np.int64),
        n_sentences=np.array([len(d.sentences) for d in docs], dtype=np.int64),
        row_hashes=hashes,
        tables=tables,
    )


def process_batch(
    records: Sequence[RawRecord], *, version: str
) -> tuple[DocBatch, list[tuple[int, RecordProblem]]]:
    """The pure batch function: every good record as columns, every bad one by position."""
    docs: list[ProcessedDoc] = []
    problems: list[tuple[int, RecordProblem]] = []
    for position, raw in enumerate(records):
        try:
            docs.append(segment_record(raw))
        except RecordProblem as exc:
            problems.append((position, exc))
    return to_batch(docs, version=version), problems
