"""Property tests: offsets, normalisation and ids on arbitrary Unicode text."""

from __future__ import annotations

import dataclasses
import unicodedata

from conftest import SEEDS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpus.ids import content_id, row_hash
from corpus.ingestion import batch, core, minhash
from corpus.ingestion.core import (
    RawRecord,
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
        "\n\u0301",  # a combining mark after a line break: composes with nothing
        "\u2000",  # whitespace that NFC maps to other whitespace
        "\u212b",  # the Angstrom sign, Å in NFC
    ]
)
texts = st.lists(  # NUL is refused in every format (tests/test_records.py): not a text
    st.one_of(st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00")), tricky),
    max_size=30,
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
@given(texts)
def test_title_and_body_of_normalised_text_stay_nfc(text: str) -> None:
    """What lets a text file's record skip the NFC check (``RawRecord.nfc``)."""
    try:
        title, body = split_title(normalize(text))
    except core.RecordProblem:
        return
    for piece in (title, body, " ".join(title.split()), body.strip()):
        assert unicodedata.is_normalized("NFC", piece)
    raw = RawRecord("p", "s", None, title, body)
    assert core.clean_fields(raw) == core.clean_fields(dataclasses.replace(raw, nfc=True))


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


def reference_sentences(text: str, paragraphs: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """paragraph_sentences from its docstring: sentencex's pieces of each paragraph, each
    ``str.strip``-ped (kept when something is left), a paragraph without one is one
    sentence, a paragraph the pieces do not tile is cut at its sentence boundaries."""
    import sentencex

    out: list[tuple[int, int, int]] = []
    for index, (start, end) in enumerate(paragraphs):
        pieces = sentencex.segment("en", text[start:end])
        if sum(map(len, pieces)) != end - start:
            out += [(index, s, e) for s, e in core.sentence_boundaries(text, start, end, "en")]
            continue
        found = []
        pos = start
        for piece in pieces:
            stripped = piece.strip()
            if stripped:
                first = pos + next(i for i, c in enumerate(piece) if not c.isspace())
                found.append((index, first, first + len(stripped)))
            pos += len(piece)
        out += found or [(index, start, end)]
    return out


sentence_texts = st.lists(
    st.one_of(
        texts,
        st.sampled_from(["Dr. Who ", "U.S. ", "Yes. ", "No! ", "Why? ", "\u3000", "\u2000" * 6]),
        st.sampled_from([" \u2000\u2001 A. ", "e\u0301. ", "😀. ", "\u0301\u0301 ", "\n\n"]),
        # sentencex starts a piece with whitespace after these (U+001C is str.isspace)
        st.sampled_from(["(!\x1c”", "。\x1c\u3000)", "!\x1c\t\u3000”。", ".\x1c)"]),
    ),
    max_size=12,
).map("".join)


@FAST
@given(sentence_texts)
def test_sentences_are_the_stripped_pieces_of_sentencex(text: str) -> None:
    text = normalize(text).strip()
    paragraphs = paragraph_spans(text)
    assert core.paragraph_sentences(text, paragraphs, "en") == reference_sentences(text, paragraphs)


def test_content_id_depends_on_title_and_text() -> None:
    assert content_id("a", "b") != content_id("a", "c") != content_id("b", "b")
    assert content_id("a", "b") == content_id("a", "b")
    assert split_title("\n\n# Heading\n\n\nBody\n") == ("Heading", "Body")


# --- the batch path (vectorised MinHash, direct row JSON, Arrow from buffers) ----------------

words = st.lists(
    st.one_of(
        st.sampled_from(["the", "U.S.", "Trade", "talks", "x" * 17, "ÉCOLE", "İstanbul", "K"]),
        st.text(st.characters(exclude_categories=["Cs"]), max_size=20),
    ),
    max_size=60,
).map(" ".join)


def reference_signature(text: str) -> list[int]:
    """The signature as first specified: regex words, xxhash, datasketch ``update_batch``."""
    import re

    import numpy as np
    import xxhash
    from datasketch import MinHash

    found = re.findall(r"\w+", text.lower()) or [text]
    hashes = np.array([xxhash.xxh32_intdigest(w.encode()) for w in found], dtype=np.uint64)
    if len(hashes) >= minhash.SHINGLE:
        n = len(hashes) - minhash.SHINGLE + 1
        acc = np.zeros(n, dtype=np.uint64)
        for k in range(minhash.SHINGLE):
            acc = (acc * np.uint64(1_000_003) + hashes[k : n + k]) & np.uint64(0xFFFFFFFF)
        hashes = acc
    m = MinHash(num_perm=minhash.NUM_PERM, seed=1, hashfunc=int, scheme=minhash.SCHEME)
    m.update_batch(np.unique(hashes).tolist())
    return [int(v) for v in m.hashvalues]


def test_permutations_are_datasketchs() -> None:
    from datasketch import MinHash

    expected = MinHash(num_perm=minhash.NUM_PERM, seed=1, scheme=minhash.SCHEME).permutations
    assert (minhash.permutations() == expected).all()


@FAST
@given(st.lists(st.one_of(words, texts), min_size=1, max_size=8))
def test_batch_signatures_match_datasketch(batch: list[str]) -> None:
    signatures = minhash.minhash_signatures(batch)
    for text, signature in zip(batch, signatures, strict=True):
        assert signature.tolist() == reference_signature(text)


def test_words_never_run_across_the_texts_of_a_batch() -> None:
    """A batch's texts are scanned as one buffer: a word ending one text and a word starting
    the next stay two words."""
    batch = ["abc", "def ghi", "x", "", "é", "jkl mno pqr stu vwx yz", "Zz", "zZ9_"]
    signatures = minhash.minhash_signatures(batch)
    for text, signature in zip(batch, signatures, strict=True):
        assert signature.tolist() == minhash.minhash_signature(text) == reference_signature(text)


def test_signature_edge_cases_match_datasketch() -> None:
    seed = next(SEEDS.glob("*.txt")).read_text(encoding="utf-8")
    cases = ["", " ", "...", "a", "a b c d", "a b c d e", "x" * 15, "y" * 16, "café naïve", seed]
    cases += [seed.upper(), "Σ ΑΣ İ K ǅ Ⅻ ٣ 中国 e\u0301", "z" * 40 + " short " + "w" * 17]
    signatures = minhash.minhash_signatures(cases)
    for text, signature in zip(cases, signatures, strict=True):
        assert signature.tolist() == reference_signature(text) == minhash.minhash_signature(text)


def test_lowercasing_never_makes_a_word_character() -> None:
    """What lets words be found in UTF-8 bytes when no non-ASCII character is \\w."""
    import re

    word = re.compile(r"\w")
    for code in range(0x110000):
        if 0xD800 <= code < 0xE000:
            continue
        char = chr(code)
        if not word.match(char):
            assert not word.search(char.lower()), hex(code)


@FAST
@given(title=texts, body=texts)
def test_direct_row_hashes_match_canonical_rows(title: str, body: str) -> None:
    import hashlib
    import json

    raw = RawRecord("p", "s", 3, title + "x", body + " y", url="u", published_at=None)
    doc = process_record(raw)
    canonical = json.dumps(
        {"text": doc.text, "title": doc.title},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    assert doc.doc_id == hashlib.sha256(canonical.encode()).hexdigest()[:16]
    built, _ = batch.process_batch([raw], version="1.2.0")
    assert built.doc_ids == [doc.doc_id]
    assert built.row_hashes["paragraphs"] == [doc.unit_hash["paragraphs"]]
    assert built.row_hashes["sentences"] == [doc.unit_hash["sentences"]]
    assert built.row_hashes["documents"] == [row_hash(core.document_row(doc, doc.doc_id, "1.2.0"))]


@FAST
@given(st.lists(st.tuples(texts, texts), min_size=1, max_size=5))
def test_batch_tables_hold_the_rows_they_hash(pairs: list[tuple[str, str]]) -> None:
    raws = [
        RawRecord(f"p{i}", "s", i or None, t + "x", b + " y", external_id=None if i else "e")
        for i, (t, b) in enumerate(pairs)
    ]
    built, problems = batch.process_batch(raws, version="0.3.0")
    assert problems == []
    docs = [process_record(raw) for raw in raws]
    expected = {
        "documents": [core.document_row(d, d.doc_id, "0.3.0") for d in docs],
        "sources": [core.source_row(d, "0.3.0") for d in docs],
        "minhashes": [{"doc_id": d.doc_id, "signature": d.signature} for d in docs],
        "paragraphs": [r for d in docs for r in core.paragraph_rows(d)],
        "sentences": [r for d in docs for r in core.sentence_rows(d)],
    }
    for name, rows in expected.items():
        table = built.tables[name]
        table.validate(full=True)
        assert table.schema == core.SCHEMAS[name]
        assert table.to_pylist() == rows, name
    for i, doc in enumerate(docs):
        assert built.row_hashes["documents"][i] == row_hash(expected["documents"][i])
        assert built.row_hashes["paragraphs"][i] == doc.unit_hash["paragraphs"]
        assert built.row_hashes["sentences"][i] == doc.unit_hash["sentences"]
        assert built.signatures[i].tolist() == doc.signature
    for name in ("sources", "minhashes"):
        assert built.row_hashes[name] == [row_hash(r) for r in expected[name]], name


def test_arrow_arrays_from_buffers_equal_pyarrow_conversion() -> None:
    import pyarrow as pa

    from corpus.store.arrow import arrow_array, repeated_strings

    cases = [
        (["a", None, "é😀", ""], pa.string()),
        ([1, None, -(2**40)], pa.int64()),
        ([[1, 2], [], [3]], pa.list_(pa.int64())),
        ([], pa.string()),
    ]
    for values, dtype in cases:
        built = arrow_array(values, dtype)
        built.validate(full=True)
        assert built.equals(pa.array(values, dtype)), dtype
    assert repeated_strings(["ab", "é"], [2, 1]).equals(pa.array(["ab", "ab", "é"]))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


@FAST
@given(json_values)
def test_canonical_json_is_the_standard_library_form(value: object) -> None:
    """Same text as json.dumps for everything but floats (orjson writes 9.4e-05 as
    0.000094...; both are exact, and every hash uses canonical_json)."""
    import json

    from corpus.ids import canonical_json

    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_json(value) == expected
    assert json.loads(canonical_json(value)) == value
