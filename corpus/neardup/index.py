"""The on-disk near-duplicate index: band rows and signatures as sorted runs, in segments.

Layout of an index folder (in the store: ``versions/<v>/dedup/``)::

    index.json                           parameters and the live segments, with every file
    bands/band=<b>/seg-<id>-<part>.arrow band_hash u64, doc u64; sorted by (band_hash, doc)
    sigs/seg-<id>-<part>.arrow           doc u64, grp u64, sig fixed_size_list<uint32>[64];
                                         sorted by doc (grp: the stored dup_group)
    merges/seg-<id>-<part>.arrow         grp u64, into u64: a group merged into another

Files are sorted runs (:mod:`corpus.neardup.runs`): a probe reads only the key blocks that
hold a needle, and the rows that match. A batch of new documents is matched against every
segment (one probe per band and file), candidates are verified on their signatures, groups
are assigned (:func:`corpus.neardup.groups.assign_groups`) and the batch is appended as a
new segment. Segments are merged size-tiered (``FANOUT`` of one size into one of the next),
in key-range slices, so no step holds more than a batch and a slice in memory.

Files are never modified: an index in a new store version hard-links its parent's files,
adds its own, and lists the live ones in ``index.json`` (files are never globbed).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from corpus.errors import StoreError
from corpus.neardup.bands import (
    BANDS,
    HASH_NAME,
    MIN_EQUAL,
    NUM_PERM,
    ROWS,
    THRESHOLD,
    U32,
    U64,
    band_hashes,
    similar,
)
from corpus.neardup.groups import Roots, assign_groups
from corpus.neardup.runs import RunFile, RunInfo, merge_runs, sort_columns, write_runs

FORMAT = 1
INDEX_FILE = "index.json"
FANOUT = 4
BASE_DOCS = 8192

BAND_SCHEMA = pa.schema([("band_hash", pa.uint64()), ("doc", pa.uint64())])
SIG_SCHEMA = pa.schema(
    [("doc", pa.uint64()), ("grp", pa.uint64()), ("sig", pa.list_(pa.uint32(), NUM_PERM))]
)
MERGE_SCHEMA = pa.schema([("grp", pa.uint64()), ("into", pa.uint64())])
I64 = np.ndarray[Any, np.dtype[np.int64]]


@dataclass
class BatchResult:
    """Per new document (input order): its group, and whether it is an exact duplicate
    (of a stored document or an earlier one of the batch) or linked to another document."""

    group: U64
    exact: np.ndarray[Any, np.dtype[np.bool_]]
    near: np.ndarray[Any, np.dtype[np.bool_]]
    merges: list[tuple[int, int]] = field(default_factory=list)


def empty_meta() -> dict[str, Any]:
    return {
        "format": FORMAT,
        "num_perm": NUM_PERM,
        "bands": BANDS,
        "rows": ROWS,
        "threshold": THRESHOLD,
        "min_equal": MIN_EQUAL,
        "hash": HASH_NAME,
        "next_segment": 0,
        "segments": [],
    }


def index_files(meta: dict[str, Any]) -> list[str]:
    """Every file an index lists (relative to its folder), ``index.json`` excluded."""
    out = []
    for seg in meta["segments"]:
        for files in [*seg["bands"], seg["sigs"], seg["merges"]]:
            out += [f["path"] for f in files]
    return out


class NearDupIndex:
    """An index folder (see the module docstring); one writer at a time (the store lock)."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        path = self.folder / INDEX_FILE
        if path.exists():
            try:
                self.meta: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise StoreError(
                    f"{path}: the near-duplicate index cannot be read ({exc})",
                    path=path,
                    hint="Restore the version folder from a backup (`corpus check` lists "
                    "what else is damaged).",
                ) from None
            self._check_meta(path)
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.meta = empty_meta()
        self._runs: dict[str, RunFile] = {}

    def _check_meta(self, path: Path) -> None:
        expect = empty_meta()
        for key in ("format", "num_perm", "bands", "rows", "min_equal", "hash"):
            if self.meta.get(key) != expect[key]:
                raise StoreError(
                    f"{path}: near-duplicate index {key}={self.meta.get(key)!r}, "
                    f"this version of corpus reads {expect[key]!r}",
                    path=path,
                    hint="The store was written by another version of corpus: use that "
                    "version, or upgrade corpus to the newest.",
                )

    # --- files ---------------------------------------------------------------------------

    def save(self) -> None:
        tmp = self.folder / f".{INDEX_FILE}.tmp"
        tmp.write_text(json.dumps(self.meta, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(self.folder / INDEX_FILE)

    def _run(self, rel: str) -> RunFile:
        if rel not in self._runs:
            self._runs[rel] = RunFile(self.folder / rel)
        return self._runs[rel]

    def close(self) -> None:
        for run in self._runs.values():
            run.close()
        self._runs.clear()

    def _files(self, kind: str, band: int | None = None) -> list[RunInfo]:
        out = []
        for seg in self.meta["segments"]:
            files = seg["bands"][band] if kind == "bands" and band is not None else seg[kind]
            out += [RunInfo.from_dict(f) for f in files]
        return out

    # --- lookups -------------------------------------------------------------------------

    def candidates(self, hashes: U64) -> tuple[I64, U64]:
        """Distinct (position, stored doc) pairs sharing a band hash (an LSH candidate)."""
        pos_parts: list[I64] = []
        doc_parts: list[U64] = []
        for b in range(BANDS):
            column = hashes[:, b]
            order = np.argsort(column, kind="stable")
            uniq, first, counts = np.unique(column[order], return_index=True, return_counts=True)
            for info in self._files("bands", b):
                if info.last < int(uniq[0]) or info.first > int(uniq[-1]):
                    continue
                run = self._run(info.path)
                for bi, nidx, rows in run.lookup(uniq):
                    docs = run.column(bi, 1, rows)
                    c = counts[nidx]  # a needle stands for every new doc with that hash
                    starts = np.repeat(first[nidx] - np.cumsum(c) + c, c)
                    pos_parts.append(order[starts + np.arange(int(c.sum()))])
                    doc_parts.append(np.repeat(docs, c))
        if not pos_parts:
            return np.zeros(0, np.int64), np.zeros(0, np.uint64)
        pos = np.concatenate(pos_parts).astype(np.int64)
        doc = np.concatenate(doc_parts).astype(np.uint64)
        pairs = np.unique(np.stack([pos.astype(np.uint64), doc], axis=1), axis=0)
        return pairs[:, 0].astype(np.int64), pairs[:, 1]

    def signatures(self, docs: U64) -> tuple[np.ndarray[Any, np.dtype[np.bool_]], U64, U32]:
        """(found, stored group, signature) of each of ``docs``."""
        docs = np.asarray(docs, dtype=np.uint64)
        order = np.argsort(docs, kind="stable")
        needles = docs[order]
        found = np.zeros(len(docs), dtype=bool)
        grp = np.zeros(len(docs), dtype=np.uint64)
        sig = np.zeros((len(docs), NUM_PERM), dtype=np.uint32)
        if not len(docs):
            return found, grp, sig
        for info in self._files("sigs"):
            if info.last < int(needles[0]) or info.first > int(needles[-1]):
                continue
            run = self._run(info.path)
            for bi, nidx, rows in run.lookup(needles):
                idx = order[nidx]
                found[idx] = True
                grp[idx] = run.column(bi, 1, rows)
                sig[idx] = run.column(bi, 2, rows)
        return found, grp, sig

    def roots(self, groups: U64) -> U64:
        """The current root of each stored group (following the recorded merges)."""
        groups = np.asarray(groups, dtype=np.uint64)
        infos = self._files("merges")
        if not infos or not len(groups):
            return groups.copy()
        uniq = np.unique(groups)
        current = uniq.copy()
        active = np.ones(len(uniq), dtype=bool)
        while active.any():
            needles = np.unique(current[active])
            src_parts, dst_parts = [], []
            for info in infos:
                run = self._run(info.path)
                for bi, nidx, rows in run.lookup(needles):
                    src_parts.append(needles[nidx])
                    dst_parts.append(run.column(bi, 1, rows))
            if not src_parts:
                break
            src, dst = np.concatenate(src_parts), np.concatenate(dst_parts)
            o = np.argsort(src)
            src, dst = src[o], dst[o]
            at = np.minimum(np.searchsorted(src, current), len(src) - 1)
            moved = active & (src[at] == current)
            current = np.where(moved, dst[at], current)
            active = moved
        return current[np.searchsorted(uniq, groups)]

    # --- adding a batch --------------------------------------------------------------------

    def add(self, keys: U64, sigs: U32) -> BatchResult:
        """Match a batch (input order) against the index and itself, assign its groups and
        append its new documents as a segment."""
        keys = np.asarray(keys, dtype=np.uint64)
        sigs = np.ascontiguousarray(sigs, dtype=np.uint32)
        n = len(keys)
        hashes = band_hashes(sigs)
        # exact duplicates: an earlier equal key in the batch, or a stored one (same text,
        # same signature: always a candidate in every band)
        exact = np.ones(n, dtype=bool)
        exact[np.unique(keys, return_index=True)[1]] = False
        c_pos, c_doc = self.candidates(hashes)
        stored = np.unique(c_doc)
        _, c_grp, c_sig = self.signatures(stored)
        at = np.searchsorted(stored, c_doc)
        ok = similar(c_sig[at], sigs[c_pos])
        exact[c_pos[ok & (c_doc == keys[c_pos])]] = True
        ok &= ~exact[c_pos]
        old_pos, old_grp = c_pos[ok], self.roots(c_grp[at][ok])
        a, b = self._new_pairs(hashes, exact)
        linked = similar(sigs[a], sigs[b])
        result = assign_groups(keys, exact, (a[linked], b[linked]), (old_pos, old_grp), Roots())
        keep = ~exact
        self.append(keys[keep], sigs[keep], result.group[keep], result.merges, hashes[keep])
        self.maybe_compact()
        return BatchResult(result.group, exact, result.near, result.merges)

    @staticmethod
    def _new_pairs(hashes: U64, exact: np.ndarray[Any, np.dtype[np.bool_]]) -> tuple[I64, I64]:
        """Distinct (a, b), a < b: documents of the batch (not exact duplicates) sharing a
        band hash."""
        live = np.flatnonzero(~exact)
        pairs: list[np.ndarray[Any, Any]] = []
        for b in range(BANDS):
            h = hashes[live, b]
            order = np.argsort(h, kind="stable")
            _, starts, counts = np.unique(h[order], return_index=True, return_counts=True)
            for s, c in zip(starts[counts > 1].tolist(), counts[counts > 1].tolist(), strict=True):
                members = np.sort(live[order[s : s + c]])  # equal hashes: few, small runs
                i, j = np.triu_indices(c, k=1)
                pairs.append(np.stack([members[i], members[j]], axis=1))
        if not pairs:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        uniq = np.unique(np.concatenate(pairs), axis=0)
        return uniq[:, 0].astype(np.int64), uniq[:, 1].astype(np.int64)

    # --- writing -------------------------------------------------------------------------

    def _new_segment(self) -> tuple[int, str]:
        seg_id = int(self.meta["next_segment"])
        self.meta["next_segment"] = seg_id + 1
        return seg_id, f"seg-{seg_id:06d}"

    def reserve(self) -> tuple[int, str]:
        """A new segment's id and file stem, for files written by other processes (the
        Ray engine), registered afterwards with :meth:`add_segment`."""
        return self._new_segment()

    def append(
        self,
        keys: U64,
        sigs: U32,
        groups: U64,
        merges: list[tuple[int, int]],
        hashes: U64 | None = None,
    ) -> None:
        """Append documents (not in the index yet) with their groups, and merges."""
        if not len(keys) and not merges:
            return
        hashes = band_hashes(sigs) if hashes is None else hashes
        seg_id, stem = self._new_segment()
        bands = []
        for b in range(BANDS):
            cols = sort_columns([hashes[:, b].copy(), keys])
            bands.append(self._write("bands", stem, BAND_SCHEMA, cols, band=b))
        sig_cols = sort_columns([keys, groups, sigs])
        m = np.array(merges, dtype=np.uint64).reshape(-1, 2)
        segment = {
            "id": seg_id,
            "docs": len(keys),
            "bands": bands,
            "sigs": self._write("sigs", stem, SIG_SCHEMA, sig_cols),
            "merges": self._write("merges", stem, MERGE_SCHEMA, sort_columns([m[:, 0], m[:, 1]])),
        }
        self.meta["segments"].append(segment)
        self.save()

    def _write(
        self, kind: str, stem: str, schema: pa.Schema, cols: list[Any], band: int | None = None
    ) -> list[dict[str, Any]]:
        sub = f"{kind}/band={band}" if band is not None else kind
        infos = write_runs(self.folder / sub, stem, schema, [cols] if len(cols[0]) else [])
        return [RunInfo(f"{sub}/{i.path}", i.rows, i.first, i.last).to_dict() for i in infos]

    def add_segment(self, seg_id: int, segment: dict[str, Any]) -> None:
        """Register a segment written by other processes (see :meth:`reserve`): ``segment``
        as in ``index.json`` without its id. Its files may overlap in key range (one per
        worker); :meth:`compact` of the segment alone makes them disjoint runs."""
        self.meta["segments"].append({"id": seg_id, **segment})
        self.save()

    def stored_files(self) -> tuple[list[list[dict[str, Any]]], list[dict[str, Any]]]:
        """Every live band file (per band) and signature file."""
        bands = [[f for s in self.meta["segments"] for f in s["bands"][b]] for b in range(BANDS)]
        return bands, [f for s in self.meta["segments"] for f in s["sigs"]]

    # --- compaction ----------------------------------------------------------------------

    def maybe_compact(self) -> bool:
        """Size-tiered: merge ``FANOUT`` segments of one level (floor(log_FANOUT(docs /
        BASE_DOCS))) into one, until no level holds ``FANOUT``. Each document is rewritten
        O(log N) times; at most ``FANOUT - 1`` segments per level stay live."""
        did = False
        while True:
            levels: dict[int, list[int]] = {}
            for s in self.meta["segments"]:
                docs = max(int(s["docs"]), 1)
                level = int(math.log(docs / BASE_DOCS, FANOUT)) if docs > BASE_DOCS else 0
                levels.setdefault(level, []).append(int(s["id"]))
            full = [ids for _, ids in sorted(levels.items()) if len(ids) >= FANOUT]
            if not full:
                return did
            self.compact(full[0][:FANOUT])
            did = True

    def compact(self, seg_ids: list[int]) -> None:
        """Merge the given segments into one (their old files are removed from the folder;
        a store version keeps its own links to them)."""
        segs = [s for s in self.meta["segments"] if s["id"] in seg_ids]
        seg_id, stem = self._new_segment()

        def merged(
            kind: str, schema: pa.Schema, files: list[dict[str, Any]], band: int | None
        ) -> list[dict[str, Any]]:
            sub = f"{kind}/band={band}" if band is not None else kind
            runs = [self._run(f["path"]) for f in files]
            if not runs:
                return []
            infos = merge_runs(runs, self.folder / sub, stem)
            return [RunInfo(f"{sub}/{i.path}", i.rows, i.first, i.last).to_dict() for i in infos]

        new = {
            "id": seg_id,
            "docs": sum(int(s["docs"]) for s in segs),
            "bands": [
                merged("bands", BAND_SCHEMA, [f for s in segs for f in s["bands"][b]], b)
                for b in range(BANDS)
            ],
            "sigs": merged("sigs", SIG_SCHEMA, [f for s in segs for f in s["sigs"]], None),
            "merges": merged("merges", MERGE_SCHEMA, [f for s in segs for f in s["merges"]], None),
        }
        old = index_files({"segments": segs})
        first = min(i for i, s in enumerate(self.meta["segments"]) if s["id"] in seg_ids)
        rest = [s for s in self.meta["segments"] if s["id"] not in seg_ids]
        rest.insert(first, new)
        self.meta["segments"] = rest
        self.save()
        for rel in old:
            run = self._runs.pop(rel, None)
            if run is not None:
                run.close()
            (self.folder / rel).unlink(missing_ok=True)
