"""`corpus schema check|generate`: the annotation schema and the files generated from it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from corpus.cli.options import JsonOpt, Output, SchemaOpt, schema_of

schema_app = typer.Typer(
    help="The annotation schema and the files generated from it.", no_args_is_help=True
)


@schema_app.command("generate")
def schema_generate_cli(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write into.")] = Path("schemas"),
    as_json: JsonOpt = False,
) -> None:
    """Write the JSON Schemas of the public record types and the Label Studio config."""
    from corpus.generated import write_generated

    out = Output(as_json)
    written = write_generated(out_dir)

    def draw() -> None:
        for path in written:
            out.say("wrote {path}", path=path)

    out.done({"written": written}, draw)


@schema_app.command("check")
def schema_check_cli(
    schema: SchemaOpt = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder of generated files.")] = Path(
        "schemas"
    ),
    as_json: JsonOpt = False,
) -> None:
    """Validate the annotation schema and fail when a generated file is stale."""
    from corpus.errors import SchemaError
    from corpus.generated import stale_files

    out = Output(as_json)
    loaded = schema_of(schema)
    stale = stale_files(out_dir)
    if stale:
        raise SchemaError(
            f"stale generated file(s) in {out_dir}: {', '.join(stale)}",
            hint="Run `corpus schema generate` and commit the result.",
        )
    out.done(
        {"name": loaded.name, "issues": len(loaded.issues), "hash": loaded.hash()},
        lambda: out.say(
            "schema {name} ok ({n} issue labels, hash {h})",
            name=loaded.name,
            n=len(loaded.issues),
            h=loaded.hash()[:12],
        ),
    )


def register(app: typer.Typer) -> None:
    app.add_typer(schema_app, name="schema")
