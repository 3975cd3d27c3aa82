"""`corpus demo`: the whole loop on the local defaults, drawn step by step."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from corpus.cli.options import (
    DEFAULT_STORE,
    JsonOpt,
    Output,
    SchemaOpt,
    StoreOpt,
    positive,
    schema_of,
    studio_client,
)


def demo_cli(
    annotators: Annotated[
        int,
        typer.Option(
            help="Simulated annotators (real Label Studio users).",
            callback=positive("--annotators"),
        ),
    ] = 3,
    docs: Annotated[
        int,
        typer.Option(
            help="Documents; generated articles fill up past the seeds.",
            callback=positive("--docs"),
        ),
    ] = 60,
    seeds: Annotated[Path, typer.Option(help="Folder of seed articles.")] = Path("seeds"),
    seed: Annotated[int, typer.Option(help="Seed for generation, sampling and simulation.")] = 0,
    store: StoreOpt = DEFAULT_STORE,
    schema: SchemaOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run ingest → round → simulated annotation → pull → agreement → adjudication → release,
    then train a model on the release and run a second round sampled and pre-annotated by it."""
    from corpus.demo import check_seeds, run_demo

    out = Output(as_json)
    check_seeds(seeds)  # before Label Studio starts
    client = studio_client(store, out, new_store=True)
    with out.steps() as progress:
        result = run_demo(
            client,
            store,
            seeds=seeds,
            schema=schema_of(schema),
            docs=docs,
            annotators=annotators,
            seed=seed,
            progress=progress,
        )

    def draw() -> None:
        out.say("\n[bold green]Demo finished.[/bold green] Everything it made:")
        out.say(
            "  store: {store} (versions: `corpus versions --store {store}`)", store=result.store
        )
        out.say(
            "  Label Studio project: {url} (annotations are [bold]simulated[/bold])",
            url=result.project_url,
        )
        out.say("  agreement report: {path}", path=result.agreement)
        out.say("  release (marked simulated): {path}", path=result.release)
        if result.model is not None:
            out.say(
                "  model {model}: `corpus model list --store {store}`",
                model=result.model,
                store=result.store,
            )
        if result.model_round is not None:
            out.say(
                "  round {name}, sampled by uncertainty and pre-annotated by the model; "
                "suggestions kept per model version in {path}",
                name=result.model_round,
                path=result.model_agreement,
            )
        out.say(
            "  load it: datasets.load_dataset({path}, 'documents')",
            path=repr(str(result.release.absolute())),
        )

    out.done(result.to_dict(), draw)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_cli)
