"""The managed local server: Label Studio for a user with no server of their own.

Label Studio 1.23.2 runs from its own virtualenv (:mod:`corpus.labelstudio.venv`, never the
toolkit's) in the background on 127.0.0.1 with SQLite under ``<store>/studio/``: ``data/``
(Label Studio's data dir), ``credentials.json`` (admin e-mail, password, API token, port,
pid; mode 0600) and ``label-studio.log``. The API key never appears in reprs, logs or error
messages.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import signal
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
from corpus.labelstudio.venv import LABEL_STUDIO_VERSION, clean_env, ensure_venv, tail, venv_ready
from corpus.progress import Progress, ProgressCallback, Steps, drive

ADMIN_EMAIL = "admin@corpus.local"
_HOST = HOST
_WHOAMI = WHOAMI
UP_HINT = (
    "Run `corpus studio up`, or set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY for your "
    "team's server."
)
# Servers started by this process: their Popen is kept so they get reaped, never warned about.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


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
    )


@dataclass(frozen=True)
class StudioStatus:
    """What ``corpus studio status`` shows; ``url`` is None when no server was ever set up."""

    url: str | None
    running: bool
    version: str | None
    pid: int | None
    managed: bool = True


# --- the managed server -----------------------------------------------------------------------


@translate_os_errors
def studio_up(
    home: Path,
    *,
    venv_dir: Path,
    port: int | None = None,
    timeout: float = 180.0,
    progress: ProgressCallback | None = None,
) -> StudioInfo:
    """Start the managed server of ``home`` (or find it running); return how to reach it.

    Installs Label Studio into ``venv_dir`` first when needed. If the caller stops early
    (an exception from ``progress``), a server started here but not yet ready is stopped.
    """
    home = home.absolute()
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o700)
    try:
        with FileLock(str(home / ".studio.lock"), timeout=timeout):
            return drive(_up(home, venv_dir, port, timeout), progress)
    except LockTimeout:
        raise LabelStudioError(
            f"Another `corpus studio` command is using {home}",
            hint="Wait for it to finish and run the command again.",
        ) from None


def _up(home: Path, venv_dir: Path, port: int | None, timeout: float) -> Steps[StudioInfo]:
    creds = load_credentials(home)
    if creds is not None and creds.pid is not None and _ours(creds.pid, creds.port):
        pid, url = creds.pid, creds.url
        if port is not None and port != creds.port:
            raise LabelStudioError(
                f"The local Label Studio already runs at {url} (pid {pid})",
                hint="Run `corpus studio down` first to move it to another port.",
            )
        yield Progress("waiting", f"Label Studio runs (pid {pid}); checking {url}")
        version = _wait_ready(home, creds, functools.partial(_alive, pid), timeout)
        return _info(creds, home, version)
    if not venv_ready(venv_dir):
        where = venv_dir.absolute()
        yield Progress("installing", f"Installing Label Studio into {where} (first run only)")
    exe = ensure_venv(venv_dir)
    if creds is None:
        if (home / "data" / "label_studio.sqlite3").exists():
            raise LabelStudioError(
                f"{home / 'data'} holds a Label Studio database but {CREDENTIALS_FILE} is missing",
                hint=f"Restore {home / CREDENTIALS_FILE}, or remove {home / 'data'} to start "
                "afresh (this deletes the local projects and annotations).",
            )
        password, api_key = secrets.token_urlsafe(18), secrets.token_hex(20)
        creds = Credentials(email=ADMIN_EMAIL, password=password, api_key=api_key)
    for attempt in range(3):
        creds = replace(creds, port=_choose_port(port, creds.port if attempt == 0 else None))
        proc = _start(exe, home, creds)
        creds = replace(creds, pid=proc.pid)
        save_credentials(home, creds)
        try:
            yield Progress("starting", f"Starting Label Studio on {creds.url} (pid {proc.pid})")
            yield Progress("waiting", "Waiting for it to answer (first start: ~30 s)")
            version = _wait_ready(home, creds, functools.partial(_alive, proc.pid), timeout)
        except BaseException as exc:
            _terminate(proc.pid, timeout=10.0)
            creds = replace(creds, pid=None)
            save_credentials(home, creds)
            raced = port is None and "already in use" in tail(home / LOG_FILE, lines=5)
            if isinstance(exc, LabelStudioError) and raced and attempt < 2:
                continue  # someone took the free port we picked: pick another
            raise
        return _info(creds, home, version)
    raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover


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
    stopped = _ours(creds.pid, creds.port)
    if stopped:
        _terminate(creds.pid, timeout=timeout)
    save_credentials(home, replace(creds, pid=None))
    return stopped


def studio_status(home: Path) -> StudioStatus:
    """Whether the managed server of ``home`` runs and answers."""
    creds = load_credentials(home.absolute())
    if creds is None:
        return StudioStatus(url=None, running=False, version=None, pid=None)
    if creds.pid is None or not _ours(creds.pid, creds.port):
        return StudioStatus(url=creds.url, running=False, version=None, pid=None)
    version = _version(str(creds.url))
    return StudioStatus(url=creds.url, running=version is not None, version=version, pid=creds.pid)


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
    with socket.socket() as sock:
        try:
            sock.bind((_HOST, port))
        except OSError:
            return False
        return True


def _start(exe: Path, home: Path, creds: Credentials) -> subprocess.Popen[bytes]:
    data = home / "data"
    env = clean_env() | {
        "LABEL_STUDIO_BASE_DATA_DIR": str(data),
        "LABEL_STUDIO_DJANGO_DB": "sqlite",
        "LABEL_STUDIO_DATABASE_NAME": str(data / "label_studio.sqlite3"),
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
    cmd = [str(exe), "start", "--no-browser", "--internal-host", _HOST, "--port", str(creds.port)]
    cmd.append("-d")  # debug: a busy port fails instead of silently moving to port+1, +2, ...
    fd = os.open(home / LOG_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "ab") as log:
        log.write(f"\n--- corpus {time.strftime('%Y-%m-%d %H:%M:%S')}: {' '.join(cmd)}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            cmd,
            cwd=home,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # detached: survives the CLI, stopped as a group
        )
    _CHILDREN[proc.pid] = proc
    return proc


def _wait_ready(home: Path, creds: Credentials, alive: Callable[[], bool], timeout: float) -> str:
    """Wait until /health answers, the version is right and the token works; return the version."""
    url, log, deadline = str(creds.url), home / LOG_FILE, time.monotonic() + timeout
    redact = (creds.api_key, creds.password)
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
                hint=f"{home / 'data'} was set up with other credentials: restore the matching "
                f"{CREDENTIALS_FILE}, or remove {home / 'data'} to start afresh.",
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


# --- processes --------------------------------------------------------------------------------


def _alive(pid: int) -> bool:
    if (child := _CHILDREN.get(pid)) is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (not reaped by its parent yet) is dead for our purposes
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _ours(pid: int, port: int | None) -> bool:
    """The pid is alive and runs ``label-studio start`` on the recorded port (not a reused pid)."""
    if port is None or not _alive(pid):
        return False
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:  # no /proc (macOS)
        ps = ["ps", "-o", "command=", "-p", str(pid)]
        argv = subprocess.run(ps, capture_output=True, text=True, check=False).stdout.split()
    try:
        port_arg = argv[argv.index("--port") + 1]
    except (ValueError, IndexError):
        return False
    return (
        port_arg == str(port) and "start" in argv and any(a.endswith("label-studio") for a in argv)
    )


def _terminate(pid: int, *, timeout: float) -> None:
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        try:
            if os.getpgid(pid) == pid:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not _alive(pid):
            break
    if (child := _CHILDREN.pop(pid, None)) is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=5.0)


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
