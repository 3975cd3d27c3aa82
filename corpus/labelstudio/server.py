"""The managed local server: Label Studio for a user with no server of their own.

Label Studio 1.23.2 runs from its own virtualenv (:mod:`corpus.labelstudio.venv`, never the
toolkit's) in the background on 127.0.0.1 with its files under ``<store>/studio/``: ``data/``
(Label Studio's data dir, with the SQLite database by default), ``credentials.json`` (admin
e-mail, password, API token, port, pid, the PostgreSQL settings when asked for; mode 0600)
and ``label-studio.log``. A server set up on a database keeps it: later starts reuse the
recorded one, and switching is refused. The API key and the passwords never appear in
reprs, logs or error messages.
"""

from __future__ import annotations

import functools
import secrets
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
from filelock import FileLock
from filelock import Timeout as LockTimeout

from corpus.errors import (
    LabelStudioError,
    StudioAuthError,
    StudioNotRunningError,
    translate_os_errors,
)
from corpus.labelstudio.client import WHOAMI, Connection
from corpus.labelstudio.credentials import (
    CREDENTIALS_FILE,
    HOST,
    LOG_FILE,
    Credentials,
    load_credentials,
    save_credentials,
)
from corpus.labelstudio.database import PostgresSettings, sqlite_env
from corpus.labelstudio.process import alive, is_label_studio, spawn, terminate
from corpus.labelstudio.venv import LABEL_STUDIO_VERSION, clean_env, ensure_venv, tail, venv_ready
from corpus.progress import Progress, ProgressCallback, Steps, drive

ADMIN_EMAIL = "admin@corpus.local"
_HOST = HOST
_WHOAMI = WHOAMI
UP_HINT = (
    "Run `corpus studio up`, or set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY for your "
    "team's server."
)


@dataclass(frozen=True)
class StudioInfo:
    """A running managed server; the admin password is in ``password_file``."""

    url: str
    version: str
    pid: int
    email: str
    password_file: Path
    data_dir: Path
    log_file: Path
    api_key: str = field(repr=False)
    database: PostgresSettings | None = None  # None: SQLite in ``data_dir``

    def connection(self) -> Connection:
        return Connection(url=self.url, api_key=self.api_key, managed=True)


def _info(creds: Credentials, home: Path, version: str) -> StudioInfo:
    assert creds.pid is not None and creds.url is not None
    return StudioInfo(
        url=creds.url,
        version=version,
        pid=creds.pid,
        email=creds.email,
        password_file=home / CREDENTIALS_FILE,
        data_dir=home / "data",
        log_file=home / LOG_FILE,
        api_key=creds.api_key,
        database=creds.database,
    )


@dataclass(frozen=True)
class StudioStatus:
    """What ``corpus studio status`` shows; ``url`` is None when no server was ever set up."""

    url: str | None
    running: bool
    version: str | None
    pid: int | None
    managed: bool = True
    database: str | None = None  # the PostgreSQL URL without password; None: SQLite


# --- the managed server -----------------------------------------------------------------------


@translate_os_errors
def studio_up(
    home: Path,
    *,
    venv_dir: Path,
    port: int | None = None,
    timeout: float = 180.0,
    database: PostgresSettings | None = None,
    progress: ProgressCallback | None = None,
) -> StudioInfo:
    """Start the managed server of ``home`` (or find it running); return how to reach it.

    ``database``: PostgreSQL instead of SQLite, for a new ``home`` (or the same database
    again, e.g. with a new password); a ``home`` set up before keeps its database when this
    is None. Installs Label Studio into ``venv_dir`` first when needed. If the caller stops
    early (an exception from ``progress``), a server started here but not yet ready is stopped.
    """
    home = home.absolute()
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o700)
    try:
        with FileLock(str(home / ".studio.lock"), timeout=timeout):
            return drive(_up(home, venv_dir, port, timeout, database), progress)
    except LockTimeout:
        raise LabelStudioError(
            f"Another `corpus studio` command is using {home}",
            hint="Wait for it to finish and run the command again.",
        ) from None


def _up(
    home: Path, venv_dir: Path, port: int | None, timeout: float, database: PostgresSettings | None
) -> Steps[StudioInfo]:
    creds = load_credentials(home)
    if creds is not None:
        creds = replace(creds, database=_same_database(home, creds.database, database))
    if creds is not None and creds.pid is not None and is_label_studio(creds.pid, creds.port):
        pid, url = creds.pid, creds.url
        if port is not None and port != creds.port:
            raise LabelStudioError(
                f"The local Label Studio already runs at {url} (pid {pid})",
                hint="Run `corpus studio down` first to move it to another port.",
            )
        yield Progress("waiting", f"Label Studio runs (pid {pid}); checking {url}")
        version = _wait_ready(home, creds, functools.partial(alive, pid), timeout)
        return _info(creds, home, version)
    if not venv_ready(venv_dir):
        where = venv_dir.absolute()
        yield Progress("installing", f"Installing Label Studio into {where} (first run only)")
    exe = ensure_venv(venv_dir)
    if creds is None:
        if _sqlite_file(home).exists():
            raise LabelStudioError(
                f"{home / 'data'} holds a Label Studio database but {CREDENTIALS_FILE} is missing",
                hint=f"Restore {home / CREDENTIALS_FILE}, or remove {home / 'data'} to start "
                "afresh (this deletes the local projects and annotations).",
            )
        password, api_key = secrets.token_urlsafe(18), secrets.token_hex(20)
        creds = Credentials(email=ADMIN_EMAIL, password=password, api_key=api_key)
        creds = replace(creds, database=database)
    for attempt in range(3):
        creds = replace(creds, port=_choose_port(port, creds.port if attempt == 0 else None))
        proc = _start(exe, home, creds)
        creds = replace(creds, pid=proc.pid)
        save_credentials(home, creds)
        try:
            yield Progress("starting", f"Starting Label Studio on {creds.url} (pid {proc.pid})")
            yield Progress("waiting", "Waiting for it to answer (first start: ~30 s)")
            version = _wait_ready(home, creds, functools.partial(alive, proc.pid), timeout)
        except BaseException as exc:
            terminate(proc.pid, timeout=10.0)
            creds = replace(creds, pid=None)
            save_credentials(home, creds)
            raced = port is None and "already in use" in tail(home / LOG_FILE, lines=5)
            if isinstance(exc, LabelStudioError) and raced and attempt < 2:
                continue  # someone took the free port we picked: pick another
            raise
        return _info(creds, home, version)
    raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover


def _sqlite_file(home: Path) -> Path:
    return home / "data" / "label_studio.sqlite3"


def _same_database(
    home: Path, recorded: PostgresSettings | None, asked: PostgresSettings | None
) -> PostgresSettings | None:
    """The database to start on: the recorded one; a different one is refused."""
    if asked is None:
        return recorded
    if recorded is not None and recorded.same_database(asked):
        return asked  # the same database (a changed password or user is taken)
    if recorded is None and not _sqlite_file(home).exists():
        return asked  # set up, but never started on SQLite: nothing to lose
    where = recorded.url if recorded else f"SQLite ({_sqlite_file(home)})"
    raise LabelStudioError(
        f"The local Label Studio of {home} keeps its data in {where}; it cannot move to "
        f"{asked.url}",
        hint="Use another store for a server on that database, or start without a database "
        f"setting to keep this one (removing {home} starts afresh and deletes its projects).",
    )


@translate_os_errors
def studio_down(home: Path, *, timeout: float = 30.0) -> bool:
    """Stop the managed server of ``home``; True if one was running.

    Only the recorded pid is signalled, and only while its command line is ``label-studio
    start --port <recorded port>``: its process group gets SIGTERM, then SIGKILL.
    """
    home = home.absolute()
    creds = load_credentials(home)
    if creds is None or creds.pid is None:
        return False
    stopped = is_label_studio(creds.pid, creds.port)
    if stopped:
        terminate(creds.pid, timeout=timeout)
    save_credentials(home, replace(creds, pid=None))
    return stopped


def studio_status(home: Path) -> StudioStatus:
    """Whether the managed server of ``home`` runs and answers."""
    creds = load_credentials(home.absolute())
    if creds is None:
        return StudioStatus(url=None, running=False, version=None, pid=None)
    database = creds.database.url if creds.database else None
    if creds.pid is None or not is_label_studio(creds.pid, creds.port):
        return StudioStatus(url=creds.url, running=False, version=None, pid=None, database=database)
    version = _version(str(creds.url))
    running = version is not None
    return StudioStatus(creds.url, running, version, creds.pid, database=database)


def _choose_port(requested: int | None, previous: int | None) -> int:
    if requested is not None:
        if not _port_free(requested):
            raise LabelStudioError(
                f"Port {requested} on {_HOST} is in use",
                hint="Pick another --port, or leave it out to use a free one.",
            )
        return requested
    if previous is not None and _port_free(previous):
        return previous  # keep the URL of earlier runs when possible
    with socket.socket() as sock:
        sock.bind((_HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _port_free(port: int) -> bool:
    """Nothing listens on ``port``. Bound like Django's server binds (SO_REUSEADDR): closed
    connections left in TIME_WAIT by the previous server do not keep a restart off its port."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((_HOST, port))
        except OSError:
            return False
        return True


def _start(exe: Path, home: Path, creds: Credentials) -> subprocess.Popen[bytes]:
    data = home / "data"
    database = creds.database.env() if creds.database else sqlite_env(str(data))
    env = (
        clean_env()
        | database
        | {
            "LABEL_STUDIO_BASE_DATA_DIR": str(data),
            "LABEL_STUDIO_HOST": "",
            "LABEL_STUDIO_DEBUG": "false",
            "LABEL_STUDIO_USERNAME": creds.email,
            "LABEL_STUDIO_PASSWORD": creds.password,
            "LABEL_STUDIO_USER_TOKEN": creds.api_key,
            "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",  # read on the first start only
            # no outside calls: PyPI version check, Sentry, analytics
            "LABEL_STUDIO_LATEST_VERSION_CHECK": "false",
            "SENTRY_DSN": "",
            "FRONTEND_SENTRY_DSN": "",
            "COLLECT_ANALYTICS": "false",
        }
    )
    cmd = [str(exe), "start", "--no-browser", "--internal-host", _HOST, "--port", str(creds.port)]
    cmd.append("-d")  # debug: a busy port fails instead of silently moving to port+1, +2, ...
    return spawn(cmd, cwd=home, env=env, log=home / LOG_FILE)


def _wait_ready(home: Path, creds: Credentials, alive: Callable[[], bool], timeout: float) -> str:
    """Wait until /health answers, the version is right and the token works; return the version."""
    url, log, deadline = str(creds.url), home / LOG_FILE, time.monotonic() + timeout
    redact = (creds.api_key, creds.password, *([creds.database.password] if creds.database else []))
    redact = tuple(secret for secret in redact if secret)
    where, fresh = (
        (f"The database {creds.database.url}", "use an empty database")
        if creds.database
        else (str(home / "data"), f"remove {home / 'data'}")
    )
    while True:
        if not alive():
            raise LabelStudioError(
                f"Label Studio exited while starting on {url}; end of {log}:\n"
                + tail(log, redact=redact),
                hint=f"Fix the cause above (see {log}) and run `corpus studio up` again.",
            )
        health = _get(url, "health")
        version = _version(url) if health is not None and health.status_code == 200 else None
        if version is not None and version != LABEL_STUDIO_VERSION:
            raise LabelStudioError(
                f"{url} answers as Label Studio {version}, expected {LABEL_STUDIO_VERSION}",
                hint="Another server holds that port: stop it or pick another --port.",
            )
        who = _get(url, _WHOAMI, api_key=creds.api_key) if version is not None else None
        if who is not None and who.status_code == 200:
            return str(version)
        if who is not None and who.status_code in (401, 403) and alive():
            raise StudioAuthError(
                f"The local Label Studio at {url} rejects the token in {CREDENTIALS_FILE}",
                status_code=who.status_code,
                endpoint=_WHOAMI,
                hint=f"{where} was set up with other credentials: restore the matching "
                f"{CREDENTIALS_FILE}, or {fresh} to start afresh.",
            )
        if time.monotonic() > deadline:
            raise LabelStudioError(
                f"Label Studio did not answer on {url} within {timeout:.0f} s; end of {log}:\n"
                + tail(log, redact=redact),
                hint="Run `corpus studio up` again with a longer --timeout.",
            )
        time.sleep(0.5)


def _get(url: str, path: str, *, api_key: str | None = None) -> httpx.Response | None:
    headers = {"Authorization": f"Token {api_key}"} if api_key else {}
    try:
        return httpx.get(url + path, headers=headers, timeout=5.0, trust_env=False)
    except httpx.HTTPError:
        return None


def _version(url: str) -> str | None:
    response = _get(url, "api/version/")
    try:
        release = response.json().get("release") if response else None
    except (ValueError, AttributeError):
        return None
    return release if isinstance(release, str) else None


def local_connection(home: Path) -> Connection:
    """How to reach the managed server of ``home``: :class:`StudioNotRunningError` if it is down."""
    home = home.absolute()
    if (creds := load_credentials(home)) is None:
        raise StudioNotRunningError(f"No local Label Studio is set up in {home}", hint=UP_HINT)
    status = studio_status(home)
    if not status.running or status.url is None:
        raise StudioNotRunningError(
            f"The local Label Studio in {home} is not running", hint=UP_HINT
        )
    return Connection(url=status.url, api_key=creds.api_key, managed=True)
