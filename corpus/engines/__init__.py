"""Engines: where the heavy stages run. ``local`` (the default: this machine's processes)
or ``ray`` (Ray Data on a Ray cluster; ``pip install 'corpus[ray]'``).

Ray is imported only when the Ray engine runs, so ``import corpus``, the CLI and the local
engine never need it. :func:`ray_session` connects to the cluster at ``address`` (the
CLI passes ``--ray-address`` or ``RAY_ADDRESS``), or starts a private local one when there
is none; a session already opened by the caller (``ray.init`` in a notebook, a test
session) is used as it is and left open.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from corpus.errors import EngineError
from corpus.extras import require

ENGINES = ("local", "ray")


def check_engine(engine: str) -> str:
    """``engine`` when it is a known engine name, else ValueError."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    return engine


def import_ray() -> Any:
    """The ``ray`` module with Ray Data, or :class:`~corpus.errors.MissingEngineError` (an
    ``EngineError``) naming the ``ray`` extra."""
    require("ray.data", "ray", "the Ray engine")
    return require("ray", "ray", "the Ray engine")


@contextlib.contextmanager
def ray_session(address: str | None = None) -> Iterator[Any]:
    """A connected ``ray`` module for the length of the block (see the module docstring)."""
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    try:
        ray.init(
            address=address or "local",
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise EngineError(
            f"cannot connect to the Ray cluster at {address or 'a new local cluster'}: {exc}",
            hint="Check RAY_ADDRESS (the address `ray start --head` printed), or leave it "
            "unset to start a local cluster.",
        ) from None
    try:
        yield ray
    finally:
        ray.shutdown()


@contextlib.contextmanager
def engine_session(engine: str, address: str | None = None) -> Iterator[None]:
    """One session of the engine around several engine calls: a Ray cluster is connected (or
    started) once for all of them; the local engine needs nothing."""
    if check_engine(engine) == "ray":
        with ray_session(address):
            yield
    else:
        yield
