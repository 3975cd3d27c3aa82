"""Has a project changed? Cheap questions a re-run asks before it lists or exports anything.

What each signal means in Label Studio 1.23.2 (read from its code):

* ``task_number``, ``total_annotations_number`` and ``skipped_annotations_number`` of
  ``GET /api/projects/{id}`` are live SQL counts (``projects/functions/__init__.py``: tasks
  of the project; annotations not cancelled; cancelled annotations), not cached counters.
* Task ids are never reused: Django's SQLite tables are ``AUTOINCREMENT`` and PostgreSQL
  uses sequences. A task made after a moment has a larger id than every task before it.
* ``Task.updated_at`` (``auto_now``) is set in Python when the task is saved, then
  committed. Saving, editing or deleting an annotation through the API saves its task
  (``Annotation.update_task``, ``AnnotationAPI.update``), and so does the Data Manager's
  "delete annotations" action; importing a task sets it too. Not seen: the labels manager's
  bulk rename (``/api/labels/bulk``) and the experimental Data Manager actions that rewrite
  ``task.data`` (``bulk_update`` skips ``auto_now``).
* The server's clock is the ``Date`` header of its answers (whole seconds).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from corpus.errors import LabelStudioError
from corpus.labelstudio.client import NO_RETRY, StudioClient
from corpus.labelstudio.counts import count_tasks, dm

DM_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"  # data_manager/managers.py DATETIME_FORMAT (UTC)


@dataclass(frozen=True)
class ProjectSnapshot:
    """A project's live counts, and the server's clock when it answered."""

    project_id: int
    tasks: int
    annotations: int  # submitted (not skipped)
    skipped: int
    server_time: datetime | None  # UTC, whole seconds (the Date header); None: not sent

    def counts(self) -> tuple[int, int, int]:
        return self.tasks, self.annotations, self.skipped


def project_snapshot(client: StudioClient, project_id: int) -> ProjectSnapshot | None:
    """The project's counts and the server's time, or None when the project is gone."""

    def get() -> Any:
        return client.sdk.projects.with_raw_response.get(id=project_id, request_options=NO_RETRY)

    try:
        raw = client.retried(f"GET /api/projects/{project_id}", get)
    except LabelStudioError as exc:
        if exc.status_code == 404:
            return None
        raise
    p = raw.data
    return ProjectSnapshot(
        project_id=project_id,
        tasks=int(getattr(p, "task_number", 0) or 0),
        annotations=int(getattr(p, "total_annotations_number", 0) or 0),
        skipped=int(getattr(p, "skipped_annotations_number", 0) or 0),
        server_time=_server_time(raw.headers),
    )


def _server_time(headers: dict[str, str]) -> datetime | None:
    stamp = {k.lower(): v for k, v in headers.items()}.get("date")
    try:
        return parsedate_to_datetime(stamp).astimezone(UTC) if stamp else None
    except (TypeError, ValueError):
        return None


def newest_task_id(client: StudioClient, project_id: int) -> int:
    """The largest task id of the project (0 when it has no task)."""

    def get() -> int:
        pager: Any = client.sdk.tasks.list(
            project=project_id,
            page_size=1,
            fields="task_only",
            query=json.dumps({"ordering": ["-tasks:id"]}),
            request_options=NO_RETRY,
        )
        found = list(pager.response.tasks or []) if pager.response is not None else []
        return int(found[0].id) if found else 0

    return client.retried("GET /api/tasks (newest)", get)


def tasks_after(client: StudioClient, project_id: int, task_id: int) -> int:
    """How many tasks of the project have an id above ``task_id`` (made after it)."""
    return count_tasks(client, project_id, dm("id", "greater", "Number", task_id))


def tasks_updated_since(
    client: StudioClient, project_id: int, since: datetime, *, limit: int
) -> dict[int, datetime] | None:
    """Task id -> ``updated_at`` of the tasks saved at or after ``since`` (server time), or
    None when there are more than ``limit`` (listing them would cost what an export costs)."""
    when = since.astimezone(UTC).replace(tzinfo=None).strftime(DM_TIME)
    query = json.dumps(
        {
            "filters": {
                "conjunction": "and",
                "items": [dm("updated_at", "greater_or_equal", "Datetime", when)],
            },
            "ordering": ["tasks:id"],
        }
    )

    def listing() -> dict[int, datetime] | None:
        pager: Any = client.sdk.tasks.list(
            project=project_id,
            page_size=max(limit, 1),
            fields="task_only",
            resolve_uri=False,
            query=query,
            request_options={"max_retries": 0, "timeout": 600},
        )
        response = pager.response
        if response is None or int(getattr(response, "total", 0) or 0) > limit:
            return None
        return {int(t.id): as_utc(t.updated_at) for t in response.tasks or []}

    return client.retried("GET /api/tasks (updated since)", listing)


def as_utc(value: object) -> datetime:
    """A timestamp from the SDK or from export JSON, as an aware UTC datetime."""
    stamp = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.astimezone(UTC)
