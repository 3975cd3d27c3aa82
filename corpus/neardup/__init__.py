"""Near-duplicate detection that scales: MinHash LSH bands as sorted runs on disk.

* :mod:`corpus.neardup.bands`: band hashes, document keys, signature verification (pure);
* :mod:`corpus.neardup.groups`: groups from verified links, merges recorded (pure);
* :mod:`corpus.neardup.runs`: sorted Arrow IPC runs, probed without loading them;
* :mod:`corpus.neardup.index`: :class:`NearDupIndex`, the segments of one store version;
* :mod:`corpus.neardup.components`: the near-duplicate component of a document at a version
  (stored groups + recorded merges), the one definition sampling and releases use.

Only :mod:`corpus.neardup.components` reads the store (a version's tables);
:mod:`corpus.ingestion.dedup` links, verifies and records the index files of a version.
"""

from __future__ import annotations

from corpus.neardup.bands import MIN_EQUAL, band_hashes, doc_keys, key_ids, similar
from corpus.neardup.groups import Assignment, Roots, assign_groups
from corpus.neardup.index import BatchResult, NearDupIndex

__all__ = [
    "MIN_EQUAL",
    "Assignment",
    "BatchResult",
    "NearDupIndex",
    "Roots",
    "assign_groups",
    "band_hashes",
    "doc_keys",
    "key_ids",
    "similar",
]
