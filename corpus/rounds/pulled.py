"""What pulls left in a store: a round's pulled versions and rows, the export archive, and
the keys of annotator pseudonyms.

Everything here reads or writes the store only; :mod:`corpus.rounds.pull` talks to Label
Studio and commits a pull.
"""

from __future__ import annotations

import gzip
import secrets
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from corpus.atomic import TMP_SUFFIX, create_bytes_atomic, write_bytes_atomic
from corpus.errors import RoundError, StoreError, os_error
from corpus.ids import bytes_sha256, canonical_json, hash_hex, row_hash
from corpus.labelstudio import StudioClient
from corpus.rounds.convert import Reject, pseudonym
from corpus.rounds.state import RoundState, load_round
from corpus.store import Store


@dataclass
class PulledRound:
    """A round's rows in its latest pulled version."""

    state: RoundState
    version: str
    annotations: list[dict[str, Any]]
    spans: list[dict[str, Any]]


def pulled_round(store: Store, name: str) -> PulledRound:
    """The annotations and spans of a round's latest pull (clear errors when there are none)."""
    state = load_round(store.root, name)
    pulled = pulled_versions(store, name)
    if not pulled:
        raise RoundError(
            f"round {name!r} has no pulled annotations yet",
            hint=f"Run `corpus round pull {name}` first.",
        )
    version = pulled[-1]
    if not {"annotations", "spans"} <= store.manifest(version).tables.keys():
        raise RoundError(
            f"version {version} has no annotations or spans table",
            hint=f"Run `corpus round pull {name}` again.",
        )

    def rows(table: str) -> list[dict[str, Any]]:
        return [r for r in store.iter_rows(version, table) if r["round"] == name]

    annotations = rows("annotations")
    if not annotations:
        raise RoundError(
            f"version {version} holds no annotations of round {name!r}",
            hint=f"Label some tasks in Label Studio, then run `corpus round pull {name}`.",
        )
    return PulledRound(state, version, annotations, rows("spans"))


KEY_FILE = ".pseudonym-key"
KEY_BYTES = 32


def pseudonym_key(store: Store) -> bytes:
    """The store's secret for annotator pseudonyms: created once, atomically (a temporary
    file, fsync, link: a crash leaves no key or the whole key), user-only permissions.

    An existing key of the wrong length (empty or truncated) is a :class:`StoreError`, never
    replaced: a new key would change every pseudonym the store has published.
    """
    path = store.root / KEY_FILE
    if not path.exists():
        store.root.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(KEY_BYTES)  # of two writers, the first link wins
        create_bytes_atomic(path, key, mode=0o600, fault="key:before-link")
    try:
        key = path.read_bytes()
    except OSError as exc:
        raise os_error(exc, f"read the pseudonym key {path}") from None
    if len(key) != KEY_BYTES:
        raise StoreError(
            f"the pseudonym key {path} holds {len(key)} bytes, not {KEY_BYTES}: it is damaged",
            path=path,
            hint="Restore it from a backup of the store. Do not delete it: a new key changes "
            "every annotator pseudonym, so pulled rows and published releases would no longer "
            "match.",
        )
    return key


def archive_export(folder: Path, raw: bytes) -> Path:
    """Keep the export unchanged (gzip) so nothing a person labelled is ever lost.

    Written atomically (a killed run leaves only a hidden ``.tmp`` file, removed by the next
    one); the same export is archived once (its sha256 is in the file name).
    """
    folder.mkdir(parents=True, exist_ok=True)
    digest = bytes_sha256(raw)
    existing = sorted(folder.glob(f"*-{digest[:16]}.json.gz"))
    if existing:
        return existing[-1]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = folder / f"{stamp}-{digest[:16]}.json.gz"
    write_bytes_atomic(path, gzip.compress(raw, compresslevel=6, mtime=0), mode=0o444)
    return path


def archive_in_background(folder: Path, raw: bytes) -> Future[Path]:
    """:func:`archive_export` in a thread while the export is parsed and checked.

    zlib lets go of the GIL, so gzip runs on another core. The thread is not a daemon: the
    archive is completed whatever the caller does next, even if it fails or stops early.
    """
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="corpus-archive")
    try:
        return pool.submit(archive_export, folder, raw)
    finally:
        pool.shutdown(wait=False)


def remove_leftovers(folder: Path) -> list[Path]:
    """Delete the temporary files killed runs left in a round folder (the caller holds the
    store lock, so no live writer owns them)."""
    removed = []
    for pattern in (f".*{TMP_SUFFIX}", "*.json.tmp"):
        for path in folder.rglob(pattern):
            if path.is_file():
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def pulled_versions(store: Store, name: str) -> list[str]:
    """The versions a pull of round ``name`` wrote, oldest first (read from their manifests,
    so a crash between writing a version and the round's state loses nothing)."""
    return [
        v
        for v in store.version_names()
        if (m := store.manifest(v)).kind == "pull" and m.extra.get("round") == name
    ]


def rows_digest(
    annotations: list[dict[str, Any]], spans: list[dict[str, Any]], rejects: list[Reject]
) -> str:
    """An order-independent hash of what a pull stores (rows and rejects)."""
    total = sum(row_hash(r) for r in annotations) + 3 * sum(row_hash(s) for s in spans)
    total += row_hash(sorted((r.to_dict() for r in rejects), key=canonical_json))
    return hash_hex(total)


@dataclass(frozen=True)
class AnnotatorKeys:
    """What pseudonyms are keyed on: the server's identity and users' join times."""

    server: str
    joined: dict[int, str]

    def pseudonym(self, key: bytes, user: object) -> str:
        return pseudonym(key, self.server, user, self.joined)


def annotator_keys(client: StudioClient, store: Store) -> AnnotatorKeys:
    """The server's identity (recorded in the store the first time it is seen) and users'
    ``date_joined``; neither depends on the server's URL or port."""
    identity = client.server_identity()
    store.record_server(identity, client.url)
    return AnnotatorKeys(identity, {u.id: u.joined for u in client.users()})
