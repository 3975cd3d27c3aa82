"""Releases: grouped stable splits, Parquet per config, a dataset card, Croissant, checksums.

* :mod:`corpus.release.splits`: group-aware multi-label stratified, stable splits (pure);
* :mod:`corpus.release.links`: near-duplicate links among released documents, split units;
* :mod:`corpus.release.tables` and :mod:`corpus.release.rows`: the rows and features of
  each config (pure);
* :mod:`corpus.release.gates`: what a release must pass before it is written;
* :mod:`corpus.release.card`, :mod:`corpus.release.facts`, :mod:`corpus.release.croissant`:
  the dataset card, changelog and ``croissant.json``;
* :mod:`corpus.release.writer`: the folder, written whole or not at all;
* :mod:`corpus.release.build`: :func:`build_release`;
* :mod:`corpus.release.rehydrate`: :func:`rehydrate_release` (text back into an
  offsets-only release);
* :mod:`corpus.release.verify`: :func:`verify_release`;
* :mod:`corpus.release.publish`: :func:`publish` to a folder, fsspec URL or the Hub.
"""

from __future__ import annotations

from corpus.release.build import ReleaseResult, build_release, releases_dir
from corpus.release.publish import HubPlan, PublishResult, hub_plan, publish
from corpus.release.rehydrate import RehydrateResult, rehydrate_release
from corpus.release.splits import (
    DEFAULT_RATIOS,
    SPLITS,
    Assignment,
    Unit,
    build_units,
    check_ratios,
    merge_groups,
    parse_ratios,
    stratify,
)
from corpus.release.verify import VerifyReport, verify_release

__all__ = [
    "DEFAULT_RATIOS",
    "SPLITS",
    "Assignment",
    "HubPlan",
    "PublishResult",
    "RehydrateResult",
    "ReleaseResult",
    "Unit",
    "VerifyReport",
    "build_release",
    "build_units",
    "check_ratios",
    "hub_plan",
    "merge_groups",
    "parse_ratios",
    "publish",
    "rehydrate_release",
    "releases_dir",
    "stratify",
    "verify_release",
]
