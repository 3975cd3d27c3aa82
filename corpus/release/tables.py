"""The rows and features of a release's configs (pure: plain rows in, plain rows out).

Configs: ``documents`` (text, document stance, gold issue spans), ``sentences`` (the spans
inside each sentence, offsets relative to the sentence), ``tokens`` (word tokens with BIO
tags) and ``raw_annotations`` (every annotator's labels under their pseudonym). Label
columns are ``ClassLabel`` with the schema's names; a missing label is -1.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from corpus.label_schema import AnnotationSchema

CONFIGS = ("documents", "sentences", "tokens", "raw_annotations")
_TOKEN = re.compile(r"\w+|[^\w\s]")


def features(schema: AnnotationSchema) -> dict[str, Any]:
    """``datasets.Features`` of every config, from the annotation schema."""
    from datasets import ClassLabel, Features, List, Value

    stance = ClassLabel(names=schema.stance_names)
    span = {
        "start": Value("int32"),
        "end": Value("int32"),
        "label": ClassLabel(names=schema.issue_names),
        "stance": ClassLabel(names=schema.span_stance_names),
    }
    tags = ["O"] + [f"{p}-{name}" for name in schema.issue_names for p in ("B", "I")]
    return {
        "documents": Features({
            "doc_id": Value("string"), "title": Value("string"), "text": Value("string"),
            "stance": stance, "spans": List(span), "dup_group": Value("string"),
            "source": Value("string"), "url": Value("string"),
            "published_at": Value("timestamp[us, tz=UTC]"), "language": Value("string"),
            "gold_round": Value("string"), "decided_by": Value("string"),
        }),
        "sentences": Features({
            "doc_id": Value("string"), "sentence_index": Value("int32"), "text": Value("string"),
            "doc_stance": stance, "spans": List(span),
        }),
        "tokens": Features({
            "doc_id": Value("string"), "sentence_index": Value("int32"),
            "tokens": List(Value("string")), "tags": List(ClassLabel(names=tags)),
        }),
        "raw_annotations": Features({
            "doc_id": Value("string"), "round": Value("string"), "annotator": Value("string"),
            "stance": stance, "cancelled": Value("bool"), "spans": List(span),
        }),
    }  # fmt: skip


@dataclass
class AlignmentReport:
    """What the sentence and token views could not carry over exactly."""

    spans: int = 0
    across_sentences: int = 0  # spans cut at a sentence boundary (kept as pieces)
    unaligned: list[dict[str, Any]] = field(default_factory=list)  # spans lost in BIO tags


def _index(names: Sequence[str], value: str | None) -> int:
    return names.index(value) if value in names else -1


def span_dicts(
    spans: Iterable[Mapping[str, Any]], schema: AnnotationSchema, offset: int = 0
) -> list[dict[str, int]]:
    if not spans:
        return []
    return [
        {"start": s["start"] - offset, "end": s["end"] - offset,
         "label": _index(schema.issue_names, s["issue"]),
         "stance": _index(schema.span_stance_names, s.get("stance"))}
        for s in sorted(spans, key=lambda s: (s["start"], s["end"], s["issue"]))
    ]  # fmt: skip


def document_row(
    doc: Mapping[str, Any],
    gold_stance: str | None,
    spans: Sequence[Mapping[str, Any]],
    schema: AnnotationSchema,
    *,
    provenance: tuple[str | None, str | None] = (None, None),
) -> dict[str, Any]:
    """``provenance``: the round whose gold counts for the document, and how it was decided."""
    return {
        "doc_id": doc["doc_id"], "title": doc["title"], "text": doc["text"],
        "stance": _index(schema.stance_names, gold_stance), "spans": span_dicts(spans, schema),
        "dup_group": doc["dup_group"], "source": doc.get("source"), "url": doc.get("url"),
        "published_at": _when(doc.get("published_at")), "language": doc.get("language") or "und",
        "gold_round": provenance[0], "decided_by": provenance[1],
    }  # fmt: skip


def _when(value: object) -> datetime | None:
    """A UTC timestamp; text from stores written before dates were typed is parsed."""
    if value is None or isinstance(value, datetime):
        return value
    from corpus.ingestion.core import RecordProblem
    from corpus.ingestion.fields import published_at

    try:
        return published_at(value)
    except RecordProblem:
        return None


def sentence_rows(
    doc: Mapping[str, Any],
    sentences: Sequence[Mapping[str, Any]],
    gold_stance: str | None,
    spans: Sequence[Mapping[str, Any]],
    schema: AnnotationSchema,
    report: AlignmentReport,
) -> list[dict[str, Any]]:
    """One row per sentence; a span crossing sentences is cut into pieces (and counted)."""
    starts = [sent["start"] for sent in sentences]
    pieces: list[list[dict[str, Any]]] = [[] for _ in sentences]
    for s in spans:
        # the sentences a span touches: from the one holding its start to the one before its end
        first = max(bisect.bisect_right(starts, s["start"]) - 1, 0)
        touched = 0
        for i in range(first, len(sentences)):
            sent = sentences[i]
            if sent["start"] >= s["end"]:
                break
            start, end = max(s["start"], sent["start"]), min(s["end"], sent["end"])
            if start < end:
                pieces[i].append({**s, "start": start, "end": end})
                touched += 1
        report.across_sentences += touched > 1
    report.spans += len(spans)
    doc_stance = _index(schema.stance_names, gold_stance)
    return [
        {"doc_id": doc["doc_id"], "sentence_index": sent["index"], "text": sent["text"],
         "doc_stance": doc_stance, "spans": span_dicts(inside, schema, offset=sent["start"])}
        for sent, inside in zip(sentences, pieces, strict=True)
    ]  # fmt: skip


def tokenize(text: str, cuts: Iterable[int]) -> list[tuple[int, int]]:
    """Word and punctuation tokens, also split at every span boundary (so none is moved)."""
    boundaries = sorted(set(cuts))
    if not boundaries:
        return [m.span() for m in _TOKEN.finditer(text)]
    out = []
    for m in _TOKEN.finditer(text):
        start, end = m.span()
        i = bisect.bisect_right(boundaries, start)
        while i < len(boundaries) and boundaries[i] < end:
            out.append((start, boundaries[i]))
            start = boundaries[i]
            i += 1
        out.append((start, end))
    return out


def token_row(
    sentence: Mapping[str, Any],
    row: Mapping[str, Any],
    schema: AnnotationSchema,
    report: AlignmentReport,
) -> dict[str, Any]:
    """BIO tags over the tokens of one sentence row; overlapping spans cannot all be tagged."""
    text = sentence["text"]
    spans = row["spans"]
    if not spans:  # most sentences: plain tokens, all "O"
        words = _TOKEN.findall(text)
        return {
            "doc_id": row["doc_id"], "sentence_index": row["sentence_index"],
            "tokens": words, "tags": [0] * len(words),
        }  # fmt: skip
    tokens = tokenize(text, [x for s in spans for x in (s["start"], s["end"])])
    tags = [0] * len(tokens)
    taken = [False] * len(tokens)
    for s in spans:
        inside = [i for i, (a, b) in enumerate(tokens) if s["start"] <= a and b <= s["end"]]
        covers = (
            bool(inside)
            and tokens[inside[0]][0] == _first_char(text, s["start"], s["end"])
            and tokens[inside[-1]][1] == _last_char(text, s["start"], s["end"])
        )
        if s["label"] < 0 or not covers or any(taken[i] for i in inside):
            report.unaligned.append({
                "doc_id": row["doc_id"], "sentence_index": row["sentence_index"],
                "start": s["start"], "end": s["end"],
                "reason": "overlaps another span" if covers else "no whole token inside",
            })  # fmt: skip
            continue
        label = schema.issue_names[s["label"]]
        for k, i in enumerate(inside):
            tags[i] = 1 + 2 * schema.issue_names.index(label) + (0 if k == 0 else 1)
            taken[i] = True
    return {
        "doc_id": row["doc_id"], "sentence_index": row["sentence_index"],
        "tokens": [text[a:b] for a, b in tokens], "tags": tags,
    }  # fmt: skip


def _first_char(text: str, start: int, end: int) -> int:
    """The first non-space character of a span (tokens never hold spaces)."""
    piece = text[start:end]
    return start + len(piece) - len(piece.lstrip())


def _last_char(text: str, start: int, end: int) -> int:
    piece = text[start:end]
    return start + len(piece.rstrip())


def _raw_order(a: Mapping[str, Any]) -> tuple[str, str, str, int]:
    return (a["doc_id"], a["round"], a["annotator"], a["annotation_id"])


def raw_rows(
    annotations: Sequence[Mapping[str, Any]],
    spans: Sequence[Mapping[str, Any]],
    schema: AnnotationSchema,
) -> list[dict[str, Any]]:
    by_annotation: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
    for s in spans:
        by_annotation[s["annotation_id"]].append(s)
    return [
        {"doc_id": a["doc_id"], "round": a["round"], "annotator": a["annotator"],
         "stance": _index(schema.stance_names, a["stance"]), "cancelled": bool(a["cancelled"]),
         "spans": span_dicts(by_annotation.get(a["annotation_id"], []), schema)}
        for a in sorted(annotations, key=_raw_order)
    ]  # fmt: skip
