"""The rows of a release, per config and split, with their content hashes (pure).

:func:`document_rows` turns one document (its store row, gold, sentences) into its rows of
the ``documents``, ``sentences`` and ``tokens`` configs; it needs nothing else, so an engine
can map it over documents anywhere. :func:`release_rows` assembles every config's rows per
split, hashes each table as the writer writes it (:mod:`corpus.release.content_hash`, version 2)
and scans its rows for e-mail addresses (the privacy gate) on the way.

With ``text="none"`` the released rows are the offsets-only ones, and the content hashes of
the full-text tables are kept too (``full_tables``): rehydration must rebuild exactly them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from corpus.ids import canonical_json
from corpus.label_schema import AnnotationSchema
from corpus.release import content_hash, tables
from corpus.release.columns import big_tables
from corpus.release.content_hash import rows_sha256, table_sha256
from corpus.release.splits import SPLITS
from corpus.release.tables import EMAIL, AlignmentReport, TextMode

Rows = dict[str, dict[str, Any]]  # config -> split -> rows (a list of dicts or a table)


@dataclass
class ReleaseRows:
    """Released rows per config and split, and what the manifest records about them."""

    rows: Rows  # lists of dicts, or Arrow tables (sentences and tokens of a full-text release)
    tables: dict[str, dict[str, Any]]  # "config/split" -> {"rows", "content_sha256"}
    full_tables: dict[str, dict[str, Any]] | None = None  # text none: the full-text tables
    leaks: list[str] = field(default_factory=list)  # "config/split" holding an e-mail address
    report: AlignmentReport = field(default_factory=AlignmentReport)
    arrow: dict[str, dict[str, Any]] = field(default_factory=dict)  # the lists of dicts in
    # ``rows`` as the Arrow tables they were hashed as (the writer writes those)

    def table(self, config: str, split: str) -> Any:
        """A config's split as the writer takes it: an Arrow table, or else rows."""
        return self.arrow.get(config, {}).get(split, self.rows[config][split])


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
    provenance = doc.get("provenance") or (None, None)
    return {
        "documents": [
            tables.document_row(doc, stance, spans, schema, offsets=offsets, provenance=provenance)
        ],
        "sentences": srows,
        "tokens": [
            tables.token_row(sent, row, schema, report, offsets=offsets)
            for sent, row in zip(sents, srows, strict=True)
        ],
    }


def table_hash(rows: Iterable[Mapping[str, Any]]) -> tuple[str, bool]:
    """Version 1 ``content_sha256`` of a table (``rows-sha256-sum``, what releases built
    before the columnar hash record), and whether it :func:`leaks` an e-mail address."""
    kept = list(rows)
    return rows_sha256(kept), leaks(kept)


def leaks(rows: Iterable[Mapping[str, Any]]) -> bool:
    """Whether an e-mail address (:data:`~corpus.release.tables.EMAIL`) appears in the
    canonical JSON of one of the rows (the privacy gate)."""
    for row in rows:
        text = canonical_json(row)
        if "@" in text and EMAIL.search(text) is not None:
            return True
    return False


def arrow_table(rows: Sequence[Mapping[str, Any]], features: Any) -> Any:
    """Rows as the Arrow table of ``features`` (what the writer writes)."""
    import pyarrow as pa

    return pa.Table.from_pylist(list(rows), schema=features.arrow_schema)


def release_rows(
    docs: Mapping[str, Mapping[str, Any]],
    split_of: Mapping[str, str],
    stance_of: Mapping[str, str | None],
    spans_of: Mapping[str, Sequence[Mapping[str, Any]]],
    sentences: Any,
    raw_annotations: Sequence[Mapping[str, Any]],
    raw_spans: Sequence[Mapping[str, Any]],
    schema: AnnotationSchema,
    *,
    text: TextMode = "full",
    titles: bool = True,
) -> ReleaseRows:
    """Every config's rows per split (documents in doc_id order), hashed and scanned;
    ``sentences``: the stored sentences table (Arrow). A full-text release gets its
    ``sentences`` and ``tokens`` as Arrow tables (:mod:`corpus.release.columns`)."""
    report = AlignmentReport()
    if text == "full":
        rows: Rows = {c: {s: [] for s in SPLITS} for c in ("documents", "raw_annotations")}
        for doc_id in sorted(docs):
            doc = tables.document_row(
                docs[doc_id], stance_of[doc_id], spans_of.get(doc_id, []), schema,
                provenance=docs[doc_id].get("provenance") or (None, None),
            )  # fmt: skip
            rows["documents"][split_of[doc_id]].append(doc)
        for row in tables.raw_rows(raw_annotations, raw_spans, schema):
            rows["raw_annotations"][split_of[row["doc_id"]]].append(row)
        info, found, arrow = _hashed(rows, tables.features(schema))
        big = big_tables(sentences, docs, split_of, stance_of, spans_of, schema, report)
        for config, by_split in big.tables.items():
            rows[config] = by_split
            for split, table in by_split.items():
                digest = table_sha256(table, content_hash.CURRENT)
                info[f"{config}/{split}"] = {"rows": table.num_rows, "content_sha256": digest}
        order = [f"{c}/{s}" for c in tables.CONFIGS for s in SPLITS]
        return ReleaseRows({c: rows[c] for c in tables.CONFIGS}, {k: info[k] for k in order},
                           None, sorted({*found, *big.leaks}), report, arrow)  # fmt: skip
    sentences_of = group_rows((r for r in sentences.to_pylist() if r["doc_id"] in docs), "doc_id")
    full: Rows = {c: {s: [] for s in SPLITS} for c in tables.CONFIGS}
    for doc_id in sorted(docs):
        split = split_of[doc_id]
        built = document_rows(
            docs[doc_id], stance_of[doc_id], spans_of.get(doc_id, []),
            sentences_of.get(doc_id, []), schema, report, offsets=True,
        )  # fmt: skip
        for config, config_rows in built.items():
            full[config][split].extend(config_rows)
    for row in tables.raw_rows(raw_annotations, raw_spans, schema):
        full["raw_annotations"][split_of[row["doc_id"]]].append(row)
    full_feats = tables.features(schema)
    kept = tables.features(schema, text="none", titles=titles)
    whole = {
        c: {s: [tables.project(r, list(full_feats[c])) for r in v] for s, v in by.items()}
        for c, by in full.items()
    }  # the full-text tables are hashed, never written
    full_info, full_leaks, _ = _hashed(whole, full_feats)
    del whole
    released = {
        c: {s: [tables.project(r, list(kept[c])) for r in v] for s, v in by.items()}
        for c, by in full.items()
    }
    info, found, arrow = _hashed(released, kept)
    return ReleaseRows(released, info, full_info, sorted(set(found) | set(full_leaks)), report,
                       arrow)  # fmt: skip


def _hashed(
    rows: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]],
    features: Mapping[str, Any],
) -> tuple[dict[str, dict[str, Any]], list[str], dict[str, dict[str, Any]]]:
    """Per config/split: rows and content hash, whether it leaks, and its Arrow table."""
    info: dict[str, dict[str, Any]] = {}
    found: list[str] = []
    arrow: dict[str, dict[str, Any]] = {}
    for config, splits in rows.items():
        for split, table in splits.items():
            built = arrow.setdefault(config, {})[split] = arrow_table(table, features[config])
            digest = table_sha256(built, content_hash.CURRENT)
            info[f"{config}/{split}"] = {"rows": len(table), "content_sha256": digest}
            if leaks(table):
                found.append(f"{config}/{split}")
    return info, found, arrow


def labels_by_document(rows: Rows) -> dict[str, list[Any]]:
    """doc_id -> [stance id, number of gold spans] (the changelog compares them)."""
    out: dict[str, list[Any]] = {}
    for split_rows in rows["documents"].values():
        for r in split_rows:
            out[r["doc_id"]] = [r["stance"], len(r["spans"])]
    return out


def group_rows(rows: Iterable[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by[r[key]].append(r)
    return dict(by)
