"""`corpus ingest`: a thin wrapper over :func:`corpus.ingestion`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from corpus.cli.options import (
    DEFAULT_STORE,
    EngineOpt,
    JsonOpt,
    Output,
    RayAddressOpt,
    SchemaOpt,
    StoreOpt,
    positive,
    schema_of,
)

if TYPE_CHECKING:
    from corpus.ingestion import IngestResult


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
        int,
        typer.Option(
            help="Largest file (or record text) accepted, in bytes.",
            callback=positive("--max-bytes"),
        ),
    ] = 50 * 1024 * 1024,
    skip_bad: Annotated[
        bool, typer.Option(help="Write the good files; keep the bad-input report in the manifest.")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Worker processes of the local engine (default: all cores).",
            callback=positive("--workers"),
        ),
    ] = None,
    engine: EngineOpt = "local",
    ray_address: RayAddressOpt = None,
    schema: SchemaOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Ingest articles into a new, immutable dataset version."""
    from corpus.ingestion import ingest, parse_field_mapping

    out = Output(as_json)
    with out.progress("ingest") as progress:
        result = ingest(
            paths,
            store=store,
            schema=schema_of(schema),
            version=version,
            message=message,
            fields=parse_field_mapping(field or []),
            encoding=encoding,
            max_bytes=max_bytes,
            skip_bad=skip_bad,
            workers=workers,
            engine=engine,
            ray_address=ray_address,
            progress=progress,
        )
    out.done(result.to_dict(), lambda: _show(out, result))


def _show(out: Output, result: IngestResult) -> None:
    if not result.written:
        out.say(
            "Nothing new: {dups} document(s) already stored (latest version {parent}). "
            "Nothing was written.",
            dups=result.exact_duplicates,
            parent=result.parent or "-",
        )
    else:
        out.say(
            "[green]Wrote version {v}[/green] (parent {parent}) at {path}",
            v=result.version,
            parent=result.parent or "-",
            path=result.path,
        )
        out.say(
            "  {docs} new documents, {par} paragraphs, {sen} sentences; {exact} exact and "
            "{near} near duplicates",
            docs=result.documents_added,
            par=result.paragraphs,
            sen=result.sentences,
            exact=result.exact_duplicates,
            near=result.near_duplicates,
        )
    for problem in result.problems:
        out.say(
            "  [yellow]skipped[/yellow] {where}: {reason}",
            where=problem.where(),
            reason=problem.reason,
        )
    for file in result.ignored[:SHOWN]:
        out.say("  [dim]not read[/dim] {where}: {reason}", where=file.path, reason=file.reason)
    if len(result.ignored) > SHOWN:
        out.say(
            "  [dim]not read[/dim] {n} more file(s), listed in the manifest (extra.ignored)",
            n=len(result.ignored) - SHOWN,
        )


SHOWN = 20  # files listed as not read; the manifest keeps them all


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest_cli)
