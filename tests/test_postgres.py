"""Label Studio on PostgreSQL, the team setup: the managed server's database settings, and a
real server on a private PostgreSQL cluster (Debian's PostgreSQL, `scripts/install-postgres`).

The round and pull tests themselves run on both backends (tests/test_rounds.py, parametrized);
these check what is particular to PostgreSQL: the data really lives there, the server restarts
on it, it cannot be switched by mistake, and its password is never shown.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from pg_cluster import PostgresCluster
from test_cli_errors import failure, invoke

from corpus.errors import LabelStudioError, StudioAuthError
from corpus.labelstudio import (
    PostgresSettings,
    StudioInfo,
    connect,
    studio_down,
    studio_status,
    studio_up,
)
from corpus.labelstudio.database import sqlite_env

# --- settings (no server) ---------------------------------------------------------------------


def test_database_urls_are_parsed() -> None:
    team = PostgresSettings.from_url("postgresql://ls:p%40ss:w0rd@db.example.org:5433/label_studio")
    assert team == PostgresSettings("label_studio", "ls", "p@ss:w0rd", "db.example.org", 5433)
    assert team.url == "postgresql://ls@db.example.org:5433/label_studio"
    socket = PostgresSettings.from_url("postgres://ls@/studio?host=/run/postgresql")
    assert (socket.host, socket.port, socket.password) == ("/run/postgresql", 5432, "")
    assert PostgresSettings.from_url(socket.url) == socket
    assert team.env() == {
        "LABEL_STUDIO_DJANGO_DB": "default",
        "LABEL_STUDIO_POSTGRE_NAME": "label_studio",
        "LABEL_STUDIO_POSTGRE_USER": "ls",
        "LABEL_STUDIO_POSTGRE_PASSWORD": "p@ss:w0rd",
        "LABEL_STUDIO_POSTGRE_HOST": "db.example.org",
        "LABEL_STUDIO_POSTGRE_PORT": "5433",
    }
    assert sqlite_env("/d")["LABEL_STUDIO_DJANGO_DB"] == "sqlite"
    assert PostgresSettings.from_json(json.loads(json.dumps(team.to_json()))) == team
    assert "p@ss" not in repr(team) and "p@ss" not in team.url
    assert team.same_database(PostgresSettings("label_studio", "x", "y", "db.example.org", 5433))


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("mysql://u:s3cret@h/db", "scheme"),
        ("postgresql://u:s3cret@h/", "no database"),
        ("postgresql://:s3cret@h/db", "no user"),
        ("postgresql://u:s3cret@/db", "no host"),
        ("postgresql://u:s3cret@h:99999/db", "out of range"),
        ("postgresql://u:s3cret@h/db?sslmode=require", "sslmode"),
    ],
)
def test_bad_database_urls_are_clear_and_hide_the_password(url: str, why: str) -> None:
    with pytest.raises(LabelStudioError, match=why) as caught:
        PostgresSettings.from_url(url)
    assert "s3cret" not in str(caught.value) and caught.value.hint
    error = failure(["studio", "up", "--database-url", url, "--store", "/nonexistent/s"])
    assert error["type"] == "LabelStudioError" and why in error["message"]
    assert "s3cret" not in json.dumps(error)


def test_settings_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="name"):
        PostgresSettings(name="", user="u")
    with pytest.raises(ValueError, match="port"):
        PostgresSettings(name="n", user="u", port=0)
    with pytest.raises(TypeError, match="port"):
        PostgresSettings(name="n", user="u", port="5432")  # type: ignore[arg-type]


# --- a real server on PostgreSQL --------------------------------------------------------------


@pytest.mark.studio
@pytest.mark.postgres
def test_the_server_keeps_its_data_in_postgres_and_restarts_on_it(
    postgres_studio: StudioInfo,
    postgres_studio_home: Path,
    postgres: PostgresCluster,
    studio_venv: Path,
    studio: StudioInfo,
    studio_home: Path,
) -> None:
    database = postgres_studio.database
    assert database is not None and database.host == "127.0.0.1" and database.password
    migrations = int(
        postgres.psql("SELECT count(*) FROM django_migrations", database="labelstudio")
    )
    assert migrations > 200
    client = connect(postgres_studio.connection())
    project = client.create_project(
        title="kept in postgres", label_config='<View><Text name="t" value="$t"/></View>'
    )
    titles = postgres.psql("SELECT title FROM project", database="labelstudio").splitlines()
    assert "kept in postgres" in titles
    assert not (postgres_studio.data_dir / "label_studio.sqlite3").exists()

    # the database password is in the user-only credentials file, and nowhere shown
    creds = postgres_studio_home / "credentials.json"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    assert database.password in creds.read_text(encoding="utf-8")
    status = studio_status(postgres_studio_home)
    assert status.running and status.database == database.url
    shown = [repr(postgres_studio), repr(status), postgres_studio.log_file.read_text("utf-8")]
    cli = invoke(["studio", "status", "--store", str(postgres_studio_home.parent), "--json"])
    assert json.loads(cli.stdout)["database"] == database.url
    for text in [*shown, cli.stdout]:
        assert database.password not in text

    # the server is set up on this database: a restart without settings finds it again...
    assert studio_down(postgres_studio_home)
    again = studio_up(postgres_studio_home, venv_dir=studio_venv, timeout=300)
    assert again.database == database and again.url == postgres_studio.url
    assert connect(again.connection()).project(project.id) is not None

    # ...and neither it nor a SQLite server moves to another database by mistake
    other = PostgresSettings("other", database.user, database.password, "127.0.0.1", database.port)
    for home, where in ((postgres_studio_home, database.url), (studio_home, "SQLite")):
        with pytest.raises(LabelStudioError, match="cannot move") as caught:
            studio_up(home, venv_dir=studio_venv, database=other)
        assert where in str(caught.value) and database.password not in str(caught.value)
    assert studio_status(studio_home).running and studio.database is None


@pytest.mark.studio
@pytest.mark.postgres
def test_a_database_set_up_by_another_server_is_refused(
    postgres_studio: StudioInfo, tmp_path: Path
) -> None:
    """Another store's server on the same database: its admin token is not ours."""
    database = postgres_studio.database
    assert database is not None
    url = (
        f"postgresql://{database.user}:{database.password}@{database.host}:{database.port}"
        f"/{database.name}"
    )
    store = tmp_path / "second-store"
    result = invoke(
        ["studio", "up", "--store", str(store), "--timeout", "300", "--json"],
        CORPUS_STUDIO_DATABASE_URL=url,
    )
    assert result.exit_code == 1, result.stdout
    error = json.loads(result.stdout)["error"]
    assert error["type"] == StudioAuthError.__name__
    assert database.url in error["hint"]
    assert database.password not in result.stdout + result.stderr
    assert not studio_status(store / "studio").running
