"""The near-duplicate component of a document at a version: the one definition.

A document's **component** at a version is every document whose stored ``dup_group`` reaches
the same group as its own when the merges recorded in that version's ``dup_merges`` table are
followed (a ``(dup_group, into)`` row joins the two groups; a group no row names is its own).
It is named by that root group id. A document's ``dup_group`` never changes once stored, so a
document ingested later that links two stored groups leaves them apart in ``dup_group`` and
joins them only through the merge it records.

Sampling (:mod:`corpus.rounds.population`: leaving out near-duplicates of what earlier rounds
sent, one representative per component) and releases (:mod:`corpus.release.links`: split
units) both call :func:`document_components` / :func:`group_components`; the pure rule is
:func:`resolve`. Reference twin: ``tests/reference/neardup.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from corpus.neardup.groups import Roots
from corpus.store import Store

MERGES_TABLE = "dup_merges"


def resolve(groups: Mapping[str, str], merges: Iterable[tuple[str, str]]) -> dict[str, str]:
    """``key -> component`` for ``groups`` (``key -> dup_group``) and ``merges``
    (``(dup_group, into)`` rows): each group followed through the merges to its root, with
    the union-find ingest itself uses (:class:`corpus.neardup.groups.Roots`). Group ids are
    16 hex digits (document ids). A cycle (only a damaged table has one) raises
    ``ValueError`` rather than looping.
    """
    roots = Roots({int(g, 16): int(i, 16) for g, i in merges if g != i})
    return {key: f"{roots.find(int(group, 16)):016x}" for key, group in groups.items()}


def recorded_merges(store: Store, version: str) -> list[tuple[str, str]]:
    """The ``(dup_group, into)`` rows of ``version``'s ``dup_merges`` table (every merge
    ingest recorded up to that version; none for a version without the table)."""
    if MERGES_TABLE not in store.manifest(version).tables:
        return []
    return [
        (str(g), str(i))
        for batch in store.iter_batches(version, MERGES_TABLE, ["dup_group", "into"])
        for g, i in zip(*(c.to_pylist() for c in batch.columns), strict=True)
    ]


def group_components(store: Store, version: str, groups: Iterable[str]) -> dict[str, str]:
    """``dup_group -> component`` at ``version`` for each of ``groups``."""
    return resolve({g: g for g in groups}, recorded_merges(store, version))


def document_components(
    store: Store, version: str, doc_groups: Mapping[str, str] | None = None
) -> dict[str, str]:
    """``doc_id -> component`` at ``version``; ``doc_groups`` (``doc_id -> dup_group``) when
    the caller has read them already, else every document of the version."""
    if doc_groups is None:
        docs = store.documents(version, columns=["dup_group"])
        doc_groups = {d: row["dup_group"] for d, row in docs.items()}
    return resolve(doc_groups, recorded_merges(store, version))


__all__ = ["MERGES_TABLE", "document_components", "group_components", "recorded_merges", "resolve"]
