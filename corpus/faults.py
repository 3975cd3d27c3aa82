"""Test-only fault points: kill this process (SIGKILL) at a named point of a commit.

Crash tests run a real ``corpus`` process with ``CORPUS_FAULT=<name>``; when the process
reaches :func:`fault_point` with that name it kills itself with SIGKILL, exactly there, every
time (no timing). Nothing happens when the variable is unset. The names in use are listed in
:data:`FAULT_POINTS`; a test checks that each one is reachable and that the next run after
the crash succeeds with nothing lost or duplicated.
"""

from __future__ import annotations

import os
import signal

ENV = "CORPUS_FAULT"
FAULT_POINTS = {
    "ingest:workers-running": "ingest's worker processes started, a first batch done",
    "version:before-rename": "a version's files and manifest written, the folder not renamed",
    "pull:export-download": "the export's first bytes received, the rest not yet",
    "pull:after-archive": "the raw export archived, no version written",
    "pull:after-version": "the pulled version committed, the round state not yet updated",
    "release:writing": "some Parquet files of the release written, not all",
    "release:before-rename": "the release complete in its temporary folder, not renamed",
    "model:before-rename": "a model's files and manifest written, the folder not renamed",
    "key:before-link": "the pseudonym key written and fsynced under a temporary name, not linked",
}


def fault_point(name: str) -> None:
    """Kill this process here if ``CORPUS_FAULT`` names this point (tests only)."""
    if name not in FAULT_POINTS:
        raise ValueError(f"unknown fault point {name!r}")
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


__all__ = ["ENV", "FAULT_POINTS", "fault_point"]
