"""Pytest plugin: real Label Studio servers, installed and started by `corpus`, one per backend.

Enable it with ``pytest_plugins = ["studio_fixtures"]`` in ``tests/conftest.py``. The server's
virtualenv is made once and cached in ``$CORPUS_STUDIO_VENV`` or ``<repo>/.venv-labelstudio``;
each session starts a fresh server (empty SQLite database, free port) in a temporary home.

``studio`` is that SQLite server. A test module that also runs against the team setup, Label
Studio on PostgreSQL, parametrizes it::

    pytestmark = pytest.mark.parametrize("studio", BACKENDS, indirect=True)

Each backend's server starts once per session, when a test first needs it; the PostgreSQL one
runs on a private cluster (:mod:`pg_cluster`, Debian's PostgreSQL from
``scripts/install-postgres``). The variants are marked ``sqlite`` / ``postgres``:
``pytest -m postgres`` runs only the PostgreSQL ones, ``-m "not postgres"`` skips them.

Markers follow the fixtures a test uses (:func:`pytest_collection_modifyitems`): anything
that reaches a Label Studio virtualenv is ``studio``, anything on the session's Ray cluster is
``ray`` (``./scripts/test --fast`` deselects both). Under pytest-xdist (``--dist loadgroup``,
as ``./scripts/test`` runs) every PostgreSQL test goes to one worker and every Ray test to
one worker, so each of those servers starts once; the SQLite tests spread over the workers,
each of which starts its own server.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from label_studio_sdk import LabelStudio
from pg_cluster import PostgresCluster, postgres_bindir

from corpus.labelstudio import StudioClient, StudioInfo, connect, studio_down, studio_up
from corpus.labelstudio import studio_home as studio_home_of
from corpus.labelstudio.venv import default_venv_dir, ensure_venv, label_studio_executable

REPO = Path(__file__).resolve().parents[1]
# Read at import, before any fixture can clean the environment.
STUDIO_VENV = default_venv_dir(os.environ, REPO)
STARTUP_TIMEOUT = 300.0
BACKENDS = [
    pytest.param("sqlite", marks=pytest.mark.sqlite, id="sqlite"),
    pytest.param("postgres", marks=pytest.mark.postgres, id="postgres"),
]


@dataclass(frozen=True)
class Annotator:
    """A real Label Studio user; ``password`` is set only when asked for (``can_log_in``)."""

    id: int
    email: str
    password: str | None = field(default=None, repr=False)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    servers = {"studio", "studio_venv", "sqlite_studio", "postgres_studio"}
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & servers or item.get_closest_marker("postgres"):
            item.add_marker(pytest.mark.studio)
        if item.get_closest_marker("postgres") or "postgres" in names:
            item.add_marker(pytest.mark.xdist_group("postgres"))
        if "ray_cluster" in names:
            item.add_marker(pytest.mark.ray)
            item.add_marker(pytest.mark.xdist_group("ray"))


@pytest.fixture(scope="session")
def studio_venv() -> Path:
    """The Label Studio virtualenv (installed on first use, a minute or two)."""
    ensure_venv(STUDIO_VENV)
    return STUDIO_VENV


@pytest.fixture(scope="session")
def studio_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The store folder whose managed server is the session's (``<store>/studio``)."""
    return tmp_path_factory.mktemp("studio-store")


@pytest.fixture(scope="session")
def studio_home(studio_store: Path) -> Path:
    return studio_home_of(studio_store)


@pytest.fixture(scope="session")
def sqlite_studio(studio_venv: Path, studio_home: Path) -> Iterator[StudioInfo]:
    """A running Label Studio 1.23.2 (fresh data dir), stopped at the end of the session."""
    info = studio_up(studio_home, venv_dir=studio_venv, timeout=STARTUP_TIMEOUT)
    try:
        yield info
    finally:
        studio_down(studio_home)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """A private PostgreSQL cluster (temporary folder, 127.0.0.1 and a socket), removed at
    the end of the session."""
    bindir = postgres_bindir()
    if bindir is None:
        pytest.fail("PostgreSQL is missing: run scripts/install-postgres (Debian's postgresql)")
    cluster = PostgresCluster.create(bindir)
    try:
        cluster.start()
        yield cluster
    finally:
        try:
            cluster.stop()
        finally:
            cluster.remove()


@pytest.fixture(scope="session")
def postgres_studio_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return studio_home_of(tmp_path_factory.mktemp("pg-studio-store"))


@pytest.fixture(scope="session")
def postgres_studio(
    studio_venv: Path, postgres: PostgresCluster, postgres_studio_home: Path
) -> Iterator[StudioInfo]:
    """Label Studio 1.23.2 on PostgreSQL (an empty database, password over TCP), the way a
    team runs it; stopped at the end of the session."""
    database = postgres.create_database("labelstudio", user="corpus_ls")
    home = postgres_studio_home
    info = studio_up(home, venv_dir=studio_venv, timeout=STARTUP_TIMEOUT, database=database)
    try:
        yield info
    finally:
        studio_down(home)


@pytest.fixture(scope="session")
def studio(request: pytest.FixtureRequest) -> StudioInfo:
    """The session's SQLite server, or the backend a test is parametrized with (``BACKENDS``)."""
    backend = getattr(request, "param", "sqlite")
    server: StudioInfo = request.getfixturevalue(f"{backend}_studio")
    return server


@pytest.fixture(scope="session")
def studio_client(studio: StudioInfo) -> StudioClient:
    """The client `corpus` functions take, for the session server, as its admin (legacy token)."""
    return connect(studio.connection())


@pytest.fixture(scope="session")
def ls_client(studio_client: StudioClient) -> LabelStudio:
    """The raw SDK of :func:`studio_client`, for tests that act as annotators or inspect the
    server directly (the code under test always gets the :class:`StudioClient`)."""
    return studio_client.sdk


@pytest.fixture
def make_annotator(
    ls_client: LabelStudio, studio: StudioInfo, studio_venv: Path
) -> Callable[..., Annotator]:
    """``make_annotator(name="annotator", *, can_log_in=False) -> Annotator``.

    Creates a user through the API (a member of the admin's organization). Label Studio
    1.23.2 ignores ``password`` in ``POST /api/users/``, so with ``can_log_in=True`` the
    password is set with ``label-studio reset_password`` (about 4 s) for browser tests.
    """

    def make(name: str = "annotator", *, can_log_in: bool = False) -> Annotator:
        username = f"{name}-{secrets.token_hex(4)}"
        email = f"{username}@corpus.local"
        user = ls_client.users.create(username=username, email=email)
        assert user.id is not None
        if not can_log_in:
            return Annotator(id=user.id, email=email)
        password = secrets.token_urlsafe(12)
        _set_password(studio, studio_venv, email, password)
        return Annotator(id=user.id, email=email, password=password)

    return make


def _set_password(studio: StudioInfo, venv: Path, email: str, password: str) -> None:
    env = {
        **os.environ,
        **(studio.database.env() if studio.database else {}),
        "LABEL_STUDIO_BASE_DATA_DIR": str(studio.data_dir),
        "LABEL_STUDIO_LATEST_VERSION_CHECK": "false",
        "SENTRY_DSN": "",
        "FRONTEND_SENTRY_DSN": "",
        "COLLECT_ANALYTICS": "false",
    }
    cmd = [str(label_studio_executable(venv)), "reset_password"]
    for attempt in range(3):  # the server writes the same SQLite file: it can be locked
        done = subprocess.run(
            [*cmd, f"--username={email}", f"--password={password}"],  # a value may start with "-"
            env=env,
            cwd=studio.data_dir,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if "Password successfully changed" in done.stdout:
            return
        time.sleep(2.0 * (attempt + 1))
    raise RuntimeError(
        f"reset_password for {email} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    )
