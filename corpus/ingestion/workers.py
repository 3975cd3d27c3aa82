"""Worker processes for ingest: batches run in parallel, results come back in input order."""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import multiprocessing
import os
import select
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

from corpus.faults import fault_point

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
    warm_up(fn)
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=worker_context(_modules(fn)),
        initializer=die_with,
        initargs=(os.getpid(),),
    )
    with pool:
        window: list[tuple[Future[T], int]] = []
        it = iter(batches)
        for batch, tag in itertools.islice(it, 2 * workers):
            window.append((pool.submit(fn, batch), tag))
        setup()
        while window:
            future, tag = window.pop(0)
            result = future.result()
            fault_point("ingest:workers-running")
            nxt = next(it, None)
            if nxt is not None:
                window.append((pool.submit(fn, nxt[0]), nxt[1]))
            yield result, tag


def die_with(parent: int) -> None:
    """Make this worker process end when the process ``parent`` ends, however it ends.

    A pool's workers wait for work on a queue whose writing end they hold themselves, so a
    parent killed with SIGKILL (or by the OOM killer) would leave them running. On Linux a
    thread waits on a pid file descriptor of the parent (no polling) and kills this worker
    when it becomes readable, and ``PR_SET_PDEATHSIG`` kills it with its own parent process
    (the forkserver, which ends with the parent). Elsewhere nothing is done.
    """
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):  # a best effort: the thread below
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    try:
        fd = os.pidfd_open(parent)
    except ProcessLookupError:  # the parent has already ended
        os.kill(os.getpid(), signal.SIGKILL)
        return
    except (OSError, AttributeError):  # a kernel before 5.3: PR_SET_PDEATHSIG only
        return

    def wait() -> None:
        select.select([fd], [], [])
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=wait, name="die-with-parent", daemon=True).start()


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def worker_context(preload: list[str]) -> Any:
    """Worker processes: forked from a forkserver where there is one, else spawned.

    A spawned worker re-imports the parent's ``__main__`` (for the CLI: ``corpus.cli`` and
    everything it imports, about a second each). The forkserver imports the modules
    ``preload`` and the parent's main script, once, and forks the workers from it.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["__main__", *preload])
    return ctx


def warm_up(fn: Callable[..., Any]) -> None:
    """Start the forkserver now, so that it imports what ``fn`` needs while this process
    goes on with its own work (:func:`run_in_order` then forks its workers from it).

    The forkserver is started with ``PYTHONSAFEPATH``: Python 3.11's forkserver does not
    take the parent's ``sys.path`` and would otherwise look for modules in the current
    folder first (a ``corpus/`` folder there would shadow the installed package).
    """
    ctx = worker_context(_modules(fn))
    if ctx.get_start_method() != "forkserver":
        return
    from multiprocessing import forkserver

    before = os.environ.get("PYTHONSAFEPATH")
    os.environ["PYTHONSAFEPATH"] = "1"
    try:
        forkserver.ensure_running()
    finally:
        if before is None:
            del os.environ["PYTHONSAFEPATH"]
        else:
            os.environ["PYTHONSAFEPATH"] = before


def _modules(fn: Callable[..., Any]) -> list[str]:
    """The module of ``fn`` (or of the function a ``functools.partial`` wraps)."""
    return [getattr(fn, "func", fn).__module__]
