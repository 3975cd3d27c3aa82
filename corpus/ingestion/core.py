"""Pure per-document work: normalise, parse, segment; the rows of one document.

Nothing here touches disk or global state, so a batch of records can be processed in any
worker process (or on a distributed engine) with the same result. :func:`process_record`
computes everything the store keeps about one record, row by row through the row dicts
(:func:`paragraph_rows`, :func:`sentence_rows`, :func:`document_row`) hashed by
:func:`corpus.ids.row_hash`: the reference that :mod:`corpus.ingestion.batch`, which builds
the same rows and hashes for a whole batch at once, is tested against. Ids and hashes come
from :mod:`corpus.ids`; MinHash signatures from :mod:`corpus.ingestion.minhash`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sentencex

from corpus.features import arrow_schema
from corpus.ids import content_id, row_hash, text_sha256
from corpus.ingestion.minhash import minhash_signature
from corpus.models import Document, MinHashRow, Paragraph, Sentence, Source

SEGMENTER = {"name": "sentencex", "version": "1.0"}
SCHEMAS = {
    "documents": arrow_schema(Document),
    "paragraphs": arrow_schema(Paragraph),
    "sentences": arrow_schema(Sentence),
    "sources": arrow_schema(Source),
    "minhashes": arrow_schema(MinHashRow),
}

_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_BLANK_LINES = re.compile(r"(\n[ \t]*\n)")
_segment = sentencex.segment


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
    nfc: bool = False  # title and text are NFC already (read from a normalised file)


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


def normalize(text: str, *, nfc: bool = False) -> str:
    """Strip leading BOMs, turn every newline into ``\\n`` and compose to NFC; keep all else.

    ``nfc``: the text is known to be NFC (a piece :func:`split_title` cut out of normalised
    text, which a property test checks stays NFC), so the check is skipped.
    """
    text = text.lstrip("\ufeff")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not nfc and not unicodedata.is_normalized("NFC", text):
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
    if _BLANK_LINE.search(text):
        parts = _BLANK_LINES.split(text)  # blocks and, between them, their separators
        blocks, gaps = parts[0::2], [*map(len, parts[1::2]), 0]
    else:
        blocks = text.split("\n")
        gaps = [1] * len(blocks)
    out = []
    pos = 0
    for block, gap in zip(blocks, gaps, strict=True):
        stripped = block.strip()
        if stripped:  # whitespace before the first character that is not whitespace
            lead = pos + block.find(stripped[0])
            out.append((lead, lead + len(stripped)))
        pos += len(block) + gap
    return out


def sentence_spans(text: str, start: int, end: int, language: str) -> list[tuple[int, int]]:
    """Sentences of ``text[start:end]`` as absolute, whitespace-trimmed offsets."""
    return [(s, e) for _, s, e in paragraph_sentences(text, [(start, end)], language)]


def paragraph_sentences(
    text: str, paragraphs: list[tuple[int, int]], language: str
) -> list[tuple[int, int, int]]:
    """``(paragraph_index, start, end)`` of the sentences of each paragraph of ``text``:
    :func:`sentence_boundaries` of each paragraph (a paragraph without one is one sentence).

    sentencex's ``segment`` returns the texts of ``get_sentence_boundaries`` without its
    dicts, pieces that tile the text (sentences, with the whitespace after them, and
    paragraph breaks); where they do not tile a paragraph, its boundaries are used.
    """
    out: list[tuple[int, int, int]] = []
    add = out.append
    for p_index, (p_start, p_end) in enumerate(paragraphs):
        pos, before = p_start, len(out)
        for piece in _segment(language, text[p_start:p_end]):
            # piece.strip(), as offsets: sentences rarely start with whitespace, so the left
            # end is measured only when they do
            body = piece.rstrip()
            if body:
                lead = pos + len(body) - len(body.lstrip()) if body[0].isspace() else pos
                add((p_index, lead, pos + len(body)))
            pos += len(piece)
        if pos != p_end:
            del out[before:]
            out += [(p_index, s, e) for s, e in sentence_boundaries(text, p_start, p_end, language)]
        elif len(out) == before:
            add((p_index, p_start, p_end))
    return out


def sentence_boundaries(text: str, start: int, end: int, language: str) -> list[tuple[int, int]]:
    """:func:`sentence_spans` from sentencex's ``get_sentence_boundaries`` offsets."""
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
    title = " ".join(normalize(raw.title, nfc=raw.nfc).split())
    text = normalize(raw.text, nfc=raw.nfc).strip()
    if not title:
        raise RecordProblem("the record has no title", "Give every record a non-empty title.")
    if not text:
        raise RecordProblem("the record has no body text", "Give every record a non-empty text.")
    return title, text


def segment_text(raw: RawRecord) -> ProcessedDoc:
    """Normalise one record and split it into paragraphs and sentences (no id yet: the
    batch path computes ids for a whole batch, :func:`segment_record` for one record)."""
    title, text = clean_fields(raw)
    paragraphs = paragraph_spans(text)
    sentences = paragraph_sentences(text, paragraphs, raw.language.split("-")[0])
    return ProcessedDoc("", title, text, "", raw, paragraphs, sentences)


def segment_record(raw: RawRecord) -> ProcessedDoc:
    """Normalise one record, give it its id and split it into paragraphs and sentences."""
    doc = segment_text(raw)
    doc.doc_id = content_id(doc.title, doc.text)
    doc.text_sha256 = text_sha256(doc.text)
    return doc


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
