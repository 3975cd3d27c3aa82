"""Property tests: offsets, normalisation and ids on arbitrary Unicode text."""

from __future__ import annotations

import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpus.ingest.core import (
    RawRecord,
    content_id,
    normalize,
    paragraph_spans,
    process_record,
    split_title,
)

# Arbitrary Unicode (no surrogates), with the characters that usually break offsets.
tricky = st.sampled_from(
    [
        "😀",
        "👨🏻‍🚒",
        "\r\n",
        "\r",
        "\n\n",
        "  ",
        "&<>",
        "“",
        "”",
        "中国。",
        "U.S. ",
        "e\u0301",
        "\ufeff",
        "\t",
    ]
)
texts = st.lists(
    st.one_of(st.text(st.characters(exclude_categories=["Cs"])), tricky), max_size=30
).map("".join)
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(title=texts, body=texts)
def test_every_unit_slices_out_of_the_stored_text(title: str, body: str) -> None:
    raw = RawRecord("p", "s", None, title + "x", body + " y")
    doc = process_record(raw)
    n = len(doc.text)
    for start, end in doc.paragraphs:
        assert 0 <= start < end <= n
        assert doc.text[start:end].strip() == doc.text[start:end]
    previous_end = 0
    for p_index, start, end in doc.sentences:
        p_start, p_end = doc.paragraphs[p_index]
        assert p_start <= start < end <= p_end
        assert start >= previous_end
        previous_end = end
    # every non-space character of the text sits in exactly one sentence
    covered = sum(len(doc.text[s:e].replace(" ", "")) for _, s, e in doc.sentences)
    assert covered <= len(doc.text.replace(" ", ""))


@FAST
@given(texts)
def test_normalize_is_idempotent_and_nfc(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once
    assert unicodedata.is_normalized("NFC", once)
    assert "\r" not in once and not once.startswith("\ufeff")


@FAST
@given(title=texts, body=texts)
def test_id_is_stable_across_newline_styles_and_forms(title: str, body: str) -> None:
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    raw = RawRecord("a", "s", None, title + "t", body + " b")
    variant = RawRecord(
        "elsewhere",
        "other",
        3,
        unicodedata.normalize("NFD", title + "t"),
        unicodedata.normalize("NFD", body + " b").replace("\n", "\r\n"),
    )
    assert process_record(raw).doc_id == process_record(variant).doc_id


@FAST
@given(texts)
def test_paragraph_spans_never_cut_content(text: str) -> None:
    text = normalize(text)
    spans = paragraph_spans(text)
    kept = "".join(text[s:e] for s, e in spans)
    assert "".join(kept.split()) == "".join(text.split())


def test_content_id_depends_on_title_and_text() -> None:
    assert content_id("a", "b") != content_id("a", "c") != content_id("b", "b")
    assert content_id("a", "b") == content_id("a", "b")
    assert split_title("\n\n# Heading\n\n\nBody\n") == ("Heading", "Body")
