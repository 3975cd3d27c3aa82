"""`corpus release build|verify` and `corpus publish`: thin wrappers over corpus.release."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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
from corpus.errors import ReleaseError
from corpus.release import ReleaseEvent, ReleaseResult, build_release, parse_ratios
from corpus.store import Store

release_app = typer.Typer(help="Build and verify immutable dataset releases.", no_args_is_help=True)
app.add_typer(release_app, name="release")


def _ratios(text: str) -> tuple[float, float, float]:
    try:
        return parse_ratios(text)
    except ValueError as exc:
        raise ReleaseError(str(exc), hint="Use e.g. --ratios 80/10/10.") from None


def _build(events: Any) -> ReleaseResult:
    with console.status("release") as spinner:
        for event in events:
            if isinstance(event, ReleaseEvent):
                spinner.update(event.message)
            else:
                return event  # type: ignore[no-any-return]
    raise AssertionError("no result")  # pragma: no cover


@release_app.command("build")
def release_build_cli(
    version: Annotated[str, typer.Argument(help="Dataset version with gold annotations.")],
    release: Annotated[str, typer.Option("--release", help="Release number X.Y.Z.")],
    out: Annotated[
        Path | None, typer.Option(help="Folder (default: <store>/releases/X.Y.Z).")
    ] = None,
    ratios: Annotated[str, typer.Option(help="train/validation/test ratios.")] = "80/10/10",
    seed: Annotated[int, typer.Option(help="Split seed for new groups.")] = 0,
    force: Annotated[
        str | None, typer.Option(help="Override failed gates; the REASON is recorded.")
    ] = None,
    previous: Annotated[
        Path | None, typer.Option(help="Previous release whose splits are kept.")
    ] = None,
    store: StoreOpt = DEFAULT_STORE,
    schema: SchemaOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Build an immutable release folder: Parquet splits, card, manifest, checksums."""
    loaded = _schema(schema)
    events = build_release(
        Store(store),
        loaded,
        version,
        release,
        out=out,
        ratios=run(lambda: _ratios(ratios)),
        seed=seed,
        force=force,
        previous=previous,
    )
    result = run(lambda: _build(events))
    if as_json:
        return emit_json(result.to_dict())
    console.print(f"[green]Release {result.release}[/green] at {result.path}")
    for config, splits in result.rows.items():
        console.print(f"  {config}: " + ", ".join(f"{s} {n}" for s, n in splits.items()))
    for gate in result.forced:
        console.print(f"  [yellow]gate overridden[/yellow] ({force}): {gate}")
    a = result.alignment
    console.print(
        f"  spans {a['spans']}, across sentences {a['across_sentences']}, "
        f"not carried into BIO tags {a['unaligned']}"
    )


@release_app.command("verify")
def release_verify_cli(path: Path, as_json: JsonOpt = False) -> None:
    """Recompute checksums, check the card against the files, load every config."""
    from corpus.release.verify import verify_release

    report = run(lambda: verify_release(path.absolute()))
    if as_json:
        return emit_json(report.to_dict())
    console.print(
        f"[green]verified[/green] {path}: {len(report.files)} files match their checksums"
    )
    for config, splits in report.configs.items():
        console.print(
            f"  load_dataset(…, {config!r}): " + ", ".join(f"{s} {n}" for s, n in splits.items())
        )


@app.command("publish")
def publish_cli(
    path: Path,
    to: Annotated[str, typer.Option("--to", help="Folder, fsspec URL, or hf://datasets/ORG/NAME.")],
    token: Annotated[
        str | None,
        typer.Option(envvar="HF_TOKEN", help="Hub token (env HF_TOKEN).", show_default=False),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option(help="Prepare the Hub upload and tag, send nothing.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Publish a verified release to a folder, an fsspec URL or the Hugging Face Hub."""
    from corpus.release.publish import publish

    result = run(lambda: publish(path.absolute(), to, token=token, dry_run=dry_run))
    if as_json:
        return emit_json(result.to_dict())
    verb = "published" if result.sent else "prepared (nothing sent)"
    console.print(
        f"[green]{verb}[/green] release {result.release}: "
        f"{len(result.files)} files -> {result.location}"
    )
    if result.plan is not None:
        console.print(
            f"  one commit of {len(result.plan.operations)} files, then tag {result.plan.tag}"
        )
        if not result.sent:
            console.print("  pass a token (HF_TOKEN) without --dry-run to send it")
