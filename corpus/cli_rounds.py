"""`corpus studio …` and `corpus round …`: thin wrappers over corpus.studio and corpus.rounds."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from corpus.cli import (
    DEFAULT_STORE,
    JsonOpt,
    SchemaOpt,
    StoreOpt,
    _schema,
    app,
    console,
    emit_json,
    err,
    run,
)
from corpus.preannotate import KeywordPreAnnotator
from corpus.rounds import (
    Done,
    RoundEvent,
    list_rounds,
    pull_round,
    push_round,
    round_status,
    start_round,
)
from corpus.store import Store
from corpus.studio import (
    Connection,
    StudioInfo,
    connect,
    default_venv_dir,
    resolve_connection,
    studio_down,
    studio_status,
    studio_up_iter,
)

studio_app = typer.Typer(
    help="The local Label Studio server managed by corpus.", no_args_is_help=True
)
round_app = typer.Typer(
    help="Annotation rounds in Label Studio: start, push, status, pull.", no_args_is_help=True
)
app.add_typer(studio_app, name="studio")
app.add_typer(round_app, name="round")


def studio_home(store: Path) -> Path:
    return store / "studio"


def _up(store: Path, port: int | None = None) -> StudioInfo:
    venv = default_venv_dir(os.environ, Path.cwd())
    with console.status("Label Studio: starting") as spinner:
        for event in studio_up_iter(studio_home(store), venv_dir=venv, port=port):
            spinner.update(f"Label Studio: {event.message}")
            if event.info is not None:
                return event.info
    raise AssertionError("no ready event")  # pragma: no cover


def _connection(store: Path) -> Connection:
    """LABEL_STUDIO_URL/LABEL_STUDIO_API_KEY, else the local server (started if needed)."""
    url, key = os.environ.get("LABEL_STUDIO_URL"), os.environ.get("LABEL_STUDIO_API_KEY")
    if not url and not key and not studio_status(studio_home(store)).running:
        return _up(store).connection()
    return resolve_connection(home=studio_home(store), url=url, api_key=key)


def _client(store: Path) -> tuple[Any, Connection]:
    conn = run(lambda: _connection(store))
    return run(lambda: connect(conn)), conn


def _drain(events: Iterator[RoundEvent | Done], quiet: bool) -> Any:
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=quiet,
        transient=True,
    ) as bar:
        task = bar.add_task("round", total=None)
        for event in events:
            if isinstance(event, Done):
                return event.result
            bar.update(
                task,
                description=event.message or event.stage,
                completed=event.done,
                total=event.total,
            )
    raise AssertionError("no result")  # pragma: no cover


@studio_app.command("up")
def studio_up_cli(
    store: StoreOpt = DEFAULT_STORE,
    port: Annotated[
        int | None, typer.Option(help="Port on 127.0.0.1 (default: a free one).")
    ] = None,
) -> None:
    """Install (first time) and start the local Label Studio; print URL and login."""
    info = run(lambda: _up(store, port))
    console.print(f"[green]Label Studio {info.version}[/green] at {info.url} (pid {info.pid})")
    console.print(
        f"  log in as {info.email}; the password is in {info.password_file} (user-only file)"
    )


@studio_app.command("down")
def studio_down_cli(store: StoreOpt = DEFAULT_STORE) -> None:
    """Stop the local Label Studio that corpus started (nothing else)."""
    stopped = run(lambda: studio_down(studio_home(store)))
    console.print(
        "Stopped the local Label Studio." if stopped else "No local Label Studio was running."
    )


@studio_app.command("status")
def studio_status_cli(store: StoreOpt = DEFAULT_STORE, as_json: JsonOpt = False) -> None:
    """URL, version and whether the local Label Studio answers."""
    s = run(lambda: studio_status(studio_home(store)))
    if as_json:
        return emit_json(s.__dict__)
    state = "[green]running[/green]" if s.running else "[red]not running[/red]"
    console.print(
        f"Label Studio {s.version or '?'} at {s.url or '-'}: {state}"
        + (f" (pid {s.pid})" if s.pid else "")
    )


@round_app.command("start")
def round_start_cli(
    name: str,
    version: Annotated[str, typer.Option(help="Dataset version to sample from.")],
    sample: Annotated[
        int | None, typer.Option(help="Documents to sample (default: all, one per dup group).")
    ] = None,
    overlap: Annotated[int, typer.Option(help="Annotators per task.")] = 1,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
    anchor: Annotated[int, typer.Option(help="Documents that every annotator labels.")] = 0,
    batch_size: Annotated[int, typer.Option(help="Tasks per import request.")] = 1000,
    store: StoreOpt = DEFAULT_STORE,
    schema: SchemaOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create (or find again) the round's Label Studio project and push its tasks."""
    loaded = _schema(schema)
    client, conn = _client(store)
    events = start_round(
        client,
        Store(store),
        loaded,
        name,
        version=version,
        preannotator=KeywordPreAnnotator(loaded),
        sample=sample,
        overlap=overlap,
        seed=seed,
        anchor=anchor,
        batch_size=batch_size,
    )
    result = run(lambda: _drain(events, as_json))
    if as_json:
        return emit_json(
            {
                "round": name,
                "project_id": result.state.project_id,
                "url": f"{conn.url}projects/{result.state.project_id}/",
                "tasks": len(result.state.doc_ids),
                "imported": result.imported,
                "created_project": result.created_project,
            }
        )
    console.print(
        f"[green]Round {name}[/green]: {len(result.state.doc_ids)} documents of version "
        f"{version}, {result.imported} tasks imported, overlap {overlap}"
    )
    console.print(
        f"  label at {conn.url}projects/{result.state.project_id}/data, "
        f"then: corpus round pull {name}"
    )


@round_app.command("push")
def round_push_cli(name: str, store: StoreOpt = DEFAULT_STORE, schema: SchemaOpt = None) -> None:
    """Import the round's missing tasks (idempotent; safe after a crash)."""
    client, _ = _client(store)
    result = run(
        lambda: _drain(
            push_round(
                client, Store(store), name, preannotator=KeywordPreAnnotator(_schema(schema))
            ),
            False,
        )
    )
    console.print(
        f"{result.imported} imported, {result.already_there} already there, "
        f"{result.duplicates_removed} duplicates removed"
    )


@round_app.command("status")
def round_status_cli(name: str, store: StoreOpt = DEFAULT_STORE, as_json: JsonOpt = False) -> None:
    """Tasks total / annotated / skipped, per annotator."""
    client, _ = _client(store)
    s = run(lambda: round_status(client, Store(store), name))
    if as_json:
        return emit_json(s.to_dict())
    console.print(
        f"Round {name} (project {s.project_id}, version {s.version}): "
        f"{s.annotated}/{s.tasks} annotated, {s.skipped} skipped"
    )
    with Progress(
        TextColumn("{task.description:>32}"), BarColumn(), MofNCompleteColumn(), console=console
    ) as bar:
        bar.add_task("all tasks", total=max(s.tasks, 1), completed=s.annotated)
        for who, counts in sorted(s.per_annotator.items()):
            bar.add_task(
                f"{who} ({counts['skipped']} skipped)",
                total=max(s.tasks, 1),
                completed=counts["done"],
            )


@round_app.command("pull")
def round_pull_cli(
    name: str, store: StoreOpt = DEFAULT_STORE, schema: SchemaOpt = None, as_json: JsonOpt = False
) -> None:
    """Export every annotation, archive it, validate it and store a new version."""
    loaded = _schema(schema)
    client, conn = _client(store)
    result = run(
        lambda: _drain(
            pull_round(
                client,
                Store(store),
                loaded,
                name,
                preannotator=KeywordPreAnnotator(loaded),
                server_url=conn.url,
            ),
            as_json,
        )
    )
    if as_json:
        return emit_json(result.to_dict())
    if result.written:
        console.print(
            f"[green]Wrote version {result.version}[/green]: {result.annotations} annotations, "
            f"{result.spans} spans from {result.tasks} tasks ({result.changed_tasks} changed)"
        )
    else:
        console.print(f"No change since the last pull: nothing written ({result.tasks} tasks).")
    for r in result.rejects:
        console.print(
            f"  [yellow]rejected[/yellow] task {r.task_id} doc {r.doc_id} "
            f"annotation {r.annotation_id}: {r.reason}",
            markup=True,
            highlight=False,
        )
    console.print(f"  raw export archived at {result.archive}")


@round_app.command("list")
def round_list_cli(store: StoreOpt = DEFAULT_STORE, as_json: JsonOpt = False) -> None:
    """The rounds in this store."""
    rounds = run(lambda: list_rounds(Path(store)))
    if as_json:
        return emit_json([r.model_dump(mode="json", exclude={"doc_ids"}) for r in rounds])
    table = Table("round", "version", "project", "documents", "overlap", "pulled")
    for r in rounds:
        table.add_row(
            r.name,
            r.version,
            str(r.project_id),
            str(len(r.doc_ids)),
            str(r.settings.overlap),
            ", ".join(r.pulled_versions),
        )
    console.print(table)
