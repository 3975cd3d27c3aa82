"""Grouped, stratified, stable split assignment (pure).

A document, its exact duplicates (one doc_id) and its near-duplicate group (``dup_group``)
always share a split. Groups already placed by an earlier release keep their split; only new
groups are placed, in an order fixed by a hash of the group id and the seed, each into the
split that is furthest below its target share *within the group's stratum* (its gold stance),
so labels are balanced as far as whole groups allow.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

SPLITS = ("train", "validation", "test")
DEFAULT_RATIOS = (0.8, 0.1, 0.1)


@dataclass(frozen=True)
class Group:
    """One near-duplicate group: its stratum (e.g. majority stance) and size in documents."""

    group: str
    stratum: str
    size: int


def parse_ratios(text: str) -> tuple[float, float, float]:
    """``"80/10/10"`` or ``"0.8,0.1,0.1"`` -> normalised (train, validation, test)."""
    try:
        parts = [float(p) for p in text.replace("/", ",").split(",") if p.strip()]
    except ValueError:
        parts = []
    try:
        if len(parts) != 3:
            raise ValueError("not three numbers")
        return check_ratios((parts[0], parts[1], parts[2]))
    except ValueError:
        raise ValueError(
            f"ratios must be three finite numbers above 0 (every split holds data), such as "
            f"80/10/10, not {text!r}"
        ) from None


def check_ratios(ratios: tuple[float, float, float]) -> tuple[float, float, float]:
    """Three finite ratios, each above 0 (every split must hold data), normalised to sum 1."""
    if len(ratios) != 3 or not all(math.isfinite(r) and r > 0 for r in ratios):
        raise ValueError(
            f"ratios must be three finite numbers above 0 (every split holds data), "
            f"not {'/'.join(f'{r:g}' for r in ratios)}"
        )
    total = sum(ratios)
    if not math.isfinite(total):
        raise ValueError(f"ratios are too large to add up: {ratios!r}")
    return ratios[0] / total, ratios[1] / total, ratios[2] / total


def _order(group: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{group}".encode()).hexdigest()


def assign_splits(
    groups: list[Group],
    *,
    ratios: tuple[float, float, float] = DEFAULT_RATIOS,
    seed: int = 0,
    previous: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """group -> split for every group; groups in ``previous`` never move."""
    previous = previous or {}
    assigned: dict[str, str] = {}
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for g in groups:
        if g.group in previous:
            assigned[g.group] = previous[g.group]
            counts[g.stratum][previous[g.group]] += g.size
    new = [g for g in groups if g.group not in previous]
    new.sort(key=lambda g: _order(g.group, seed))
    for g in new:
        have = counts[g.stratum]
        total = sum(have.values()) + g.size
        deficits = [(ratios[i] * total - have[s], -i) for i, s in enumerate(SPLITS)]
        best = SPLITS[-max(deficits)[1]]
        assigned[g.group] = best
        have[best] += g.size
    _fill_empty_splits(new, assigned, ratios)
    return assigned


def _fill_empty_splits(
    new: list[Group], assigned: dict[str, str], ratios: tuple[float, float, float]
) -> None:
    """A split with a positive ratio gets at least one group (datasets cannot load an empty
    split): the smallest new group of the fullest split moves there. Only groups placed in
    this call move, so earlier releases stay untouched."""
    for i, split in enumerate(SPLITS):
        if ratios[i] <= 0 or split in assigned.values():
            continue
        sizes = Counter(assigned[g.group] for g in new)
        donors = [g for g in new if sizes[assigned[g.group]] > 1]
        if not donors:
            return
        fullest = max(sizes, key=lambda s: (sizes[s], s))
        pick = min(
            (g for g in donors if assigned[g.group] == fullest), key=lambda g: (g.size, g.group)
        )
        assigned[pick.group] = split
