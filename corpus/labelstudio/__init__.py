"""Everything that talks to Label Studio, and nothing else does.

* :mod:`corpus.labelstudio.client`: :class:`StudioClient`, typed calls over label-studio-sdk
  with our errors and one retry policy;
* :mod:`corpus.labelstudio.server`: the managed local server (process and credentials);
* :mod:`corpus.labelstudio.database`: its database, SQLite or :class:`PostgresSettings`;
* :mod:`corpus.labelstudio.venv`: Label Studio's own virtualenv;
* :mod:`corpus.labelstudio.session`: which server to use (:func:`open_studio`);
* :mod:`corpus.labelstudio.config`: the labelling config generated from the label schema.
"""

from __future__ import annotations

from corpus.labelstudio.calls import retrying
from corpus.labelstudio.client import (
    Connection,
    ProjectInfo,
    StudioClient,
    TaskRef,
    UserInfo,
    connect,
)
from corpus.labelstudio.database import PostgresSettings
from corpus.labelstudio.server import (
    StudioInfo,
    StudioStatus,
    local_connection,
    studio_down,
    studio_status,
    studio_up,
)
from corpus.labelstudio.session import open_studio, resolve_connection, studio_home
from corpus.labelstudio.venv import LABEL_STUDIO_VERSION, default_venv_dir, ensure_venv

__all__ = [
    "LABEL_STUDIO_VERSION",
    "Connection",
    "PostgresSettings",
    "ProjectInfo",
    "StudioClient",
    "StudioInfo",
    "StudioStatus",
    "TaskRef",
    "UserInfo",
    "connect",
    "default_venv_dir",
    "ensure_venv",
    "local_connection",
    "open_studio",
    "resolve_connection",
    "retrying",
    "studio_down",
    "studio_home",
    "studio_status",
    "studio_up",
]
