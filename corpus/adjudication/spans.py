"""Span adjudication (pure): clusters of overlapping marks, the gold boundary, span stance,
and how far two annotators' spans agree. The rules are in :mod:`corpus.adjudication.core`."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from itertools import combinations, pairwise

from corpus.adjudication.votes import DocumentVotes, Mark, Unresolved
from corpus.models import GoldSpan


def clusters(marks: Iterable[Mark]) -> list[list[Mark]]:
    """Same-issue spans that overlap, directly or transitively, ordered by position."""
    by_issue: dict[str, list[Mark]] = defaultdict(list)
    for m in marks:
        by_issue[m.issue].append(m)
    found: list[list[Mark]] = []
    for issue in sorted(by_issue):
        current: list[Mark] = []
        end = -1
        for m in sorted(by_issue[issue], key=lambda m: (m.start, m.end, m.annotator)):
            if current and m.start < end:
                current.append(m)
                end = max(end, m.end)
            else:
                if current:
                    found.append(current)
                current, end = [m], m.end
        if current:
            found.append(current)
    return sorted(found, key=lambda c: (c[0].start, c[0].end, c[0].issue))


def boundary(cluster: Sequence[Mark]) -> tuple[int, int]:
    """The gold (start, end) of a cluster (the boundary rule of the module docstring)."""
    who_marked: dict[tuple[int, int], set[str]] = defaultdict(set)
    for m in cluster:
        who_marked[(m.start, m.end)].add(m.annotator)
    top = max(len(v) for v in who_marked.values())
    tied = [b for b, v in who_marked.items() if len(v) == top]
    if len(tied) == 1:
        return tied[0]
    hot = _most_marked(cluster)
    return min(tied, key=lambda b: (-_overlap_len(b, hot), b[0], b[1] - b[0]))


def _most_marked(cluster: Sequence[Mark]) -> list[tuple[int, int]]:
    """The stretches of text marked by the largest number of the cluster's annotators."""
    points = sorted({p for m in cluster for p in (m.start, m.end)})
    segments = []
    for a, b in pairwise(points):
        n = len({m.annotator for m in cluster if m.start <= a and b <= m.end})
        segments.append((n, a, b))
    top = max(n for n, _, _ in segments)
    return [(a, b) for n, a, b in segments if n == top]


def _overlap_len(span: tuple[int, int], parts: Iterable[tuple[int, int]]) -> int:
    return sum(max(0, min(span[1], b) - max(span[0], a)) for a, b in parts)


def decide_spans(doc: DocumentVotes) -> tuple[list[GoldSpan], list[Unresolved], list[str]]:
    """Kept spans, span stances left unresolved, and span-stance disagreements."""
    gold: list[GoldSpan] = []
    unresolved: list[Unresolved] = []
    reasons: list[str] = []
    every = [m for ms in doc.marks.values() for m in ms]
    for cluster in clusters(every):
        annotators = sorted({m.annotator for m in cluster})
        if 2 * len(annotators) < doc.n:
            continue
        start, end = boundary(cluster)
        issue = cluster[0].issue
        votes = {who: _span_vote(cluster, who, (start, end)) for who in annotators}
        counts = Counter(v for v in votes.values() if v is not None)
        top = max(counts.values(), default=0)
        leaders = sorted(label for label, n in counts.items() if n == top)
        stance = leaders[0] if len(leaders) == 1 else None
        text = doc.text[start:end]
        if len(leaders) > 1:
            tally = ", ".join(f"{label} {counts[label]}" for label in leaders)
            unresolved.append(
                Unresolved(doc.doc_id, f"span stance tie on {text!r}: {tally}", (start, end, issue))
            )
        if len(set(votes.values())) > 1:
            reasons.append(f"span stance differs on {text!r} ({issue})")
        exact = {m.annotator for m in cluster if (m.start, m.end) == (start, end)}
        unanimous = (
            len(annotators) == doc.n and len(exact) == doc.n and len(set(votes.values())) == 1
        )
        gold.append(
            GoldSpan(
                doc_id=doc.doc_id,
                round=doc.round,
                start=start,
                end=end,
                text=text,
                issue=issue,
                stance=stance,
                decided_by="unanimous" if unanimous else "majority",
                support=f"{len(annotators)}/{doc.n}",
                annotators=annotators,
                annotation_ids=[int(doc.annotations[w]["annotation_id"]) for w in annotators],
                schema_version=doc.schema_version,
            )
        )
    return gold, unresolved, reasons


def _span_vote(cluster: Sequence[Mark], who: str, gold: tuple[int, int]) -> str | None:
    mine = [m for m in cluster if m.annotator == who and m.stance is not None]
    if not mine:
        return None
    best = min(mine, key=lambda m: (-_overlap_len(gold, [(m.start, m.end)]), m.start, m.end))
    return best.stance


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
