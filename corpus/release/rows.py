"""The rows of a release, per config and split, with their content hashes (pure).

:func:`document_rows` turns one document (its store row, gold, sentences) into its rows of
the ``documents``, ``sentences`` and ``tokens`` configs; it needs nothing else, so an engine
can map it over documents anywhere. :func:`release_rows` assembles every config's rows per
split, hashes each table (the sum of the sha256 of each row's canonical JSON, as the manifest
records it) and scans the canonical JSON for e-mail addresses (the privacy gate) on the way.

With ``text="none"`` the released rows are the offsets-only ones, and the content hashes of
the full-text tables are kept too (``full_tables``): rehydration must rebuild exactly them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from corpus.ids import canonical_json, hash_hex, sha256_int
from corpus.label_schema import AnnotationSchema
from corpus.release import tables
from corpus.release.splits import SPLITS
from corpus.release.tables import AlignmentReport, TextMode

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
Rows = dict[str, dict[str, list[dict[str, Any]]]]  # config -> split -> rows


@dataclass
class ReleaseRows:
    """Released rows per config and split, and what the manifest records about them."""

    rows: Rows
    tables: dict[str, dict[str, Any]]  # "config/split" -> {"rows", "content_sha256"}
    full_tables: dict[str, dict[str, Any]] | None = None  # text none: the full-text tables
    leaks: list[str] = field(default_factory=list)  # "config/split" holding an e-mail address
    report: AlignmentReport = field(default_factory=AlignmentReport)


def document_rows(
    doc: Mapping[str, Any],
    stance: str | None,
    spans: Sequence[Mapping[str, Any]],
    sentences: Sequence[Mapping[str, Any]],
    schema: AnnotationSchema,
    report: AlignmentReport,
    *,
    offsets: bool = False,
) -> dict[str, list[dict[str, Any]]]:
    """One document's rows of ``documents``, ``sentences`` and ``tokens`` (full text;
    ``offsets``: with the columns an offsets-only release keeps, see :mod:`tables`)."""
    sents = sorted(sentences, key=lambda s: s["index"])
    srows = tables.sentence_rows(doc, sents, stance, spans, schema, report, offsets=offsets)
    return {
        "documents": [tables.document_row(doc, stance, spans, schema, offsets=offsets)],
        "sentences": srows,
        "tokens": [
            tables.token_row(sent, row, schema, report, offsets=offsets)
            for sent, row in zip(sents, srows, strict=True)
        ],
    }


def table_hash(rows: Iterable[Mapping[str, Any]]) -> tuple[str, bool]:
    """``content_sha256`` of a table, and whether an e-mail address appears in the canonical
    JSON of one of its rows."""
    total = 0
    leak = False
    for row in rows:
        text = canonical_json(row)
        total += sha256_int(text)
        leak = leak or ("@" in text and EMAIL.search(text) is not None)
    return hash_hex(total), leak


def release_rows(
    docs: Mapping[str, Mapping[str, Any]],
    split_of: Mapping[str, str],
    stance_of: Mapping[str, str | None],
    spans_of: Mapping[str, Sequence[Mapping[str, Any]]],
    sentences_of: Mapping[str, Sequence[Mapping[str, Any]]],
    raw_annotations: Sequence[Mapping[str, Any]],
    raw_spans: Sequence[Mapping[str, Any]],
    schema: AnnotationSchema,
    *,
    text: TextMode = "full",
    titles: bool = True,
) -> ReleaseRows:
    """Every config's rows per split (documents in doc_id order), hashed and scanned."""
    offsets = text == "none"
    report = AlignmentReport()
    full: Rows = {c: {s: [] for s in SPLITS} for c in tables.CONFIGS}
    for doc_id in sorted(docs):
        split = split_of[doc_id]
        rows = document_rows(
            docs[doc_id], stance_of[doc_id], spans_of.get(doc_id, []),
            sentences_of.get(doc_id, []), schema, report, offsets=offsets,
        )  # fmt: skip
        for config, config_rows in rows.items():
            full[config][split].extend(config_rows)
    for row in tables.raw_rows(raw_annotations, raw_spans, schema):
        full["raw_annotations"][split_of[row["doc_id"]]].append(row)
    if not offsets:
        info, leaks = _hashed(full)
        return ReleaseRows(full, info, None, leaks, report)
    columns = {c: list(f) for c, f in tables.features(schema).items()}
    kept = {c: list(f) for c, f in tables.features(schema, text="none", titles=titles).items()}
    whole = {
        c: {s: _projected(v, columns[c]) for s, v in by.items()} for c, by in full.items()
    }  # generators: the full-text tables are hashed, never kept
    full_info, full_leaks = _hashed(whole)
    released = {
        c: {s: [tables.project(r, kept[c]) for r in v] for s, v in by.items()}
        for c, by in full.items()
    }
    info, leaks = _hashed(released)
    return ReleaseRows(released, info, full_info, sorted(set(leaks) | set(full_leaks)), report)


def _projected(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[str]
) -> Iterator[dict[str, Any]]:
    return (tables.project(r, columns) for r in rows)


def _hashed(
    rows: Mapping[str, Mapping[str, Iterable[Mapping[str, Any]]]],
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    info: dict[str, dict[str, Any]] = {}
    leaks: list[str] = []
    for config, splits in rows.items():
        for split, table in splits.items():
            counted = _Counted(table)
            digest, leak = table_hash(counted)
            info[f"{config}/{split}"] = {"rows": counted.n, "content_sha256": digest}
            if leak:
                leaks.append(f"{config}/{split}")
    return info, leaks


class _Counted:
    """An iterable that counts what it yields (tables may be generators)."""

    def __init__(self, rows: Iterable[Mapping[str, Any]]) -> None:
        self.rows = rows
        self.n = 0

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        for row in self.rows:
            self.n += 1
            yield row


def labels_by_document(rows: Rows) -> dict[str, list[Any]]:
    """doc_id -> [stance id, number of gold spans] (the changelog compares them)."""
    out: dict[str, list[Any]] = {}
    for split_rows in rows["documents"].values():
        for r in split_rows:
            out[r["doc_id"]] = [r["stance"], len(r["spans"])]
    return out


def group_rows(rows: Iterable[Mapping[str, Any]], key: str) -> dict[str, list[Mapping[str, Any]]]:
    by: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for r in rows:
        by[r[key]].append(r)
    return dict(by)
