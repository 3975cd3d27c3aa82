"""Near-duplicate links among the released documents, and the split units they make.

:func:`near_duplicate_pairs` is the one definition of "near-duplicates" at release time:
datasketch's MinHash LSH over the signatures ingest stored (``minhashes`` table), each
candidate pair checked on its signatures against the ingest threshold. The split units are
built from its pairs (so linked documents share a split) and the leakage gate checks the
same pairs against the final splits.

Ingest gives a new document the group of the first near-duplicate it finds and never merges
two groups, so a document C close to both A and B (A and B themselves below the threshold)
leaves A and B in different groups; the units merge them (:func:`corpus.release.splits.
merge_groups`).
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
    Jaccard similarity at or above the ingest threshold; sorted."""
    import numpy as np
    from datasketch import LeanMinHash, MinHashLSH

    from corpus.ingestion import minhash

    def sketch(sig: Any) -> Any:
        return LeanMinHash(seed=1, hashvalues=sig, scheme=minhash.SCHEME)

    wanted = set(doc_ids)
    lsh = MinHashLSH(threshold=minhash.DEDUP_THRESHOLD, num_perm=minhash.NUM_PERM)
    sigs: dict[str, Any] = {}
    for batch in store.iter_batches(version, "minhashes", ["doc_id", "signature"]):
        for doc_id, sig in zip(*(c.to_pylist() for c in batch.columns), strict=True):
            if doc_id in wanted and doc_id not in sigs:
                sigs[doc_id] = np.asarray(sig, dtype=np.uint64)
                lsh.insert(doc_id, sketch(sigs[doc_id]), check_duplication=False)
    pairs = set()
    for doc_id, sig in sigs.items():
        for other in lsh.query(sketch(sig)):
            if other > doc_id:
                similarity = np.count_nonzero(sigs[other] == sig) / minhash.NUM_PERM
                if similarity >= minhash.DEDUP_THRESHOLD:
                    pairs.add((doc_id, other))
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
    the released documents and ``roots`` (group -> the group ingest merged it into, through
    documents that may not be released: :func:`corpus.ingestion.dedup.group_roots`)."""
    links = [(groups[a], groups[b]) for a, b in pairs if groups[a] != groups[b]]
    links += [(g, r) for g, r in (roots or {}).items() if g != r]
    return build_units(((groups[d], labels[d]) for d in sorted(groups)), links)
