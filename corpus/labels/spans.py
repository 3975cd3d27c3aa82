"""Span gold of one document: which spans are kept, their boundaries and their stance.

The rule, as docs/concepts/gold.md ("Span gold") states it: within each chain of overlapping
spans of one issue label, every maximal run of characters marked by at least half of the
document's annotators gives one gold span (runs given the same boundary, one), so each span
a majority marked is kept; its support counts the annotators with a span of that label
overlapping the run(s). **Boundary**:
among the spans overlapping the run (only those overlapping no other run, when there are
any), the (start, end) marked by most annotators; on a tie, the one containing the most
characters marked by the largest number of those annotators, then the earliest start, then
the shortest. **Span stance**: each annotator of the span votes with the stance of their
span, among those overlapping the run that have one, overlapping the gold span most (then
the earliest start, then the shortest); most votes wins (:func:`plurality`), a tie gives null.

Pure functions over :class:`Mark` (spans share a character when they overlap; ``end`` is
exclusive). Adjudication (:mod:`corpus.adjudication`) calls :func:`decide_spans`; the
reference twin is ``tests/reference/spans.py``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import NamedTuple


class Mark(NamedTuple):
    """One span of one annotator's voting annotation."""

    annotator: str
    annotation_id: int
    start: int
    end: int
    issue: str
    stance: str | None


@dataclass(frozen=True)
class Vote:
    """The label with the most votes (None on a tie or with no vote) and the tally."""

    label: str | None
    counts: dict[str, int]

    @property
    def leaders(self) -> list[str]:
        """The labels with the most votes (several on a tie), sorted."""
        top = max(self.counts.values(), default=0)
        return sorted(label for label, n in self.counts.items() if n == top)


def plurality(votes: Iterable[str | None]) -> Vote:
    """Most votes wins; ``None`` is no vote; a tie for the most (or no vote) gives None."""
    counts = dict(Counter(v for v in votes if v is not None))
    top = max(counts.values(), default=0)
    leaders = [label for label, n in counts.items() if n == top]
    return Vote(leaders[0] if len(leaders) == 1 else None, counts)


@dataclass(frozen=True)
class SpanDecision:
    """One gold span: boundary, issue, stance, and the votes behind them."""

    start: int
    end: int
    issue: str
    stance: Vote
    votes: dict[str, str | None]  # annotator of the span -> their span-stance vote
    exact: frozenset[str]  # annotators who marked exactly this boundary

    @property
    def annotators(self) -> list[str]:
        """Annotators with a span of this issue overlapping the run (the support)."""
        return sorted(self.votes)


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


def _coverage(marks: Sequence[Mark]) -> list[tuple[int, int, int]]:
    """(start, end, number of annotators) of each stretch between consecutive span ends."""
    points = sorted({p for m in marks for p in (m.start, m.end)})
    return [
        (a, b, len({m.annotator for m in marks if m.start <= a and b <= m.end}))
        for a, b in pairwise(points)
    ]


def majority_runs(cluster: Sequence[Mark], annotators: int) -> list[tuple[int, int]]:
    """Maximal runs of the cluster's characters marked by at least half of ``annotators``."""
    runs: list[tuple[int, int]] = []
    for a, b, n in _coverage(cluster):
        if 2 * n < annotators:
            continue
        if runs and runs[-1][1] == a:
            runs[-1] = (runs[-1][0], b)
        else:
            runs.append((a, b))
    return runs


def boundary(candidates: Sequence[Mark]) -> tuple[int, int]:
    """The gold (start, end) among candidate spans (the boundary rule of the module docstring)."""
    who_marked: dict[tuple[int, int], set[str]] = defaultdict(set)
    for m in candidates:
        who_marked[(m.start, m.end)].add(m.annotator)
    stretches = _coverage(candidates)
    top = max(n for _, _, n in stretches)
    hot = [(a, b) for a, b, n in stretches if n == top]
    return min(
        who_marked,
        key=lambda b: (-len(who_marked[b]), -_overlap_len(b, hot), b[0], b[1] - b[0]),
    )


def _overlaps(m: Mark, part: tuple[int, int]) -> bool:
    return m.start < part[1] and part[0] < m.end


def _overlap_len(span: tuple[int, int], parts: Iterable[tuple[int, int]]) -> int:
    return sum(max(0, min(span[1], b) - max(span[0], a)) for a, b in parts)


def _span_vote(mine: Sequence[Mark], gold: tuple[int, int]) -> str | None:
    stanced = [m for m in mine if m.stance is not None]
    if not stanced:
        return None
    best = min(stanced, key=lambda m: (-_overlap_len(gold, [(m.start, m.end)]), m.start, m.end))
    return best.stance


def decide_spans(marks: Mapping[str, Sequence[Mark]]) -> list[SpanDecision]:
    """The gold spans of one document, by position; ``marks``: every annotator of the
    document -> the spans of their voting annotation (possibly none)."""
    n = len(marks)
    out: list[SpanDecision] = []
    for cluster in clusters(m for ms in marks.values() for m in ms):
        runs = majority_runs(cluster, n)
        touching_of: dict[tuple[int, int], list[Mark]] = defaultdict(list)
        for run in runs:
            touching = [m for m in cluster if _overlaps(m, run)]
            alone = [m for m in touching if not any(_overlaps(m, r) for r in runs if r != run)]
            bound = boundary(alone or touching)
            touching_of[bound] += [m for m in touching if m not in touching_of[bound]]
        for (start, end), touching in touching_of.items():
            by_annotator: dict[str, list[Mark]] = defaultdict(list)
            for m in touching:
                by_annotator[m.annotator].append(m)
            votes = {who: _span_vote(by_annotator[who], (start, end)) for who in by_annotator}
            exact = frozenset(m.annotator for m in touching if (m.start, m.end) == (start, end))
            out.append(
                SpanDecision(
                    start=start,
                    end=end,
                    issue=cluster[0].issue,
                    stance=plurality(votes.values()),
                    votes=dict(sorted(votes.items())),
                    exact=exact,
                )
            )
    return sorted(out, key=lambda d: (d.start, d.end, d.issue))
