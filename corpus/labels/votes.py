"""Which of an annotator's annotations of a document votes: the latest one not skipped.

The rule (docs/concepts/gold.md, "Votes"): one vote per annotator and document, their latest
annotation that is not a skip (latest by ``updated_at``, else ``created_at``, compared as
instants, a time without a zone read as UTC and an annotation with neither time as the
oldest; on equal times the higher annotation id). Skips never vote: a skip after an answer
leaves the answer standing, and an annotator who only skipped a document is not one of its
annotators.

The one definition for agreement (:mod:`corpus.iaa`), adjudication
(:mod:`corpus.adjudication.core`), the curator's review and the ``disagreement`` sampling
strategy (:mod:`corpus.rounds.sample`), so that the figures a report prints are measured on
the very votes gold is made of. Reference twin: ``tests/reference/votes.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

Row = Mapping[str, Any]
R = TypeVar("R", bound=Mapping[str, Any])

OLDEST = datetime.min.replace(tzinfo=UTC)


def instant(text: str | None) -> datetime | None:
    """An ISO 8601 time as an aware instant (no zone: UTC); None for no time."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO 8601 time: {text!r}") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def recency(row: Row) -> tuple[datetime, int]:
    """The order of an annotator's annotations: last updated (else created), then id."""
    when = instant(row.get("updated_at")) or instant(row.get("created_at")) or OLDEST
    return (when, int(row["annotation_id"]))


@dataclass(frozen=True)
class RoundVotes(Generic[R]):
    """The votes of one round's annotation rows (see the module docstring)."""

    by_doc: dict[str, dict[str, R]]  # doc_id -> annotator -> the row that votes; {}: all skipped
    skipped_only: dict[str, set[str]] = field(default_factory=dict)  # annotator -> doc_ids

    @property
    def rows(self) -> list[R]:
        """Every voting row, by document then annotator."""
        return [self.by_doc[d][w] for d in sorted(self.by_doc) for w in sorted(self.by_doc[d])]


def round_votes(annotations: Iterable[R]) -> RoundVotes[R]:
    """The votes of a round's ``annotations`` rows, and who only skipped which document."""
    rows = list(annotations)
    out: dict[str, dict[str, R]] = {}
    for row in rows:
        chosen = out.setdefault(row["doc_id"], {})
        if row["cancelled"]:
            continue
        old = chosen.get(row["annotator"])
        if old is None or recency(row) > recency(old):
            chosen[row["annotator"]] = row
    skipped: dict[str, set[str]] = {}
    for row in rows:
        if row["cancelled"] and row["annotator"] not in out[row["doc_id"]]:
            skipped.setdefault(row["annotator"], set()).add(row["doc_id"])
    return RoundVotes(out, skipped)


def voting_annotations(annotations: Iterable[R]) -> dict[str, dict[str, R]]:
    """doc_id -> annotator -> the annotation that votes (latest non-skipped one).

    Documents whose annotations are all skipped map to an empty dict.
    """
    return round_votes(annotations).by_doc


def skipped_only(annotations: Iterable[Row]) -> dict[str, set[str]]:
    """annotator -> the documents they skipped and never answered."""
    return round_votes(annotations).skipped_only
