"""Pure per-document work: normalise, parse, segment, hash.

Nothing here touches disk or global state, so a batch of records can be processed in any
worker process (or, later, on a distributed engine) with the same result:
:func:`process_batch` turns a batch of :class:`RawRecord` into a columnar
:class:`DocBatch` (Arrow record batches plus per-document ids, signatures and row hashes).
Ids and hashes come from :mod:`corpus.ids`; MinHash signatures from
:mod:`corpus.ingestion.minhash`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import sentencex

from corpus.features import arrow_schema
from corpus.ids import (
    content_id,
    json_string,
    row_hash,
    row_hash_with_text,
    text_sha256,
    unit_row_hashes,
)
from corpus.ingestion.minhash import U32, minhash_signature, minhash_signatures
from corpus.models import Document, MinHashRow, Paragraph, Sentence, Source
from corpus.store.arrow import record_batch, repeated_strings

SEGMENTER = {"name": "sentencex", "version": "1.0"}
SCHEMAS = {
    "documents": arrow_schema(Document),
    "paragraphs": arrow_schema(Paragraph),
    "sentences": arrow_schema(Sentence),
    "sources": arrow_schema(Source),
    "minhashes": arrow_schema(MinHashRow),
}

_BLANK_LINE = re.compile(r"\n[ \t]*\n")
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
    published_at: datetime | None = None
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


# --- documents ---------------------------------------------------------------------------


def clean_fields(raw: RawRecord) -> tuple[str, str]:
    """The stored title and text of a record: normalised, whitespace of the title collapsed,
    the text stripped (what the content id is computed over; release rehydration uses it)."""
    for name, value in (("title", raw.title), ("text", raw.text)):
        if "\x00" in value:
            raise RecordProblem(
                f"the {name} contains NUL (\\x00) characters: binary data or a broken export",
                "Remove the NUL characters from the source data.",
            )
    title = " ".join(normalize(raw.title).split())
    text = normalize(raw.text).strip()
    if not title:
        raise RecordProblem("the record has no title", "Give every record a non-empty title.")
    if not text:
        raise RecordProblem("the record has no body text", "Give every record a non-empty text.")
    return title, text


def segment_record(raw: RawRecord) -> ProcessedDoc:
    """Normalise one record, give it its id and split it into paragraphs and sentences."""
    title, text = clean_fields(raw)
    paragraphs = paragraph_spans(text)
    text_json = json_string(text)
    return ProcessedDoc(
        doc_id=content_id(title, text, text_json=text_json),
        title=title,
        text=text,
        text_sha256=text_sha256(text),
        raw=raw,
        paragraphs=paragraphs,
        sentences=[
            (p_index, s, e)
            for p_index, (p_start, p_end) in enumerate(paragraphs)
            for s, e in sentence_spans(text, p_start, p_end, raw.language.split("-")[0])
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
        "language": raw.language,
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
    return unit_row_hashes(doc.doc_id, doc.paragraphs, paragraphs, doc.sentences, sentences)


def document_hash(doc: ProcessedDoc, dup_group: str, version: str) -> int:
    """``row_hash(document_row(doc, dup_group, version))``, escaping the text only once."""
    return row_hash_with_text(document_row(doc, dup_group, version), doc.text_json or "null")


def to_batch(
    docs: Sequence[ProcessedDoc], *, version: str, signatures: U32 | None = None
) -> DocBatch:
    """Columns and row hashes of every table for ``docs`` (``ingested_in=version``);
    ``signatures`` when they were computed already (else they are computed here)."""
    for doc in docs:
        if not doc.text_json:
            doc.text_json = json_string(doc.text)
    if signatures is None:
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
