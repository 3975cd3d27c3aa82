"""The `corpus` command line: thin wrappers over the library, drawn with rich.

The Typer app is built here; each command group lives in its own module (``ingest``,
``versions``, ``studio``, ``round``, ``agreement``, ``adjudicate``, ``release``, ``model``,
``demo``, ``schema``) and shares options and output helpers from :mod:`corpus.cli.options`. Command
modules import the library inside their commands, so ``corpus --help`` starts fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

from corpus.cli import (
    adjudicate,
    agreement,
    demo,
    ingest,
    model,
    release,
    round,
    schema,
    studio,
    versions,
)
from corpus.cli.options import CorpusGroup

app = typer.Typer(
    name="corpus",
    cls=CorpusGroup,
    help="Build annotated news corpora: ingest, label in Label Studio, adjudicate, release.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _show_version(value: bool) -> None:
    if value:
        from corpus.about import __version__

        typer.echo(f"corpus {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """corpus: versioned news corpora with Label Studio annotation rounds."""


for _module in (
    ingest, versions, studio, round, agreement, adjudicate, release, model, demo, schema
):  # fmt: skip
    _module.register(app)


def main() -> None:
    """The ``corpus`` console script."""
    app()


__all__ = ["app", "main"]
