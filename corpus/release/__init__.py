"""Releases: grouped stable splits, Parquet per config, a dataset card, checksums.

* :mod:`corpus.release.splits`: grouped, stratified, stable split assignment (pure);
* :mod:`corpus.release.tables`: the rows and features of each config (pure);
* :mod:`corpus.release.card`: the dataset card and changelog;
* :mod:`corpus.release.build`: :func:`build_release`, with its gates;
* :mod:`corpus.release.verify`: :func:`verify_release`;
* :mod:`corpus.release.publish`: :func:`publish` to a folder, fsspec URL or the Hub.
"""

from __future__ import annotations

from corpus.release.build import ReleaseResult, build_release, releases_dir
from corpus.release.publish import HubPlan, PublishResult, hub_plan, publish
from corpus.release.splits import (
    DEFAULT_RATIOS,
    SPLITS,
    Group,
    assign_splits,
    check_ratios,
    parse_ratios,
)
from corpus.release.verify import VerifyReport, verify_release

__all__ = [
    "DEFAULT_RATIOS",
    "SPLITS",
    "Group",
    "HubPlan",
    "PublishResult",
    "ReleaseResult",
    "VerifyReport",
    "assign_splits",
    "build_release",
    "check_ratios",
    "hub_plan",
    "parse_ratios",
    "publish",
    "releases_dir",
    "verify_release",
]
