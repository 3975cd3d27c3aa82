"""Inputs of the differential histories (``tests/test_differential.py``): texts with planted
near duplicates and the Hypothesis strategies for documents and annotations.

Small alphabets on purpose (three annotators, two issue labels in play, a few word offsets), so
that a failing history shrinks to one a person can read.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from ls_export import region_items, stance_item

# --- texts with planted near duplicates ------------------------------------------------------

_SYLLABLES = ("ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "ve", "zu", "bo", "di", "fa", "gu")
BASE_WORDS = 60  # near copies differ in the last word: J(5-shingles) = 55/57
BASES = 3
VARIANTS = 3
TRIOS = (0, 4, 5)  # word pools whose trio links as planned under the real MinHash/LSH


def _word(i: int) -> str:
    out, i = "", i + 1
    while i:
        i, r = divmod(i, len(_SYLLABLES))
        out += _SYLLABLES[r]
    return out


def _body(words: list[str]) -> str:
    return " ".join(
        " ".join(words[i : i + 12]).capitalize() + "." for i in range(0, len(words), 12)
    )


def base_text(base: int, variant: int) -> str:
    """A text of family ``base``; variants differ from each other in the last word only."""
    words = [_word(1000 + 100 * base + i) for i in range(BASE_WORDS)]
    if variant:
        words[-1] = _word(1000 + 100 * base + BASE_WORDS + variant)
    return _body(["tariffs", *words])  # a keyword: the pre-annotator suggests a span


def trio_text(trio: int, part: str, p: int = 20) -> str:
    """A = P+Q, B = Q+R, C = P+Q+R with |Q| = 3p + 4: J(A, C) = J(B, C) = 0.8, J(A, B) = 0.6
    (word 5-shingles), so C is a near duplicate of A and of B, which are not of each other."""
    q = 3 * p + 4
    start = 5000 + 200 * TRIOS[trio]
    words = [_word(start + i) for i in range(2 * p + q)]
    chunks = {"A": words[: p + q], "B": words[p:], "C": words}
    return _body(chunks[part])


def planted_text(family: str, part: str) -> str:
    if family.startswith("trio"):
        return trio_text(int(family[4:]), part)
    return base_text(int(family[4:]), int(part[1:]))


DOC_SPECS = st.one_of(
    st.tuples(st.sampled_from([f"base{b}" for b in range(BASES)]),
              st.sampled_from([f"v{v}" for v in range(VARIANTS)])),
    st.tuples(st.sampled_from([f"trio{t}" for t in range(len(TRIOS))]), st.sampled_from("ABC")),
    st.tuples(st.sampled_from([f"trio{t}" for t in range(len(TRIOS))]), st.sampled_from("AB")),
)  # fmt: skip

# --- annotations ------------------------------------------------------------------------------

USERS = (1, 2, 3)
STANCES = ("supportive", "opposed", "neutral")
ISSUES = ("trade", "climate")
NAMES = ("trade", "climate", "tariffs_x", "climate_x")  # rename targets (old names reused)
SPAN_STANCES = (None, "supportive", "opposed")
REGION = st.tuples(
    st.integers(0, 4),  # first word
    st.integers(1, 3),  # words
    st.integers(0, 1),  # which of the round's schema's two issue labels in play
    st.sampled_from(SPAN_STANCES),
    st.booleans(),  # the result carries an id (made in the UI) or not (API, ML backend)
)
RESULT = st.tuples(
    st.one_of(st.none(), st.sampled_from(STANCES)),
    st.lists(REGION, max_size=3),
    st.booleans(),  # the stance made in the UI (an id) or through the API
)
ACTION = st.one_of(
    st.tuples(st.just("new"), st.integers(0, 9), st.sampled_from(USERS), st.booleans(), RESULT,
              st.sampled_from([None, 4.5, 30.0])),
    st.tuples(st.just("edit"), st.integers(0, 99), RESULT),
)  # fmt: skip


def word_bounds(text: str) -> list[tuple[int, int]]:
    bounds, start = [], None
    for i, ch in enumerate(text + " "):
        if ch.isalnum() and start is None:
            start = i
        elif not ch.isalnum() and start is not None:
            bounds.append((start, i))
            start = None
    return bounds


def make_result(
    text: str, drawn: tuple[Any, ...], region_base: int, issues: list[str]
) -> list[dict[str, Any]]:
    stance, regions, stance_id = drawn
    items = [stance_item(stance, f"s{region_base}" if stance_id else None)] if stance else []
    words = word_bounds(text)
    for k, (first, n, which, span_stance, with_id) in enumerate(regions):
        start, end = words[first][0], words[first + n - 1][1]
        issue = issues[which % len(issues)]
        region = f"r{region_base}x{k}" if with_id else None
        items.extend(region_items(text, start, end, issue, span_stance, region))
    return items
