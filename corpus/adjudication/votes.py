"""The plain values adjudication works on: marks, documents' votes, what is decided."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from corpus.labels.spans import Mark
from corpus.models import GoldAnnotation, GoldSpan

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Unresolved:
    """A gold item left undecided: the document stance (``span`` None) or a span stance."""

    doc_id: str
    reason: str
    span: tuple[int, int, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        span = None if self.span is None else list(self.span)
        return {"doc_id": self.doc_id, "reason": self.reason, "span": span}


@dataclass
class Adjudication:
    """Gold rows of one round, and what is left for a person to decide."""

    gold_annotations: list[GoldAnnotation] = field(default_factory=list)
    gold_spans: list[GoldSpan] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)
    disagreements: dict[str, list[str]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DocumentVotes:
    """The voting annotations of one document and their spans (one entry per annotator)."""

    doc_id: str
    round: str
    text: str
    annotations: dict[str, Row]
    marks: dict[str, list[Mark]]

    @property
    def n(self) -> int:
        return len(self.annotations)

    @property
    def schema_version(self) -> int | None:
        """The label-schema version the votes were made under (a round has one)."""
        made = [r.get("schema_version") for r in self.annotations.values()]
        return max((v for v in made if v is not None), default=None)
