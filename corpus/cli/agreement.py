"""`corpus agreement ROUND`: figures in the terminal, JSON, and a report folder with plots."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from corpus.cli.options import (
    DEFAULT_STORE,
    BootstrapOpt,
    JsonOpt,
    Output,
    PlotsOpt,
    SchemaOpt,
    StoreOpt,
    schema_of,
)


def agreement_cli(
    name: Annotated[str, typer.Argument(help="Round name (pulled with `corpus round pull`).")],
    store: StoreOpt = DEFAULT_STORE,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Report folder (default: <store>/rounds/ROUND/agreement)."),
    ] = None,
    bootstrap: BootstrapOpt = 1000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    interval: Annotated[
        str,
        typer.Option(help="bca (bias-corrected and accelerated, where defined) or percentile."),
    ] = "bca",
    schema: SchemaOpt = None,
    plots: PlotsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Inter-annotator agreement of a round's latest pull, with a report folder of plots."""
    from rich.table import Table

    from corpus.extras import skip_plots
    from corpus.iaa import agreement, fmt, write_report
    from corpus.iaa.report import PLOTS_FOR
    from corpus.iaa.stats import ANY

    if interval not in ("bca", "percentile"):
        raise typer.BadParameter(
            f"must be bca or percentile, not {interval!r}", param_hint="--interval"
        )
    out = Output(as_json)
    report = agreement(
        store, name, schema=schema_of(schema), bootstrap=bootstrap, seed=seed, interval=interval
    )
    files = write_report(report, out_dir or store / "rounds" / name / "agreement", plots=plots)
    # the same answer write_report acted on: None when it drew the plots, else why not
    note = skip_plots(plots, PLOTS_FOR)

    def draw() -> None:
        for message in report.messages:
            out.say("[yellow]{m}[/yellow]", m=message)
        table = Table(
            "figure", "value [95% CI] (items; method)", title=f"Round {name}: document stance"
        )
        table.add_row("Krippendorff's alpha", fmt(report.stance_alpha))
        table.add_row("Fleiss' kappa", fmt(report.stance_fleiss))
        for pair in report.stance_pairs:
            table.add_row(out.text(f"Cohen's kappa {pair.a} × {pair.b}"), fmt(pair.kappa))
        table.add_row("span stance (matched spans)", fmt(report.span_stance_kappa))
        out.print(table)
        spans = Table("label", "spans", "exact F1", "overlap F1", "char alpha", title="Issue spans")
        for row in report.span_labels:
            spans.add_row(
                out.text(row.label),
                str(row.spans),
                fmt(row.exact_f1),
                fmt(row.overlap_f1),
                fmt(row.alpha),
            )
        out.print(spans)
        people = Table(
            "annotator", "docs", "skipped", "median lead (s)", "agree w/ others", "accepted sugg."
        )
        for a in report.per_annotator:
            people.add_row(
                out.text(a.annotator),
                str(a.documents),
                str(a.skipped),
                str(a.median_lead_time),
                str(a.agreement_with_others),
                str(a.accepted_suggestions),
            )
        out.print(people)
        gold = report.with_gold
        if not gold.available:
            out.say("Agreement with gold: not available ({note}).", note=gold.note)
        else:
            vs = Table(
                "annotator", "docs", "stance accuracy", "stance kappa", "overlap F1 (any issue)",
                title="Agreement with gold (after curation)",
            )  # fmt: skip
            for g in gold.annotators:
                any_issue = next(x for x in g.span_labels if x.label == ANY)
                vs.add_row(
                    out.text(g.annotator), str(g.documents), fmt(g.stance_accuracy),
                    fmt(g.stance_kappa), fmt(any_issue.overlap_f1),
                )  # fmt: skip
            out.print(vs)
            out.say("Compared with the {note}.", note=gold.note)
        models = Table(
            "model version", "annotations", "spans", "accepted sugg.", "stance = suggestion"
        )
        for m in report.per_model_version:
            models.add_row(
                out.text(m.model_version),
                str(m.annotations),
                str(m.spans),
                str(m.accepted_suggestions),
                f"{m.stance_accepted} (of {m.stance_suggested})",
            )
        out.print(models)
        if note is None:
            out.say("Report with plots: {path}", path=files[-1])
        else:
            out.say("Report: {path}", path=files[-1])
            out.say("[yellow]note[/yellow]: {note}", note=note)

    out.done({**report.to_dict(), "report": files[-1], "plots_note": note}, draw)


def register(app: typer.Typer) -> None:
    app.command("agreement")(agreement_cli)
