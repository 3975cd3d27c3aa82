"""The on-disk near-duplicate index against datasketch and a brute-force reference."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from datasketch import LeanMinHash, MinHashLSH

from corpus.neardup import NearDupIndex, band_hashes, doc_keys, key_ids
from corpus.neardup import runs as runs_module
from corpus.neardup.bands import BANDS, MIN_EQUAL, NUM_PERM, ROWS

Sigs = np.ndarray[Any, np.dtype[np.uint32]]


def perturb(rng: np.random.Generator, sigs: Sigs, changed: int) -> Sigs:
    out = sigs.copy()
    for row in out:
        row[rng.choice(NUM_PERM, changed, replace=False)] = rng.integers(0, 2**32, changed)
    return out


def corpus_like(rng: np.random.Generator, n: int) -> tuple[np.ndarray[Any, Any], Sigs]:
    """Keys and signatures in input order: originals, near copies (2-24 values changed, so
    some pass and some fail verification), exact copies, and chains of near copies."""
    keys: list[int] = []
    sigs: list[Sigs] = []
    bridges: list[tuple[Sigs, np.ndarray[Any, Any]]] = []
    for i in range(n):
        roll = rng.random()
        if i > 5 and roll < 0.04:  # 44 values equal to an earlier one: not linked to it
            src = sigs[int(rng.integers(i))]
            where = rng.choice(40, 20, replace=False)
            sigs.append(src.copy())
            sigs[-1][where] ^= np.uint32(0xDEADBEEF)
            bridges.append((src, where[:10]))
        elif bridges and roll < 0.08:  # 54 equal to both of a pair above: a bridge
            src, where = bridges.pop(0)
            sigs.append(src.copy())
            sigs[-1][where] ^= np.uint32(0xDEADBEEF)
        elif i > 5 and roll < 0.13:  # exact copy: same id, same signature
            j = int(rng.integers(i))
            keys.append(keys[j])
            sigs.append(sigs[j])
            continue
        elif i > 5 and roll < 0.45:
            src = sigs[int(rng.integers(i))]
            sigs.append(perturb(rng, src[None], int(rng.integers(2, 25)))[0])
        else:
            sigs.append(rng.integers(0, 2**32, NUM_PERM, dtype=np.uint32))
        keys.append(int(rng.integers(1, 2**63)))
    return np.array(keys, dtype=np.uint64), np.array(sigs, dtype=np.uint32)


def lsh_pairs(sigs: Sigs) -> set[tuple[int, int]]:
    hashes = band_hashes(sigs)
    pairs = set()
    for b in range(BANDS):
        buckets: dict[int, list[int]] = {}
        for i, h in enumerate(hashes[:, b].tolist()):
            buckets.setdefault(h, []).append(i)
        for m in buckets.values():
            pairs.update((u, v) for j, u in enumerate(m) for v in m[j + 1 :])
    return pairs


def reference(keys: np.ndarray[Any, Any], sigs: Sigs) -> tuple[list[int | None], list[Any]]:
    """Documents added one by one, every earlier one compared band by band (no index):
    the group of each document (None: exact duplicate) and the merges."""
    seen: list[int] = []
    group: dict[int, int] = {}
    parent: dict[int, int] = {}
    out: list[int | None] = []
    merges = []

    def find(g: int) -> int:
        while g in parent:
            g = parent[g]
        return g

    for i, key in enumerate(keys.tolist()):
        if key in group:
            out.append(None)
            continue
        found = set()
        for j in seen:
            bands = (sigs[i].reshape(BANDS, ROWS) == sigs[j].reshape(BANDS, ROWS)).all(axis=1)
            if bands.any() and np.count_nonzero(sigs[i] == sigs[j]) >= MIN_EQUAL:
                found.add(find(group[int(keys[j])]))
        into = min(found) if found else key
        for r in sorted(found - {into}):
            parent[r] = into
            merges.append((r, into))
        group[key] = into
        seen.append(i)
        out.append(into)
    return out, merges


def test_candidates_are_datasketchs() -> None:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 2**32, (300, NUM_PERM), dtype=np.uint32)
    sigs = np.concatenate(
        [base, *(perturb(rng, base[rng.integers(0, 300, 80)], c) for c in (1, 4, 8, 16, 24, 40))]
    )
    lsh = MinHashLSH(threshold=0.7, num_perm=NUM_PERM)
    assert (lsh.b, lsh.r) == (BANDS, ROWS)
    sketches = [LeanMinHash(seed=1, hashvalues=s, scheme="affine32") for s in sigs]
    for i, m in enumerate(sketches):
        lsh.insert(i, m, check_duplication=False)
    theirs = {
        (min(i, j), max(i, j)) for i, m in enumerate(sketches) for j in lsh.query(m) if i != j
    }
    assert lsh_pairs(sigs) == theirs and len(theirs) > 200


@pytest.mark.parametrize("batch", [1000, 97, 13])
def test_groups_are_sequential_whatever_the_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    """Cut into batches (stored segments, compaction, tiny probe blocks) or not, the index
    gives every document the group of the one-by-one reference, and the same merges."""
    monkeypatch.setattr(runs_module, "BLOCK", 7)
    monkeypatch.setattr("corpus.neardup.index.BASE_DOCS", 20)
    rng = np.random.default_rng(1)
    keys, sigs = corpus_like(rng, 1000)
    expected, expected_merges = reference(keys, sigs)
    index = NearDupIndex(tmp_path / "idx")
    groups: list[int | None] = []
    merges: list[tuple[int, int]] = []
    for s in range(0, len(keys), batch):
        res = index.add(keys[s : s + batch], sigs[s : s + batch])
        groups += [None if e else int(g) for g, e in zip(res.group, res.exact, strict=True)]
        merges += res.merges
    assert groups == expected
    assert merges == expected_merges and len(merges) > 3
    assert sum(g is None for g in groups) > 20
    if batch < 100:
        assert len(index.meta["segments"]) < len(keys) // batch  # compaction ran
    # roots are the connected components of the verified links (transitive groups)
    stored = {int(k): g for k, g in zip(keys.tolist(), groups, strict=True) if g is not None}
    roots = index.roots(np.array(list(stored.values()), dtype=np.uint64))
    comps: dict[int, set[int]] = {}
    for key, root in zip(stored, roots.tolist(), strict=True):
        comps.setdefault(root, set()).add(key)
    assert sorted(map(sorted, comps.values())) == brute_components(keys, sigs)
    index.close()


def brute_components(keys: np.ndarray[Any, Any], sigs: Sigs) -> list[list[int]]:
    _, first = np.unique(keys, return_index=True)
    k, s = keys[np.sort(first)], sigs[np.sort(first)]
    parent = list(range(len(k)))

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for u, v in lsh_pairs(s):
        if np.count_nonzero(s[u] == s[v]) >= MIN_EQUAL:
            parent[max(find(u), find(v))] = min(find(u), find(v))
    comps: dict[int, list[int]] = {}
    for i in range(len(k)):
        comps.setdefault(find(i), []).append(int(k[i]))
    return sorted(sorted(c) for c in comps.values())


def test_a_bridge_merges_stored_groups(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    index = NearDupIndex(tmp_path / "idx")
    a = rng.integers(0, 2**32, (20, NUM_PERM), dtype=np.uint32)
    ka = rng.integers(1, 2**63, 20).astype(np.uint64)
    index.add(ka, a)
    # B: 20 of A's first 40 values changed (44 equal: not a near duplicate of A)
    pos = np.array([rng.choice(40, 20, replace=False) for _ in range(20)])
    b = a.copy()
    b[np.repeat(np.arange(20), 20), pos.reshape(-1)] ^= np.uint32(0xDEADBEEF)
    kb = rng.integers(1, 2**63, 20).astype(np.uint64)
    rb = index.add(kb, b)
    assert not rb.near.any() and (rb.group == kb).all()
    # X: half of B's changes, 54 values equal to each: links A's group and B's
    x = a.copy()
    x[np.repeat(np.arange(20), 10), pos[:, :10].reshape(-1)] ^= np.uint32(0xDEADBEEF)
    rx = index.add(rng.integers(1, 2**63, 20).astype(np.uint64), x)
    low, high = np.minimum(ka, kb), np.maximum(ka, kb)
    assert rx.near.all() and (rx.group == low).all()
    assert sorted(rx.merges) == sorted(zip(high.tolist(), low.tolist(), strict=True))
    assert (index.roots(kb) == low).all() and (index.roots(ka) == low).all()
    # a later copy of B joins the merged group, and merges nothing more
    y = b.copy()
    y[:, 63] ^= np.uint32(1)
    ry = index.add(rng.integers(1, 2**63, 20).astype(np.uint64), y)
    assert (ry.group == low).all() and not ry.merges
    index.close()


def test_run_lookup_finds_repeated_keys_across_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runs_module, "BLOCK", 4)
    step = 2**59  # keys spread over the key space, as hashes are
    keys = np.array([1, 3, 3, 3, 3, 3, 5, 9, 9, 12], dtype=np.uint64) * np.uint64(step)
    vals = np.arange(10, dtype=np.uint64)
    schema = pa.schema([("k", pa.uint64()), ("v", pa.uint64())])
    (info,) = runs_module.write_runs(tmp_path, "r", schema, [[keys, vals]])
    assert (info.rows, info.first, info.last) == (10, step, 12 * step)
    run = runs_module.RunFile(tmp_path / info.path)
    needles = np.array([0, 3, 9, 12, 13], dtype=np.uint64) * np.uint64(step)
    got = []
    for bi, nidx, rows in run.lookup(needles):
        found = (needles[nidx] // np.uint64(step)).tolist()
        got += list(zip(found, run.column(bi, 1, rows).tolist(), strict=True))
    assert sorted(got) == [(3, 1), (3, 2), (3, 3), (3, 4), (3, 5), (9, 7), (9, 8), (12, 9)]
    (other,) = runs_module.write_runs(tmp_path, "s", schema, [[keys[::2], vals[::2]]])
    monkeypatch.setattr(runs_module, "SLICE_BYTES", 48)  # three rows a slice
    merged = runs_module.merge_runs(
        [run, runs_module.RunFile(tmp_path / other.path)], tmp_path, "m", max_rows=5
    )
    assert len(merged) > 1  # split into several files, in key order
    table = pa.concat_tables(pa.ipc.open_file(str(tmp_path / m.path)).read_all() for m in merged)
    assert table.column("k").to_pylist() == sorted(keys.tolist() + keys[::2].tolist())
    assert all(a.last <= b.first for a, b in itertools.pairwise(merged))


def test_doc_keys_keep_id_order() -> None:
    ids = ["00ff00ff00ff00ff", "ffffffffffffffff", "0123456789abcdef"]
    assert key_ids(doc_keys(ids)) == ids
    assert key_ids(np.sort(doc_keys(ids))) == sorted(ids)
    with pytest.raises(ValueError, match="16 hex digits"):
        doc_keys(["abc"])


class _Signatures:
    """A version's ``minhashes`` table, as ``Store.iter_batches`` streams it."""

    def __init__(self, ids: list[str], sigs: np.ndarray[Any, Any]) -> None:
        self.ids, self.sigs = ids, sigs

    def iter_batches(self, version: str, table: str, columns: list[str]) -> Any:
        yield pa.record_batch(
            [pa.array(self.ids), pa.array(self.sigs.tolist(), pa.list_(pa.uint32()))],
            names=columns,
        )


def test_release_links_are_datasketchs_lsh_verified_at_the_threshold() -> None:
    """corpus.release.links uses the index's rule; the pairs equal datasketch's MinHashLSH
    candidates whose signatures agree on at least 70% of the values."""
    from corpus.release.links import near_duplicate_pairs

    rng = np.random.default_rng(0)
    n = 300
    sigs = rng.integers(0, 2**32, size=(n, NUM_PERM), dtype=np.uint64).astype(np.uint32)
    for i in range(1, n):  # near duplicates of every degree of agreement
        if rng.random() < 0.4:
            keep = rng.random(NUM_PERM) < rng.uniform(0.5, 1.0)
            sigs[i] = np.where(keep, sigs[rng.integers(0, i)], sigs[i])
    ids = [f"{k:016x}" for k in rng.integers(0, 2**63, size=n)]
    wanted = set(ids[::2]) | set(ids[:50])
    lsh = MinHashLSH(threshold=0.7, num_perm=NUM_PERM)
    sketches = {d: LeanMinHash(seed=1, hashvalues=s.astype(np.uint64), scheme="affine32")
                for d, s in zip(ids, sigs, strict=True) if d in wanted}  # fmt: skip
    for d, sketch in sketches.items():
        lsh.insert(d, sketch)
    expected = sorted({
        (d, o) for d, sketch in sketches.items() for o in lsh.query(sketch)
        if o > d and np.count_nonzero(sketch.hashvalues == sketches[o].hashvalues) / NUM_PERM >= 0.7
    })  # fmt: skip
    assert len(expected) > 20
    assert near_duplicate_pairs(_Signatures(ids, sigs), "v", wanted) == expected  # type: ignore[arg-type]
