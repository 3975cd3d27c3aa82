"""Reference: majority gold of one document (stance vote, gold spans), from docs/concepts/gold.md.

Written from docs/concepts/gold.md's "Adjudication" section, not from ``corpus/``; it imports
nothing from the package. Slow and obvious: characters are counted one by one.

docs/concepts/gold.md, **Votes**: "The document stance is the label with the most votes; a tie stays
unresolved (null)." -> :func:`gold_stance` (the same rule decides a gold span's stance).

docs/concepts/gold.md, **Spans**: "within each chain of overlapping spans of one issue label, every
maximal run of characters marked by at least half of the document's annotators gives one gold span
(runs given the same boundary, one), so each span a majority marked is kept; its `support`
counts the annotators with a span of that label overlapping the run(s). **Boundary**: among
the spans overlapping the run (only those overlapping no other run, when there are any), the
(start, end) marked by most annotators; on a tie, the one containing the most characters
marked by the largest number of those annotators, then the earliest start, then the
shortest. **Span stance**: each annotator of the span votes with the stance of their span,
among those overlapping the run that have one, overlapping the gold span most (then the
earliest start, then the shortest); most votes wins, a tie gives null." ->
:func:`gold_spans`.

Spans are half-open character ranges ``[start, end)``; two spans overlap when they share a
character. Stable names (imported by the differential tests): ``gold_stance``,
``gold_spans``.
"""

from __future__ import annotations

Mark = tuple[int, int, str, str | None]  # start, end, issue, span stance
GoldSpan = tuple[int, int, str, str | None, int]  # start, end, issue, stance, support


def gold_stance(votes: dict[str, str | None]) -> str | None:
    """The label with the most votes (``None`` votes do not count); a tie, or no vote, is None."""
    counts: dict[str, int] = {}
    for label in votes.values():
        if label is not None:
            counts[label] = counts.get(label, 0) + 1
    if not counts:
        return None
    top = max(counts.values())
    leaders = [label for label, n in counts.items() if n == top]
    return leaders[0] if len(leaders) == 1 else None


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _shared(a: tuple[int, int], b: tuple[int, int]) -> int:
    return len([p for p in range(a[0], a[1]) if b[0] <= p < b[1]])


def _chains(spans: list[tuple[str, int, int, str | None]]) -> list[list[int]]:
    """Indexes of spans connected by overlaps (directly or through other spans)."""
    chain_of = list(range(len(spans)))
    changed = True
    while changed:
        changed = False
        for i in range(len(spans)):
            for j in range(len(spans)):
                if _overlap(spans[i][1:3], spans[j][1:3]) and chain_of[i] != chain_of[j]:
                    low = min(chain_of[i], chain_of[j])
                    chain_of[i] = chain_of[j] = low
                    changed = True
    return [[i for i in range(len(spans)) if chain_of[i] == c] for c in sorted(set(chain_of))]


def _runs(positions: list[int], counts: dict[int, int], n: int) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for p in positions:
        if 2 * counts[p] >= n:
            if runs and runs[-1][1] == p:
                runs[-1] = (runs[-1][0], p + 1)
            else:
                runs.append((p, p + 1))
    return runs


def _boundary(candidates: list[tuple[str, int, int, str | None]]) -> tuple[int, int]:
    bounds = sorted({(s, e) for _, s, e, _ in candidates})
    marked_by = {b: len({w for w, s, e, _ in candidates if (s, e) == b}) for b in bounds}
    chars = sorted({p for _, s, e, _ in candidates for p in range(s, e)})
    cover = {p: len({w for w, s, e, _ in candidates if s <= p < e}) for p in chars}
    most = max(cover.values())
    hot = [p for p in chars if cover[p] == most]

    def hot_inside(b: tuple[int, int]) -> int:
        return len([p for p in hot if b[0] <= p < b[1]])

    return sorted(bounds, key=lambda b: (-marked_by[b], -hot_inside(b), b[0], b[1] - b[0]))[0]


def gold_spans(marks: dict[str, list[Mark]]) -> list[GoldSpan]:
    """Gold spans (start, end, issue, span stance or None, support) of one document, sorted.

    ``marks``: annotator -> the spans of their voting annotation; every annotator of the
    document is a key (possibly with no span).
    """
    n = len(marks)
    out: list[GoldSpan] = []
    for issue in sorted({m[2] for spans in marks.values() for m in spans}):
        spans = [(w, s, e, st) for w, ms in marks.items() for s, e, i, st in ms if i == issue]
        for chain in _chains(spans):
            members = [spans[i] for i in chain]
            positions = sorted({p for _, s, e, _ in members for p in range(s, e)})
            counts = {p: len({w for w, s, e, _ in members if s <= p < e}) for p in positions}
            runs = _runs(positions, counts, n)
            touching_of: dict[tuple[int, int], list[tuple[str, int, int, str | None]]] = {}
            for run in runs:
                touching = [m for m in members if _overlap((m[1], m[2]), run)]
                others = [r for r in runs if r != run]
                alone = [m for m in touching if not any(_overlap((m[1], m[2]), r) for r in others)]
                bound = _boundary(alone or touching)
                before = touching_of.get(bound, [])
                touching_of[bound] = before + [m for m in touching if m not in before]
            for (start, end), touching in touching_of.items():
                votes: dict[str, str | None] = {}
                for who in sorted({m[0] for m in touching}):
                    mine = [m for m in touching if m[0] == who and m[3] is not None]
                    mine.sort(key=lambda m: (-_shared((m[1], m[2]), (start, end)), m[1], m[2]))
                    votes[who] = mine[0][3] if mine else None
                out.append((start, end, issue, gold_stance(votes), len(votes)))
    return sorted(out, key=lambda g: (g[0], g[1], g[2], g[3] or "", g[4]))
