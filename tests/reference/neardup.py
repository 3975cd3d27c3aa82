"""Reference twin of the near-duplicate component rule (docs/concepts/near-duplicates.md, "Near
duplicates at scale").

The sentence of docs/concepts/near-duplicates.md: "The near-duplicate component of a document at a
version is every document whose stored ``dup_group`` reaches the same group as its own when the
merges recorded in that version's ``dup_merges`` are followed (a ``(dup_group, into)`` row joins the
two groups; a group no row names is its own)."

Written from that sentence, not from ``corpus/``: a plain graph search. Nodes are documents
and groups; a document is joined to its stored group, and every merge row joins its two
groups. A document's component is the set of documents reachable from it.

Shapes (what the store holds): ``groups`` maps ``doc_id -> dup_group`` (16-hex-digit strings,
the ``documents`` table's column); ``merges`` is a list of ``(dup_group, into)`` pairs, one per
row of the ``dup_merges`` table (its ``ingested_in`` column does not change the component:
every merge recorded up to the version counts).

Stable API (imported by ``tests/test_differential.py``): :func:`components`,
:func:`component_names`.
"""

from __future__ import annotations


def components(groups: dict[str, str], merges: list[tuple[str, str]]) -> dict[str, frozenset[str]]:
    """doc_id -> the set of doc_ids in its near-duplicate component (itself included)."""
    neighbours: dict[tuple[str, str], set[tuple[str, str]]] = {}

    def join(x: tuple[str, str], y: tuple[str, str]) -> None:
        neighbours.setdefault(x, set()).add(y)
        neighbours.setdefault(y, set()).add(x)

    for doc_id, group in groups.items():
        join(("doc", doc_id), ("group", group))
    for group, into in merges:
        join(("group", group), ("group", into))
    out: dict[str, frozenset[str]] = {}
    for doc_id in groups:
        seen = {("doc", doc_id)}
        todo = [("doc", doc_id)]
        while todo:
            node = todo.pop()
            for other in neighbours.get(node, set()):
                if other not in seen:
                    seen.add(other)
                    todo.append(other)
        out[doc_id] = frozenset(name for kind, name in seen if kind == "doc")
    return out


def component_names(groups: dict[str, str], merges: list[tuple[str, str]]) -> dict[str, str]:
    """doc_id -> the name of its component: the group that every merge chain of its groups
    ends in (a group that is never the first member of a merge row). Merges only ever join
    a group into another that is not merged further at that moment, so each component has
    exactly one such group."""
    merged = dict(merges)
    out = {}
    for doc_id, group in groups.items():
        steps = 0
        while group in merged:
            group = merged[group]
            steps += 1
            if steps > len(merges):
                raise ValueError("the merges form a cycle")
        out[doc_id] = group
    return out
