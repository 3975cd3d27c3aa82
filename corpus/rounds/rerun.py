"""Re-runs that cost nothing: what a complete push or pull left on the server, and whether
the server still shows exactly that.

A push that finished records a :class:`~corpus.rounds.state.PushReceipt` (the project's
task count and its newest task id). A re-run believes the project still holds every task
of the round when the count is the same and no task has a larger id: task ids are never
reused, so the tasks are then the very tasks the push left.

A pull records a *watch* in ``pull_state.json`` beside the rows it reuses: the project's
counts (tasks, submitted and skipped annotations), a moment ``since`` on the server's clock
a margin before the export started, the ``updated_at`` of every exported task saved since
then, and the join time of every annotator in the export. The next pull skips the export
when the counts are the same, the tasks saved since ``since`` are exactly those tasks with
the same ``updated_at``, and those annotators still exist: any create, edit or delete of an
annotation saves its task (or changes a count), so the export would be the same. What the
signals mean in Label Studio 1.23.2 is in :mod:`corpus.labelstudio.changes`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from corpus.atomic import write_json_atomic
from corpus.errors import StoreLockedError
from corpus.labelstudio import StudioClient
from corpus.labelstudio.changes import (
    ProjectSnapshot,
    as_utc,
    newest_task_id,
    project_snapshot,
    tasks_after,
    tasks_updated_since,
)
from corpus.rounds.pulled import pulled_versions
from corpus.rounds.reuse import PULL_STATE_FORMAT, load_pull_state
from corpus.rounds.state import PushReceipt, RoundState, load_round, round_dir, save_round
from corpus.store import Store

# A change becomes visible when its transaction commits, a moment after its updated_at was
# taken; Label Studio commits each save at once (no ATOMIC_REQUESTS), SQLite waits at most
# 5 s for a lock, and the Date header is whole seconds. Saves older than this before the
# export started were in it.
MARGIN = timedelta(seconds=10)
# Tasks saved since the last pull that a re-run lists before it prefers the export.
WINDOW_LIMIT = 500


# --- push -------------------------------------------------------------------------------------


def push_still_complete(client: StudioClient, state: RoundState) -> bool:
    """Whether the project still holds exactly what the round's last complete push left."""
    receipt = state.pushed
    if (
        receipt is None
        or state.project_id is None
        or receipt.project_id != state.project_id
        or receipt.tasks != len(state.doc_ids)
    ):
        return False
    project = client.project(state.project_id)
    if project is None or project.task_number != receipt.tasks:
        return False
    return tasks_after(client, state.project_id, receipt.newest_task_id) == 0


def record_push(client: StudioClient, store: Store, name: str) -> PushReceipt | None:
    """Remember what a push that just finished left in the project (nothing when the project
    holds other tasks too, or when another writer holds the store)."""
    state = load_round(store.root, name)
    receipt = None
    if state.project_id is not None:
        project = client.project(state.project_id)
        if project is not None and project.task_number == len(state.doc_ids):
            newest = newest_task_id(client, state.project_id)
            receipt = PushReceipt(
                project_id=state.project_id, tasks=project.task_number, newest_task_id=newest
            )
    try:
        with store.lock():
            state = load_round(store.root, name)
            if state.pushed != receipt:
                state.pushed = receipt
                save_round(store.root, state)
    except StoreLockedError:
        return None  # the next push checks the project the long way and records it then
    return receipt


# --- pull -------------------------------------------------------------------------------------


def pull_watch(
    before: ProjectSnapshot | None,
    after: ProjectSnapshot | None,
    tasks: list[dict[str, Any]],
    joined: dict[int, str],
    archive: str | None,
) -> dict[str, Any] | None:
    """What the next pull compares with the server, from an export and the project's
    snapshots taken just before and just after it; None when they disagree (something
    changed during the export: the next pull exports again)."""
    if before is None or after is None or before.server_time is None:
        return None
    annotations = [a for t in tasks for a in t.get("annotations") or []]
    skipped = sum(1 for a in annotations if a.get("was_cancelled"))
    seen = (len(tasks), len(annotations) - skipped, skipped)
    if before.counts() != seen or after.counts() != seen:
        return None
    since = before.server_time - MARGIN
    window: dict[str, str] = {}
    for task in tasks:
        stamp = task.get("updated_at")
        if stamp is None:
            return None
        if as_utc(stamp) >= since:
            window[str(task.get("id"))] = as_utc(stamp).isoformat()
    users = {a.get("completed_by") for a in annotations}
    return {
        "project_id": before.project_id,
        "counts": list(seen),
        "since": since.isoformat(),
        "window": window,
        "annotators": {str(u): joined.get(u, "") for u in sorted(users, key=str) if u is not None},
        "archive": archive,
    }


def unchanged_since(client: StudioClient, watch: dict[str, Any]) -> dict[str, Any] | None:
    """The watch moved forward when the project shows no change since it was taken; None
    when something changed (or may have: then the pull exports)."""
    try:
        project_id = int(watch["project_id"])
        since = datetime.fromisoformat(watch["since"])
        counts = tuple(int(n) for n in watch["counts"])
        window = {int(t): datetime.fromisoformat(s) for t, s in watch["window"].items()}
        annotators = {int(u): str(j) for u, j in watch["annotators"].items()}
    except (KeyError, TypeError, ValueError):
        return None
    snapshot = project_snapshot(client, project_id)
    if snapshot is None or snapshot.server_time is None or snapshot.counts() != counts:
        return None
    saved = tasks_updated_since(client, project_id, since, limit=WINDOW_LIMIT)
    if saved != window:
        return None
    if annotators:
        users = {u.id: u.joined for u in client.users()}
        if any(users.get(u) != j for u, j in annotators.items()):
            return None
    later = max(since, snapshot.server_time - MARGIN)
    return {
        **watch,
        "since": later.isoformat(),
        "window": {str(t): s.isoformat() for t, s in saved.items() if s >= later},
    }


def pull_unchanged(
    client: StudioClient, store: Store, name: str, project_id: int
) -> tuple[dict[str, Any], str, Path | None] | None:
    """When the project shows no change since the round's last pull: the pull state (its
    watch moved forward and saved), the last pulled version and the archive of the export it
    compared with. None: something changed, or may have (the pull exports)."""
    folder = round_dir(store.root, name)
    previous = load_pull_state(folder)
    watch = previous.get("watch")
    pulled = pulled_versions(store, name)
    if (
        not isinstance(watch, dict)
        or not pulled
        or previous.get("version") != pulled[-1]
        or previous.get("format") != PULL_STATE_FORMAT
        or watch.get("project_id") != project_id
    ):
        return None
    moved = unchanged_since(client, watch)
    if moved is None:
        return None
    with store.lock():
        if load_pull_state(folder) != previous or pulled_versions(store, name) != pulled:
            return None  # another pull ran meanwhile
        kept = {**previous, "watch": moved}
        write_json_atomic(folder / "pull_state.json", kept)
    archive = folder / "exports" / str(watch.get("archive"))
    return kept, pulled[-1], archive if archive.is_file() else None
