"""LSH bands of MinHash signatures, document keys and signature verification (pure numpy).

The parameters are datasketch's: ``MinHashLSH(threshold=0.7, num_perm=64)`` picks b = 8
bands of r = 8 rows (``datasketch.lsh._optimal_param``), and two documents are candidates
exactly when all 8 values of some band are equal. :func:`band_hashes` keeps that rule with
one uint64 per band (a test checks the candidate pairs against datasketch's). A candidate
is a near duplicate when at least :data:`MIN_EQUAL` of the 64 values are equal
(``count / 64 >= 0.7``, the test the in-memory index used).

Document ids are 16 hex digits (:func:`corpus.ids.content_id`), so a document's key is the
uint64 they spell; hex order is integer order, so ``min`` of keys is ``min`` of ids.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

NUM_PERM = 64
THRESHOLD = 0.7
BANDS, ROWS = 8, 8
MIN_EQUAL = math.ceil(THRESHOLD * NUM_PERM - 1e-9)  # 45 of 64 (45 / 64 = 0.703)
HASH_NAME = "splitmix64-chain-v1"

U64 = np.ndarray[Any, np.dtype[np.uint64]]
U32 = np.ndarray[Any, np.dtype[np.uint32]]

_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)


def _mix64(x: U64) -> U64:
    """splitmix64's finalizer (a bijection of uint64), in place."""
    x ^= x >> np.uint64(30)
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    x ^= x >> np.uint64(31)
    return x


def band_hashes(signatures: U32) -> U64:
    """``(n, BANDS)`` uint64: one hash of each band's ``ROWS`` signature values.

    Equal bands give equal hashes; different bands collide with probability about 2**-64
    (a false candidate, which verification removes). Pairs of uint32 values are packed into
    one uint64 and chained through splitmix64's mixer, seeded by the band number.
    """
    sig = np.ascontiguousarray(signatures, dtype=np.uint32)
    if sig.ndim != 2 or sig.shape[1] != NUM_PERM:
        raise ValueError(f"expected signatures of shape (n, {NUM_PERM}), not {sig.shape}")
    n = sig.shape[0]
    words = sig.view(np.uint64).reshape(n, BANDS, ROWS // 2)
    out = np.empty((n, BANDS), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for b in range(BANDS):
            h = np.full(n, (b + 1) * 0x9E3779B97F4A7C15 % 2**64, dtype=np.uint64)
            for k in range(ROWS // 2):
                h ^= words[:, b, k]
                h = _mix64(h + _GOLD)
            out[:, b] = h
    return out


def doc_keys(doc_ids: Sequence[str]) -> U64:
    """16-hex-digit document ids as uint64 keys (order preserved)."""
    if not doc_ids:
        return np.zeros(0, dtype=np.uint64)
    try:
        raw = bytes.fromhex("".join(doc_ids))
    except ValueError:
        raw = b""
    if len(raw) != 8 * len(doc_ids):
        raise ValueError("document ids must be 16 hex digits each")
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64)


def key_ids(keys: Iterable[int]) -> list[str]:
    """uint64 keys back to 16-hex-digit ids."""
    return [f"{int(k):016x}" for k in keys]


def equal_counts(a: U32, b: U32) -> np.ndarray[Any, np.dtype[np.int64]]:
    """How many of the 64 values of each row of ``a`` equal those of ``b``."""
    counts: np.ndarray[Any, np.dtype[np.int64]] = np.count_nonzero(
        np.asarray(a) == np.asarray(b), axis=1
    ).astype(np.int64)
    return counts


def similar(a: U32, b: U32) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Row-wise: estimated Jaccard similarity at least :data:`THRESHOLD`."""
    return equal_counts(a, b) >= MIN_EQUAL
