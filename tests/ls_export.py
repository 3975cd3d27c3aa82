"""A Label Studio 1.23.2 export, simulated: the JSON ``download_sync(download_all_tasks=True)``
returns for a project, built from plain values (no server).

The shape (keys and value types at every level) is the one of the recorded real export
``tests/data/export-1.23.2.json``; ``tests/test_differential.py`` checks that it stays so.
What the simulation leaves open is what real exports vary in: result items with or
without ``id`` (the UI always sets one; API clients and ML backends often do not), skips
(``was_cancelled`` with an empty result), edits (the same annotation, a later
``updated_at``), ``lead_time`` (null through the API), ``ground_truth``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

EPOCH = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def stamp(tick: int) -> str:
    """Label Studio's timestamp format, ``tick`` seconds after a fixed start."""
    return (EPOCH + timedelta(seconds=tick)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def stance_item(label: str, region: str | None = None) -> dict[str, Any]:
    """The document stance; made in the UI (``region`` id and ``origin``) or through the API."""
    item = {
        "from_name": "stance",
        "to_name": "text",
        "type": "choices",
        "value": {"choices": [label]},
    }
    return {"id": region, **item, "origin": "manual"} if region else item


def region_items(
    text: str, start: int, end: int, issue: str, stance: str | None, region: str | None
) -> list[dict[str, Any]]:
    """An issue region, and its per-region stance (same ``id``, or same offsets without)."""
    where = {"start": start, "end": end, "text": text[start:end]}
    items: list[dict[str, Any]] = [
        {
            "from_name": "issue",
            "to_name": "text",
            "type": "labels",
            "value": {**where, "labels": [issue]},
        }
    ]
    if stance is not None:
        items.append(
            {
                "from_name": "span_stance",
                "to_name": "text",
                "type": "choices",
                "value": {**where, "choices": [stance]},
            }
        )
    if region is not None:  # made in the UI: an id and an origin on every item
        items = [{"id": region, **item, "origin": "manual"} for item in items]
    return items


def annotation(
    *,
    ann_id: int,
    task_id: int,
    project: int,
    user: int,
    result: list[dict[str, Any]],
    was_cancelled: bool,
    created: int,
    updated: int,
    lead_time: float | None,
    prediction: dict[str, Any],
    ground_truth: bool = False,
) -> dict[str, Any]:
    """One ``annotations[]`` object of an export (``prediction``: the task's prediction, which
    the export embeds in each annotation)."""
    return {
        "id": ann_id,
        "completed_by": user,
        "result": result,
        "was_cancelled": was_cancelled,
        "ground_truth": ground_truth,
        "created_at": stamp(created),
        "updated_at": stamp(updated),
        "draft_created_at": None,
        "lead_time": lead_time,
        "prediction": prediction,
        "result_count": len(result),
        "unique_id": f"00000000-0000-4000-8000-{ann_id:012d}",
        "import_id": None,
        "last_action": None,
        "bulk_created": False,
        "task": task_id,
        "project": project,
        "updated_by": user,
        "parent_prediction": None,
        "parent_annotation": None,
        "last_created_by": None,
    }


def task(
    *,
    task_id: int,
    inner_id: int,
    project: int,
    data: dict[str, Any],
    annotations: list[dict[str, Any]],
    predictions: list[int],
    created: int,
) -> dict[str, Any]:
    """One task of an export (``predictions`` are ids in an easy export)."""
    done = [a for a in annotations if not a["was_cancelled"]]
    last = max((a["updated_at"] for a in annotations), default=stamp(created))
    return {
        "id": task_id,
        "annotations": annotations,
        "drafts": [],
        "predictions": predictions,
        "data": data,
        "meta": {},
        "created_at": stamp(created),
        "updated_at": last,
        "allow_skip": True,
        "inner_id": inner_id,
        "total_annotations": len(done),
        "cancelled_annotations": len(annotations) - len(done),
        "total_predictions": len(predictions),
        "comment_count": 0,
        "unresolved_comment_count": 0,
        "last_comment_updated_at": None,
        "project": project,
        "updated_by": annotations[-1]["completed_by"] if annotations else None,
        "comment_authors": [],
    }


def prediction(
    *,
    pred_id: int,
    task_id: int,
    project: int,
    result: list[dict[str, Any]],
    model_version: str,
    score: float,
    created: int,
) -> dict[str, Any]:
    """The prediction object an export embeds in an annotation."""
    return {
        "id": pred_id,
        "result": result,
        "model_version": model_version,
        "created_ago": "0\u00a0minutes",
        "score": score,
        "cluster": None,
        "neighbors": None,
        "mislabeling": 0.0,
        "created_at": stamp(created),
        "updated_at": stamp(created),
        "model": None,
        "model_run": None,
        "task": task_id,
        "project": project,
    }  # fmt: skip
