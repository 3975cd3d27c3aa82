"""`corpus release build|verify` and `corpus publish`: immutable dataset releases."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from corpus.cli.options import (
    DEFAULT_STORE,
    EngineOpt,
    JsonOpt,
    Output,
    RayAddressOpt,
    SchemaOpt,
    StoreOpt,
    not_blank,
    schema_of,
)

release_app = typer.Typer(help="Build and verify immutable dataset releases.", no_args_is_help=True)


def _ratios(text: str) -> tuple[float, float, float]:
    from corpus.release import parse_ratios

    try:
        return parse_ratios(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--ratios") from None


@release_app.command("build")
def release_build_cli(
    version: Annotated[str, typer.Argument(help="Dataset version with gold annotations.")],
    release: Annotated[str, typer.Option("--release", help="Release number X.Y.Z.")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Folder (default: <store>/releases/X.Y.Z).")
    ] = None,
    ratios: Annotated[
        str, typer.Option(help="train/validation/test ratios, each above 0.")
    ] = "80/10/10",
    seed: Annotated[int, typer.Option(help="Split seed for new groups.")] = 0,
    force: Annotated[
        str | None, typer.Option(help="Override failed gates; the REASON is recorded.")
    ] = None,
    previous: Annotated[
        Path | None, typer.Option(help="Previous release whose splits are kept.")
    ] = None,
    store: StoreOpt = DEFAULT_STORE,
    schema: SchemaOpt = None,
    engine: EngineOpt = "local",
    ray_address: RayAddressOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Build an immutable release folder: Parquet splits, card, manifest, checksums."""
    parsed = _ratios(ratios)
    if force is not None and not force.strip():
        raise typer.BadParameter("give the reason for overriding the gates", param_hint="--force")
    from corpus.release import build_release

    out = Output(as_json)
    with out.progress("release") as progress:
        result = build_release(
            store,
            version,
            release=release,
            schema=schema_of(schema),
            out=out_dir,
            ratios=parsed,
            seed=seed,
            force=force,
            previous=previous,
            engine=engine,
            ray_address=ray_address,
            progress=progress,
        )

    def draw() -> None:
        out.say("[green]Release {r}[/green] at {path}", r=result.release, path=result.path)
        for config, splits in result.rows.items():
            out.say(
                "  {config}: {splits}",
                config=config,
                splits=", ".join(f"{s} {n}" for s, n in splits.items()),
            )
        for gate in result.forced:
            out.say("  [yellow]gate overridden[/yellow] ({why}): {gate}", why=force, gate=gate)
        a = result.alignment
        out.say(
            "  spans {spans}, across sentences {across}, not carried into BIO tags {lost}",
            spans=a["spans"],
            across=a["across_sentences"],
            lost=a["unaligned"],
        )

    out.done(result.to_dict(), draw)


@release_app.command("verify")
def release_verify_cli(
    path: Annotated[Path, typer.Argument(help="Release folder.")], as_json: JsonOpt = False
) -> None:
    """Recompute checksums, check the card against the files, load every config."""
    from corpus.release import verify_release

    out = Output(as_json)
    report = verify_release(path.absolute())

    def draw() -> None:
        out.say(
            "[green]verified[/green] {path}: {n} files match their checksums",
            path=path,
            n=len(report.files),
        )
        for config, splits in report.configs.items():
            out.say(
                "  load_dataset(…, {config}): {splits}",
                config=repr(config),
                splits=", ".join(f"{s} {n}" for s, n in splits.items()),
            )

    out.done(report.to_dict(), draw)


def publish_cli(
    path: Annotated[Path, typer.Argument(help="Release folder.")],
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="Folder, fsspec URL, or hf://datasets/ORG/NAME.",
            callback=not_blank("--to"),
        ),
    ],
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
    from corpus.release import publish

    out = Output(as_json)
    result = publish(path.absolute(), to=to, token=token, dry_run=dry_run)

    def draw() -> None:
        out.say(
            "[green]{verb}[/green] release {r}: {n} files -> {where}",
            verb="published" if result.sent else "prepared (nothing sent)",
            r=result.release,
            n=len(result.files),
            where=result.location,
        )
        if result.plan is not None:
            out.say(
                "  one commit of {n} files, then tag {tag}",
                n=len(result.plan.operations),
                tag=result.plan.tag,
            )
            if not result.sent:
                out.say("  pass a token (HF_TOKEN) without --dry-run to send it")

    out.done(result.to_dict(), draw)


def register(app: typer.Typer) -> None:
    app.add_typer(release_app, name="release")
    app.command("publish")(publish_cli)
