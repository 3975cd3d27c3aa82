"""``store.json``: the store's id, the highest version number issued and the Label Studio
servers the store has talked to.

Values are only ever added, so reading needs no lock; :func:`update_meta` re-reads and
writes atomically and is called under the store lock (by :class:`corpus.store.Store`).

The store's identity is minted once, when ``store.json`` is first written into a store
that holds no rounds. A store that holds rounds but no ``store.json`` lost its identity:
its Label Studio projects carry the old one, so a new one would disown them; it is refused
with a hint to restore the file (issue 18). A ``store.json`` that is not what this module
writes (wrong types) is refused too, never silently replaced.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from corpus.atomic import write_json_atomic
from corpus.errors import StoreError
from corpus.store.numbers import is_version, parse_version

STORE_FILE = "store.json"
_RESTORE = (
    "Restore it from a backup. Its store_id is also in the description of every Label "
    'Studio project of this store (the line "corpus-store: <id>"): write '
    '{"store_id": "<id>"} into store.json to restore the identity.'
)


class _Server(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    first_url: str
    first_seen: str


class _Meta(BaseModel):
    """What ``store.json`` holds (extra keys are kept, for newer versions of corpus)."""

    model_config = ConfigDict(extra="allow", strict=True)

    store_id: str | None = None
    created: str | None = None
    last_version: str | None = None
    servers: dict[str, _Server] = {}


def read_meta(root: Path) -> dict[str, Any]:
    """The store's ``store.json`` ({} before the first write); :class:`StoreError` when it
    does not parse or holds values of the wrong type."""
    path = root / STORE_FILE
    try:
        value = json.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise StoreError(f"{path} is damaged ({exc})", path=path, hint=_RESTORE) from None
    if not isinstance(value, dict):
        raise StoreError(
            f"{path} is damaged: it holds a JSON {type(value).__name__}, not an object",
            path=path,
            hint=_RESTORE,
        )
    try:
        _Meta.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise StoreError(
            f"{path} is damaged: {where}: {first['msg']}", path=path, hint=_RESTORE
        ) from None
    last = value.get("last_version")
    if last is not None and not is_version(last):
        raise StoreError(
            f"{path} is damaged: last_version {last!r} is not a version number",
            path=path,
            hint=_RESTORE,
        )
    return value


def holds_rounds(root: Path) -> bool:
    """Whether the store has started rounds (each owns Label Studio projects)."""
    rounds = root / "rounds"
    return rounds.is_dir() and any(p.is_dir() for p in rounds.iterdir())


def lost_identity(root: Path) -> StoreError:
    path = root / STORE_FILE
    return StoreError(
        f"{path} is missing, but the store holds rounds: its identity is lost, and a new "
        "one would disown the store's Label Studio projects",
        path=path,
        hint=_RESTORE,
    )


def update_meta(root: Path, change: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """Apply ``change`` to a fresh read of ``store.json`` and write it back (with the store's
    id and creation time set once, see the module doc) when ``change`` says it changed
    something. The caller holds the store lock."""
    meta = read_meta(root)
    if change(meta):
        if "store_id" not in meta:
            if holds_rounds(root):
                raise lost_identity(root)
            meta["store_id"] = uuid.uuid4().hex
        meta.setdefault("created", now())
        write_json_atomic(root / STORE_FILE, meta)
    return meta


def record_version(root: Path, version: str) -> None:
    """Remember the highest version number used (the caller holds the lock)."""

    def raise_last(meta: dict[str, Any]) -> bool:
        last = meta.get("last_version")
        if last is not None and parse_version(version) <= parse_version(last):
            return False
        meta["last_version"] = version
        return True

    update_meta(root, raise_last)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
