"""`corpus versions`, `show` and `diff`: read-only views of a store."""

from __future__ import annotations

from typing import Annotated

import typer

from corpus.cli.options import DEFAULT_STORE, JsonOpt, Output, StoreOpt


def versions_cli(store: StoreOpt = DEFAULT_STORE, as_json: JsonOpt = False) -> None:
    """List the dataset versions in the store."""
    from rich.table import Table

    from corpus.store import list_versions

    out = Output(as_json)
    manifests = list_versions(store)
    rows = [
        m.model_dump(mode="json", include={"version", "parent", "kind", "created", "message"})
        | {"rows": {k: t.rows for k, t in m.tables.items()}}
        for m in manifests
    ]

    def draw() -> None:
        if not manifests:
            out.say("No versions in {store} yet: run `corpus ingest seeds/`.", store=store)
            return
        table = Table("version", "parent", "kind", "created", "documents", "message")
        for m in manifests:
            docs = m.tables["documents"].rows if "documents" in m.tables else 0
            table.add_row(
                *(out.text(v) for v in (m.version, m.parent or "-", m.kind, m.created)),
                str(docs),
                out.text(m.message or ""),
            )
        out.print(table)

    out.done({"versions": rows}, draw)


def show_cli(
    version: Annotated[str, typer.Argument(help="Version number.")],
    store: StoreOpt = DEFAULT_STORE,
    as_json: JsonOpt = False,
) -> None:
    """Show one version's manifest: lineage, inputs, tables and row counts."""
    from rich.table import Table

    from corpus.store import show_version

    out = Output(as_json)
    m = show_version(store, version)

    def draw() -> None:
        out.say(
            "[bold]version {v}[/bold] ({kind}) parent {parent}, created {created}, corpus {tool}",
            v=m.version,
            kind=m.kind,
            parent=m.parent or "-",
            created=m.created,
            tool=m.tool_version,
        )
        out.say(
            "schema {schema}, segmenter {seg}, {inputs} input file(s), {skipped} skipped",
            schema=m.schema_hash[:12],
            seg=m.segmenter.get("name"),
            inputs=len(m.inputs),
            skipped=len(m.report),
        )
        if m.message:
            out.say("message: {message}", message=m.message)
        table = Table("table", "rows", "content sha256")
        for name, info in sorted(m.tables.items()):
            table.add_row(out.text(name), str(info.rows), info.content_sha256[:16])
        out.print(table)

    out.done({"manifest": m.model_dump(mode="json")}, draw)


def diff_cli(
    a: Annotated[str, typer.Argument(help="Older version.")],
    b: Annotated[str, typer.Argument(help="Newer version.")],
    store: StoreOpt = DEFAULT_STORE,
    as_json: JsonOpt = False,
) -> None:
    """Documents added, removed and changed between two versions."""
    from corpus.store import diff_versions

    out = Output(as_json)
    d = diff_versions(store, a, b)

    def draw() -> None:
        out.say(
            "{a} -> {b}: {added} added, {removed} removed, {changed} changed",
            a=a,
            b=b,
            added=len(d.added),
            removed=len(d.removed),
            changed=len(d.changed),
        )
        for name, (ra, rb) in d.tables.items():
            out.say("  {name}: {ra} -> {rb} rows", name=name, ra=ra, rb=rb)

    out.done(d.to_dict(), draw)


def register(app: typer.Typer) -> None:
    app.command("versions")(versions_cli)
    app.command("show")(show_cli)
    app.command("diff")(diff_cli)
