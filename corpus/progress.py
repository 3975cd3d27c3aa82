"""Progress events: what a long-running library call reports while it works.

Library functions never print. Those that take a while accept ``progress=``, a callable
that receives :class:`Progress` events (the CLI draws them with rich; a notebook can print
them or ignore them). Internally such functions are generators of events that *return*
their result; :func:`drive` runs one to the end.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    """One step of work: ``stage`` (e.g. "push"), ``done`` of ``total`` items, a message."""

    stage: str
    message: str = ""
    done: int = 0
    total: int | None = None


ProgressCallback = Callable[[Progress], None]
Steps = Generator[Progress, None, T]


def drive(steps: Steps[T], progress: ProgressCallback | None = None) -> T:
    """Run a generator of :class:`Progress` events to its end and return its result.

    If ``progress`` raises, the generator is closed first, so it can undo what it started.
    """
    try:
        while True:
            try:
                event = next(steps)
            except StopIteration as stop:
                result: T = stop.value
                return result
            if progress is not None:
                progress(event)
    finally:
        steps.close()


__all__ = ["Progress", "ProgressCallback", "Steps", "drive"]
