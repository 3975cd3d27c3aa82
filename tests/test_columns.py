"""The Arrow fast path of the big configs (corpus.release.columns) equals the reference row
builders (corpus.release.tables): the same tables and the same gate findings, on text chosen
to trip it up."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.label_schema import AnnotationSchema
from corpus.release import columns, tables
from corpus.release.columns import SPECIAL, big_tables, tokenize_many
from corpus.release.rows import document_rows
from corpus.release.splits import SPLITS
from corpus.release.tables import EMAIL, AlignmentReport, tokenize

_TOKEN = re.compile(r"\w+|[^\w\s]")
TEXTS = [
    'He said "no" to the U.S. plan.',
    "A back\\slash, a\ttab and a line\nbreak inside one sentence.",
    "Zölle – 关税 fell 3.5% in Q3; naïve café résumé.",
    "Contact jane.doe@example.org for details.",
    "Emoji 😀 and an astral 𝐀 letter.",
    "Control \x01 and vertical\x0btab and \x1c separator.",
    "Trailing space and\u00a0nbsp\u2028line separator ",
    "Tariffs rose sharply.",
    "“Curly quotes” and ‘single’ — em dash… ellipsis.",
    "Numbers: ½ ² ٣ ⅷ, underscores_are_words.",
]


def test_astral_and_control_characters_take_the_reference_path() -> None:
    found = pc.match_substring_regex(pa.array(["a😀", "ab", "a\x01", "a\nb\tc"]), SPECIAL)
    assert found.to_pylist() == [True, False, True, False]


BMP = st.characters(max_codepoint=0xFFFF, exclude_categories=["Cs"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.text(BMP), st.lists(st.integers(0, 40), max_size=4)), max_size=8))
def test_numpy_tokens_equal_the_reference(rows: list[tuple[str, list[int]]]) -> None:
    texts = pa.array([t for t, _ in rows], pa.string())
    cuts = {i: c for i, (_, c) in enumerate(rows) if c}
    tokens, offsets = tokenize_many(texts, cuts)
    assert tokens.to_pylist() == [
        [t[a:b] for a, b in tokenize(t, c)] if c else _TOKEN.findall(t) for t, c in rows
    ]
    assert offsets == {i: tokenize(rows[i][0], c) for i, c in cuts.items()}
    # the same in chunks of 3 rows (a release tokenizes CHUNK_ROWS rows at a time)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(columns, "CHUNK_ROWS", 3)
        chunked, chunked_offsets = tokenize_many(texts, cuts)
    assert chunked.to_pylist() == tokens.to_pylist()
    assert chunked_offsets == offsets
    if len(rows) > 2:  # a slice of a larger array (offsets into shared buffers)
        sliced, _ = tokenize_many(texts.slice(1, len(rows) - 2), {})
        assert sliced.to_pylist() == [_TOKEN.findall(t) for t, _ in rows[1:-1]]


def store_like(doc_texts: dict[str, list[str]]) -> tuple[pa.Table, dict[str, dict[str, Any]]]:
    """A stored sentences table and document rows, sentences joined by one space."""
    rows, docs = [], {}
    for doc_id, sentences in doc_texts.items():
        start = 0
        for i, s in enumerate(sentences):
            rows.append({"doc_id": doc_id, "index": i, "start": start, "end": start + len(s),
                         "text": s})  # fmt: skip
            start += len(s) + 1
        docs[doc_id] = {"doc_id": doc_id, "title": doc_id, "text": " ".join(sentences),
                        "dup_group": doc_id}  # fmt: skip
    return pa.Table.from_pylist(rows), docs


def reference(
    sentences: pa.Table,
    docs: dict[str, dict[str, Any]],
    split_of: dict[str, str],
    stance_of: dict[str, str | None],
    spans_of: dict[str, list[dict[str, Any]]],
    schema: AnnotationSchema,
) -> tuple[dict[str, dict[str, list[dict[str, Any]]]], AlignmentReport]:
    report = AlignmentReport()
    by_doc: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in sentences.to_pylist():
        by_doc[r["doc_id"]].append(r)
    out: dict[str, dict[str, list[dict[str, Any]]]] = {
        c: {s: [] for s in SPLITS} for c in ("sentences", "tokens")
    }
    for doc_id in sorted(docs):
        built = document_rows(docs[doc_id], stance_of[doc_id], spans_of.get(doc_id, []),
                              by_doc[doc_id], schema, report)  # fmt: skip
        for config in out:
            out[config][split_of[doc_id]].extend(built[config])
    return out, report


def test_the_fast_path_equals_the_reference(schema: AnnotationSchema) -> None:
    doc_texts = {f"d{i:02d}": TEXTS[i:] + TEXTS[:i] for i in range(len(TEXTS))}
    sentences, docs = store_like(doc_texts)
    split_of = {d: SPLITS[i % 3] for i, d in enumerate(sorted(docs))}
    stance_of: dict[str, str | None] = {d: None if i == 4 else schema.stance_names[i % 4]
                                        for i, d in enumerate(sorted(docs))}  # fmt: skip
    spans_of: dict[str, list[dict[str, Any]]] = {}
    for i, d in enumerate(sorted(docs)):
        text = docs[d]["text"]
        words = [m.span() for m in re.finditer(r"\w+", text)]
        a, b = words[i], words[i + 12]  # crosses sentences
        c, e = words[i + 3][0], words[i + 3][1] - 1  # inside a word: tokens cut there
        spans_of[d] = [
            {"start": a[0], "end": b[1], "issue": schema.issue_names[i % 9], "stance": None},
            {"start": c, "end": e, "issue": schema.issue_names[0], "stance": "neutral"},
            {"start": c, "end": e + 1, "issue": schema.issue_names[1], "stance": "opposed"},
        ] if i % 4 else []  # fmt: skip
    ref_rows, ref_report = reference(sentences, docs, split_of, stance_of, spans_of, schema)
    report = AlignmentReport()
    fast = big_tables(sentences, docs, split_of, stance_of, spans_of, schema, report)
    feats = tables.features(schema)
    for config in ("sentences", "tokens"):
        for split in SPLITS:
            want = pa.Table.from_pylist(ref_rows[config][split], schema=feats[config].arrow_schema)
            got = fast.tables[config][split]
            assert got.equals(want), (config, split)
    leaks = sorted(f"{c}/{s}" for c in ("sentences", "tokens") for s in SPLITS
                   if any(EMAIL.search(str(r)) for r in ref_rows[c][s]))  # fmt: skip
    assert sorted(fast.leaks) == leaks and leaks
    assert (report.spans, report.across_sentences) == (
        ref_report.spans,
        ref_report.across_sentences,
    )
    assert report.unaligned == ref_report.unaligned and report.unaligned
    assert any(unicodedata.category(ch) == "Cc" for t in TEXTS for ch in t)  # the tricky bits


@st.composite
def documents_with_spans(draw: Any) -> tuple[list[str], list[int], list[int], list[int], Any]:
    """Documents whose sentences (in order, maybe with gaps or empty) and gold spans are
    drawn from small numbers, so that failures shrink to a readable case."""
    names, bounds, starts, ends, spans_of = [], [0], [], [], {}
    for k in range(draw(st.integers(1, 4))):
        name = f"d{k}"
        names.append(name)
        at = 0
        for _ in range(draw(st.integers(0, 4))):
            at += draw(st.integers(0, 2))  # a gap between sentences
            length = draw(st.integers(0, 6))
            starts.append(at)
            ends.append(at + length)
            at += length
        bounds.append(len(starts))
        spans = []
        for _ in range(draw(st.integers(0, 5))):
            a = draw(st.integers(0, at + 2))
            spans.append({
                "start": a, "end": a + draw(st.integers(1, 8)),
                "issue": draw(st.sampled_from(["trade", "taiwan", "unknown-issue", "climate"])),
                "stance": draw(st.sampled_from([None, "neutral", "opposed", "nonsense"])),
            })  # fmt: skip
        spans_of[name] = spans
    return names, bounds, starts, ends, spans_of


@settings(max_examples=300, deadline=None)
@given(documents_with_spans())
def test_spans_cut_at_sentences_equal_the_reference(case: Any) -> None:
    import numpy as np

    from corpus.label_schema import load_schema
    from corpus.release.columns import reference_spans
    from corpus.release.sentence_spans import sentence_spans

    schema = load_schema()
    names, bounds, starts, ends, spans_of = case
    bounds_np = np.array(bounds, np.int64)
    ours, theirs = AlignmentReport(), AlignmentReport()
    fast = sentence_spans(names, bounds_np, starts, ends, spans_of, schema, ours)
    want = reference_spans(names, bounds_np, starts, ends, spans_of, schema, theirs)
    assert fast is not None
    assert fast.lists() == want.lists()
    assert (ours.spans, ours.across_sentences) == (theirs.spans, theirs.across_sentences)


def test_sentence_starts_out_of_order_are_left_to_the_reference(schema: AnnotationSchema) -> None:
    import numpy as np

    from corpus.release.sentence_spans import sentence_spans

    spans = {"d": [{"start": 0, "end": 3, "issue": schema.issue_names[0], "stance": None}]}
    found = sentence_spans(["d"], np.array([0, 2]), [5, 0], [9, 4], spans, schema,
                           AlignmentReport())  # fmt: skip
    assert found is None


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from("ab .,\u00a0\n"), max_size=14), st.integers(0, 16),
       st.integers(1, 8), st.integers(-1, 2))  # fmt: skip
def test_tagging_one_span_equals_the_reference(text: str, start: int, length: int,
                                               label: int) -> None:  # fmt: skip
    """A sentence with one span: the shortcut equals tag_tokens on tokens cut at the span."""
    start = min(start, len(text))
    span = {"start": start, "end": min(start + length, len(text) + 1), "label": label,
            "stance": -1}  # fmt: skip
    if span["end"] <= span["start"]:
        return
    row = {"doc_id": "d", "sentence_index": 0, "spans": [span]}
    tokens = tokenize(text, [span["start"], span["end"]])
    ours, theirs = AlignmentReport(), AlignmentReport()
    got = columns.tag_one(tokens, span, row, ours)
    assert got == tables.tag_tokens(text, tokens, row, theirs)
    assert ours.unaligned == theirs.unaligned
