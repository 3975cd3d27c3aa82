"""``store.json``: the store's id, the highest version number issued and the Label Studio
servers the store has talked to.

Values are only ever added, so reading needs no lock; :func:`update_meta` re-reads and
writes atomically and is called under the store lock (by :class:`corpus.store.Store`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from corpus.atomic import write_json_atomic
from corpus.errors import StoreError

STORE_FILE = "store.json"


def read_meta(root: Path) -> dict[str, Any]:
    """The store's ``store.json`` ({} before the first write)."""
    path = root / STORE_FILE
    try:
        value = json.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise StoreError(
            f"{path} is damaged ({exc})",
            path=path,
            hint="Restore it from a backup; it holds the store's id and last version.",
        ) from None
    return value if isinstance(value, dict) else {}


def update_meta(root: Path, change: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """Apply ``change`` to a fresh read of ``store.json`` and write it back (with the store's
    id and creation time set once) when ``change`` says it changed something. The caller
    holds the store lock."""
    meta = read_meta(root)
    if change(meta):
        meta.setdefault("store_id", uuid.uuid4().hex)
        meta.setdefault("created", now())
        write_json_atomic(root / STORE_FILE, meta)
    return meta


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
