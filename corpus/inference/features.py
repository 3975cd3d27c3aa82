"""Tokens and CRF features, the same at training and at prediction time (pure).

A release's ``tokens`` config holds word and punctuation tokens (``\\w+|[^\\w\\s]``, see
:mod:`corpus.release.tables`) per sentence, with BIO tags. A new text is cut the way
ingestion cuts it (paragraphs, then sentences with ``sentencex``) and tokenised with the
same pattern, keeping each token's character offsets so that predicted tags become spans.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from corpus.ingestion.core import paragraph_spans, sentence_spans

TOKEN = re.compile(r"\w+|[^\w\s]")  # the release's token pattern (corpus.release.tables)

Features = list[dict[str, str | float]]


def token_offsets(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of every token of ``text[start:end]``, as offsets into ``text``."""
    return [m.span() for m in TOKEN.finditer(text, start, len(text) if end is None else end)]


def sentences(text: str, language: str = "en") -> list[list[tuple[int, int]]]:
    """The tokens of each sentence of ``text`` (paragraphs first, as ingestion cuts them)."""
    lang = (language or "en").split("-")[0]
    out = []
    for p_start, p_end in paragraph_spans(text):
        for s, e in sentence_spans(text, p_start, p_end, lang):
            tokens = token_offsets(text, s, e)
            if tokens:
                out.append(tokens)
    return out


def _shape(word: str) -> str:
    shape = re.sub(r"[A-Z]+", "A", word)
    shape = re.sub(r"[a-z]+", "a", shape)
    return re.sub(r"[0-9]+", "0", shape)


def _word(word: str, prefix: str) -> dict[str, str | float]:
    lower = word.lower()
    return {
        f"{prefix}lower": lower,
        f"{prefix}title": float(word.istitle()),
        f"{prefix}upper": float(word.isupper()),
    }


def token_features(words: Sequence[str]) -> Features:
    """CRF features of each token: the word, its affixes and shape, and its neighbours."""
    out: Features = []
    n = len(words)
    for i, word in enumerate(words):
        lower = word.lower()
        feats: dict[str, str | float] = {
            "bias": 1.0,
            **_word(word, ""),
            "suffix3": lower[-3:],
            "suffix2": lower[-2:],
            "prefix3": lower[:3],
            "shape": _shape(word),
            "digit": float(word.isdigit()),
            "punct": float(not word[:1].isalnum() and word[:1] != "_"),
        }
        if i > 0:
            feats.update(_word(words[i - 1], "-1:"))
            feats["-1:+0"] = f"{words[i - 1].lower()}|{lower}"
        else:
            feats["BOS"] = 1.0
        if i > 1:
            feats["-2:lower"] = words[i - 2].lower()
        if i < n - 1:
            feats.update(_word(words[i + 1], "+1:"))
            feats["+0:+1"] = f"{lower}|{words[i + 1].lower()}"
        else:
            feats["EOS"] = 1.0
        if i < n - 2:
            feats["+2:lower"] = words[i + 2].lower()
        out.append(feats)
    return out


def bio_spans(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """Token spans ``(first, last + 1, label)`` of a BIO tag sequence; an ``I-`` tag that
    does not continue a span of its label starts one (the usual lenient reading)."""
    spans: list[tuple[int, int, str]] = []
    start, label = -1, ""
    for i, tag in enumerate([*tags, "O"]):
        kind, _, name = tag.partition("-")
        if start >= 0 and (kind != "I" or name != label):
            spans.append((start, i, label))
            start = -1
        if kind == "B" or (kind == "I" and start < 0):
            start, label = i, name
    return spans


__all__ = ["TOKEN", "Features", "bio_spans", "sentences", "token_features", "token_offsets"]
