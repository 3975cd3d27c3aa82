"""Optional features and the extras that install them.

Every stage's own needs are installed with `corpus`; a feature that only some users want
comes with an *extra*, and its packages are imported only when the feature runs, through
:func:`require`: a missing package is a :class:`~corpus.errors.MissingExtraError` whose hint
is the command that installs the extra.

=======  ==============================================================  =================
extra    enables                                                         installs
=======  ==============================================================  =================
plots    the PNG plots: agreement report, model card's confusion matrix,  matplotlib
         ``model evaluate`` and ``model curve``
ray      ``--engine ray`` (ingest and release build on Ray Data)          ray[data]
=======  ==============================================================  =================

Plots are optional outputs: :func:`skip_plots` decides, for a function's ``plots=``
parameter, whether to draw them (``None``, the default: when matplotlib is installed;
``True``: always, else the error; ``False``: never) and words the note that says they were
not drawn and how to get them, which the report, card or result then carries.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from corpus.errors import MissingEngineError, MissingExtraError


@dataclass(frozen=True)
class Extra:
    name: str
    enables: str
    installs: str  # the packages, as pip names them
    error: type[MissingExtraError] = MissingExtraError


EXTRAS = {
    extra.name: extra
    for extra in (
        Extra(
            "plots",
            "PNG plots (agreement report, model card, model evaluate, learning curve)",
            "matplotlib",
        ),
        Extra("ray", "--engine ray (Ray Data)", "ray[data]", MissingEngineError),
    )
}


def install_command(extra: str) -> str:
    """The command that installs an extra (pip's; uv's is ``uv pip install`` with the same
    argument)."""
    if extra not in EXTRAS:
        raise ValueError(f"no extra named {extra!r}; extras: {', '.join(EXTRAS)}")
    return f"pip install 'corpus[{extra}]'"


def require(module: str, extra: str, feature: str) -> ModuleType:
    """``module`` imported, or the extra's error (a :class:`MissingExtraError`) saying that
    ``feature`` needs ``extra`` and how to install it."""
    command = install_command(extra)
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        spec = EXTRAS[extra]
        missing = exc.name or module
        raise spec.error(
            f"{feature} needs the {extra} extra ({spec.installs}), which is not installed "
            f"(no module {missing!r})",
            extra=extra,
            module=missing,
            hint=f"Install it with `{command}` (uv: `uv {command}`).",
        ) from None


PLOTS = "plots"


def skip_plots(plots: bool | None, feature: str) -> str | None:
    """None to draw ``feature``'s plots, or the note saying why they are not drawn.

    ``plots``: ``True`` draws them (:class:`MissingExtraError` without matplotlib),
    ``False`` never does, ``None`` draws them when matplotlib is installed."""
    if plots is False:
        return "plots not drawn: turned off (plots=False, --no-plots)"
    try:
        require("matplotlib.figure", PLOTS, feature)
    except MissingExtraError:
        if plots:
            raise
        return (
            f"plots not drawn: matplotlib is not installed; `{install_command(PLOTS)}` "
            "installs it (the plots extra)"
        )
    return None


def figure_class(feature: str) -> Any:
    """matplotlib's ``Figure`` (the Agg canvas: no display needed), or the plots extra's
    :class:`MissingExtraError` naming ``feature``."""
    return require("matplotlib.figure", PLOTS, feature).Figure


__all__ = ["EXTRAS", "PLOTS", "Extra", "figure_class", "install_command", "require", "skip_plots"]
