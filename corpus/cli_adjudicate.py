"""`corpus adjudicate`: a thin wrapper over corpus.adjudication."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from corpus.adjudication import (
    AdjudicationResult,
    ReviewResult,
    adjudicate,
    pull_review,
    start_review,
)
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
from corpus.cli_rounds import _client, _drain
from corpus.store import Store


class Strategy(StrEnum):
    majority = "majority"
    review = "review"


@app.command("adjudicate")
def adjudicate_cli(
    name: Annotated[str, typer.Argument(help="Round name (pulled with `corpus round pull`).")],
    strategy: Annotated[
        Strategy,
        typer.Option(
            help="majority: gold by vote; review: send disagreements to a Label Studio "
            "review project for a curator."
        ),
    ] = Strategy.majority,
    pull: Annotated[
        bool,
        typer.Option("--pull", help="Read the curator's review decisions back as gold."),
    ] = False,
    span_agreement: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Send a document to review when two annotators' spans agree less than this "
            "(character overlap; 1.0 = any difference). --pull uses the review's value.",
        ),
    ] = 1.0,
    store: StoreOpt = DEFAULT_STORE,
    schema: SchemaOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Gold labels for a pulled round, stored as a new version (majority vote or review)."""
    if strategy is Strategy.majority and not pull:
        return _show_gold(
            run(lambda: adjudicate(Store(store), name, span_agreement=span_agreement)), as_json
        )
    loaded = _schema(schema)
    client, conn = _client(store)
    if pull:
        events = pull_review(client, Store(store), loaded, name, server_url=conn.url)
        return _show_gold(run(lambda: _drain(events, as_json)), as_json)
    events = start_review(client, Store(store), loaded, name, span_agreement=span_agreement)
    _show_review(run(lambda: _drain(events, as_json)), conn.url, as_json)


def _show_gold(result: AdjudicationResult, as_json: bool) -> None:
    if as_json:
        return emit_json(result.to_dict())
    gold = result.gold
    counts = ", ".join(f"{k} {v}" for k, v in result.decided().items())
    head = (
        f"[green]Wrote version {result.version}[/green]"
        if result.written
        else f"No change: version {result.version} already holds this gold"
    )
    console.print(
        f"{head} (parent {result.parent}, round {result.round}, {result.strategy}): "
        f"{len(gold.gold_annotations)} gold stances ({counts or 'none'}), "
        f"{len(gold.gold_spans)} gold spans",
        highlight=False,
    )
    for u in gold.unresolved:
        console.print(f"  [yellow]unresolved[/yellow] {u.doc_id}: {u.reason}", highlight=False)
    if result.strategy == "review":
        console.print(f"  reviewed {len(result.reviewed)}, pending review {len(result.pending)}")
        for doc_id in result.pending:
            console.print(f"  [yellow]pending[/yellow] {doc_id}: no curator decision yet")
        for r in result.rejects:
            console.print(
                f"  [yellow]rejected[/yellow] task {r.task_id} doc {r.doc_id}: {r.reason}",
                highlight=False,
            )
    elif gold.disagreements:
        console.print(
            f"  {len(gold.disagreements)} documents with disagreements; for a curator: "
            f"corpus adjudicate {result.round} --strategy review",
            highlight=False,
        )


def _show_review(result: ReviewResult, url: str, as_json: bool) -> None:
    link = f"{url}projects/{result.project_id}/data" if result.project_id else None
    if as_json:
        return emit_json({**result.to_dict(), "url": link})
    if link is None:
        return console.print(
            f"Nothing to review: the {result.accepted} annotated documents agree; "
            f"store their gold with: corpus adjudicate {result.round}",
            highlight=False,
        )
    console.print(
        f"[green]Review project {result.project_title!r}[/green]: {len(result.documents)} "
        f"documents in disagreement ({result.imported} imported, {result.already_there} "
        f"already there, {result.replaced} replaced), {result.accepted} accepted without review",
        highlight=False,
    )
    console.print(
        f"  review at {link}, then: corpus adjudicate {result.round} --pull", soft_wrap=True
    )
