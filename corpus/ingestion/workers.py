"""Worker processes for ingest: batches run in parallel, results come back in input order."""

from __future__ import annotations

import itertools
import multiprocessing
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

A = TypeVar("A")
T = TypeVar("T")


def run_in_order(
    fn: Callable[[A], T],
    batches: Iterable[tuple[A, int]],
    workers: int,
    *,
    setup: Callable[[], None],
) -> Iterator[tuple[T, int]]:
    """``(fn(batch), tag)`` for each ``(batch, tag)``, in input order.

    At most 2 batches per worker are in flight (bounded memory); ``fn`` must be picklable
    (a module-level function or a ``functools.partial`` of one). ``setup()`` runs in this
    process once the first batches are submitted, while the workers start.
    """
    if workers <= 1:
        setup()
        for batch, tag in batches:
            yield fn(batch), tag
        return
    with ProcessPoolExecutor(max_workers=workers, mp_context=worker_context()) as pool:
        window: list[tuple[Future[T], int]] = []
        it = iter(batches)
        for batch, tag in itertools.islice(it, 2 * workers):
            window.append((pool.submit(fn, batch), tag))
        setup()
        while window:
            future, tag = window.pop(0)
            result = future.result()
            nxt = next(it, None)
            if nxt is not None:
                window.append((pool.submit(fn, nxt[0]), nxt[1]))
            yield result, tag


def worker_context() -> Any:
    """Worker processes: forked from a forkserver where there is one, else spawned.

    A spawned worker re-imports the parent's ``__main__`` (for the CLI: ``corpus.cli`` and
    everything it imports, about a second each). The forkserver preloads the ``corpus``
    modules this process has imported, once, and forks the workers from it.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(sorted(m for m in sys.modules if m.split(".")[0] == "corpus"))
    return ctx
