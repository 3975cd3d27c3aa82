"""Pre-annotators: suggestions an annotator starts from.

A pre-annotator is anything with a ``model_version`` and a ``predict(text)`` that returns
spans; a real model can replace the keyword baseline by implementing :class:`PreAnnotator`.
One that also suggests the document's stance implements :class:`StancePreAnnotator`
(``predict_stance``): a stored model does (:class:`corpus.inference.ModelPreAnnotator`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from corpus.label_schema import AnnotationSchema


@dataclass(frozen=True)
class SpanSuggestion:
    start: int
    end: int
    issue: str
    score: float = 1.0


@dataclass(frozen=True)
class StanceSuggestion:
    """A suggested document stance and its probability."""

    stance: str
    score: float


class PreAnnotator(Protocol):
    @property
    def model_version(self) -> str: ...

    def predict(self, text: str) -> list[SpanSuggestion]: ...


@runtime_checkable
class StancePreAnnotator(Protocol):
    """A pre-annotator that also suggests the document stance."""

    @property
    def model_version(self) -> str: ...

    def predict(self, text: str) -> list[SpanSuggestion]: ...

    def predict_stance(self, text: str) -> StanceSuggestion | None: ...


def stance_suggestion(preannotator: PreAnnotator, text: str) -> StanceSuggestion | None:
    """The pre-annotator's stance for ``text``, or None when it suggests none."""
    if isinstance(preannotator, StancePreAnnotator):
        return preannotator.predict_stance(text)
    return None


class KeywordPreAnnotator:
    """Marks every whole-word, case-insensitive match of a schema keyword with its issue.

    Longer keywords win where matches overlap, so "export controls" beats "controls".
    """

    def __init__(self, schema: AnnotationSchema) -> None:
        pairs = [(kw, label.name) for label in schema.issues for kw in label.keywords]
        pairs.sort(key=lambda p: (-len(p[0]), p[0]))
        self._issue = {kw.casefold(): name for kw, name in pairs}
        alternation = "|".join(re.escape(kw) for kw, _ in pairs) or r"(?!x)x"
        self._pattern = re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE)
        self._version = f"keywords-{schema.hash()[:8]}"

    @property
    def model_version(self) -> str:
        return self._version

    def predict(self, text: str) -> list[SpanSuggestion]:
        return [
            SpanSuggestion(m.start(), m.end(), self._issue[m.group(0).casefold()], 0.5)
            for m in self._pattern.finditer(text)
            if m.group(0).casefold() in self._issue
        ]


class NoPreAnnotator:
    """``--preannotate none``: annotators see no suggestion (tasks carry no predictions), so
    nothing anchors them; ``model_version`` is ``"none"``."""

    NAME = "none"

    @property
    def model_version(self) -> str:
        return self.NAME

    def predict(self, text: str) -> list[SpanSuggestion]:
        return []
