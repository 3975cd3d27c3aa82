"""Label Studio's virtualenv installs from a pinned requirements file with hashes, so an
upstream release cannot break it: ``sentry-sdk`` 3.0 made every ``label-studio`` command run
with a non-empty ``SENTRY_DSN`` fail (``Unknown option 'send_default_pii'``)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from corpus.labelstudio import LABEL_STUDIO_VERSION
from corpus.labelstudio.venv import (
    REQUIREMENTS,
    VENV_MARKER,
    clean_env,
    find_uv,
    install_commands,
    install_id,
    label_studio_executable,
    venv_ready,
)

# One pinned package: its name, ``==version`` and optional environment marker, then its hashes.
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)(?: ;[^\\]*)? \\$")


def _pins() -> dict[str, tuple[str, list[str]]]:
    """``{name: (version, [sha256, ...])}`` from the requirements file; every line accounted."""
    pins: dict[str, tuple[str, list[str]]] = {}
    name = ""
    for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if pin := _PIN.match(line):
            name = pin[1].lower()
            assert name not in pins, f"{name} pinned twice"
            pins[name] = (pin[2], [])
        else:
            hash_line = re.fullmatch(r"    --hash=sha256:([0-9a-f]{64})(?: \\)?", line)
            assert hash_line and name, f"unexpected line in {REQUIREMENTS.name}: {line!r}"
            pins[name][1].append(hash_line[1])
    return pins


def test_requirements_pin_every_package_with_hashes() -> None:
    pins = _pins()
    assert len(pins) >= 100
    assert pins["label-studio"][0] == LABEL_STUDIO_VERSION
    assert pins["sentry-sdk"][0].startswith("2.")
    assert pins["pandas"][0].startswith("2.")
    assert all(hashes for _, hashes in pins.values()), "a package without a hash"


def test_a_venv_installed_otherwise_is_not_ready(tmp_path: Path) -> None:
    """A virtualenv from before the pinned file (its marker holds only the version) or from an
    older file is reinstalled; one from this file is kept."""
    exe = label_studio_executable(tmp_path)
    exe.parent.mkdir()
    exe.write_text("", encoding="utf-8")
    for stale in (LABEL_STUDIO_VERSION, f"{LABEL_STUDIO_VERSION} sha256:{'0' * 64}"):
        (tmp_path / VENV_MARKER).write_text(stale + "\n", encoding="utf-8")
        assert not venv_ready(tmp_path)
    (tmp_path / VENV_MARKER).write_text(install_id() + "\n", encoding="utf-8")
    assert venv_ready(tmp_path)


@pytest.mark.studio
def test_label_studio_version_runs_with_a_sentry_dsn(studio_venv: Path, tmp_path: Path) -> None:
    """Sentry on (a DSN that points nowhere: the discard port on 127.0.0.1); the server
    `corpus` starts still gets an empty one."""
    env = clean_env() | {
        "SENTRY_DSN": "https://public@127.0.0.1:9/1",
        "LABEL_STUDIO_BASE_DATA_DIR": str(tmp_path),
        "LABEL_STUDIO_LATEST_VERSION_CHECK": "false",
        "COLLECT_ANALYTICS": "false",
    }
    done = subprocess.run(
        [str(label_studio_executable(studio_venv)), "version"],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert LABEL_STUDIO_VERSION in done.stdout, output[-3000:]
    assert "send_default_pii" not in output


def test_both_installers_take_only_the_pinned_file(tmp_path: Path) -> None:
    """With uv (beside the toolkit's interpreter, as scripts/setup installs it) or with pip,
    the install is the pinned file with hashes required and nothing else resolved."""
    for uv in ("/opt/uv", None):
        make, install = install_commands(tmp_path, "/usr/bin/python3", uv)
        assert str(tmp_path) in make and "/usr/bin/python3" in make
        assert install[-4:] == ["--require-hashes", "--no-deps", "-r", str(REQUIREMENTS)]
        assert str(tmp_path / "bin" / "python") in install
        assert (install[0] == "/opt/uv") is (uv is not None)
        # pip compiles to bytecode by default; uv is asked to (a server start depends on it)
        assert ("--compile-bytecode" in install) is (uv is not None)


def test_the_toolkit_venv_has_uv_for_the_studio_install() -> None:
    """scripts/setup puts uv in .venv; the session's Label Studio venv is installed with it."""
    assert find_uv() is not None
