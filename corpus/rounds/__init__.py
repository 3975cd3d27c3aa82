"""Annotation rounds on Label Studio: sample, push with pre-annotations, status, pull.

* :mod:`corpus.rounds.state`: round state kept in the store (``rounds/<name>/round.json``);
* :mod:`corpus.rounds.convert`: pure converters between documents, tasks and exports;
* :mod:`corpus.rounds.push`: start a round, push its tasks;
* :mod:`corpus.rounds.project`: the round's project on the server (its store, its tasks);
* :mod:`corpus.rounds.status`: progress of a round;
* :mod:`corpus.rounds.pull`: export, archive, validate and store annotations.
"""

from __future__ import annotations

from corpus.rounds.pull import PullResult, pull_round
from corpus.rounds.pulled import PulledRound, pulled_round, pulled_versions
from corpus.rounds.push import PushResult, push_round, start_round
from corpus.rounds.state import RoundSettings, RoundState, list_rounds, load_round
from corpus.rounds.status import RoundStatus, round_status

__all__ = [
    "PullResult",
    "PulledRound",
    "PushResult",
    "RoundSettings",
    "RoundState",
    "RoundStatus",
    "list_rounds",
    "load_round",
    "pull_round",
    "pulled_round",
    "pulled_versions",
    "push_round",
    "round_status",
    "start_round",
]
