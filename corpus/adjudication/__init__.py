"""Adjudication: gold labels for a pulled round, by majority vote or by a curator's review.

* :func:`majority` (pure) decides stance and spans from plain rows; the rules are in
  :mod:`corpus.adjudication.core`.
* :func:`adjudicate` stores majority gold as a new version (``gold_annotations`` and
  ``gold_spans`` beside the unchanged per-annotator tables).
* :func:`start_review` / :func:`pull_review` send the documents in disagreement to a Label
  Studio review project and read the curator's decisions back as gold.
"""

from __future__ import annotations

from corpus.adjudication.core import decide, documents, majority, predictions, reviewed
from corpus.adjudication.gold import (
    GOLD_TABLES,
    AdjudicationResult,
    RoundInputs,
    adjudicate,
    load_inputs,
    write_gold,
)
from corpus.adjudication.review import (
    ReviewResult,
    ReviewState,
    load_review,
    pull_review,
    review_task,
    review_title,
    start_review,
)
from corpus.adjudication.spans import span_agreement_of
from corpus.adjudication.votes import Adjudication, DocumentVotes, Unresolved
from corpus.labels.gold import effective_gold
from corpus.labels.spans import Mark, boundary, clusters

__all__ = [
    "GOLD_TABLES",
    "Adjudication",
    "AdjudicationResult",
    "DocumentVotes",
    "Mark",
    "ReviewResult",
    "ReviewState",
    "RoundInputs",
    "Unresolved",
    "adjudicate",
    "boundary",
    "clusters",
    "decide",
    "documents",
    "effective_gold",
    "load_inputs",
    "load_review",
    "majority",
    "predictions",
    "pull_review",
    "review_task",
    "review_title",
    "reviewed",
    "span_agreement_of",
    "start_review",
    "write_gold",
]
