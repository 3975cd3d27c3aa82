"""`corpus studio up|down|status`: the local Label Studio that corpus manages."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from corpus.cli.options import DEFAULT_STORE, JsonOpt, Output, StoreOpt

studio_app = typer.Typer(
    help="The local Label Studio server managed by corpus.", no_args_is_help=True
)


@studio_app.command("up")
def studio_up_cli(
    store: StoreOpt = DEFAULT_STORE,
    port: Annotated[
        int | None,
        typer.Option(help="Port on 127.0.0.1 (default: a free one).", min=1, max=65535),
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the server to answer.", min=1.0)
    ] = 180.0,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            envvar="CORPUS_STUDIO_DATABASE_URL",
            show_envvar=True,
            help="Keep the server's data in PostgreSQL instead of SQLite: "
            "postgresql://USER:PASSWORD@HOST:PORT/DATABASE (?host=/socket/dir for a socket). "
            "For a new server; later starts reuse it. The password is never shown.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Install (first time) and start the local Label Studio; print URL and login."""
    from corpus.labelstudio import PostgresSettings, default_venv_dir, studio_home, studio_up

    out = Output(as_json)
    venv = default_venv_dir(os.environ, Path.cwd())
    database = PostgresSettings.from_url(database_url) if database_url else None
    with out.progress("Label Studio") as progress:
        info = studio_up(
            studio_home(store),
            venv_dir=venv,
            port=port,
            timeout=timeout,
            database=database,
            progress=progress,
        )
    payload = {
        "url": info.url,
        "version": info.version,
        "pid": info.pid,
        "email": info.email,
        "password_file": info.password_file,
        "database": info.database.url if info.database else "sqlite",
    }

    def draw() -> None:
        out.say(
            "[green]Label Studio {version}[/green] at {url} (pid {pid})",
            version=info.version,
            url=info.url,
            pid=info.pid,
        )
        out.say(
            "  log in as {email}; the password is in {file} (user-only file)",
            email=info.email,
            file=info.password_file,
        )
        out.say("  data in {database}", database=payload["database"])

    out.done(payload, draw)


@studio_app.command("down")
def studio_down_cli(store: StoreOpt = DEFAULT_STORE, as_json: JsonOpt = False) -> None:
    """Stop the local Label Studio that corpus started (nothing else)."""
    from corpus.labelstudio import studio_down, studio_home

    out = Output(as_json)
    stopped = studio_down(studio_home(store))
    out.done(
        {"stopped": stopped},
        lambda: out.say(
            "Stopped the local Label Studio." if stopped else "No local Label Studio was running."
        ),
    )


@studio_app.command("status")
def studio_status_cli(store: StoreOpt = DEFAULT_STORE, as_json: JsonOpt = False) -> None:
    """URL, version and whether the local Label Studio answers."""
    from corpus.labelstudio import studio_home, studio_status

    out = Output(as_json)
    s = studio_status(studio_home(store))
    state = "[green]running[/green]" if s.running else "[red]not running[/red]"
    out.done(
        dict(s.__dict__) | {"database": s.database or "sqlite"},
        lambda: out.say(
            "Label Studio {version} at {url}: "
            + state
            + (" (pid {pid})" if s.pid else "")
            + ", data in {database}",
            version=s.version or "?",
            url=s.url or "-",
            pid=s.pid,
            database=s.database or "SQLite",
        ),
    )


def register(app: typer.Typer) -> None:
    app.add_typer(studio_app, name="studio")
