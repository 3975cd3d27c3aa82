"""Pure per-document work: normalise, parse, segment, hash.

Nothing here touches disk or global state, so a batch of records can be processed in any
worker process (or, later, on a distributed engine) with the same result.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import sentencex
import xxhash
from datasketch import MinHash

SEGMENTER = {"name": "sentencex", "version": "1.0"}
NUM_PERM = 64
SHINGLE = 5
DEDUP_THRESHOLD = 0.7
SCHEME = "affine32"

_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_WORD = re.compile(r"\w+")
_MASK32 = np.uint64(0xFFFFFFFF)


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
    """A document with its units, ready to be written (row dicts as plain columns)."""

    doc_id: str
    title: str
    text: str
    text_sha256: str
    raw: RawRecord
    paragraphs: list[tuple[int, int]]
    sentences: list[tuple[int, int, int]]  # (paragraph_index, start, end)
    signature: list[int]
    unit_hash: dict[str, int] = field(default_factory=dict)  # table -> sum of row hashes


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
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_id(title: str, text: str) -> str:
    """Stable document id: the same normalised article has the same id from any source."""
    digest = hashlib.sha256(canonical_json({"text": text, "title": title}).encode()).hexdigest()
    return digest[:16]


def row_hash(row: dict[str, object]) -> int:
    """sha256 of a row's canonical JSON, as an integer (summed into a table hash)."""
    return int.from_bytes(hashlib.sha256(canonical_json(row).encode()).digest(), "big")


@lru_cache(maxsize=1)
def _template() -> MinHash:
    return MinHash(num_perm=NUM_PERM, seed=1, hashfunc=int, scheme=SCHEME)


def minhash_signature(text: str) -> list[int]:
    """MinHash (datasketch) over word 5-shingles of the lower-cased text."""
    words = _WORD.findall(text.lower())
    if not words:
        words = [text]
    hashes: np.ndarray[Any, np.dtype[np.uint64]] = np.fromiter(
        (xxhash.xxh32_intdigest(w.encode()) for w in words), np.uint64, len(words)
    )
    if len(hashes) >= SHINGLE:
        acc: np.ndarray[Any, np.dtype[np.uint64]] = np.zeros(
            len(hashes) - SHINGLE + 1, dtype=np.uint64
        )
        for k in range(SHINGLE):
            acc = (acc * np.uint64(1_000_003) + hashes[k : len(hashes) - SHINGLE + 1 + k]) & _MASK32
        hashes = acc
    template = _template()
    m = MinHash(num_perm=NUM_PERM, hashfunc=int, permutations=template.permutations, scheme=SCHEME)
    m.update_batch(np.unique(hashes).tolist())
    return [int(v) for v in m.hashvalues]


def signature_similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """Estimated Jaccard similarity of two signatures (datasketch's estimator)."""
    ma = MinHash(num_perm=NUM_PERM, hashvalues=np.asarray(a, dtype=np.uint64), scheme=SCHEME)
    mb = MinHash(num_perm=NUM_PERM, hashvalues=np.asarray(b, dtype=np.uint64), scheme=SCHEME)
    return float(ma.jaccard(mb))


def process_record(raw: RawRecord) -> ProcessedDoc:
    """Normalise one record and compute everything the store keeps about it."""
    title = " ".join(normalize(raw.title).split())
    text = normalize(raw.text).strip()
    if not title:
        raise RecordProblem("the record has no title", "Give every record a non-empty title.")
    if not text:
        raise RecordProblem("the record has no body text", "Give every record a non-empty text.")
    doc_id = content_id(title, text)
    paragraphs = paragraph_spans(text)
    sentences = [
        (p_index, s, e)
        for p_index, (p_start, p_end) in enumerate(paragraphs)
        for s, e in sentence_spans(text, p_start, p_end, raw.language)
    ]
    doc = ProcessedDoc(
        doc_id=doc_id,
        title=title,
        text=text,
        text_sha256=hashlib.sha256(text.encode()).hexdigest(),
        raw=raw,
        paragraphs=paragraphs,
        sentences=sentences,
        signature=minhash_signature(text),
    )
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
