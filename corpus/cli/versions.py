"""`corpus versions`, `show` and `diff`: read-only views of a store."""

from __future__ import annotations

from typing import Annotated

import typer

from corpus.cli.options import DEFAULT_STORE, JsonOpt, Output, StoreOpt


def versions_cli(store: StoreOpt = DEFAULT_STORE, as_json: JsonOpt = False) -> None:
    """List the dataset versions in the store (a damaged one too, marked as such)."""
    from rich.table import Table

    from corpus.store import list_versions

    out = Output(as_json)
    versions = list_versions(store)
    rows: list[dict[str, object]] = []
    for v in versions:
        if v.damage is not None:
            rows.append({"version": v.name, "damaged": v.damage})
            continue
        m = v.manifest
        rows.append(
            m.model_dump(mode="json", include={"version", "parent", "kind", "created", "message"})
            | {"rows": {k: t.rows for k, t in m.tables.items()}, "damaged": None}
        )

    def draw() -> None:
        if not versions:
            out.say("No versions in {store} yet: run `corpus ingest seeds/`.", store=store)
            return
        table = Table("version", "parent", "kind", "round", "created", "documents", "message")
        for v in versions:
            if v.damage is not None:
                table.add_row(
                    out.text(v.name),
                    "?",
                    out.text("DAMAGED", "bold red"),
                    "",
                    "",
                    out.text(v.damage),
                )
                continue
            m = v.manifest
            docs = m.tables["documents"].rows if "documents" in m.tables else 0
            round_name = m.extra.get("round")
            table.add_row(
                *(out.text(x) for x in (m.version, m.parent or "-", m.kind)),
                out.text(round_name if isinstance(round_name, str) else ""),
                out.text(m.created),
                str(docs),
                out.text(m.message or ""),
            )
        out.print(table)
        if any(v.damage for v in versions):
            out.say("[yellow]Damaged versions are never read; see `corpus check`.[/yellow]")

    out.done({"versions": rows}, draw)


def check_cli(
    versions: Annotated[
        list[str] | None, typer.Argument(help="Versions to check (default: all).")
    ] = None,
    deep: Annotated[
        bool, typer.Option(help="Also read every row and compare row counts and content hashes.")
    ] = False,
    record: Annotated[
        bool,
        typer.Option(
            help="For versions written before file hashes were kept: check their rows, then "
            "record their files' hashes."
        ),
    ] = False,
    store: StoreOpt = DEFAULT_STORE,
    as_json: JsonOpt = False,
) -> None:
    """Check that every version is what was written (files, sizes, sha256, lineage, rows)."""
    from corpus.errors import DamagedVersionError
    from corpus.store import check_store

    out = Output(as_json)
    with out.progress("check") as progress:
        report = check_store(store, versions or None, deep=deep, record=record, progress=progress)

    def draw() -> None:
        for v in report.versions:
            style = {"ok": "green", "unverified": "yellow", "damaged": "bold red"}[v.status]
            note = " (rows checked)" if v.deep and v.status != "damaged" else ""
            note += " (file hashes recorded)" if v.recorded else ""
            out.say(
                "{version}  [" + style + "]{status}[/" + style + "]  {files} files{note}",
                version=v.version,
                status=v.status,
                files=v.files,
                note=note,
            )
            for p in v.problems:
                out.say("  [red]-[/red] {file}: {problem}", file=p.file, problem=p.problem)
                out.say("      [dim]{hint}[/dim]", hint=p.hint)
        if report.count("unverified"):
            out.say(
                "[yellow]{n} version(s) were written before file hashes were kept: "
                "`corpus check --record` checks their rows and records them.[/yellow]",
                n=report.count("unverified"),
            )

    if not report.ok:
        damaged = [v.version for v in report.versions if v.status == "damaged"]
        if not as_json:
            draw()
        raise DamagedVersionError(
            f"{len(damaged)} damaged version(s): {', '.join(damaged)}",
            path=store,
            hint="Restore them from a backup; damaged versions are never read, released, "
            "sampled or diffed.",
            report=report.to_dict(),
        )
    out.done(report.to_dict(), draw)


def show_cli(
    version: Annotated[str, typer.Argument(help="Version number.")],
    store: StoreOpt = DEFAULT_STORE,
    as_json: JsonOpt = False,
    inputs: Annotated[
        bool,
        typer.Option("--inputs", help="List each input file: path, documents, bytes, sha256."),
    ] = False,
) -> None:
    """Show one version's manifest: lineage, inputs, tables and row counts."""
    from rich.table import Table

    from corpus.store import as_store, input_files, input_summary, lineage, show_version

    out = Output(as_json)
    m = show_version(store, version)
    chain = lineage(store, m.version)
    summary = input_summary(m)
    files = [f.model_dump() for f in input_files(as_store(store), version)] if inputs else []

    def draw() -> None:
        out.say(
            "[bold]version {v}[/bold] ({kind}) parent {parent}, created {created}, corpus {tool}",
            v=m.version,
            kind=m.kind,
            parent=m.parent or "-",
            created=m.created,
            tool=m.tool_version,
        )
        out.say("lineage: {chain}", chain=" ← ".join(chain))
        if isinstance(m.extra.get("round"), str):
            out.say("round {round} ({kind})", round=m.extra["round"], kind=m.kind)
        out.say(
            "schema {schema}, segmenter {seg}, {inputs} input file(s) ({size} bytes), "
            "{skipped} skipped",
            schema=m.schema_hash[:12],
            seg=m.segmenter.get("name"),
            inputs=summary.files,
            size=f"{summary.bytes:,}",
            skipped=len(m.report),
        )
        if m.message:
            out.say("message: {message}", message=m.message)
        table = Table("table", "rows", "content sha256")
        for name, info in sorted(m.tables.items()):
            table.add_row(out.text(name), str(info.rows), info.content_sha256[:16])
        out.print(table)
        for f in files:
            out.say(
                "{path}  {docs} document(s), {size} bytes, sha256 {sha}",
                path=f["path"],
                docs=f["documents"],
                size=f"{f['bytes']:,}",
                sha=f["sha256"][:16],
            )

    payload = {"manifest": m.model_dump(mode="json"), "lineage": chain}
    out.done(payload | ({"inputs": files} if inputs else {}), draw)


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
    app.command("check")(check_cli)
    app.command("show")(show_cli)
    app.command("diff")(diff_cli)
