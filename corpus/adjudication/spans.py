"""Span adjudication (pure): gold spans as rows (the rule that decides them is
:mod:`corpus.labels.spans`), and how far two annotators' spans agree (which documents a
curator sees)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from itertools import combinations

from corpus.adjudication.votes import DocumentVotes, Unresolved
from corpus.labels.spans import Mark
from corpus.labels.spans import decide_spans as span_rule
from corpus.models import GoldSpan


def decide_spans(doc: DocumentVotes) -> tuple[list[GoldSpan], list[Unresolved], list[str]]:
    """Kept spans, span stances left unresolved, and span-stance disagreements (the span-gold
    rule itself is :func:`corpus.labels.spans.decide_spans`)."""
    gold: list[GoldSpan] = []
    unresolved: list[Unresolved] = []
    reasons: list[str] = []
    for d in span_rule(doc.marks):
        text = doc.text[d.start : d.end]
        leaders = d.stance.leaders
        if len(leaders) > 1:
            tally = ", ".join(f"{label} {d.stance.counts[label]}" for label in leaders)
            unresolved.append(
                Unresolved(
                    doc.doc_id, f"span stance tie on {text!r}: {tally}", (d.start, d.end, d.issue)
                )
            )
        differ = len(set(d.votes.values())) > 1
        if differ:
            reasons.append(f"span stance differs on {text!r} ({d.issue})")
        unanimous = len(d.votes) == doc.n and len(d.exact) == doc.n and not differ
        gold.append(
            GoldSpan(
                doc_id=doc.doc_id,
                round=doc.round,
                start=d.start,
                end=d.end,
                text=text,
                issue=d.issue,
                stance=d.stance.label,
                decided_by="unanimous" if unanimous else "majority",
                support=f"{len(d.votes)}/{doc.n}",
                annotators=d.annotators,
                annotation_ids=[int(doc.annotations[w]["annotation_id"]) for w in d.annotators],
                schema_version=doc.schema_version,
            )
        )
    return gold, unresolved, reasons


def span_agreement_of(doc: DocumentVotes) -> float:
    """The lowest pairwise agreement of the annotators' span sets (1.0 with one annotator).

    Agreement of a pair: |A ∩ B| / |A ∪ B| over the (issue, character) pairs each marked;
    two empty sets agree fully.
    """
    covered = {who: _covered(marks) for who, marks in doc.marks.items()}
    lowest = 1.0
    for a, b in combinations(sorted(covered), 2):
        both = sum(
            _intersection(covered[a].get(issue, []), covered[b].get(issue, []))
            for issue in covered[a].keys() & covered[b].keys()
        )
        size_a = sum(e - s for parts in covered[a].values() for s, e in parts)
        size_b = sum(e - s for parts in covered[b].values() for s, e in parts)
        union = size_a + size_b - both
        lowest = min(lowest, both / union if union else 1.0)
    return lowest


def _covered(marks: Iterable[Mark]) -> dict[str, list[tuple[int, int]]]:
    """Per issue, the merged stretches of text an annotator marked."""
    by_issue: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for m in sorted(marks, key=lambda m: (m.issue, m.start, m.end)):
        parts = by_issue[m.issue]
        if parts and m.start <= parts[-1][1]:
            parts[-1] = (parts[-1][0], max(parts[-1][1], m.end))
        else:
            parts.append((m.start, m.end))
    return dict(by_issue)


def _intersection(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> int:
    total, i, j = 0, 0, 0
    while i < len(a) and j < len(b):
        total += max(0, min(a[i][1], b[j][1]) - max(a[i][0], b[j][0]))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total
