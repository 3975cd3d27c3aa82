"""`corpus release build|verify|rehydrate` and `corpus publish`: immutable dataset releases."""

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
    positive,
    schema_of,
)

release_app = typer.Typer(help="Build and verify immutable dataset releases.", no_args_is_help=True)


def _ratios(text: str) -> tuple[float, float, float]:
    from corpus.release import parse_ratios

    try:
        return parse_ratios(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--ratios") from None


def _url(value: str | None) -> str | None:
    from corpus.errors import ReleaseError
    from corpus.release.facts import check_url

    try:
        return None if value is None else check_url(value)
    except ReleaseError as exc:
        raise typer.BadParameter(f"{exc} {exc.hint}", param_hint="--url") from None


def _creators(values: list[str] | None) -> list[str] | None:
    from corpus.errors import ReleaseError
    from corpus.release.facts import check_creator

    try:
        return None if values is None else [check_creator(v) for v in values]
    except ReleaseError as exc:
        raise typer.BadParameter(f"{exc} {exc.hint}", param_hint="--creator") from None


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
    text: Annotated[
        str,
        typer.Option(
            help="full, or none: offsets, labels and text_sha256 without any article text "
            "(`corpus release rehydrate` puts it back)."
        ),
    ] = "full",
    keep_titles: Annotated[
        bool, typer.Option(help="With --text none, keep the titles (left out by default).")
    ] = False,
    url: Annotated[
        str | None,
        typer.Option(
            help="The dataset's home page, an http(s) URL (card and croissant.json).",
            callback=_url,
        ),
    ] = None,
    creator: Annotated[
        list[str] | None,
        typer.Option(
            help="A creator (person or organisation), plain text on one line; repeat for several.",
            callback=_creators,
        ),
    ] = None,
    citation: Annotated[
        str | None, typer.Option(help="BibTeX to cite the release (default: made up from it).")
    ] = None,
    store: StoreOpt = DEFAULT_STORE,
    schema: SchemaOpt = None,
    engine: EngineOpt = "local",
    ray_address: RayAddressOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Build an immutable release folder: Parquet splits, card, croissant.json, checksums."""
    parsed = _ratios(ratios)
    if force is not None and not force.strip():
        raise typer.BadParameter("give the reason for overriding the gates", param_hint="--force")
    if text not in ("full", "none"):
        raise typer.BadParameter(f"must be full or none, not {text!r}", param_hint="--text")
    if keep_titles and text != "none":
        raise typer.BadParameter(
            "only means something with --text none", param_hint="--keep-titles"
        )
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
            text="none" if text == "none" else "full",
            keep_titles=keep_titles,
            url=url,
            creators=creator or [],
            citation=citation,
            engine=engine,
            ray_address=ray_address,
            progress=progress,
        )

    def draw() -> None:
        kind = "" if result.text == "full" else " (offsets only, no article text)"
        out.say("[green]Release {r}[/green]{kind} at {path}", r=result.release, kind=kind,
                path=result.path)  # fmt: skip
        sp = result.splits
        gaps = [*sp["uncovered"], *(f"{x} (only {n} groups)" for x, n in sp["scarce"].items())]
        out.say(
            "  splits: {units} units ({links} near-duplicate links joined groups); {gaps}",
            units=sp["units"],
            links=sp["links"],
            gaps=f"labels missing: {', '.join(gaps)}" if gaps else "every label in every split",
        )
        for config, splits in result.rows.items():
            out.say(
                "  {config}: {splits}",
                config=config,
                splits=", ".join(f"{s} {n}" for s, n in splits.items()),
            )
        for gate in result.forced:
            out.say("  [yellow]gate overridden[/yellow] ({why}): {gate}", why=force, gate=gate)
        for warning in result.warnings:
            out.say("  [yellow]warning[/yellow]: {w}", w=warning)
        a = result.alignment
        out.say(
            "  spans {spans}, across sentences {across}, not carried into BIO tags {lost}",
            spans=a["spans"],
            across=a["across_sentences"],
            lost=a["unaligned"],
        )

    out.done(result.to_dict(), draw)


def _records(text: str) -> int | None:
    if text == "all":
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise typer.BadParameter(f"must be all or a count of at least 1, not {text!r}",
                                 param_hint="--croissant-records")  # fmt: skip
    return value


@release_app.command("verify")
def release_verify_cli(
    path: Annotated[Path, typer.Argument(help="Release folder.")],
    croissant_records: Annotated[
        str,
        typer.Option(
            help="Read every croissant.json record through mlcroissant when the release has "
            "at most this many rows (else this many per config), or 'all'."
        ),
    ] = "100000",
    as_json: JsonOpt = False,
) -> None:
    """Recompute checksums, check the card against the files, load every config, check
    croissant.json with mlcroissant."""
    records = _records(croissant_records)
    from corpus.release import verify_release

    out = Output(as_json)
    report = verify_release(path.absolute(), croissant_records=records)

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
        c = report.croissant
        out.say(
            "  croissant.json: valid for mlcroissant, {n} records read{how}",
            n=sum(sum(v.values()) for v in c["records"].values()),
            how="" if c["all_records"] else f" ({c['note']})",
        )
        for warning in c["warnings"]:
            out.say("  [yellow]croissant warning[/yellow]: {w}", w=warning)

    out.done(report.to_dict(), draw)


@release_app.command("rehydrate")
def release_rehydrate_cli(
    path: Annotated[Path, typer.Argument(help="An offsets-only release folder (--text none).")],
    sources: Annotated[
        list[Path],
        typer.Option(
            "--from", help="Your copies of the articles: files or folders, as for ingest."
        ),
    ],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the full release.")],
    field: Annotated[
        list[str] | None, typer.Option(help="FIELD=COLUMN for tabular input, as for ingest.")
    ] = None,
    encoding: Annotated[str, typer.Option(help="Encoding of the source files.")] = "utf-8",
    max_bytes: Annotated[
        int,
        typer.Option(
            help="Largest file (or record text) read, in bytes.", callback=positive("--max-bytes")
        ),
    ] = 50 * 1024 * 1024,
    as_json: JsonOpt = False,
) -> None:
    """Rebuild the text of an offsets-only release from your own copies of the articles."""
    from corpus.ingestion import parse_field_mapping
    from corpus.release import rehydrate_release

    out = Output(as_json)
    with out.progress("rehydrate") as progress:
        result = rehydrate_release(
            path.absolute(),
            [p.absolute() for p in sources],
            out=out_dir.absolute(),
            fields=parse_field_mapping(field or []),
            encoding=encoding,
            max_bytes=max_bytes,
            progress=progress,
        )

    def draw() -> None:
        out.say(
            "[green]rehydrated[/green] release {r}: {n} documents -> {path}",
            r=result.release,
            n=result.documents,
            path=result.path,
        )
        out.say(
            "  {records} source records read, {unused} not in the release, {skipped} unreadable",
            records=result.records,
            unused=result.unused,
            skipped=len(result.skipped),
        )
        out.say("  check it: corpus release verify {path}", path=result.path)

    out.done(result.to_dict(), draw)


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
