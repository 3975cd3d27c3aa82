"""`corpus agreement ROUND`: figures in the terminal, JSON, and a report folder with plots."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from corpus.agreement_report import agreement, fmt, write_report
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
from corpus.store import Store


@app.command("agreement")
def agreement_cli(
    name: str,
    store: StoreOpt = DEFAULT_STORE,
    out: Annotated[
        Path | None, typer.Option(help="Report folder (default: <store>/rounds/ROUND/agreement).")
    ] = None,
    bootstrap: Annotated[
        int, typer.Option(help="Bootstrap replicates for the 95% intervals.")
    ] = 1000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    schema: SchemaOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Inter-annotator agreement of a round's latest pull, with a report folder of plots."""
    report = run(
        lambda: agreement(Store(store), _schema(schema), name, bootstrap=bootstrap, seed=seed)
    )
    files = write_report(report, out or store / "rounds" / name / "agreement")
    if as_json:
        return emit_json(report.to_dict() | {"report": str(files[-1])})
    for message in report.messages:
        console.print(f"[yellow]{message}[/yellow]")
    table = Table("figure", "value [95% CI] (items)", title=f"Round {name}: document stance")
    table.add_row("Krippendorff's alpha", fmt(report.stance_alpha))
    table.add_row("Fleiss' kappa", fmt(report.stance_fleiss))
    for pair in report.stance_pairs:
        table.add_row(f"Cohen's kappa {pair.a} × {pair.b}", fmt(pair.kappa))
    table.add_row("span stance (matched spans)", fmt(report.span_stance_kappa))
    console.print(table)
    spans = Table("label", "spans", "exact F1", "overlap F1", "char alpha", title="Issue spans")
    for row in report.span_labels:
        spans.add_row(
            row.label, str(row.spans), fmt(row.exact_f1), fmt(row.overlap_f1), fmt(row.alpha)
        )
    console.print(spans)
    people = Table(
        "annotator", "docs", "skipped", "median lead (s)", "agree w/ others", "accepted suggestions"
    )
    for a in report.per_annotator:
        people.add_row(
            a.annotator,
            str(a.documents),
            str(a.skipped),
            str(a.median_lead_time),
            str(a.agreement_with_others),
            str(a.accepted_suggestions),
        )
    console.print(people)
    console.print(f"Report with plots: {files[-1]}")
