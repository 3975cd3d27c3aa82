"""Simulated annotators for the demo: labels derived from the pre-annotations, with
realistic disagreement. Pure: the same seed gives the same labels.

Each document gets a hidden "true" stance (a hash of its id); an annotator picks it with
probability ``accuracy`` and another label otherwise. Suggested spans are accepted unchanged
most of the time, sometimes widened to the next word or dropped, and now and then an annotator
adds a span of their own; every span gets a stance, mostly the document's.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from corpus.label_schema import AnnotationSchema
from corpus.labelstudio.config import ISSUE, SPAN_STANCE, STANCE, TEXT
from corpus.preannotate import SpanSuggestion

MARK = "simulated"


@dataclass(frozen=True)
class Annotator:
    """How a simulated person behaves."""

    name: str
    accuracy: float = 0.8  # picks the document's true stance
    accept: float = 0.85  # keeps a suggested span as it is
    widen: float = 0.08  # widens a kept span to the next word
    extra: float = 0.3  # adds a span of their own


def annotator_profiles(n: int) -> list[Annotator]:
    """n annotators from careful to hasty."""
    profiles = [
        Annotator("careful", 0.88, 0.8, 0.05, 0.35),
        Annotator("average", 0.8, 0.88, 0.08, 0.25),
        Annotator("hasty", 0.7, 0.95, 0.02, 0.1),
    ]
    return [
        profiles[i % len(profiles)] if i < len(profiles) else Annotator(f"sim-{i}")
        for i in range(n)
    ]


def _rng(*parts: object) -> random.Random:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()
    return random.Random(int(digest[:16], 16))


def true_stance(doc_id: str, schema: AnnotationSchema) -> str:
    return _rng("stance", doc_id).choice(schema.stance_names)


def simulate_result(
    doc_id: str,
    text: str,
    suggestions: Sequence[SpanSuggestion],
    schema: AnnotationSchema,
    who: Annotator,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """One simulated annotation's Label Studio ``result`` list."""
    rng = _rng(seed, doc_id, who.name)
    truth = true_stance(doc_id, schema)
    others = [s for s in schema.stance_names if s != truth]
    stance = truth if rng.random() < who.accuracy else rng.choice(others)
    result: list[dict[str, Any]] = [
        {"from_name": STANCE, "to_name": TEXT, "type": "choices", "value": {"choices": [stance]}}
    ]
    spans: list[tuple[int, int, str]] = []
    for s in suggestions:
        roll = rng.random()
        if roll < who.accept:
            spans.append((s.start, s.end, s.issue))
        elif roll < who.accept + who.widen:
            m = re.compile(r"\s+\S+").match(text, s.end)
            spans.append((s.start, m.end() if m else s.end, s.issue))
    if rng.random() < who.extra:
        words = [m.span() for m in re.finditer(r"\w+(?:\s+\w+){1,3}", text)]
        if words:
            start, end = rng.choice(words)
            spans.append((start, end, rng.choice(schema.issue_names)))
    span_stances = schema.span_stance_names
    lean = truth if truth in span_stances else rng.choice(span_stances)
    for i, (start, end, issue) in enumerate(sorted(set(spans))):
        region = f"{who.name[:4]}{i}"
        value = {"start": start, "end": end, "text": text[start:end]}
        result.append({"id": region, "from_name": ISSUE, "to_name": TEXT, "type": "labels",
                       "value": {**value, "labels": [issue]}})  # fmt: skip
        span_stance = lean if rng.random() < 0.75 else rng.choice(span_stances)
        result.append({"id": region, "from_name": SPAN_STANCE, "to_name": TEXT, "type": "choices",
                       "value": {**value, "choices": [span_stance]}})  # fmt: skip
    return result


GENERATED = "[generated]"


def generate_articles(
    base_paragraphs: Sequence[str], n: int, *, seed: int = 0
) -> list[tuple[str, str]]:
    """``n`` (title, body) articles made by recombining ``base_paragraphs``.

    Titles start with ``[generated]`` so nobody mistakes them for real news. Paragraphs are
    drawn without replacement per article, so articles differ enough not to be
    near-duplicates of each other.
    """
    rng = random.Random(seed)
    out = []
    for i in range(n):
        k = min(len(base_paragraphs), rng.randint(6, 12))
        paragraphs = rng.sample(list(base_paragraphs), k)
        opening = " ".join(paragraphs[0].split()[:8]).rstrip(".,;:")
        title = f"{GENERATED} Article {i + 1}: {opening}"
        out.append((title, "\n\n".join(paragraphs)))
    return out
