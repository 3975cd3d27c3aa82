"""`corpus model train|evaluate|list|curve`: models trained on releases, in the loop."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from corpus.cli.options import (
    DEFAULT_STORE,
    BootstrapOpt,
    JsonOpt,
    Output,
    PlotsOpt,
    StoreOpt,
    positive,
)

model_app = typer.Typer(
    help="Models trained on a release: train, evaluate, list, learning curve.",
    no_args_is_help=True,
)

ReleaseArg = Annotated[
    str, typer.Argument(help="A release folder, or a release number of the store (1.0.0).")
]


def _metric(m: Any) -> str:
    from corpus.training.card import fmt_metric

    return fmt_metric(m)


@model_app.command("train")
def model_train_cli(
    release: ReleaseArg,
    name: Annotated[
        str | None, typer.Option(help="Model name (default: release-<number>).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for calibration folds and bootstrap.")] = 0,
    bootstrap: BootstrapOpt = 1000,
    plots: PlotsOpt = None,
    store: StoreOpt = DEFAULT_STORE,
    as_json: JsonOpt = False,
) -> None:
    """Train a stance classifier and a span tagger on the release's train split."""
    from corpus.training import train_model

    out = Output(as_json)
    with out.steps() as progress:
        result = train_model(
            store, release, name=name, seed=seed, bootstrap=bootstrap, plots=plots,
            progress=progress,
        )  # fmt: skip

    def draw() -> None:
        out.say(
            "[green]Model {name}[/green] ({version}) at {path}",
            name=result.name,
            version=result.version,
            path=result.path,
        )
        for split, s in result.scores.items():
            out.say(
                "  {split}: stance macro-F1 {stance}, span exact F1 {exact}, overlap F1 {ov}",
                split=split,
                stance=_metric(s["stance_macro_f1"]),
                exact=_metric(s["span_exact_f1"]),
                ov=_metric(s["span_overlap_f1"]),
            )
        for note in result.notes:
            out.say("  [yellow]note[/yellow]: {note}", note=note)

    out.done(result.to_dict(), draw)


@model_app.command("evaluate")
def model_evaluate_cli(
    model: Annotated[str, typer.Argument(help="A model name of the store, or a model folder.")],
    release: ReleaseArg,
    split: Annotated[str, typer.Option(help="train, validation or test.")] = "test",
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for evaluation.json and confusion.png."),
    ] = None,
    bootstrap: BootstrapOpt = 1000,
    plots: PlotsOpt = None,
    store: StoreOpt = DEFAULT_STORE,
    as_json: JsonOpt = False,
) -> None:
    """Stance macro-F1 and per-label F1, span exact and overlap F1, with intervals."""
    from rich.table import Table

    from corpus.training import evaluate_model

    out = Output(as_json)
    with out.progress("evaluate") as progress:
        e = evaluate_model(
            store, model, release, split=split, out=out_dir, bootstrap=bootstrap, plots=plots,
            progress=progress,
        )  # fmt: skip

    def draw() -> None:
        out.say(
            "[bold]{model}[/bold] ({version}) on release {release} {split}: {n} documents",
            model=e.model,
            version=e.model_version,
            release=e.release,
            split=e.split,
            n=e.documents,
        )
        out.say("  stance macro-F1: {m}", m=_metric(e.macro_f1))
        stance = Table("stance", "F1 [95% interval]", "gold documents")
        for label, m in e.per_class.items():
            stance.add_row(out.text(label), _metric(m), str(m.n))
        out.print(stance)
        spans = Table("issue", "exact F1", "overlap F1", "gold", "predicted")
        for s in e.spans:
            spans.add_row(
                out.text(s.label),
                _metric(s.exact_f1),
                _metric(s.overlap_f1),
                str(s.gold),
                str(s.predicted),
            )
        out.print(spans)
        if e.plot:
            out.say("  confusion matrix: {plot}", plot=e.plot)
        for note in e.notes:
            out.say("  [yellow]note[/yellow]: {note}", note=note)

    out.done(e.to_dict(), draw)


@model_app.command("list")
def model_list_cli(store: StoreOpt = DEFAULT_STORE, as_json: JsonOpt = False) -> None:
    """The models of this store (each checked against its manifest)."""
    from rich.table import Table

    from corpus.store import as_store
    from corpus.training import list_models

    out = Output(as_json)
    models = list_models(as_store(store))

    def draw() -> None:
        table = Table("model", "version", "release", "created", "test stance macro-F1", "state")
        for m in models:
            test = m.scores.get("test", {}).get("stance_macro_f1")
            table.add_row(
                out.text(m.name),
                out.text(m.version or ""),
                out.text(m.release or ""),
                out.text(m.created or ""),
                _metric(test) if test else "",
                out.text(m.problem or "ok", style="red" if m.problem else "green"),
            )
        out.print(table)

    out.done({"models": [m.to_dict() for m in models]}, draw)


def _ints(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a comma-separated list of numbers") from None


@model_app.command("curve")
def model_curve_cli(
    release: ReleaseArg,
    sizes: Annotated[
        str, typer.Option(help="Labelled documents at each step, increasing: 50,100,200.")
    ],
    strategy: Annotated[
        str,
        typer.Option(help="Comma-separated: random, uncertainty, diverse-uncertainty."),
    ] = "random,uncertainty",
    seeds: Annotated[
        int, typer.Option(help="Simulations per strategy.", callback=positive("--seeds"))
    ] = 3,
    explore: Annotated[
        float, typer.Option(help="Random share of each uncertainty batch.", min=0.0, max=1.0)
    ] = 0.2,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for curve.png, curve.csv, curve.json."),
    ] = None,
    plots: PlotsOpt = None,
    store: StoreOpt = DEFAULT_STORE,
    as_json: JsonOpt = False,
) -> None:
    """Simulate rounds on a labelled release (its gold as the annotators) per strategy."""
    from corpus.training import learning_curve
    from corpus.training.curve import CURVE_STRATEGIES

    steps = _ints(sizes)
    if not steps or any(s < 1 for s in steps) or steps != sorted(set(steps)):
        raise typer.BadParameter("must be increasing numbers above 0", param_hint="--sizes")
    names = [s.strip() for s in strategy.split(",") if s.strip()]
    if not names or any(n not in CURVE_STRATEGIES for n in names):
        raise typer.BadParameter(
            f"choose among {', '.join(CURVE_STRATEGIES)}", param_hint="--strategy"
        )
    out = Output(as_json)
    with out.progress("curve") as progress:
        result = learning_curve(
            store,
            release,
            sizes=steps,
            strategies=names,
            seeds=seeds,
            explore=explore,
            out=out_dir,
            plots=plots,
            progress=progress,
        )

    def draw() -> None:
        from rich.table import Table

        table = Table("strategy", "labelled", "stance macro-F1 (mean [95%])", "span F1")
        for s in result.summary:
            table.add_row(
                out.text(s["strategy"]),
                str(s["labelled"]),
                _interval(s["stance_macro_f1"]),
                _interval(s["span_f1"]),
            )
        out.print(table)
        out.say("  plot and table in {out}", out=result.out)
        for note in result.notes:
            out.say("  [yellow]note[/yellow]: {note}", note=note)

    out.done(result.to_dict(), draw)


def _interval(m: dict[str, Any]) -> str:
    if m["mean"] is None:
        return "n/a"
    if m["low"] is None:
        return f"{m['mean']:.3f}"
    return f"{m['mean']:.3f} [{m['low']:.3f}, {m['high']:.3f}]"


def register(app: typer.Typer) -> None:
    app.add_typer(model_app, name="model")
