"""The rows and features of a release's configs (pure: plain rows in, plain rows out).

Configs: ``documents`` (text, document stance, gold issue spans), ``sentences`` (the spans
inside each sentence, offsets relative to the sentence), ``tokens`` (word tokens with BIO
tags) and ``raw_annotations`` (every annotator's labels under their pseudonym). Label
columns are ``ClassLabel`` with the schema's names; a missing label is -1.

A release without the text (``text="none"``) has the same configs and rows without any
column that carries article text: ``documents`` keeps ``text_sha256`` and where the article
came from (``source_path``, ``source_record``, ``external_id``, ``url``) instead of ``text``
(and of ``title``, unless titles are kept), ``sentences`` their ``start``/``end`` in the
document instead of ``text``, ``tokens`` each token's ``token_start``/``token_end`` in its
sentence instead of ``tokens``. :func:`offsets_row` turns a full row (built with
``offsets=True``) into that form; rehydration does the reverse.
"""

from __future__ import annotations

import bisect
import functools
import operator
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from corpus.label_schema import AnnotationSchema

CONFIGS = ("documents", "sentences", "tokens", "raw_annotations")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")  # the privacy gate's pattern
TextMode = Literal["full", "none"]
TEXT_MODES: tuple[TextMode, ...] = ("full", "none")
_TOKEN = re.compile(r"\w+|[^\w\s]")
# the columns an offsets-only release has instead of the text (see the module docstring)
SOURCE_COLUMNS = ("text_sha256", "source_path", "source_record", "external_id")


def features(
    schema: AnnotationSchema, *, text: TextMode = "full", titles: bool = True
) -> dict[str, Any]:
    """``datasets.Features`` of every config, from the annotation schema.

    ``text="none"``: the offsets-only configs (``titles``: keep the ``title`` column)."""
    from datasets import ClassLabel, Features, List, Value

    if text not in TEXT_MODES:
        raise ValueError(f"text must be one of {', '.join(TEXT_MODES)}, not {text!r}")
    stance = ClassLabel(names=schema.stance_names)
    span = {
        "start": Value("int32"),
        "end": Value("int32"),
        "label": ClassLabel(names=schema.issue_names),
        "stance": ClassLabel(names=schema.span_stance_names),
    }
    tags = ["O"] + [f"{p}-{name}" for name in schema.issue_names for p in ("B", "I")]
    raw = Features({
        "doc_id": Value("string"), "round": Value("string"), "annotator": Value("string"),
        "stance": stance, "cancelled": Value("bool"), "spans": List(span),
    })  # fmt: skip
    labels = {
        "stance": stance, "spans": List(span), "dup_group": Value("string"),
        "source": Value("string"), "url": Value("string"),
        "published_at": Value("timestamp[us, tz=UTC]"), "language": Value("string"),
        "gold_round": Value("string"), "decided_by": Value("string"),
    }  # fmt: skip
    if text == "full":
        documents = {"doc_id": Value("string"), "title": Value("string"),
                     "text": Value("string"), **labels}  # fmt: skip
        sentences = {
            "doc_id": Value("string"),
            "sentence_index": Value("int32"),
            "text": Value("string"),
            "doc_stance": stance,
            "spans": List(span),
        }
        tokens = {
            "doc_id": Value("string"),
            "sentence_index": Value("int32"),
            "tokens": List(Value("string")),
            "tags": List(ClassLabel(names=tags)),
        }
    else:
        title = {"title": Value("string")} if titles else {}
        documents = {"doc_id": Value("string"), **title, "text_sha256": Value("string"),
                     **labels, "source_path": Value("string"), "source_record": Value("int64"),
                     "external_id": Value("string")}  # fmt: skip
        sentences = {"doc_id": Value("string"), "sentence_index": Value("int32"),
                     "start": Value("int32"), "end": Value("int32"), "doc_stance": stance,
                     "spans": List(span)}  # fmt: skip
        tokens = {"doc_id": Value("string"), "sentence_index": Value("int32"),
                  "token_start": List(Value("int32")), "token_end": List(Value("int32")),
                  "tags": List(ClassLabel(names=tags))}  # fmt: skip
    return {"documents": Features(documents), "sentences": Features(sentences),
            "tokens": Features(tokens), "raw_annotations": raw}  # fmt: skip


def project(row: Mapping[str, Any], columns: Iterable[str]) -> dict[str, Any]:
    """The row with only ``columns`` (a config's features), in that order."""
    return {c: row[c] for c in columns}


@dataclass
class AlignmentReport:
    """What the sentence and token views could not carry over exactly."""

    spans: int = 0
    across_sentences: int = 0  # spans cut at a sentence boundary (kept as pieces)
    unaligned: list[dict[str, Any]] = field(default_factory=list)  # spans lost in BIO tags


def _index(names: Sequence[str], value: str | None) -> int:
    return names.index(value) if value in names else -1


@functools.lru_cache(maxsize=8)
def _ids(names: tuple[str, ...]) -> dict[str | None, int]:
    return {name: i for i, name in enumerate(names)}


_SPAN_ORDER = operator.itemgetter("start", "end", "issue")


def span_dicts(
    spans: Iterable[Mapping[str, Any]], schema: AnnotationSchema, offset: int = 0
) -> list[dict[str, int]]:
    if not spans:
        return []
    issues = _ids(tuple(schema.issue_names))
    stances = _ids(tuple(schema.span_stance_names))
    return [
        {"start": s["start"] - offset, "end": s["end"] - offset,
         "label": issues.get(s["issue"], -1), "stance": stances.get(s.get("stance"), -1)}
        for s in sorted(spans, key=_SPAN_ORDER)
    ]  # fmt: skip


def document_row(
    doc: Mapping[str, Any],
    gold_stance: str | None,
    spans: Sequence[Mapping[str, Any]],
    schema: AnnotationSchema,
    *,
    offsets: bool = False,
    provenance: tuple[str | None, str | None] = (None, None),
) -> dict[str, Any]:
    """The ``documents`` row; ``provenance``: the round whose gold counts for the document,
    and how it was decided; ``offsets``: with the source columns of an offsets-only one."""
    row = {
        "doc_id": doc["doc_id"], "title": doc["title"], "text": doc["text"],
        "stance": _index(schema.stance_names, gold_stance), "spans": span_dicts(spans, schema),
        "dup_group": doc["dup_group"], "source": doc.get("source"), "url": doc.get("url"),
        "published_at": _when(doc.get("published_at")), "language": doc.get("language") or "und",
        "gold_round": provenance[0], "decided_by": provenance[1],
    }  # fmt: skip
    if offsets:
        row.update({c: doc.get(c) for c in SOURCE_COLUMNS})
    return row


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


def stance_id(schema: AnnotationSchema, stance: str | None) -> int:
    """The ClassLabel id of a document stance (-1: missing)."""
    return _index(schema.stance_names, stance)


def cut_spans(
    sentences: Sequence[Mapping[str, Any]],
    spans: Sequence[Mapping[str, Any]],
    report: AlignmentReport,
) -> list[list[dict[str, Any]]]:
    """The pieces of ``spans`` inside each sentence (document offsets); a span crossing
    sentences is cut into pieces, and counted."""
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
    return pieces


def sentence_rows(
    doc: Mapping[str, Any],
    sentences: Sequence[Mapping[str, Any]],
    gold_stance: str | None,
    spans: Sequence[Mapping[str, Any]],
    schema: AnnotationSchema,
    report: AlignmentReport,
    *,
    offsets: bool = False,
) -> list[dict[str, Any]]:
    """One row per sentence; a span crossing sentences is cut into pieces (and counted).
    ``offsets``: with the sentence's ``start``/``end`` in the document too."""
    pieces = cut_spans(sentences, spans, report) if spans else [[] for _ in sentences]
    doc_stance = stance_id(schema, gold_stance)
    rows = [
        {"doc_id": doc["doc_id"], "sentence_index": sent["index"], "text": sent["text"],
         "doc_stance": doc_stance, "spans": span_dicts(inside, schema, offset=sent["start"])}
        for sent, inside in zip(sentences, pieces, strict=True)
    ]  # fmt: skip
    if offsets:
        for row, sent in zip(rows, sentences, strict=True):
            row["start"], row["end"] = sent["start"], sent["end"]
    return rows


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
    *,
    offsets: bool = False,
) -> dict[str, Any]:
    """BIO tags over the tokens of one sentence row; overlapping spans cannot all be tagged.
    ``offsets``: with each token's ``token_start``/``token_end`` in the sentence too."""
    text = sentence["text"]
    spans = row["spans"]
    if not spans and not offsets:  # most sentences: plain tokens, all "O"
        words = _TOKEN.findall(text)
        return {
            "doc_id": row["doc_id"], "sentence_index": row["sentence_index"],
            "tokens": words, "tags": [0] * len(words),
        }  # fmt: skip
    tokens = tokenize(text, [x for s in spans for x in (s["start"], s["end"])])
    tags = tag_tokens(text, tokens, row, report)
    out = {
        "doc_id": row["doc_id"], "sentence_index": row["sentence_index"],
        "tokens": [text[a:b] for a, b in tokens], "tags": tags,
    }  # fmt: skip
    if offsets:
        out["token_start"] = [a for a, _ in tokens]
        out["token_end"] = [b for _, b in tokens]
    return out


def tag_tokens(
    text: str,
    tokens: Sequence[tuple[int, int]],
    row: Mapping[str, Any],
    report: AlignmentReport,
) -> list[int]:
    """BIO tag ids of a sentence's tokens (``(start, end)`` in ``text``) for the spans of its
    row (label ids); a span whose tokens do not cover it exactly, or that overlaps a span
    tagged before it, is reported as unaligned and left out."""
    tags = [0] * len(tokens)
    taken = [False] * len(tokens)
    firsts = [a for a, _ in tokens]  # tokens are in order and never overlap: the ones inside
    lasts = [b for _, b in tokens]  # a span are a run, from the first starting in it
    for s in row["spans"]:
        inside = range(bisect.bisect_left(firsts, s["start"]), bisect.bisect_right(lasts, s["end"]))
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
        for k, i in enumerate(inside):
            tags[i] = 1 + 2 * s["label"] + (0 if k == 0 else 1)
            taken[i] = True
    return tags


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
    """The ``raw_annotations`` rows in (doc_id, round, annotator, annotation_id) order, each
    with its spans as :func:`span_dicts` gives them (one sort of all spans, not one per
    annotation)."""
    issues = _ids(tuple(schema.issue_names))
    stances = _ids(tuple(schema.span_stance_names))
    by_annotation: dict[int, list[dict[str, int]]] = defaultdict(list)
    for s in sorted(spans, key=operator.itemgetter("annotation_id", "start", "end", "issue")):
        by_annotation[s["annotation_id"]].append(
            {"start": s["start"], "end": s["end"], "label": issues.get(s["issue"], -1),
             "stance": stances.get(s.get("stance"), -1)}
        )  # fmt: skip
    stance_ids = _ids(tuple(schema.stance_names))
    return [
        {"doc_id": a["doc_id"], "round": a["round"], "annotator": a["annotator"],
         "stance": stance_ids.get(a["stance"], -1), "cancelled": bool(a["cancelled"]),
         "spans": by_annotation.get(a["annotation_id"], [])}
        for a in sorted(annotations, key=_raw_order)
    ]  # fmt: skip
