"""How far a project is, from project fields and Data Manager counts: no export.

A full export of 10,000 tasks takes about a minute; these counts take a second or two
(only the tasks that hold a skip are listed, to tell whose skips they are).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from corpus.labelstudio.client import NO_RETRY, ProjectInfo, StudioClient


@dataclass(frozen=True)
class ProjectCounts:
    """How far a project is, read from the API (no export)."""

    tasks: int
    annotated: int  # tasks with at least one submitted (not skipped) annotation
    skipped: int  # tasks whose every annotation is a skip
    per_user: dict[int, tuple[int, int]]  # user id -> (submitted, skipped) annotations


def dm(column: str, operator: str, kind: str, value: object) -> dict[str, Any]:
    """One Data Manager filter item over a task column."""
    return {"filter": f"filter:tasks:{column}", "operator": operator, "type": kind, "value": value}


def query(*filters: dict[str, Any]) -> str:
    """A Data Manager query: ``filters`` and-ed."""
    return json.dumps({"filters": {"conjunction": "and", "items": list(filters)}})


def count_tasks(client: StudioClient, project_id: int, *filters: dict[str, Any]) -> int:
    """Tasks matching Data Manager ``filters`` (and-ed), from one page of one task."""

    def count() -> int:
        pager: Any = client.sdk.tasks.list(
            project=project_id,
            page_size=1,
            fields="task_only",
            query=query(*filters),
            request_options=NO_RETRY,
        )
        return int(getattr(pager.response, "total", 0) or 0)

    return client.retried("GET /api/tasks (count)", count)


def project_counts(client: StudioClient, project: ProjectInfo) -> ProjectCounts:
    """Tasks total, annotated and skipped, and each annotator's submitted and skipped
    annotations, from the project (as :meth:`StudioClient.project` found it) and Data
    Manager counts; only the tasks with a skip are listed (to attribute skips), never the
    whole export."""
    project_id = project.id
    annotated = count_tasks(client, project_id, dm("total_annotations", "greater", "Number", 0))
    skipped = count_tasks(
        client,
        project_id,
        dm("total_annotations", "equal", "Number", 0),
        dm("cancelled_annotations", "greater", "Number", 0),
    )
    annotators: list[Any] = client.retried(
        f"GET /api/projects/{project_id}/annotators",
        lambda: list(client.sdk.projects.list_unique_annotators(id=project_id)),
    )
    skips = _skips_by_user(client, project_id) if annotators else {}
    per_user = {}
    for user in annotators:
        uid = int(user.id or 0)
        touched = count_tasks(client, project_id, dm("annotators", "contains", "List", uid))
        per_user[uid] = (touched - skips.get(uid, 0), skips.get(uid, 0))
    return ProjectCounts(project.task_number, annotated, skipped, per_user)


def _skips_by_user(client: StudioClient, project_id: int) -> dict[int, int]:
    skipped = query(dm("cancelled_annotations", "greater", "Number", 0))

    def listing() -> dict[int, int]:
        skips: dict[int, int] = {}
        pager: Any = client.sdk.tasks.list(
            project=project_id,
            page_size=100_000,
            fields="all",
            query=skipped,
            request_options={"max_retries": 0, "timeout": 600},
        )
        for task in pager.response.tasks or []:
            for ann in task.annotations or []:
                ann = ann if isinstance(ann, dict) else ann.dict()
                if ann.get("was_cancelled"):
                    who = ann.get("completed_by")
                    uid = who.get("id") if isinstance(who, dict) else who
                    if uid is not None:
                        skips[int(uid)] = skips.get(int(uid), 0) + 1
        return skips

    return client.retried("GET /api/tasks (skips)", listing)
