"""Near-duplicate links among the released documents, and the split units they make.

:func:`near_duplicate_pairs` is the one definition of "near-duplicates" at release time:
the near-duplicate index's own rule (:mod:`corpus.neardup`: LSH bands, then the signatures'
agreement) over the signatures ingest stored (``minhashes`` table). The split units are
built from its pairs (so linked documents share a split) and the leakage gate checks the
same pairs against the final splits.

Groups that ingest merged (a later document close to two groups, ``dup_merges``) come as
``roots``, each group's near-duplicate component at the version
(:func:`corpus.neardup.components.group_components`, the one definition sampling uses too);
links among the released documents that ingest never drew (two documents close
to one that is not released, or groups of stores written before the merges were kept) are
merged at split time too (:func:`corpus.release.splits.merge_groups`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from corpus.release.splits import Unit, build_units
from corpus.store import Store

STANCE, ISSUE, SPAN_STANCE = "stance", "issue", "span_stance"
KINDS = {STANCE: "stance", ISSUE: "issue", SPAN_STANCE: "span stance"}


def near_duplicate_pairs(
    store: Store, version: str, doc_ids: Collection[str]
) -> list[tuple[str, str]]:
    """Pairs ``(a, b)``, ``a < b``, of ``doc_ids`` whose stored MinHash signatures estimate a
    Jaccard similarity at or above the ingest threshold; sorted. Candidates share a band
    (:func:`corpus.neardup.band_hashes`, datasketch's LSH rule) and are verified with
    :func:`corpus.neardup.similar`: the index's own definition."""
    import numpy as np

    from corpus.neardup import band_hashes, similar

    wanted = set(doc_ids)
    ids: list[str] = []
    rows: list[list[int]] = []
    seen: set[str] = set()
    for batch in store.iter_batches(version, "minhashes", ["doc_id", "signature"]):
        for doc_id, sig in zip(*(c.to_pylist() for c in batch.columns), strict=True):
            if doc_id in wanted and doc_id not in seen:
                seen.add(doc_id)
                ids.append(doc_id)
                rows.append(sig)
    if len(ids) < 2:
        return []
    sigs = np.asarray(rows, dtype=np.uint32)
    hashes = band_hashes(sigs)
    found: set[tuple[int, int]] = set()
    for b in range(hashes.shape[1]):  # documents with an equal band hash are candidates
        order = np.argsort(hashes[:, b], kind="stable")
        sorted_band = hashes[order, b]
        cut = np.flatnonzero(sorted_band[1:] != sorted_band[:-1]) + 1
        lo, hi = np.concatenate([[0], cut]), np.concatenate([cut, [len(order)]])
        shared = hi - lo > 1  # only runs of two or more documents make pairs
        for a, b in zip(lo[shared].tolist(), hi[shared].tolist(), strict=True):
            m = sorted(order[a:b].tolist())
            found.update((x, y) for i, x in enumerate(m) for y in m[i + 1 :])
    if not found:
        return []
    a, c = np.array(sorted(found), dtype=np.int64).T
    ok = similar(sigs[a], sigs[c])
    pairs = {(min(ids[x], ids[y]), max(ids[x], ids[y])) for x, y in zip(a[ok], c[ok], strict=True)}
    return sorted(pairs)


def label(kind: str, name: str) -> str:
    """A label of the split units: ``"issue:trade"``, ``"stance:neutral"``..."""
    return f"{kind}:{name}"


def describe(key: str) -> str:
    """``"issue:trade"`` -> ``"issue trade"`` (for messages)."""
    kind, _, name = key.partition(":")
    return f"{KINDS.get(kind, kind)} {name}"


def document_labels(stance: str | None, spans: Iterable[Mapping[str, Any]]) -> set[str]:
    """A document's labels: its gold stance, every gold issue and every gold span stance."""
    found = {label(STANCE, stance)} if stance else set()
    for s in spans:
        found.add(label(ISSUE, s["issue"]))
        if s.get("stance"):
            found.add(label(SPAN_STANCE, s["stance"]))
    return found


def release_units(
    groups: Mapping[str, str],
    labels: Mapping[str, Collection[str]],
    pairs: Iterable[tuple[str, str]],
    roots: Mapping[str, str] | None = None,
) -> list[Unit]:
    """Split units from doc_id -> dup_group, doc_id -> labels, the near-duplicate pairs among
    the released documents and ``roots`` (group -> its near-duplicate component, through
    documents that may not be released: :func:`corpus.neardup.components.group_components`)."""
    links = [(groups[a], groups[b]) for a, b in pairs if groups[a] != groups[b]]
    links += [(g, r) for g, r in (roots or {}).items() if g != r]
    return build_units(((groups[d], labels[d]) for d in sorted(groups)), links)
