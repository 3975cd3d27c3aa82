"""Which Label Studio to talk to: a team server (URL and key) or the managed local one.

:func:`open_studio` is what the CLI and Python users call: with ``url``/``api_key`` (the
CLI reads them from LABEL_STUDIO_URL / LABEL_STUDIO_API_KEY) it connects to that server,
otherwise to the store's local server, starting it (and installing it) when needed.
"""

from __future__ import annotations

import os
from pathlib import Path

from corpus.errors import LabelStudioError, StudioAuthError
from corpus.labelstudio.client import Connection, StudioClient, connect, normalize_url
from corpus.labelstudio.server import local_connection, studio_status, studio_up
from corpus.labelstudio.venv import default_venv_dir
from corpus.progress import ProgressCallback
from corpus.store import Store, as_store


def studio_home(store: Store | str | os.PathLike[str]) -> Path:
    """The managed server's folder of a store: ``<store>/studio``."""
    return as_store(store).root / "studio"


def resolve_connection(
    store: Store | str | os.PathLike[str],
    *,
    url: str | None = None,
    api_key: str | None = None,
    start: bool = False,
    venv_dir: Path | None = None,
    progress: ProgressCallback | None = None,
) -> Connection:
    """The team server when ``url`` is given (then ``api_key`` is required), else the local one.

    With ``start``, a local server that is not running is started (and installed first when
    needed); without it, :class:`~corpus.errors.StudioNotRunningError` says how to start it.
    """
    url, api_key = (url or "").strip() or None, (api_key or "").strip() or None
    if url is not None:
        if api_key is None:
            raise StudioAuthError(
                f"LABEL_STUDIO_URL is set ({Connection(url, '').display_url}) but "
                "LABEL_STUDIO_API_KEY is not",
                hint="Set LABEL_STUDIO_API_KEY to a token from Account & Settings on that "
                "server, or unset LABEL_STUDIO_URL to use the local server.",
            )
        return Connection(url=normalize_url(url), api_key=api_key, managed=False)
    if api_key is not None:  # refuse to send a team's work to the local server by mistake
        raise LabelStudioError(
            "LABEL_STUDIO_API_KEY is set but LABEL_STUDIO_URL is not",
            hint="Set LABEL_STUDIO_URL to your team's server, or unset LABEL_STUDIO_API_KEY "
            "to use the local server (`corpus studio up`).",
        )
    home = studio_home(store)
    if start and not studio_status(home).running:
        venv = venv_dir or default_venv_dir(os.environ, Path.cwd())
        return studio_up(home, venv_dir=venv, progress=progress).connection()
    return local_connection(home)


def open_studio(
    store: Store | str | os.PathLike[str],
    *,
    url: str | None = None,
    api_key: str | None = None,
    start: bool = True,
    venv_dir: Path | None = None,
    progress: ProgressCallback | None = None,
) -> StudioClient:
    """A checked client for the team server (``url``, ``api_key``) or the store's local one."""
    conn = resolve_connection(
        store, url=url, api_key=api_key, start=start, venv_dir=venv_dir, progress=progress
    )
    return connect(conn)
