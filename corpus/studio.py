"""The Label Studio server stage: a private local server, or a connection to a team server.

Without a server of their own, users get one managed here: Label Studio 1.23.2 in its own
virtualenv (never the toolkit's), run in the background on 127.0.0.1 with SQLite under
``<store>/studio/``: ``data/`` (Label Studio's data dir), ``credentials.json`` (admin e-mail,
password, API token, port, pid; mode 0600) and ``label-studio.log``.

Teams pass their server's URL and an API key (legacy token or personal access token) instead.
:func:`resolve_connection` picks one of the two, :func:`connect` builds the checked SDK client.
The API key never appears in reprs, logs or error messages.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import httpx
from filelock import FileLock
from filelock import Timeout as LockTimeout

from corpus.errors import LabelStudioError, StudioAuthError, StudioNotRunningError

if TYPE_CHECKING:
    from label_studio_sdk import LabelStudio
    from label_studio_sdk.core.api_error import ApiError

LABEL_STUDIO_VERSION = "1.23.2"
ADMIN_EMAIL = "admin@corpus.local"
VENV_MARKER = ".corpus-complete"
CREDENTIALS_FILE = "credentials.json"
LOG_FILE = "label-studio.log"

_VENV_PARTIAL = ".corpus-installing"
_VENV_LOCK = ".corpus.lock"
_HOST = "127.0.0.1"
_WHOAMI = "api/current-user/whoami"
_UP_HINT = (
    "Run `corpus studio up`, or set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY for your "
    "team's server."
)
# Inherited variables that would reconfigure the embedded server or its interpreter.
_STRIP_PREFIXES = ("LABEL_STUDIO_", "HEARTEX_")
_STRIP_NAMES = frozenset({"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "DJANGO_SETTINGS_MODULE"})
# Servers started by this process: their Popen is kept so they get reaped, never warned about.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class Connection:
    """Where Label Studio runs and the key to use; ``managed`` is True for the local server."""

    url: str
    api_key: str = field(repr=False)
    managed: bool = False


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


@dataclass(frozen=True)
class StudioStatus:
    """What ``corpus studio status`` shows; ``url`` is None when no server was ever set up."""

    url: str | None
    running: bool
    version: str | None
    pid: int | None
    managed: bool = True


@dataclass(frozen=True)
class StudioEvent:
    """Progress of :func:`studio_up_iter`; the last one (``ready``) carries the info."""

    step: Literal["installing", "starting", "waiting", "ready"]
    message: str
    info: StudioInfo | None = None


@dataclass(frozen=True)
class _Credentials:
    email: str
    password: str = field(repr=False)
    api_key: str = field(repr=False)
    port: int | None = None
    pid: int | None = None

    @property
    def url(self) -> str | None:
        return None if self.port is None else f"http://{_HOST}:{self.port}/"

    def info(self, home: Path, version: str) -> StudioInfo:
        assert self.pid is not None and self.url is not None
        return StudioInfo(
            url=self.url,
            version=version,
            pid=self.pid,
            email=self.email,
            password_file=home / CREDENTIALS_FILE,
            data_dir=home / "data",
            log_file=home / LOG_FILE,
            api_key=self.api_key,
        )


# --- virtualenv -------------------------------------------------------------------------------


def default_venv_dir(env: Mapping[str, str], cwd: Path) -> Path:
    """``$CORPUS_STUDIO_VENV`` (relative to ``cwd``) or ``<cwd>/.venv-labelstudio``."""
    value = env.get("CORPUS_STUDIO_VENV", "").strip()
    return cwd / Path(value).expanduser() if value else cwd / ".venv-labelstudio"


def label_studio_executable(venv_dir: Path) -> Path:
    return venv_dir.absolute() / "bin" / "label-studio"


def venv_ready(venv_dir: Path) -> bool:
    """True when ``venv_dir`` holds a complete install of Label Studio 1.23.2."""
    try:
        marker = (venv_dir / VENV_MARKER).read_text(encoding="utf-8").strip()
    except OSError:
        return False
    return marker == LABEL_STUDIO_VERSION and label_studio_executable(venv_dir).is_file()


def ensure_venv(venv_dir: Path, *, python: str | None = None) -> Path:
    """Install Label Studio into its own virtualenv unless done; return ``label-studio``'s path.

    The marker is written last, so an interrupted install is found and redone. A folder not
    made here is left alone (error). Concurrent calls wait for each other (file lock).
    """
    venv_dir, exe = venv_dir.absolute(), label_studio_executable(venv_dir)
    if venv_ready(venv_dir):
        return exe
    venv_dir.mkdir(parents=True, exist_ok=True)
    _check_ours(venv_dir)  # before locking: no lock file left in someone else's folder
    with FileLock(str(venv_dir / _VENV_LOCK)):
        if venv_ready(venv_dir):
            return exe
        _check_ours(venv_dir)
        leftovers = [p for p in venv_dir.iterdir() if p.name != _VENV_LOCK]
        for path in leftovers:  # our half-made (or other-version) venv: start over
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        (venv_dir / _VENV_PARTIAL).write_text(LABEL_STUDIO_VERSION + "\n", encoding="utf-8")
        log = venv_dir / "corpus-install.log"
        _run_logged([python or sys.executable, "-m", "venv", str(venv_dir)], log)
        pip = [str(venv_dir / "bin" / "python"), "-m", "pip", "install"]
        pip += ["--no-input", "--disable-pip-version-check"]
        _run_logged([*pip, f"label-studio=={LABEL_STUDIO_VERSION}"], log)
        if not exe.is_file():
            raise LabelStudioError(f"pip finished but {exe} is missing", hint=f"See {log}.")
        (venv_dir / VENV_MARKER).write_text(LABEL_STUDIO_VERSION + "\n", encoding="utf-8")
        (venv_dir / _VENV_PARTIAL).unlink()
    return exe


def _check_ours(venv_dir: Path) -> None:
    names = {p.name for p in venv_dir.iterdir()} - {_VENV_LOCK}
    if names and not names & {_VENV_PARTIAL, VENV_MARKER}:
        raise LabelStudioError(
            f"{venv_dir} exists but is not a Label Studio virtualenv made by corpus",
            hint="Remove that folder, or point CORPUS_STUDIO_VENV at a new one.",
        )


def _run_logged(cmd: list[str], log: Path) -> None:
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(cmd)}\n".encode())
        out.flush()
        run = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=_env())
    if run.returncode != 0:
        raise LabelStudioError(
            f"`{' '.join(cmd[-3:])}` failed (exit {run.returncode}); end of {log}:\n{_tail(log)}",
            hint="Fix the cause (network, pip settings, Python version) and run `corpus studio "
            "up` again; the unfinished virtualenv is redone.",
        )


def _env() -> dict[str, str]:
    environ = os.environ.items()
    return {k: v for k, v in environ if k not in _STRIP_NAMES and not k.startswith(_STRIP_PREFIXES)}


# --- the managed server -----------------------------------------------------------------------


def studio_up(
    home: Path, *, venv_dir: Path, port: int | None = None, timeout: float = 180.0
) -> StudioInfo:
    """Start the managed server of ``home`` (or find it running); return how to reach it."""
    with contextlib.closing(
        studio_up_iter(home, venv_dir=venv_dir, port=port, timeout=timeout)
    ) as events:
        for event in events:
            if event.info is not None:
                return event.info
    raise RuntimeError("studio_up_iter ended without a ready event")  # pragma: no cover


def studio_up_iter(
    home: Path, *, venv_dir: Path, port: int | None = None, timeout: float = 180.0
) -> Generator[StudioEvent, None, None]:
    """:func:`studio_up`, yielding progress; the last event carries the :class:`StudioInfo`.

    Closing the iterator early stops a server it started but has not yet seen ready.
    """
    home = home.absolute()
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o700)
    try:
        with FileLock(str(home / ".studio.lock"), timeout=timeout):
            yield from _up(home, venv_dir, port, timeout)
    except LockTimeout:
        raise LabelStudioError(
            f"Another `corpus studio` command is using {home}",
            hint="Wait for it to finish and run the command again.",
        ) from None


def _up(home: Path, venv_dir: Path, port: int | None, timeout: float) -> Iterator[StudioEvent]:
    creds = _load_credentials(home)
    if creds is not None and creds.pid is not None and _ours(creds.pid, creds.port):
        pid, url = creds.pid, creds.url
        if port is not None and port != creds.port:
            raise LabelStudioError(
                f"The local Label Studio already runs at {url} (pid {pid})",
                hint="Run `corpus studio down` first to move it to another port.",
            )
        yield StudioEvent("waiting", f"Label Studio runs (pid {pid}); checking {url}")
        version = _wait_ready(home, creds, functools.partial(_alive, pid), timeout)
        yield StudioEvent(
            "ready", f"Label Studio {version} runs at {url}", creds.info(home, version)
        )
        return
    if not venv_ready(venv_dir):
        where = venv_dir.absolute()
        yield StudioEvent("installing", f"Installing Label Studio into {where} (first run only)")
    exe = ensure_venv(venv_dir)
    if creds is None:
        if (home / "data" / "label_studio.sqlite3").exists():
            raise LabelStudioError(
                f"{home / 'data'} holds a Label Studio database but {CREDENTIALS_FILE} is missing",
                hint=f"Restore {home / CREDENTIALS_FILE}, or remove {home / 'data'} to start "
                "afresh (this deletes the local projects and annotations).",
            )
        password, api_key = secrets.token_urlsafe(18), secrets.token_hex(20)
        creds = _Credentials(email=ADMIN_EMAIL, password=password, api_key=api_key)
    for attempt in range(3):
        creds = replace(creds, port=_choose_port(port, creds.port if attempt == 0 else None))
        proc = _start(exe, home, creds)
        creds = replace(creds, pid=proc.pid)
        _save_credentials(home, creds)
        try:
            yield StudioEvent("starting", f"Starting Label Studio on {creds.url} (pid {proc.pid})")
            yield StudioEvent("waiting", "Waiting for it to answer (first start: ~30 s)")
            version = _wait_ready(home, creds, functools.partial(_alive, proc.pid), timeout)
        except BaseException as exc:
            _terminate(proc.pid, timeout=10.0)
            creds = replace(creds, pid=None)
            _save_credentials(home, creds)
            raced = port is None and "already in use" in _tail(home / LOG_FILE, lines=5)
            if isinstance(exc, LabelStudioError) and raced and attempt < 2:
                continue  # someone took the free port we picked: pick another
            raise
        yield StudioEvent(
            "ready", f"Label Studio {version} runs at {creds.url}", creds.info(home, version)
        )
        return


def studio_down(home: Path, *, timeout: float = 30.0) -> bool:
    """Stop the managed server of ``home``; True if one was running.

    Only the recorded pid is signalled, and only while its command line is ``label-studio
    start --port <recorded port>``: its process group gets SIGTERM, then SIGKILL.
    """
    home = home.absolute()
    creds = _load_credentials(home)
    if creds is None or creds.pid is None:
        return False
    stopped = _ours(creds.pid, creds.port)
    if stopped:
        _terminate(creds.pid, timeout=timeout)
    _save_credentials(home, replace(creds, pid=None))
    return stopped


def studio_status(home: Path) -> StudioStatus:
    """Whether the managed server of ``home`` runs and answers."""
    creds = _load_credentials(home.absolute())
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


def _start(exe: Path, home: Path, creds: _Credentials) -> subprocess.Popen[bytes]:
    data = home / "data"
    env = _env() | {
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


def _wait_ready(home: Path, creds: _Credentials, alive: Callable[[], bool], timeout: float) -> str:
    """Wait until /health answers, the version is right and the token works; return the version."""
    url, log, deadline = str(creds.url), home / LOG_FILE, time.monotonic() + timeout
    redact = (creds.api_key, creds.password)
    while True:
        if not alive():
            raise LabelStudioError(
                f"Label Studio exited while starting on {url}; end of {log}:\n"
                + _tail(log, redact=redact),
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
                + _tail(log, redact=redact),
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


def _tail(path: Path, *, lines: int = 20, redact: tuple[str, ...] = ()) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(max(0, path.stat().st_size - 65536))
            text = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return "(no log)"
    for secret in redact:
        text = text.replace(secret, "***")
    return "\n".join(text.splitlines()[-lines:])


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


# --- credentials ------------------------------------------------------------------------------


def _load_credentials(home: Path) -> _Credentials | None:
    path = home / CREDENTIALS_FILE
    hint = f"Restore {path}, or remove it and {home / 'data'} to start afresh."
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise LabelStudioError(f"Cannot read {path}: {type(exc).__name__}", hint=hint) from None
    if not isinstance(raw, dict) or not all(
        isinstance(raw.get(k), str) for k in ("email", "password", "api_key")
    ):
        raise LabelStudioError(f"{path} is not a corpus credentials file", hint=hint)
    ints = {k: raw[k] if isinstance(raw.get(k), int) else None for k in ("port", "pid")}
    return _Credentials(
        email=raw["email"], password=raw["password"], api_key=raw["api_key"], **ints
    )


def _save_credentials(home: Path, creds: _Credentials) -> None:
    """Write ``credentials.json`` atomically, mode 0600 from its creation on."""
    data = dataclasses.asdict(creds) | {"url": creds.url, "version": LABEL_STUDIO_VERSION}
    tmp = home / f".{CREDENTIALS_FILE}.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(data, indent=2) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(home / CREDENTIALS_FILE)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# --- connections ------------------------------------------------------------------------------


def resolve_connection(*, home: Path, url: str | None, api_key: str | None) -> Connection:
    """The team server when ``url`` is given (then ``api_key`` is required), else the local one.

    ``url``/``api_key`` come from LABEL_STUDIO_URL / LABEL_STUDIO_API_KEY (read by the CLI).
    """
    url, api_key = (url or "").strip() or None, (api_key or "").strip() or None
    if url is not None:
        if api_key is None:
            raise StudioAuthError(
                f"LABEL_STUDIO_URL is set ({url}) but LABEL_STUDIO_API_KEY is not",
                hint="Set LABEL_STUDIO_API_KEY to a token from Account & Settings on that "
                "server, or unset LABEL_STUDIO_URL to use the local server.",
            )
        return Connection(url=_normalize_url(url), api_key=api_key, managed=False)
    if api_key is not None:  # refuse to send a team's work to the local server by mistake
        raise LabelStudioError(
            "LABEL_STUDIO_API_KEY is set but LABEL_STUDIO_URL is not",
            hint="Set LABEL_STUDIO_URL to your team's server, or unset LABEL_STUDIO_API_KEY "
            "to use the local server (`corpus studio up`).",
        )
    home = home.absolute()
    if (creds := _load_credentials(home)) is None:
        raise StudioNotRunningError(f"No local Label Studio is set up in {home}", hint=_UP_HINT)
    status = studio_status(home)
    if not status.running or status.url is None:
        raise StudioNotRunningError(
            f"The local Label Studio in {home} is not running", hint=_UP_HINT
        )
    return Connection(url=status.url, api_key=creds.api_key, managed=True)


def _normalize_url(url: str) -> str:
    try:
        parsed = httpx.URL(url) if "://" in url else None
    except httpx.InvalidURL:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise LabelStudioError(
            f"LABEL_STUDIO_URL is not an http(s) URL: {url!r}",
            hint="Use the address you open in the browser, e.g. https://labelstudio.example.org/.",
        )
    return url if url.endswith("/") else url + "/"  # the SDK urljoins the PAT refresh path


def connect(conn: Connection, *, timeout: float = 60.0) -> LabelStudio:
    """An SDK client for ``conn``, checked once (whoami) so a bad URL or key fails here.

    Legacy tokens are sent as ``Token``; a personal access token (JWT) is exchanged by the SDK.
    """
    from label_studio_sdk import LabelStudio
    from label_studio_sdk.core.api_error import ApiError

    url = _normalize_url(conn.url)
    try:
        client = LabelStudio(base_url=url, api_key=conn.api_key, timeout=timeout)  # type: ignore[no-untyped-call]
        client.users.whoami(request_options={"max_retries": 0, "timeout": min(timeout, 30.0)})
    except ApiError as exc:
        raise wrap_api_error(exc, _WHOAMI, url=url) from None
    except (httpx.ConnectError, httpx.TimeoutException) as exc:
        kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "was refused"
        raise StudioNotRunningError(
            f"No Label Studio answers at {url} (the connection {kind})", endpoint=_WHOAMI
        ) from None
    except httpx.HTTPError as exc:
        raise LabelStudioError(
            f"Cannot talk to Label Studio at {url}: {type(exc).__name__}", endpoint=_WHOAMI
        ) from None
    except ValueError:  # not JSON, or not the expected JSON
        raise LabelStudioError(
            f"{url} does not answer like a Label Studio server",
            endpoint=_WHOAMI,
            hint="Check LABEL_STUDIO_URL: it is the address you open in the browser.",
        ) from None
    return client


def wrap_api_error(exc: ApiError, endpoint: str, *, url: str | None = None) -> LabelStudioError:
    """Our error for an SDK ``ApiError``: status, endpoint and the server's detail only.

    ``str(exc)`` is never used: it carries the response headers (a fresh session cookie).
    """
    status: int | None = exc.status_code
    message = f"Label Studio{f' at {url}' if url else ''} answered {status} to {endpoint}"
    if detail := _detail(exc.body):
        message += f": {detail}"
    if status == 401:
        return StudioAuthError(message, status_code=status, endpoint=endpoint)
    if status == 403:
        hint = "The API key's user may not do this; use an administrator's key."
        return StudioAuthError(message, status_code=status, endpoint=endpoint, hint=hint)
    return LabelStudioError(message, status_code=status, endpoint=endpoint)


def _detail(body: object) -> str:
    text = "" if body is None else str(body)
    if isinstance(body, dict):
        parts = [str(body["detail"])] if body.get("detail") else []
        errors = body.get("validation_errors")
        for name, problems in errors.items() if isinstance(errors, dict) else ():
            problems = problems if isinstance(problems, list) else [problems]
            parts.append(f"[{name}] {'; '.join(map(str, problems))}")
        text = " ".join(parts) or json.dumps(body, default=str)
    elif isinstance(body, str) and body.lstrip().startswith("<"):
        text = "(an HTML page, not the Label Studio API)"
    return text if len(text) <= 500 else text[:497] + "..."
