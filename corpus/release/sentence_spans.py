"""Gold spans cut at sentences for the ``sentences`` config, with numpy over all documents.

The rule is :func:`corpus.release.tables.cut_spans` followed by
:func:`corpus.release.tables.span_dicts` per sentence (the reference, used row by row for
offsets-only releases): a span is cut into one piece per sentence it overlaps, from the
sentence holding its start (the last one starting at or before it) up to the last one
starting before its end; a piece is the overlap, kept when not empty; the pieces of a sentence
are ordered by start, end and issue name (then the order of the spans), with offsets relative
to the sentence, the issue and span stance as ClassLabel ids (-1 when unknown). The report
counts every span and those cut into more than one piece. Tests compare this with the
reference on generated documents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from corpus.label_schema import AnnotationSchema
from corpus.release.tables import AlignmentReport

_FIELDS = ("start", "end", "label", "stance")


@dataclass
class SentenceSpans:
    """The pieces, sorted by sentence row then within each sentence: ``row`` (the sentence),
    and the columns ``start``, ``end`` (in the sentence), ``label``, ``stance``."""

    row: Any
    columns: dict[str, Any]

    def lists(self) -> dict[int, list[dict[str, int]]]:
        """row -> its pieces as dicts (``span_dicts``' shape), for the rows that have some."""
        out: dict[int, list[dict[str, int]]] = {}
        values = zip(*(self.columns[f].tolist() for f in _FIELDS), strict=True)
        for row, piece in zip(self.row.tolist(), values, strict=True):
            out.setdefault(row, []).append(dict(zip(_FIELDS, piece, strict=True)))
        return out


def sentence_spans(
    names: Sequence[str],
    bounds: Any,
    starts: Any,
    ends: Any,
    spans_of: Mapping[str, Sequence[Mapping[str, Any]]],
    schema: AnnotationSchema,
    report: AlignmentReport,
) -> SentenceSpans | None:
    """The pieces of the gold spans of documents ``names`` (sentences ``bounds[k]`` to
    ``bounds[k + 1]`` of ``starts``/``ends`` are document ``k``'s, in order); ``None`` when
    some document's sentence starts are not ascending (the caller then uses the reference)."""
    import numpy as np

    doc, lo_start, lo_end, issue, stance = [], [], [], [], []
    for k, name in enumerate(names):
        for s in spans_of.get(name) or ():
            doc.append(k)
            lo_start.append(s["start"])
            lo_end.append(s["end"])
            issue.append(s["issue"])
            stance.append(s.get("stance"))
    starts = np.asarray(starts, np.int64)
    ends = np.asarray(ends, np.int64)
    n = len(starts)
    doc_of_row = np.repeat(np.arange(len(names), dtype=np.int64), np.diff(bounds))
    key = doc_of_row * (1 << 32) + starts  # ascending if every document's starts are
    if n > 1 and bool((np.diff(key) < 0).any()):
        return None
    d = np.array(doc, np.int64)
    s_start, s_end = np.array(lo_start, np.int64), np.array(lo_end, np.int64)
    lo, hi = np.asarray(bounds, np.int64)[d], np.asarray(bounds, np.int64)[d + 1]
    first = np.maximum(np.searchsorted(key, d * (1 << 32) + s_start, side="right") - 1, lo)
    last = np.minimum(np.searchsorted(key, d * (1 << 32) + s_end, side="left"), hi)
    tried = np.maximum(last - first, 0)
    span_of = np.repeat(np.arange(len(d)), tried)
    row = np.repeat(first, tried) + (np.arange(int(tried.sum())) - np.repeat(
        np.cumsum(tried) - tried, tried))  # fmt: skip
    p_start = np.maximum(s_start[span_of], starts[row]) if len(row) else np.zeros(0, np.int64)
    p_end = np.minimum(s_end[span_of], ends[row]) if len(row) else np.zeros(0, np.int64)
    kept = p_start < p_end
    span_of, row, p_start, p_end = span_of[kept], row[kept], p_start[kept], p_end[kept]
    report.spans += len(d)
    report.across_sentences += int((np.bincount(span_of, minlength=len(d)) > 1).sum())

    issues = {name: i for i, name in enumerate(schema.issue_names)}
    stances: dict[str | None, int] = {n: i for i, n in enumerate(schema.span_stance_names)}
    names_sorted = sorted(set(issue))
    rank = {name: i for i, name in enumerate(names_sorted)}
    issue_rank = np.array([rank[x] for x in issue], np.int64)
    label = np.array([issues.get(x, -1) for x in issue], np.int64)
    stance_id = np.array([stances.get(x, -1) for x in stance], np.int64)
    order = np.lexsort((span_of, issue_rank[span_of], p_end, p_start, row))
    span_of, row = span_of[order], row[order]
    base = starts[row]
    columns = {
        "start": p_start[order] - base,
        "end": p_end[order] - base,
        "label": label[span_of] if len(span_of) else np.zeros(0, np.int64),
        "stance": stance_id[span_of] if len(span_of) else np.zeros(0, np.int64),
    }
    return SentenceSpans(row, columns)
