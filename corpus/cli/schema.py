"""`corpus schema check|generate`: the annotation schema and the files generated from it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from corpus.cli.options import DEFAULT_STORE, JsonOpt, Output, SchemaOpt, StoreOpt, schema_of

schema_app = typer.Typer(
    help="The annotation schema and the files generated from it.", no_args_is_help=True
)


@schema_app.command("generate")
def schema_generate_cli(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write into.")] = Path("schemas"),
    schema: SchemaOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the JSON Schemas of the public record types and the Label Studio config."""
    from corpus.generated import write_generated

    out = Output(as_json)
    written = write_generated(out_dir, schema_of(schema))

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
    stale = stale_files(out_dir, loaded)
    if stale:
        raise SchemaError(
            f"stale generated file(s) in {out_dir}: {', '.join(stale)}",
            hint="Run `corpus schema generate` (with the same --schema) and commit the result.",
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


@schema_app.command("migrate")
def schema_migrate_cli(
    migration: Annotated[Path, typer.Argument(help="Migration file (YAML): from, to, rules.")],
    dry_run: Annotated[
        bool, typer.Option(help="Check the migration and show what it does; store nothing.")
    ] = False,
    store: StoreOpt = DEFAULT_STORE,
    schema: SchemaOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Move the store's labels to the next schema version (renames, merges, removals, splits).

    Checked against the schema the store used before and the current one; a split label's
    documents are marked for `corpus round start --strategy relabel-migrated`.
    """
    from corpus.rounds.migrate import migrate_schema

    out = Output(as_json)
    result = migrate_schema(store, migration, schema=schema_of(schema), dry_run=dry_run)

    def draw() -> None:
        head = (
            "[green]Wrote version {v}[/green]: labels from schema {a} to {b}"
            if result.written
            else "Checked: labels from schema {a} to {b} (nothing stored)"
        )
        out.say(head, v=result.version, a=result.source, b=result.target)
        for kind, lines in result.check.changes.items():
            for line in lines:
                out.say("  {kind}: {line}", kind=kind, line=line)
        for kind, labels in result.check.added.items():
            if labels:
                out.say("  {kind}: added {labels}", kind=kind, labels=", ".join(labels))
        for what, n in result.dropped.items():
            out.say("  [yellow]dropped[/yellow] {n} {what}", n=n, what=what)
        if result.relabel:
            out.say(
                "  {n} document(s) marked for relabelling: "
                "corpus round start NAME --strategy relabel-migrated",
                n=len(result.relabel),
            )

    out.done(result.to_dict(), draw)


def register(app: typer.Typer) -> None:
    app.add_typer(schema_app, name="schema")
