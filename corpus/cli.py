"""The `corpus` command line: thin wrappers over the library, drawn with rich."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from corpus import __version__
from corpus.errors import CorpusError
from corpus.history import diff_versions, list_versions, show_version
from corpus.ingest import Finished, IngestResult, ReadOptions, ingest_iter, parse_field_mapping
from corpus.ingest import Progress as IngestProgress
from corpus.schema import AnnotationSchema, load_schema
from corpus.schemagen import stale_files, write_generated
from corpus.store import Store

app = typer.Typer(
    name="corpus",
    help="Build annotated news corpora: ingest, label in Label Studio, adjudicate, release.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
console = Console()
err = Console(stderr=True)
T = TypeVar("T")

StoreOpt = Annotated[
    Path,
    typer.Option(
        "--store",
        envvar="CORPUS_STORE",
        help="Store folder for dataset versions and releases (env CORPUS_STORE).",
        file_okay=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a machine-readable JSON result.")]
SchemaOpt = Annotated[
    Path | None,
    typer.Option("--schema", envvar="CORPUS_SCHEMA", help="Annotation schema YAML file."),
]
DEFAULT_STORE = Path("data")


def run(fn: Callable[[], T]) -> T:
    """Call the library; a CorpusError becomes a red message with its hint and exit code 1."""
    try:
        return fn()
    except CorpusError as exc:
        err.print(f"[red]{type(exc).__name__}[/red]: {exc.message}", markup=True, highlight=False)
        for problem in getattr(exc, "problems", []):
            err.print(f"  - {problem.where()}: {problem.reason}", markup=False, highlight=False)
            if problem.hint:
                err.print(f"      {problem.hint}", style="dim", markup=False, highlight=False)
        if exc.hint:
            err.print(f"[yellow]hint[/yellow]: {exc.hint}", highlight=False)
        raise typer.Exit(1) from None


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


def _schema(path: Path | None) -> AnnotationSchema:
    return run(lambda: load_schema(path))


def _show_version(value: bool) -> None:
    if value:
        console.print(f"corpus {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """corpus: versioned news corpora with Label Studio annotation rounds."""


def _draw_ingest(events: Iterator[Any], quiet: bool) -> IngestResult:
    with Progress(
        TextColumn("[bold]ingest"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files · {task.fields[docs]} new documents"),
        TimeElapsedColumn(),
        console=err,
        disable=quiet,
        transient=True,
    ) as bar:
        task = bar.add_task("ingest", total=None, docs=0)
        for event in events:
            if isinstance(event, IngestProgress):
                bar.update(task, completed=event.done, total=event.total, docs=event.documents)
            elif isinstance(event, Finished):
                return event.result
    raise AssertionError("no result")  # pragma: no cover


def _print_ingest(result: IngestResult) -> None:
    if not result.written:
        console.print(
            f"Nothing new: {result.exact_duplicates} document(s) already stored "
            f"(latest version {result.parent}). Nothing was written."
        )
        return
    console.print(
        f"[green]Wrote version {result.version}[/green] (parent {result.parent or '-'}) "
        f"at {result.path}"
    )
    console.print(
        f"  {result.documents_added} new documents, {result.paragraphs} paragraphs, "
        f"{result.sentences} sentences; {result.exact_duplicates} exact and "
        f"{result.near_duplicates} near duplicates"
    )
    for problem in result.problems:
        console.print(f"  [yellow]skipped[/yellow] {problem.where()}: {problem.reason}")


@app.command("ingest")
def ingest_cli(
    paths: Annotated[
        list[Path], typer.Argument(help="Files or folders (.txt .md .jsonl .csv .parquet).")
    ],
    store: StoreOpt = DEFAULT_STORE,
    version: Annotated[
        str | None, typer.Option(help="Version number (default: next minor).")
    ] = None,
    message: Annotated[str | None, typer.Option(help="A note kept in the manifest.")] = None,
    field: Annotated[
        list[str] | None, typer.Option(help="FIELD=COLUMN for tabular input, e.g. title=headline.")
    ] = None,
    encoding: Annotated[
        str, typer.Option(help="Encoding of the input files (for legacy files).")
    ] = "utf-8",
    max_bytes: Annotated[
        int, typer.Option(help="Largest file (or record text) accepted, in bytes.")
    ] = 50 * 1024 * 1024,
    skip_bad: Annotated[
        bool, typer.Option(help="Write the good files; keep the bad-input report in the manifest.")
    ] = False,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: all cores).")
    ] = None,
    schema: SchemaOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Ingest articles into a new, immutable dataset version."""
    options = ReadOptions(
        encoding=encoding, max_bytes=max_bytes, fields=run(lambda: parse_field_mapping(field or []))
    )
    events = ingest_iter(
        paths,
        store=Store(store),
        schema=_schema(schema),
        version=version,
        message=message,
        options=options,
        skip_bad=skip_bad,
        workers=workers,
    )
    try:
        result = run(lambda: _draw_ingest(events, quiet=as_json))
    except typer.Exit:
        if as_json:
            emit_json({"error": "bad input", "written": False})
        raise
    emit_json(result.to_dict()) if as_json else _print_ingest(result)


@app.command("versions")
def versions_cli(store: StoreOpt = DEFAULT_STORE, as_json: JsonOpt = False) -> None:
    """List the dataset versions in the store."""
    manifests = run(lambda: list_versions(Store(store)))
    if as_json:
        return emit_json(
            [
                m.model_dump(
                    mode="json", include={"version", "parent", "kind", "created", "message"}
                )
                | {"rows": {k: t.rows for k, t in m.tables.items()}}
                for m in manifests
            ]
        )
    table = Table("version", "parent", "kind", "created", "documents", "message")
    for m in manifests:
        docs = m.tables["documents"].rows if "documents" in m.tables else 0
        table.add_row(m.version, m.parent or "-", m.kind, m.created, str(docs), m.message or "")
    console.print(
        table if manifests else f"No versions in {store} yet: run `corpus ingest seeds/`."
    )


@app.command("show")
def show_cli(version: str, store: StoreOpt = DEFAULT_STORE, as_json: JsonOpt = False) -> None:
    """Show one version's manifest: lineage, inputs, tables and row counts."""
    m = run(lambda: show_version(Store(store), version))
    if as_json:
        return emit_json(m.model_dump(mode="json"))
    console.print(
        f"[bold]version {m.version}[/bold] ({m.kind}) parent {m.parent or '-'}, "
        f"created {m.created}, corpus {m.tool_version}"
    )
    console.print(
        f"schema {m.schema_hash[:12]}, segmenter {m.segmenter.get('name')}, "
        f"{len(m.inputs)} input file(s), {len(m.report)} skipped"
    )
    table = Table("table", "rows", "content sha256")
    for name, info in sorted(m.tables.items()):
        table.add_row(name, str(info.rows), info.content_sha256[:16])
    console.print(table)


@app.command("diff")
def diff_cli(a: str, b: str, store: StoreOpt = DEFAULT_STORE, as_json: JsonOpt = False) -> None:
    """Documents added, removed and changed between two versions."""
    d = run(lambda: diff_versions(Store(store), a, b))
    if as_json:
        return emit_json(d.to_dict())
    console.print(
        f"{a} -> {b}: {len(d.added)} added, {len(d.removed)} removed, {len(d.changed)} changed"
    )
    for name, (ra, rb) in d.tables.items():
        console.print(f"  {name}: {ra} -> {rb} rows")


schema_app = typer.Typer(
    help="The annotation schema and the files generated from it.", no_args_is_help=True
)
app.add_typer(schema_app, name="schema")


@schema_app.command("generate")
def schema_generate_cli(
    out: Annotated[Path, typer.Option(help="Folder to write into.")] = Path("schemas"),
) -> None:
    """Write the JSON Schemas of the public record types (generated from the models)."""
    for path in write_generated(out):
        console.print(f"wrote {path}")


@schema_app.command("check")
def schema_check_cli(
    schema: SchemaOpt = None,
    out: Annotated[Path, typer.Option(help="Folder of generated files.")] = Path("schemas"),
) -> None:
    """Validate the annotation schema and fail when a generated file is stale."""
    loaded = _schema(schema)
    stale = stale_files(out)
    if stale:
        err.print(f"[red]stale[/red]: {', '.join(stale)}; run `corpus schema generate`")
        raise typer.Exit(1)
    console.print(
        f"schema {loaded.name} ok ({len(loaded.issues)} issue labels, hash {loaded.hash()[:12]})"
    )


import corpus.cli_adjudicate  # noqa: E402  (registers `corpus adjudicate`)
import corpus.cli_agreement  # noqa: E402  (registers `corpus agreement`)
import corpus.cli_demo  # noqa: E402  (registers `corpus demo`)
import corpus.cli_release  # noqa: E402  (registers `corpus release` and `corpus publish`)
import corpus.cli_rounds  # noqa: E402,F401  (registers `corpus studio` and `corpus round`)

__all__ = ["app"]

if __name__ == "__main__":  # pragma: no cover
    app()
