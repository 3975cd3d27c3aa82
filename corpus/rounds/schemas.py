"""The label schemas a store has used, and the migrations between them.

Every label schema a round starts under is kept in ``<store>/schemas/v<N>-<hash>.json``, and
a round keeps its own copy (``rounds/<name>/schema.json``): a pull always validates against
the schema the round was made under, never against a newer one. Migrations applied with
``corpus schema migrate`` are kept in ``<store>/schemas/migrations/v<N>-to-v<N+1>.json``; a
pull of an old round maps its rows through them into the store's current schema, once
(:mod:`corpus.labels.mapping`).
"""

from __future__ import annotations

import json
from pathlib import Path

from corpus.atomic import write_json_atomic
from corpus.errors import RoundError
from corpus.label_schema import AnnotationSchema
from corpus.migrations import KINDS, Migration, describe_rule
from corpus.rounds.state import RoundState, round_dir
from corpus.store import Store

ROUND_SCHEMA = "schema.json"


def schemas_dir(store: Store) -> Path:
    return store.root / "schemas"


def save_snapshot(store: Store, schema: AnnotationSchema) -> Path:
    """Keep a copy of a label schema this store uses (once per distinct schema)."""
    folder = schemas_dir(store)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"v{schema.schema_version}-{schema.hash()[:12]}.json"
    if not path.exists():
        write_json_atomic(path, schema.model_dump(mode="json"))
    return path


def snapshots(store: Store) -> list[tuple[AnnotationSchema, str]]:
    """Every label schema the store has used, oldest version first, with when it was kept."""
    folder = schemas_dir(store)
    found = []
    for path in sorted(folder.glob("v*.json")) if folder.is_dir() else []:
        schema = AnnotationSchema.model_validate_json(path.read_bytes())
        found.append((schema, _mtime(path)))
    return sorted(found, key=lambda item: (item[0].schema_version, item[1]))


def _mtime(path: Path) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")


def snapshot(store: Store, version: int) -> AnnotationSchema | None:
    """The newest kept schema with this version number."""
    matching = [s for s, _ in snapshots(store) if s.schema_version == version]
    return matching[-1] if matching else None


def save_round_schema(store: Store, state: RoundState, schema: AnnotationSchema) -> None:
    save_snapshot(store, schema)
    path = round_dir(store.root, state.name) / ROUND_SCHEMA
    if not path.exists():
        write_json_atomic(path, schema.model_dump(mode="json"))


def round_schema(
    store: Store, state: RoundState, given: AnnotationSchema | None
) -> AnnotationSchema:
    """The schema a round was made under (its kept copy; else ``given`` if it matches)."""
    path = round_dir(store.root, state.name) / ROUND_SCHEMA
    if path.is_file():
        return AnnotationSchema.model_validate_json(path.read_bytes())
    if given is not None and given.hash() == state.schema_hash:
        return given
    raise RoundError(
        f"round {state.name!r} was made under a label schema this store did not keep "
        f"(hash {state.schema_hash[:12]}), and the schema given differs",
        hint="Pass --schema with the schema file the round was started with.",
    )


def save_migration(store: Store, migration: Migration) -> Path:
    folder = schemas_dir(store) / "migrations"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"v{migration.from_}-to-v{migration.to}.json"
    write_json_atomic(path, migration.model_dump(mode="json", by_alias=True))
    return path


def migrations(store: Store) -> list[Migration]:
    folder = schemas_dir(store) / "migrations"
    if not folder.is_dir():
        return []
    found = [Migration.model_validate(json.loads(p.read_bytes())) for p in folder.glob("*.json")]
    return sorted(found, key=lambda m: m.from_)


def current_version(store: Store, fallback: int) -> int:
    """The label-schema version the store's labels are in (after its migrations)."""
    done = migrations(store)
    return done[-1].to if done else fallback


def check_current_schema(store: Store, schema: AnnotationSchema) -> None:
    """Refuse a new round under a schema older than the store's labels (after a migration
    its removed labels would be shown again)."""
    current = current_version(store, schema.schema_version)
    if schema.schema_version >= current:
        return
    kept = snapshot(store, current)
    where = (
        str(schemas_dir(store) / f"v{current}-{kept.hash()[:12]}.json")
        if kept is not None
        else "the schema file of that version"
    )
    raise RoundError(
        f"the store's labels are in label-schema version {current} (migrated), the schema "
        f"given is version {schema.schema_version}",
        hint=f"Start the round under the current schema: pass --schema {where} (or set "
        "CORPUS_SCHEMA), or make it your schemas/annotation.yaml.",
    )


def schema_history(store: Store) -> list[dict[str, object]]:
    """The label schemas the store used and the migrations between them, for a card."""
    kept: list[dict[str, object]] = [
        {"version": s.schema_version, "hash": s.hash(), "name": s.name, "kept": when}
        for s, when in snapshots(store)
    ]
    moves: list[dict[str, object]] = [
        {"migration": {"from": m.from_, "to": m.to, "changes": _changes(m)}}
        for m in migrations(store)
    ]
    return kept + moves


def _changes(migration: Migration) -> list[str]:
    out = []
    for kind in KINDS:
        for rule in migration.rules(kind):
            out.append(f"{kind}: {describe_rule(rule)}")
    return out


__all__ = [
    "check_current_schema",
    "current_version",
    "migrations",
    "round_schema",
    "save_migration",
    "save_round_schema",
    "save_snapshot",
    "schema_history",
    "snapshot",
    "snapshots",
]
