"""MinHash signatures over word 5-shingles, for a whole batch at once.

The signatures are datasketch's (``MinHash(num_perm=64, seed=1, scheme="affine32")`` fed
the word 5-shingle hashes) computed with vectorised numpy over a whole batch; the tests
check them against ``MinHash.update_batch``. datasketch itself is imported only where its
objects are needed (similarity, and the LSH index).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import xxhash

from corpus.ingestion.textbuffer import TextBuffer
from corpus.neardup.bands import NUM_PERM

SHINGLE = 5
SCHEME = "affine32"

_WORD = re.compile(r"\w+")
_MASK32 = np.uint64(0xFFFFFFFF)
U32 = np.ndarray[Any, np.dtype[np.uint32]]
U64 = np.ndarray[Any, np.dtype[np.uint64]]
I64 = np.ndarray[Any, np.dtype[np.int64]]


@lru_cache(maxsize=1)
def permutations() -> U32:
    """datasketch's affine32 permutations for ``seed=1`` (``MinHash(...).permutations``)."""
    gen = np.random.RandomState(1)
    a = gen.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return np.array([a, b])


def _fmix32(h: U32) -> U32:
    """The MurmurHash3 finalizer datasketch applies to every input hash (affine32)."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


_P1, _P2, _P3, _P4, _P5 = (
    np.uint32(p) for p in (0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D, 0x27D4EB2F, 0x165667B1)
)


def _rotl(h: U32, r: int) -> U32:
    return (h << np.uint32(r)) | (h >> np.uint32(32 - r))


def _xxh32_short(data: bytes, starts: I64, lens: I64) -> U32:
    """``xxhash.xxh32_intdigest(data[s:s+n])`` (seed 0) for many words shorter than 16 bytes."""
    padded = data + bytes(16)
    buf = np.frombuffer(padded, np.uint8)
    # the little-endian uint32 at every byte offset (a view: one gather reads a block); every
    # step runs on every word (cheaper than picking the words it applies to), and np.where
    # keeps its result where it applies
    at_offset: U32 = np.ndarray((len(data) + 12,), "<u4", buffer=padded, strides=(1,))
    n = lens.astype(np.uint32)
    h = n + _P5
    longest = int(lens.max()) if len(lens) else 0
    for k in range(min(3, longest // 4)):  # 4-byte blocks
        block: U32 = at_offset[starts + 4 * k]
        h = np.where(n >= 4 * (k + 1), _rotl(h + block * _P3, 17) * _P4, h)
    tail = starts + (lens & ~3)
    rem = n & np.uint32(3)
    for j in range(3):  # remaining bytes
        byte = buf[tail + j].astype(np.uint32)
        h = np.where(rem > j, _rotl(h + byte * _P5, 11) * _P1, h)
    h ^= h >> np.uint32(15)
    h *= _P2
    h ^= h >> np.uint32(13)
    h *= _P3
    h ^= h >> np.uint32(16)
    return h


@lru_cache(maxsize=4096)
def _is_word_char(code: int) -> bool:
    return _WORD.match(chr(code)) is not None


_WORD_ASCII = np.array([c < 128 and _is_word_char(c) for c in range(256)])


def _word_codes(text: str) -> U32:
    """The non-ASCII code points of ``text`` that are word characters."""
    cps = np.frombuffer(text.encode("utf-32-le"), np.uint32)
    codes = np.unique(cps[cps > 127])
    return codes[[_is_word_char(int(c)) for c in codes]]


def _word_spans(texts: Sequence[str], buffer: TextBuffer) -> tuple[bytes, I64, I64, I64]:
    """UTF-8 of the lower-cased texts, byte starts and ends of every word
    (``_WORD.findall(text.lower())``), and the number of words of each text.

    Without non-ASCII word characters, words are runs of ASCII word bytes of the UTF-8 of
    the batch (``bytes.lower()`` lower-cases them; no other character lower-cases to a word
    character, which a test checks over all of Unicode), cut where texts meet. Otherwise
    code points are classified one by one and mapped to byte offsets.
    """
    codes = np.unique(buffer.wide_code_points()) if len(buffer.wide) else buffer.wide
    if not any(_is_word_char(int(c)) for c in codes):
        data = buffer.data.lower()
        isword = _WORD_ASCII[np.frombuffer(data, np.uint8)]
        n, bounds = len(isword), buffer.doc_bytes
        first, last = _runs(isword)
        inner = bounds[(bounds > 0) & (bounds < n)]  # where one text ends and the next starts
        cut = inner[isword[inner - 1] & isword[inner]]  # a run of word bytes across texts
        if len(cut):  # a cut is neither a start nor an end yet: inserted in order
            first = np.insert(first, np.searchsorted(first, cut), cut)
            last = np.insert(last, np.searchsorted(last, cut), cut)
        return data, first, last, np.diff(np.searchsorted(first, bounds))
    lows = [t.lower() for t in texts]
    joined = "\n".join(lows)
    cps = np.frombuffer(joined.encode("utf-32-le"), np.uint32)
    isword = _WORD_ASCII[np.minimum(cps, 128)]
    wide = np.flatnonzero(cps > 127)
    isword[wide] = np.isin(cps[wide], _word_codes(joined))
    nbytes = 1 + (cps >= 0x80).astype(np.int64) + (cps >= 0x800) + (cps >= 0x10000)
    offsets = np.concatenate(([0], np.cumsum(nbytes)))
    bounds = np.cumsum([0] + [len(t) + 1 for t in lows])  # lower() may change lengths
    starts, ends = _runs(isword)
    counts = np.diff(np.searchsorted(starts, bounds))
    return joined.encode(), offsets[starts], offsets[ends], counts


def _runs(flags: np.ndarray[Any, np.dtype[np.bool_]]) -> tuple[I64, I64]:
    """Starts and ends (exclusive) of the runs of True in ``flags``."""
    padded = np.zeros(len(flags) + 2, dtype=bool)
    padded[1:-1] = flags
    edges = np.flatnonzero(padded[1:] != padded[:-1])  # starts and ends, in turn
    return edges[0::2], edges[1::2]


def _word_hashes(texts: Sequence[str], buffer: TextBuffer) -> tuple[U32, I64]:
    """xxh32 of every word of each lower-cased text, concatenated; and counts per text.

    A text without words hashes as its whole (not lower-cased) text.
    """
    data, starts, ends, counts = _word_spans(texts, buffer)
    lens = ends - starts
    hashes = _xxh32_short(data, starts, lens)
    for i in np.flatnonzero(lens >= 16):  # rare: long words take the library's stripe path
        hashes[i] = xxhash.xxh32_intdigest(data[starts[i] : ends[i]])
    empty = np.flatnonzero(counts == 0)
    if len(empty):  # no word: the whole text is the only token
        at = np.cumsum(counts)[empty] - counts[empty]
        whole = [xxhash.xxh32_intdigest(texts[i].encode()) for i in empty]
        hashes = np.insert(hashes, at, np.array(whole, dtype=np.uint32))
        counts[empty] = 1
    return hashes, counts


def minhash_signatures(texts: Sequence[str], buffer: TextBuffer | None = None) -> U32:
    """MinHash signatures ``(len(texts), NUM_PERM)`` over word 5-shingles of each text.

    Shingle hashes combine five word hashes; a text of fewer than five words uses its word
    hashes. Each signature is ``MinHash(num_perm=64, seed=1, scheme="affine32",
    hashfunc=int)`` updated with those hashes, computed for the whole batch at once
    (``buffer``: the texts' :class:`TextBuffer`, when the caller has built it already).
    """
    if not texts:
        return np.zeros((0, NUM_PERM), dtype=np.uint32)
    words, counts = _word_hashes(texts, buffer or TextBuffer(texts))
    n = len(words)
    padded = np.concatenate((words.astype(np.uint64), np.zeros(SHINGLE - 1, np.uint64)))
    acc: U64 = np.zeros(n, dtype=np.uint64)
    for k in range(SHINGLE):
        acc = (acc * np.uint64(1_000_003) + padded[k : k + n]) & _MASK32
    long = counts >= SHINGLE
    ends = np.cumsum(counts)
    per_word_long = np.repeat(long, counts)
    keep = ~per_word_long | (np.arange(n) + SHINGLE <= np.repeat(ends, counts))
    values = np.where(per_word_long, acc, words)[keep].astype(np.uint32)
    sizes = np.where(long, counts - SHINGLE + 1, counts)
    values = _fmix32(values)
    a, b = permutations()[0], permutations()[1]
    out = np.empty((len(texts), NUM_PERM), dtype=np.uint32)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    permuted = np.empty_like(values)
    for k in range(NUM_PERM):  # one permutation at a time: 1-D, in place, cache-friendly
        np.multiply(values, a[k], out=permuted)
        np.add(permuted, b[k], out=permuted)
        out[:, k] = np.minimum.reduceat(permuted, starts)
    return out


def minhash_signature(text: str) -> list[int]:
    """The MinHash signature of one text (see :func:`minhash_signatures`)."""
    return [int(v) for v in minhash_signatures([text])[0]]


def signature_similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """Estimated Jaccard similarity of two signatures (datasketch's estimator)."""
    from datasketch import MinHash

    ma = MinHash(num_perm=NUM_PERM, hashvalues=np.asarray(a, dtype=np.uint64), scheme=SCHEME)
    mb = MinHash(num_perm=NUM_PERM, hashvalues=np.asarray(b, dtype=np.uint64), scheme=SCHEME)
    return float(ma.jaccard(mb))
