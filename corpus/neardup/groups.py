"""Near-duplicate groups of new documents, from their verified links (pure).

The meaning is the one the in-memory index had, made transitive: documents are added one
at a time in input order. A document linked to nothing starts a group named by its own id.
A document linked to stored documents or to earlier new ones joins the smallest of their
groups' current roots; every other root it touches is *merged* into that one (recorded as
``(root, into)``). A document's ``dup_group`` never changes once stored; the merges say
which groups became one, so the group of any document today is the root reached by
following them (:class:`Roots`).

Because the rule is sequential, the result does not depend on how the input is cut into
batches, nor on the engine that found the links: :func:`assign_groups` gets the same answer
from one batch's links (the local engine, batch after batch) as from the whole ingest's
(the Ray engine).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

U64 = np.ndarray[Any, np.dtype[np.uint64]]
I64 = np.ndarray[Any, np.dtype[np.int64]]


class Roots:
    """A union-find over group ids: ``find(g)`` is the group ``g`` was merged into, in the
    end. ``parent`` holds only the groups merged so far (absent: a root)."""

    def __init__(self, parent: dict[int, int] | None = None) -> None:
        self.parent: dict[int, int] = dict(parent or {})

    def find(self, group: int) -> int:
        path = []
        while (up := self.parent.get(group)) is not None:
            path.append(group)
            group = up
            if len(path) > len(self.parent):  # only a damaged merges table has a cycle
                raise ValueError(f"the recorded merges form a cycle through group {group:016x}")
        for g in path[:-1]:  # path compression (the stored merges keep the original links)
            self.parent[g] = group
        return group


@dataclass
class Assignment:
    """Groups of a batch of new documents (input order) and the merges they caused."""

    group: U64
    near: np.ndarray[Any, np.dtype[np.bool_]]  # linked to at least one document
    merges: list[tuple[int, int]] = field(default_factory=list)  # (root, into root)


def assign_groups(
    keys: U64,
    exact: np.ndarray[Any, np.dtype[np.bool_]],
    new_links: tuple[I64, I64],
    old_links: tuple[I64, U64],
    roots: Roots | None = None,
) -> Assignment:
    """Groups of ``keys`` (new documents in input order; ``exact`` ones are skipped).

    ``new_links`` are verified pairs ``(a, b)`` of positions with ``a < b``; ``old_links``
    pairs ``(position, root)`` of a new document and the current root of a stored document
    it matches. ``roots`` (updated in place) resolves groups merged earlier in this call's
    caller (e.g. the Ray engine's whole ingest); stored roots are resolved by the caller.
    """
    n = len(keys)
    roots = roots if roots is not None else Roots()
    group = np.asarray(keys, dtype=np.uint64).copy()
    near = np.zeros(n, dtype=bool)
    merges: list[tuple[int, int]] = []
    a, b = (np.asarray(x, dtype=np.int64) for x in new_links)
    pos, old = np.asarray(old_links[0], dtype=np.int64), np.asarray(old_links[1], dtype=np.uint64)
    keep = ~exact[a] & ~exact[b]
    a, b = a[keep], b[keep]
    live = ~exact[pos]
    pos, old = pos[live], old[live]
    if not len(b) and not len(pos):
        return Assignment(group, near, merges)
    earlier: dict[int, list[int]] = {}
    for x, y in zip(a.tolist(), b.tolist(), strict=True):
        if x >= y:
            raise ValueError(f"new links must have a < b, not ({x}, {y})")
        earlier.setdefault(y, []).append(x)
    stored: dict[int, list[int]] = {}
    for p, g in zip(pos.tolist(), old.tolist(), strict=True):
        stored.setdefault(p, []).append(g)
    labels = group.tolist()
    for i in sorted(earlier.keys() | stored.keys()):
        found = {roots.find(labels[j]) for j in earlier.get(i, ())}
        found |= {roots.find(g) for g in stored.get(i, ())}
        into = min(found)
        for r in sorted(found):
            if r != into:
                roots.parent[r] = into
                merges.append((r, into))
        labels[i] = into
        near[i] = True
    return Assignment(np.array(labels, dtype=np.uint64), near, merges)
