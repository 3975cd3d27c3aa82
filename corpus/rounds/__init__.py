"""Annotation rounds on Label Studio: sample, push with pre-annotations, status, pull."""

from __future__ import annotations

from corpus.rounds.model import RoundSettings, RoundState, list_rounds, load_round
from corpus.rounds.pull import PullResult, pull_round
from corpus.rounds.sync import (
    Done,
    PushResult,
    RoundEvent,
    RoundStatus,
    push_round,
    round_status,
    start_round,
)

__all__ = [
    "Done",
    "PullResult",
    "PushResult",
    "RoundEvent",
    "RoundSettings",
    "RoundState",
    "RoundStatus",
    "list_rounds",
    "load_round",
    "pull_round",
    "push_round",
    "round_status",
    "start_round",
]
