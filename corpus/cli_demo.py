"""`corpus demo`: the whole loop on the local defaults, drawn step by step."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from corpus.cli import (
    DEFAULT_STORE,
    JsonOpt,
    SchemaOpt,
    StoreOpt,
    _schema,
    app,
    console,
    emit_json,
    run,
)
from corpus.cli_rounds import _client
from corpus.demo import DemoEvent, DemoResult, run_demo
from corpus.store import Store


@app.command("demo")
def demo_cli(
    annotators: Annotated[
        int, typer.Option(help="Simulated annotators (real Label Studio users).")
    ] = 3,
    docs: Annotated[
        int, typer.Option(help="Documents; generated articles fill up past the seeds.")
    ] = 60,
    seeds: Annotated[Path, typer.Option(help="Folder of seed articles.")] = Path("seeds"),
    seed: Annotated[int, typer.Option(help="Seed for generation, sampling and simulation.")] = 0,
    store: StoreOpt = DEFAULT_STORE,
    schema: SchemaOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run ingest → round → simulated annotation → pull → agreement → adjudication → release."""
    loaded = _schema(schema)
    client, conn = _client(store)
    events = run_demo(
        client,
        Store(store),
        loaded,
        server_url=conn.url,
        seeds=seeds,
        docs=docs,
        annotators=annotators,
        seed=seed,
    )
    result = run(lambda: _draw(events, quiet=as_json))
    if as_json:
        return emit_json(result.to_dict())
    console.print("\n[bold green]Demo finished.[/bold green] Everything it made:")
    console.print(f"  store: {result.store} (versions: `corpus versions --store {result.store}`)")
    console.print(
        f"  Label Studio project: {result.project_url} (annotations are [bold]simulated[/bold])"
    )
    console.print(f"  agreement report: {result.agreement}")
    console.print(f"  release (marked simulated): {result.release}")
    console.print(
        f"  load it: datasets.load_dataset({str(result.release.absolute())!r}, 'documents')"
    )


def _draw(events: object, *, quiet: bool) -> DemoResult:
    for event in events:  # type: ignore[attr-defined]
        if isinstance(event, DemoEvent):
            if not quiet:
                console.print(
                    f"[bold cyan]{event.step:>10}[/bold cyan]  {event.message}", highlight=False
                )
        elif isinstance(event, DemoResult):
            return event
    raise AssertionError("no result")  # pragma: no cover
