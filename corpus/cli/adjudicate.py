"""`corpus adjudicate ROUND`: gold labels by majority, or through a curator's review."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from corpus.cli.options import (
    DEFAULT_STORE,
    JsonOpt,
    Output,
    SchemaOpt,
    StoreOpt,
    schema_of,
    studio_client,
)

if TYPE_CHECKING:
    from corpus.adjudication import AdjudicationResult, ReviewResult


class Strategy(StrEnum):
    majority = "majority"
    review = "review"


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
    from corpus.adjudication import adjudicate, pull_review, start_review

    out = Output(as_json)
    if strategy is Strategy.majority and not pull:
        return _show_gold(out, adjudicate(store, name, span_agreement=span_agreement))
    client = studio_client(store, out)
    with out.progress("review") as progress:
        if pull:
            gold = pull_review(client, store, name, schema=schema_of(schema), progress=progress)
            return _show_gold(out, gold)
        review = start_review(
            client,
            store,
            name,
            schema=schema_of(schema),
            span_agreement=span_agreement,
            progress=progress,
        )
    _show_review(out, review, client.url)


def _show_gold(out: Output, result: AdjudicationResult) -> None:
    def draw() -> None:
        gold = result.gold
        counts = ", ".join(f"{k} {v}" for k, v in result.decided().items())
        head = (
            "[green]Wrote version {v}[/green]"
            if result.written
            else "No change: version {v} already holds this gold"
        )
        out.say(
            head + " (parent {parent}, round {round}, {strategy}): {n} gold stances "
            "({counts}), {spans} gold spans",
            v=result.version,
            parent=result.parent,
            round=result.round,
            strategy=result.strategy,
            n=len(gold.gold_annotations),
            counts=counts or "none",
            spans=len(gold.gold_spans),
        )
        for u in gold.unresolved:
            out.say("  [yellow]unresolved[/yellow] {doc}: {reason}", doc=u.doc_id, reason=u.reason)
        if result.strategy == "review":
            out.say(
                "  reviewed {r}, pending review {p}",
                r=len(result.reviewed),
                p=len(result.pending),
            )
            for doc_id in result.pending:
                out.say("  [yellow]pending[/yellow] {doc}: no curator decision yet", doc=doc_id)
            for r in result.rejects:
                out.say(
                    "  [yellow]rejected[/yellow] task {task} doc {doc}: {reason}",
                    task=r.task_id,
                    doc=r.doc_id,
                    reason=r.reason,
                )
        elif gold.disagreements:
            out.say(
                "  {n} documents with disagreements; for a curator: "
                "corpus adjudicate {round} --strategy review",
                n=len(gold.disagreements),
                round=result.round,
            )

    out.done(result.to_dict(), draw)


def _show_review(out: Output, result: ReviewResult, url: str) -> None:
    link = f"{url}projects/{result.project_id}/data" if result.project_id else None

    def draw() -> None:
        if link is None:
            out.say(
                "Nothing to review: the {n} annotated documents agree; store their gold with: "
                "corpus adjudicate {round}",
                n=result.accepted,
                round=result.round,
            )
            return
        out.say(
            "[green]Review project {title}[/green]: {docs} documents in disagreement "
            "({imported} imported, {there} already there, {replaced} replaced), "
            "{accepted} accepted without review",
            title=repr(result.project_title),
            docs=len(result.documents),
            imported=result.imported,
            there=result.already_there,
            replaced=result.replaced,
            accepted=result.accepted,
        )
        out.say(
            "  review at {link}, then: corpus adjudicate {round} --pull",
            link=link,
            round=result.round,
        )

    out.done({**result.to_dict(), "url": link}, draw)


def register(app: typer.Typer) -> None:
    app.command("adjudicate")(adjudicate_cli)
