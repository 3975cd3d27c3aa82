"""The managed server's credentials: ``<store>/studio/credentials.json`` (mode 0600).

The admin e-mail, password and API token, the port and pid of the running server, and its
database when it is PostgreSQL (password included). The passwords and token never appear in
reprs, logs or messages.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpus.atomic import write_text_atomic
from corpus.errors import LabelStudioError
from corpus.labelstudio.database import PostgresSettings
from corpus.labelstudio.venv import LABEL_STUDIO_VERSION

CREDENTIALS_FILE = "credentials.json"
LOG_FILE = "label-studio.log"
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Credentials:
    email: str
    password: str = field(repr=False)
    api_key: str = field(repr=False)
    port: int | None = None
    pid: int | None = None
    database: PostgresSettings | None = None  # None: SQLite in the data dir

    @property
    def url(self) -> str | None:
        return None if self.port is None else f"http://{HOST}:{self.port}/"


def load_credentials(home: Path) -> Credentials | None:
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
    try:
        database = (
            None if raw.get("database") is None else PostgresSettings.from_json(raw["database"])
        )
    except (KeyError, TypeError, ValueError):
        raise LabelStudioError(f"{path} has unreadable database settings", hint=hint) from None
    return Credentials(
        email=raw["email"],
        password=raw["password"],
        api_key=raw["api_key"],
        database=database,
        **ints,
    )


def save_credentials(home: Path, creds: Credentials) -> None:
    """Write ``credentials.json`` atomically, mode 0600 from its creation on."""
    data = dataclasses.asdict(creds) | {"url": creds.url, "version": LABEL_STUDIO_VERSION}
    data["database"] = creds.database.to_json() if creds.database else None
    write_text_atomic(home / CREDENTIALS_FILE, json.dumps(data, indent=2) + "\n", mode=0o600)
