"""Near-duplicate groups of new documents: MinHash LSH over the stored signatures."""

from __future__ import annotations

from typing import Any

import numpy as np

from corpus.ingestion import minhash

Signature = np.ndarray[Any, np.dtype[np.uint32]]


class Deduper:
    """Exact duplicates by doc_id; near-duplicates by MinHash LSH (datasketch).

    :meth:`start` builds the index: datasketch imports scipy (half a second), which the
    ingest does while its workers start.
    """

    def __init__(self) -> None:
        self.lsh: Any = None
        self.signatures: dict[str, Signature] = {}
        self.group: dict[str, str] = {}

    def start(self) -> None:
        from datasketch import LeanMinHash, MinHashLSH

        self._lean = LeanMinHash
        self.lsh = MinHashLSH(threshold=minhash.DEDUP_THRESHOLD, num_perm=minhash.NUM_PERM)

    def _sketch(self, sig: Signature) -> Any:
        return self._lean(seed=1, hashvalues=sig, scheme=minhash.SCHEME)

    def add_known(self, doc_id: str, signature: Signature, group: str) -> None:
        self._insert(doc_id, signature)
        self.group[doc_id] = group

    def _insert(self, doc_id: str, sig: Signature) -> None:
        self.signatures[doc_id] = sig
        self.lsh.insert(doc_id, self._sketch(sig), check_duplication=False)

    def assign(self, doc_id: str, sig: Signature) -> tuple[str, bool]:
        """The dup_group for a new document, and whether it joined an existing group."""
        groups = []
        for other in self.lsh.query(self._sketch(sig)):
            similarity = np.count_nonzero(self.signatures[other] == sig) / minhash.NUM_PERM
            if similarity >= minhash.DEDUP_THRESHOLD:
                groups.append(self.group[other])
        group = min(groups) if groups else doc_id
        self._insert(doc_id, sig)
        self.group[doc_id] = group
        return group, bool(groups)
