"""Reference twin of the documents a new round may sample (docs/concepts/rounds.md, "Annotation
rounds").

The sentences of docs/concepts/rounds.md: a round samples "only documents that no earlier round of
this store has sent to annotators (nor a near-duplicate of one), and that have no gold"; "a
near-duplicate of one" means a document of the same near-duplicate component at the sampled version;
"no gold" means no effective gold row. ``--relabel ROUND`` re-sends exactly that round's
documents; ``--include-labelled`` (and the ``disagreement`` and ``relabel-migrated``
strategies, which choose among labelled documents by design) samples from every document.
Every strategy then takes "at most one document per near-duplicate group" (component); the
``random`` strategy's representative of a component is its smallest doc id among the
candidates.

Written from those sentences, not from ``corpus/``; plain sets.

Stable API (imported by ``tests/test_differential.py``): :func:`candidates`,
:func:`representatives`.
"""

from __future__ import annotations

from collections.abc import Collection


def candidates(
    components: dict[str, frozenset[str]],
    sent: Collection[str],
    gold: Collection[str],
    *,
    relabel: Collection[str] | None = None,
    include_labelled: bool = False,
) -> set[str]:
    """The doc_ids a new round may sample from.

    ``components``: every document of the sampled version -> its component (a set of
    doc_ids, see :mod:`tests.reference.neardup`); ``sent``: every doc_id any earlier round of
    the store sent to annotators; ``gold``: doc_ids with an effective gold row;
    ``relabel``: the doc_ids of the ``--relabel`` round (``None``: no ``--relabel``);
    ``include_labelled``: ``--include-labelled`` or a labelled-documents strategy.
    """
    documents = set(components)
    if relabel is not None:
        return documents & set(relabel)
    if include_labelled:
        return documents
    out = set()
    for doc_id in documents:
        sent_itself_or_near = any(other in sent for other in components[doc_id] | {doc_id})
        if not sent_itself_or_near and doc_id not in gold:
            out.add(doc_id)
    return out


def representatives(allowed: Collection[str], components: dict[str, frozenset[str]]) -> set[str]:
    """One document per component among ``allowed``: the smallest doc_id of each."""
    out = set()
    for doc_id in allowed:
        same = [d for d in allowed if d in components[doc_id]]
        if doc_id == min(same):
            out.add(doc_id)
    return out
