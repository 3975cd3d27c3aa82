"""Releases: grouped stable splits, Parquet per config, a dataset card, checksums."""

from __future__ import annotations

from corpus.release.build import ReleaseEvent, ReleaseResult, build_release, releases_dir
from corpus.release.publish import HubPlan, PublishResult, hub_plan, publish
from corpus.release.splits import DEFAULT_RATIOS, SPLITS, Group, assign_splits, parse_ratios
from corpus.release.verify import VerifyReport, verify_release

__all__ = [
    "DEFAULT_RATIOS",
    "SPLITS",
    "Group",
    "HubPlan",
    "PublishResult",
    "ReleaseEvent",
    "ReleaseResult",
    "VerifyReport",
    "assign_splits",
    "build_release",
    "hub_plan",
    "parse_ratios",
    "publish",
    "releases_dir",
    "verify_release",
]
