"""Label Studio's own virtualenv: installed once, never the toolkit's environment.

Label Studio 1.23.2 pins its own SDK, Django and ``pyarrow<25``; it lives in a separate
virtualenv (``.venv-labelstudio/`` or ``$CORPUS_STUDIO_VENV``) that :func:`ensure_venv`
makes on first use (about 10 s with uv, 50 s with pip) and later only checks. It installs from
a pinned requirements file with hashes (:data:`REQUIREMENTS`, refreshed by
``scripts/lock-label-studio``) so that an upstream release (``sentry-sdk`` 3, ``pandas`` 3)
cannot break it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from filelock import FileLock

from corpus.errors import LabelStudioError

LABEL_STUDIO_VERSION = "1.23.2"
REQUIREMENTS = Path(__file__).with_name(f"requirements-label-studio-{LABEL_STUDIO_VERSION}.txt")
VENV_MARKER = ".corpus-complete"
_VENV_PARTIAL = ".corpus-installing"
_VENV_LOCK = ".corpus.lock"
# Inherited variables that would reconfigure the embedded server or its interpreter.
_STRIP_PREFIXES = ("LABEL_STUDIO_", "HEARTEX_")
_STRIP_NAMES = frozenset({"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "DJANGO_SETTINGS_MODULE"})


def default_venv_dir(env: Mapping[str, str], cwd: Path) -> Path:
    """``$CORPUS_STUDIO_VENV`` (relative to ``cwd``) or ``<cwd>/.venv-labelstudio``."""
    value = env.get("CORPUS_STUDIO_VENV", "").strip()
    return cwd / Path(value).expanduser() if value else cwd / ".venv-labelstudio"


def label_studio_executable(venv_dir: Path) -> Path:
    return venv_dir.absolute() / "bin" / "label-studio"


def install_id() -> str:
    """What a complete install's marker holds: the version and the requirements file's sha256.

    A virtualenv installed from another (or no) requirements file is not ready: redone.
    """
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    return f"{LABEL_STUDIO_VERSION} sha256:{digest}"


def venv_ready(venv_dir: Path) -> bool:
    """True when ``venv_dir`` holds a complete install of Label Studio 1.23.2 from the pinned
    requirements file as it is now."""
    try:
        marker = (venv_dir / VENV_MARKER).read_text(encoding="utf-8").strip()
    except OSError:
        return False
    return marker == install_id() and label_studio_executable(venv_dir).is_file()


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
        (venv_dir / _VENV_PARTIAL).write_text(install_id() + "\n", encoding="utf-8")
        log = venv_dir / "corpus-install.log"
        for cmd in install_commands(venv_dir, python or sys.executable, find_uv()):
            _run_logged(cmd, log)
        if not exe.is_file():
            raise LabelStudioError(f"the install finished but {exe} is missing", hint=f"See {log}.")
        (venv_dir / VENV_MARKER).write_text(install_id() + "\n", encoding="utf-8")
        (venv_dir / _VENV_PARTIAL).unlink()
    return exe


def find_uv() -> str | None:
    """uv beside the running interpreter (``scripts/setup`` puts it in ``.venv``), else on PATH."""
    beside = Path(sys.executable).with_name("uv")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("uv")


def install_commands(venv_dir: Path, python: str, uv: str | None) -> list[list[str]]:
    """Make the virtualenv and install exactly the pinned file (hashes required, nothing else
    resolved): with uv when there is one (about 8 s against pip's 50 s here), else venv + pip."""
    requirements = ["--require-hashes", "--no-deps", "-r", str(REQUIREMENTS)]
    venv_python = str(venv_dir / "bin" / "python")
    if uv is not None:
        return [
            [uv, "venv", "--quiet", "--allow-existing", "--python", python, str(venv_dir)],
            # compiled now: pip does it by default, uv only when asked, and without .pyc files
            # (PYTHONDONTWRITEBYTECODE) every server start compiles Django again (2.9 s
            # against 6.5 s for `label-studio version`)
            [
                uv,
                "pip",
                "install",
                "--quiet",
                "--compile-bytecode",
                "--python",
                venv_python,
                *requirements,
            ],
        ]
    pip = [venv_python, "-m", "pip", "install", "--no-input", "--disable-pip-version-check"]
    return [[python, "-m", "venv", str(venv_dir)], [*pip, *requirements]]


def tail(path: Path, *, lines: int = 20, redact: tuple[str, ...] = ()) -> str:
    """The last lines of a log file, with secrets replaced by ``***``."""
    try:
        with path.open("rb") as fh:
            fh.seek(max(0, path.stat().st_size - 65536))
            text = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return "(no log)"
    for secret in redact:
        text = text.replace(secret, "***")
    return "\n".join(text.splitlines()[-lines:])


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
        run = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=clean_env())
    if run.returncode != 0:
        raise LabelStudioError(
            f"`{' '.join(cmd[-3:])}` failed (exit {run.returncode}); end of {log}:\n{tail(log)}",
            hint="Fix the cause (network, pip settings, Python version) and run `corpus studio "
            "up` again; the unfinished virtualenv is redone.",
        )


def clean_env() -> dict[str, str]:
    environ = os.environ.items()
    return {k: v for k, v in environ if k not in _STRIP_NAMES and not k.startswith(_STRIP_PREFIXES)}
