"""`corpus round start|push|status|pull|list`: annotation rounds in Label Studio."""

from __future__ import annotations

from enum import StrEnum
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

round_app = typer.Typer(
    help="Annotation rounds in Label Studio: start, push, status, pull.", no_args_is_help=True
)

NameArg = Annotated[str, typer.Argument(help="Round name (letters, digits, '.', '_', '-').")]


class StrategyChoice(StrEnum):
    random = "random"
    stratified = "stratified"
    disagreement = "disagreement"
    relabel_migrated = "relabel-migrated"
    uncertainty = "uncertainty"
    diverse_uncertainty = "diverse-uncertainty"


@round_app.command("start")
def round_start_cli(
    name: NameArg,
    version: Annotated[
        str | None, typer.Option(help="Dataset version to sample from (default: the latest).")
    ] = None,
    sample: Annotated[
        int | None,
        typer.Option(
            help="Documents to sample (default: all, one per dup group).",
            callback=positive("--sample"),
        ),
    ] = None,
    overlap: Annotated[
        int, typer.Option(help="Annotators per task.", callback=positive("--overlap"))
    ] = 1,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
    anchor: Annotated[int, typer.Option(help="Documents that every annotator labels.", min=0)] = 0,
    batch_size: Annotated[
        int, typer.Option(help="Tasks per import request.", callback=positive("--batch-size"))
    ] = 1000,
    strategy: Annotated[
        StrategyChoice,
        typer.Option(
            help="random; stratified (spread over pre-annotated issues and sources); "
            "disagreement (earlier rounds' documents with low agreement or unresolved gold); "
            "relabel-migrated (documents a schema migration or a pull marked); uncertainty "
            "(what the --model is least sure of); diverse-uncertainty (the same, spread "
            "over TF-IDF clusters)."
        ),
    ] = StrategyChoice.random,
    preannotate: Annotated[
        str | None,
        typer.Option(
            "--preannotate",
            metavar="keywords|none|MODEL",
            help="What annotators see: the schema's keywords (default), none (no "
            "predictions at all), or a stored model (a name from `corpus model list`, or a "
            "model folder): spans and the stance, with their probabilities. Without --model, "
            "a model given here also ranks documents for the uncertainty strategies.",
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            metavar="MODEL",
            help="The stored model the uncertainty strategies rank documents by, without "
            "showing its suggestions (unless --preannotate names it too).",
        ),
    ] = None,
    explore: Annotated[
        float,
        typer.Option(help="Share of an uncertainty sample picked at random.", min=0.0, max=1.0),
    ] = 0.2,
    relabel: Annotated[
        str | None,
        typer.Option(help="Send the documents of this earlier round again (a second opinion)."),
    ] = None,
    include_labelled: Annotated[
        bool,
        typer.Option(
            "--include-labelled",
            help="Also sample documents that earlier rounds sent or that have gold.",
        ),
    ] = False,
    store: StoreOpt = DEFAULT_STORE,
    schema: SchemaOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create (or find again) the round's Label Studio project and push its tasks.

    By default only documents that no earlier round sent and that have no gold are sampled.
    """
    if sample is not None and anchor > sample:
        raise typer.BadParameter(
            f"{anchor} anchor documents cannot exceed the {sample} sampled", param_hint="--anchor"
        )
    if relabel is not None and include_labelled:
        raise typer.BadParameter(
            "--relabel already chooses the documents", param_hint="--include-labelled"
        )
    by_model = strategy.value in ("uncertainty", "diverse-uncertainty")
    if by_model and model is None and preannotate in (None, "keywords", "none"):
        raise typer.BadParameter(
            f"the {strategy.value} strategy needs a model: pass --model MODEL (or "
            "--preannotate MODEL to also show its suggestions)",
            param_hint="--strategy",
        )
    if model is not None and not by_model:
        raise typer.BadParameter(
            "--model ranks documents for the uncertainty strategies only; "
            "use --preannotate MODEL to show a model's suggestions",
            param_hint="--model",
        )
    from corpus.rounds import start_round

    out = Output(as_json)
    client = studio_client(store, out)
    with out.progress("round") as progress:
        result = start_round(
            client,
            store,
            name,
            version=version,
            schema=schema_of(schema),
            sample=sample,
            overlap=overlap,
            seed=seed,
            anchor=anchor,
            batch_size=batch_size,
            strategy=strategy.value,
            relabel=relabel,
            include_labelled=include_labelled,
            model=model,
            preannotate=preannotate or "keywords",
            explore=explore,
            progress=progress,
        )
    url = f"{client.url}projects/{result.state.project_id}/"

    def draw() -> None:
        state = result.state
        out.say(
            "[green]Round {name}[/green]: {docs} documents of version {version} "
            "({strategy} of {population}), {imported} tasks imported, overlap {overlap}",
            name=name,
            docs=len(state.doc_ids),
            version=state.version,
            strategy=state.settings.strategy,
            population=state.population if state.population is not None else "?",
            imported=result.imported,
            overlap=overlap,
        )
        out.say("  suggestions shown: {shown}", shown=state.shown())
        if (ranked := state.sampled_by()) is not None:
            out.say("  sampled by {ranked}", ranked=ranked)
        for why, n in state.excluded.items():
            out.say("  left out: {n} {why}", n=n, why=why)
        out.say("  label at {url}data, then: corpus round pull {name}", url=url, name=name)

    out.done({**result.to_dict(), "url": url}, draw)


@round_app.command("push")
def round_push_cli(
    name: NameArg,
    store: StoreOpt = DEFAULT_STORE,
    schema: SchemaOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Import the round's missing tasks (idempotent; safe after a crash)."""
    from corpus.rounds import push_round

    out = Output(as_json)
    client = studio_client(store, out)
    with out.progress("push") as progress:
        result = push_round(client, store, name, schema=schema_of(schema), progress=progress)
    out.done(
        result.to_dict(),
        lambda: out.say(
            "{imported} imported, {there} already there, {removed} duplicates removed{how}",
            imported=result.imported,
            there=result.already_there,
            removed=result.duplicates_removed,
            how=" (the project is as the last push left it: nothing listed)"
            if result.unchanged
            else "",
        ),
    )


@round_app.command("status")
def round_status_cli(
    name: NameArg, store: StoreOpt = DEFAULT_STORE, as_json: JsonOpt = False
) -> None:
    """Tasks total / annotated / skipped, per annotator."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from corpus.rounds import round_status

    out = Output(as_json)
    s = round_status(studio_client(store, out), store, name)

    def draw() -> None:
        out.say(
            "Round {name} (project {pid}, version {version}): {annotated}/{tasks} annotated, "
            "{skipped} skipped",
            name=name,
            pid=s.project_id,
            version=s.version,
            annotated=s.annotated,
            tasks=s.tasks,
            skipped=s.skipped,
        )
        columns = (TextColumn("{task.description:>32}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=out.console) as bar:
            bar.add_task("all tasks", total=max(s.tasks, 1), completed=s.annotated)
            for who, counts in sorted(s.per_annotator.items()):
                bar.add_task(
                    out.text(f"{who} ({counts['skipped']} skipped)").plain,
                    total=max(s.tasks, 1),
                    completed=counts["done"],
                )

    out.done(s.to_dict(), draw)


@round_app.command("pull")
def round_pull_cli(
    name: NameArg,
    store: StoreOpt = DEFAULT_STORE,
    schema: SchemaOpt = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Export even when the server shows no change since the last pull.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Export every annotation, archive it, validate it and store a new version."""
    from corpus.rounds import pull_round

    out = Output(as_json)
    client = studio_client(store, out)
    with out.progress("pull") as progress:
        result = pull_round(
            client, store, name, schema=schema_of(schema), full=full, progress=progress
        )

    def draw() -> None:
        if result.written:
            out.say(
                "[green]Wrote version {v}[/green]: {ann} annotations, {spans} spans from "
                "{tasks} tasks ({changed} changed)",
                v=result.version,
                ann=result.annotations,
                spans=result.spans,
                tasks=result.tasks,
                changed=result.changed_tasks,
            )
        else:
            out.say(
                "No change since the last pull: nothing written ({tasks} tasks{how}).",
                tasks=result.tasks,
                how="" if result.exported else "; the server's counts showed it, no export",
            )
        for r in result.rejects:
            out.say(
                "  [yellow]rejected[/yellow] task {task} doc {doc} annotation {ann}: {reason}",
                task=r.task_id,
                doc=r.doc_id,
                ann=r.annotation_id,
                reason=r.reason,
            )
        out.say("  raw export archived at {path}", path=result.archive)

    out.done(result.to_dict(), draw)


@round_app.command("show")
def round_show_cli(
    name: NameArg, store: StoreOpt = DEFAULT_STORE, as_json: JsonOpt = False
) -> None:
    """A round's settings, sample (strategy, scores, what was left out) and pulls."""
    from corpus.rounds import load_round, pulled_versions
    from corpus.store import as_store

    out = Output(as_json)
    the_store = as_store(store)
    state = load_round(the_store.root, name)
    pulled = pulled_versions(the_store, name)
    scores = sorted(state.scores.values())

    def quantile(q: float) -> float:
        return scores[min(len(scores) - 1, int(q * len(scores)))]

    summary = (
        {"min": scores[0], "median": quantile(0.5), "max": scores[-1], "n": len(scores)}
        if scores
        else {}
    )

    def draw() -> None:
        s = state.settings
        out.say(
            "[bold]Round {name}[/bold]: version {version}, project {pid} ({title})",
            name=name,
            version=state.version,
            pid=state.project_id,
            title=state.project_title,
        )
        out.say(
            "  strategy {strategy}, sample {sample} of {population}, overlap {overlap}, "
            "anchor {anchor}, seed {seed}",
            strategy=s.strategy + (f" (relabel {s.relabel})" if s.relabel else ""),
            sample=len(state.doc_ids),
            population=state.population if state.population is not None else "?",
            overlap=s.overlap,
            anchor=len(state.anchor_ids),
            seed=s.seed,
        )
        out.say("  suggestions shown: {shown}", shown=state.shown())
        if (ranked := state.sampled_by()) is not None:
            out.say("  sampled by {ranked}", ranked=ranked)
        if summary:
            out.say(  # say() inserts text: numbers are formatted here
                "  scores: min {min}, median {median}, max {max} ({n} documents)",
                **{k: f"{v:.3f}" if isinstance(v, float) else v for k, v in summary.items()},
            )
        if s.explore is not None:
            out.say(
                "  explore: {k} of {n} documents picked at random (share {share})",
                k=len(state.explored),
                n=len(state.doc_ids),
                share=s.explore,
            )
        for why, n in state.excluded.items():
            out.say("  left out: {n} {why}", n=n, why=why)
        out.say("  pulled versions: {pulled}", pulled=", ".join(pulled) or "none yet")

    out.done(
        {
            **state.model_dump(mode="json", exclude={"doc_ids", "scores", "explored"}),
            "suggestions_shown": state.shown(),
            "sampled_by": state.sampled_by(),
            "explored": len(state.explored),
            "documents": len(state.doc_ids),
            "scores": summary,
            "pulled_versions": pulled,
        },
        draw,
    )


@round_app.command("list")
def round_list_cli(store: StoreOpt = DEFAULT_STORE, as_json: JsonOpt = False) -> None:
    """The rounds in this store."""
    from rich.table import Table

    from corpus.rounds import list_rounds
    from corpus.store import as_store

    out = Output(as_json)
    rounds = list_rounds(as_store(store).root)

    def draw() -> None:
        table = Table("round", "version", "project", "documents", "overlap", "pulled")
        for r in rounds:
            table.add_row(
                out.text(r.name),
                out.text(r.version),
                str(r.project_id),
                str(len(r.doc_ids)),
                str(r.settings.overlap),
                out.text(", ".join(r.pulled_versions)),
            )
        out.print(table)

    out.done({"rounds": [r.model_dump(mode="json", exclude={"doc_ids"}) for r in rounds]}, draw)


def register(app: typer.Typer) -> None:
    app.add_typer(round_app, name="round")
