"""What every command shares: options, output (rich or JSON), progress, errors.

Output rules:

* with ``--json`` a command prints exactly one JSON object on stdout: ``{"ok": true, ...}``
  with its result, or ``{"ok": false, "error": {"type", "message", "hint", ...}}`` on
  failure (exit 1; usage errors exit 2);
* without it, results go to stdout and progress and errors to stderr, drawn with rich;
* user text (messages, titles, labels, paths) is never read as rich markup, and control
  characters (terminal escapes) are shown as ``\\xNN``;
* the CLI catches only :class:`~corpus.errors.CorpusError` (and usage errors); anything else
  is a bug and keeps a traceback (all of it with ``CORPUS_DEBUG=1``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from corpus.errors import CorpusError, FileSystemError, display_path, os_error

if TYPE_CHECKING:
    from rich.console import Console

    from corpus.label_schema import AnnotationSchema
    from corpus.labelstudio import StudioClient
    from corpus.progress import Progress as Event
    from corpus.progress import ProgressCallback

DEFAULT_STORE = Path("data")
# Typer ships its own copy of click; its exception classes are reached through the public ones.
UsageError: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError"
)
ClickException: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

StoreOpt = Annotated[
    Path,
    typer.Option(
        "--store",
        envvar="CORPUS_STORE",
        help="Store folder for dataset versions and releases (env CORPUS_STORE).",
        file_okay=False,
    ),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print one machine-readable JSON object on stdout.")
]
SchemaOpt = Annotated[
    Path | None,
    typer.Option("--schema", envvar="CORPUS_SCHEMA", help="Annotation schema YAML file."),
]
BootstrapOpt = Annotated[
    int,
    typer.Option(
        help="Bootstrap resamples for the 95% intervals (0: the figures without intervals).",
        min=0,
    ),
]

PlotsOpt = Annotated[
    bool | None,
    typer.Option(
        "--plots/--no-plots",
        help="Draw the PNG plots (needs the plots extra: pip install 'corpus[plots]'). "
        "Default: draw them when matplotlib is installed, else say they were skipped.",
        show_default=False,
    ),
]
EngineOpt = Annotated[
    str,
    typer.Option(
        "--engine",
        envvar="CORPUS_ENGINE",
        help="Where the work runs: local (this machine) or ray (a Ray cluster; needs "
        "pip install 'corpus[ray]') (env CORPUS_ENGINE).",
        callback=lambda value: _engine(value),
    ),
]
RayAddressOpt = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        envvar="RAY_ADDRESS",
        help="Ray cluster to use with --engine ray (env RAY_ADDRESS; default: start a local one).",
    ),
]


def _engine(value: str) -> str:
    if value not in ("local", "ray"):
        raise typer.BadParameter(f"{value!r} is not one of 'local', 'ray'", param_hint="--engine")
    return value


def clean(value: object) -> str:
    """User text made safe for a terminal: control characters become ``\\xNN``."""
    text = display_path(value) if isinstance(value, Path | bytes) else str(value)
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return display_path(value)
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if hasattr(value, "to_dict"):
        return _jsonable(value.to_dict())
    return value


def emit_json(value: Mapping[str, Any]) -> None:
    sys.stdout.write(json.dumps(_jsonable(value), indent=2, ensure_ascii=False, default=str))
    sys.stdout.write("\n")
    sys.stdout.flush()


def _console(*, stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, emoji=False)


class Output:
    """One command's output: rich text on a terminal, or one JSON object with ``--json``."""

    def __init__(self, as_json: bool) -> None:
        self.json = as_json
        self.console = _console()
        self.err = _console(stderr=True)

    def say(self, template: str, **values: object) -> None:
        """Print ``template`` (our rich markup) with ``values`` inserted as plain text."""
        if self.json:
            return
        from rich.markup import escape

        safe = {k: escape(clean(v)) for k, v in values.items()}
        self.console.print(template.format(**safe), soft_wrap=True)

    def print(self, renderable: Any) -> None:
        if not self.json:
            self.console.print(renderable)

    def text(self, value: object, style: str = "") -> Any:
        """A table cell or line holding user text (never markup)."""
        from rich.text import Text

        return Text(clean(value), style=style)

    def done(self, payload: Mapping[str, Any], draw: Callable[[], None] | None = None) -> None:
        """The command's result: ``{"ok": true, **payload}`` with --json, else ``draw()``."""
        if self.json:
            emit_json({"ok": True, **payload})
        elif draw is not None:
            draw()

    @contextlib.contextmanager
    def progress(self, label: str = "") -> Iterator[ProgressCallback]:
        """A progress callback drawing a transient bar on stderr (silent with --json)."""
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=self.err, disable=self.json, transient=True) as bar:
            task = bar.add_task(label, total=None)

            def update(event: Event) -> None:
                description = clean(f"{event.stage}: {event.message}" if event.message else "")
                bar.update(
                    task,
                    description=description or label,
                    completed=event.done,
                    total=event.total,
                )

            yield update

    @contextlib.contextmanager
    def steps(self) -> Iterator[ProgressCallback]:
        """A progress callback printing one line per event (for long, few-step jobs)."""

        def line(event: Event) -> None:
            if not self.json:
                from rich.markup import escape

                self.err.print(
                    f"[bold cyan]{event.stage:>10}[/bold cyan]  {escape(clean(event.message))}"
                )

        yield line


def schema_of(path: Path | None) -> AnnotationSchema:
    from corpus.label_schema import load_schema

    return load_schema(path)


def studio_client(store: Path, out: Output, *, new_store: bool = False) -> StudioClient:
    """LABEL_STUDIO_URL / LABEL_STUDIO_API_KEY, else the store's local server (started if
    needed, with a spinner). Unless ``new_store`` (the demo makes its store), a store folder
    that does not exist is a :class:`StoreError` before any server starts: a failed command
    leaves no ``<store>/studio`` behind (issue 18)."""
    from corpus.errors import StoreError
    from corpus.labelstudio import open_studio

    if not new_store and not Path(store).is_dir():
        raise StoreError(
            f"there is no store at {store}",
            path=Path(store),
            hint="Check --store (or CORPUS_STORE); `corpus ingest` creates a store.",
        )

    url, key = os.environ.get("LABEL_STUDIO_URL"), os.environ.get("LABEL_STUDIO_API_KEY")
    with out.progress("Label Studio") as progress:
        return open_studio(store, url=url, api_key=key, progress=progress)


def positive(name: str) -> Callable[[int | None], int | None]:
    """An option callback refusing values below 1 with a usage error naming the option."""

    def check(value: int | None) -> int | None:
        if value is not None and value < 1:
            raise typer.BadParameter(f"must be at least 1, not {value}", param_hint=name)
        return value

    return check


def not_blank(name: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not value.strip():
            raise typer.BadParameter("must not be empty", param_hint=name)
        return value

    return check


# --- errors ----------------------------------------------------------------------------------


def error_object(exc: BaseException) -> dict[str, Any]:
    """``{"type", "message", "hint", ...details}`` of an error, for --json."""
    if isinstance(exc, CorpusError):
        return {"type": type(exc).__name__, **exc.to_dict()}
    if isinstance(exc, UsageError):
        param = getattr(exc, "param", None)
        option = None
        if param is not None and getattr(param, "opts", None):
            option = max(param.opts, key=len)
        elif hint := getattr(exc, "param_hint", None):
            option = str(hint).strip("'\"")
        ctx = getattr(exc, "ctx", None)
        command = ctx.command_path if ctx is not None else "corpus"
        return {
            "type": "UsageError",
            "message": exc.format_message(),  # type: ignore[attr-defined]
            "hint": f"See `{command} --help`.",
            "option": option,
        }
    return {
        "type": "InternalError",
        "message": f"{type(exc).__name__}: {exc}",
        "hint": "This is a bug in corpus; run with CORPUS_DEBUG=1 for the full traceback "
        "and report it.",
    }


def show_error(exc: CorpusError) -> None:
    from rich.markup import escape

    err = _console(stderr=True)
    err.print(f"[red]{type(exc).__name__}[/red]: {escape(clean(exc.message))}")
    for problem in getattr(exc, "problems", []):
        err.print(f"  - {escape(clean(problem.where()))}: {escape(clean(problem.reason))}")
        if problem.hint:
            err.print(f"      [dim]{escape(clean(problem.hint))}[/dim]")
    if exc.hint:
        err.print(f"[yellow]hint[/yellow]: {escape(clean(exc.hint))}")


def _bug(exc: BaseException, as_json: bool) -> int:
    if os.environ.get("CORPUS_DEBUG"):
        raise exc
    if as_json:
        emit_json({"ok": False, "error": error_object(exc)})
    frames = traceback.format_exception(exc, limit=-4)
    sys.stderr.write("".join(frames))
    sys.stderr.write(
        "corpus: internal error (a bug); run with CORPUS_DEBUG=1 for the full traceback\n"
    )
    return 1


class CorpusGroup(TyperGroup):
    """The root command: turns errors into one message (or one JSON object) and an exit code."""

    def main(  # type: ignore[override]
        self,
        args: list[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        head = argv[: argv.index("--")] if "--" in argv else argv
        as_json = "--json" in head
        try:
            code = self._run(argv, prog_name, complete_var, as_json, **extra)
        except BrokenPipeError:  # the reader of our output went away (`corpus ... | head`)
            _stdout_to_devnull()
            code = 1
        if not standalone_mode:
            return code
        sys.exit(code)

    def _run(
        self,
        argv: list[str],
        prog_name: str | None,
        complete_var: str | None,
        as_json: bool,
        **extra: Any,
    ) -> int:
        code = 0
        try:
            value = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
            code = value if isinstance(value, int) else 0
        except CorpusError as exc:
            _report(exc, as_json)
            code = 1
        except UsageError as exc:
            if as_json:
                emit_json({"ok": False, "error": error_object(exc)})
            else:
                exc.show()  # type: ignore[attr-defined]
            code = exc.exit_code  # type: ignore[attr-defined]
        except ClickException as exc:
            exc.show()  # type: ignore[attr-defined]
            code = exc.exit_code  # type: ignore[attr-defined]
        except typer.Abort:
            sys.stderr.write("Aborted!\n")
            code = 1
        except BrokenPipeError:
            raise  # handled by main: no message can be written to a closed pipe
        except OSError as exc:  # outside the library (e.g. writing the output): no bug
            _report(os_error(exc), as_json)
            code = 1
        except Exception as exc:  # a bug: keep (part of) the traceback
            code = _bug(exc, as_json)
        return code


def _stdout_to_devnull() -> None:
    """Quietly drop what is left to write on a closed pipe, as command line tools do: the
    flush at exit would fail again and print a traceback."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    with contextlib.suppress(OSError, ValueError):
        os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _report(exc: CorpusError, as_json: bool) -> None:
    if as_json:
        emit_json({"ok": False, "error": error_object(exc)})
    else:
        show_error(exc)


__all__ = [
    "DEFAULT_STORE",
    "CorpusGroup",
    "EngineOpt",
    "FileSystemError",
    "JsonOpt",
    "Output",
    "RayAddressOpt",
    "SchemaOpt",
    "StoreOpt",
    "clean",
    "emit_json",
    "error_object",
    "not_blank",
    "positive",
    "schema_of",
    "show_error",
    "studio_client",
]
