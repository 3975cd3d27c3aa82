"""Pure converters between stored documents and Label Studio tasks and exports."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from corpus.ids import canonical_json, sha256_int
from corpus.label_schema import AnnotationSchema
from corpus.labelstudio.config import ISSUE, SPAN_STANCE, STANCE, TEXT
from corpus.preannotate import SpanSuggestion, StanceSuggestion

Span = tuple[int, int, str]


def to_task(
    doc: Mapping[str, Any],
    *,
    version: str,
    round_name: str,
    suggestions: list[SpanSuggestion],
    model_version: str,
    stance: StanceSuggestion | None = None,
) -> dict[str, Any]:
    """One import payload: the stored text exactly, ids to match on, pre-annotations.

    Each suggested span carries its own ``score``; a suggested ``stance`` is a choice whose
    probability is the prediction's score (else the spans' mean score is).
    """
    text: str = doc["text"]
    result: list[dict[str, Any]] = [
        {
            "id": f"p{i}",
            "from_name": ISSUE,
            "to_name": TEXT,
            "type": "labels",
            "value": {
                "start": s.start,
                "end": s.end,
                "text": text[s.start : s.end],
                "labels": [s.issue],
            },
            "score": s.score,
        }
        for i, s in enumerate(suggestions)
    ]
    score = round(sum(s.score for s in suggestions) / len(suggestions), 3) if suggestions else 0.0
    if stance is not None:
        result.append(
            {
                "id": "pstance",
                "from_name": STANCE,
                "to_name": TEXT,
                "type": "choices",
                "value": {"choices": [stance.stance]},
                "score": stance.score,
            }
        )
        score = round(stance.score, 4)
    return {
        "data": {
            TEXT: text,
            "title": doc["title"],
            "doc_id": doc["doc_id"],
            "text_sha256": doc["text_sha256"],
            "version": version,
            "round": round_name,
        },
        "predictions": [{"model_version": model_version, "score": score, "result": result}],
    }


def pseudonym(
    key: bytes, server: str, user: object, joined: Mapping[int, str] | None = None
) -> str:
    """A stable, keyed pseudonym for a Label Studio user; no e-mail or name is kept.

    ``server`` is the server's identity (not its URL: a restart on another port keeps every
    pseudonym); ``joined`` gives users' ``date_joined``, so that a user deleted and created
    again with a reused id is another annotator.
    """
    user_id = user.get("id") if isinstance(user, dict) else user
    stamp = (joined or {}).get(user_id, "") if isinstance(user_id, int) else ""
    who = f"{user_id}:{stamp}" if stamp else f"{user_id}"
    mac = hmac.new(key, f"{server}|{who}".encode(), hashlib.sha256).hexdigest()
    return f"ann-{mac[:10]}"


def task_fingerprint(task: Mapping[str, Any]) -> str:
    """Changes whenever the task's data or any of its annotations change."""
    annotations = [
        {k: a.get(k) for k in ("id", "updated_at", "result", "was_cancelled", "completed_by")}
        for a in task.get("annotations", [])
    ]
    payload = {"data": task.get("data"), "annotations": annotations}
    return f"{sha256_int(canonical_json(payload)):064x}"


@dataclass(frozen=True)
class Reject:
    """An item that was not stored, and why."""

    reason: str
    task_id: int | None = None
    doc_id: str | None = None
    annotation_id: int | None = None
    item: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "doc_id": self.doc_id,
            "annotation_id": self.annotation_id,
            "item": self.item,
            "reason": self.reason,
        }


@dataclass
class Validated:
    annotations: list[dict[str, Any]] = field(default_factory=list)
    spans: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)


@dataclass(frozen=True)
class StoredDoc:
    text: str
    text_sha256: str


def validate_task(
    task: Mapping[str, Any],
    *,
    docs: Mapping[str, StoredDoc],
    schema: AnnotationSchema,
    round_name: str,
    who: Callable[[object], str],
    predicted: Mapping[str, set[Span]],
) -> Validated:
    """Check one exported task against the stored version and the schema.

    Offsets are checked by slicing the stored text; ``value.text`` is never trusted.
    Regions and their per-region stance are grouped by result id (by offsets for
    results made through the API, which carry no id).
    """
    out = Validated()
    task_id = task.get("id")
    data = task.get("data") or {}
    doc_id = data.get("doc_id")
    if not isinstance(doc_id, str) or doc_id not in docs:
        out.rejects.append(
            Reject("unknown task: its doc_id is not in this round", task_id, str(doc_id))
        )
        return out
    stored = docs[doc_id]
    if data.get(TEXT) != stored.text or data.get("text_sha256") != stored.text_sha256:
        out.rejects.append(
            Reject(
                "drift: the task's text no longer matches the dataset version; "
                "its annotations were not stored",
                task_id,
                doc_id,
            )
        )
        return out
    for ann in task.get("annotations") or []:
        _validate_annotation(
            ann, out, task_id, doc_id, stored.text, schema, round_name, who, predicted
        )
    return out


def _validate_annotation(
    ann: Mapping[str, Any],
    out: Validated,
    task_id: int | None,
    doc_id: str,
    text: str,
    schema: AnnotationSchema,
    round_name: str,
    who: Callable[[object], str],
    predicted: Mapping[str, set[Span]],
) -> None:
    ann_id = ann.get("id")
    annotator = who(ann.get("completed_by"))

    def reject(reason: str, item: object = None) -> None:
        shown = json.dumps(item, ensure_ascii=False)[:300] if item is not None else None
        out.rejects.append(Reject(reason, task_id, doc_id, ann_id, shown))

    cancelled = bool(ann.get("was_cancelled"))
    stance: str | None = None
    regions: dict[str, dict[str, Any]] = {}
    region_stance: dict[str, str] = {}
    for item in ann.get("result") or []:
        name, kind, value = item.get("from_name"), item.get("type"), item.get("value") or {}
        if name == STANCE and kind == "choices":
            choices = value.get("choices") or []
            if len(choices) != 1 or choices[0] not in schema.stance_names:
                reject(f"document stance {choices!r} is not one label of the schema", item)
            else:
                stance = choices[0]
        elif name == ISSUE and kind == "labels":
            key, span = _span(item, value, text, schema, reject)
            if span is not None:
                regions[key] = span
        elif name == SPAN_STANCE and kind == "choices":
            choices = value.get("choices") or []
            if len(choices) != 1 or choices[0] not in schema.span_stance_names:
                reject(f"span stance {choices!r} is not one label of the schema", item)
            else:
                region_stance[_region_key(item, value)] = choices[0]
        else:
            reject(f"unknown result {name!r} of type {kind!r}", item)
    for key in region_stance.keys() - regions.keys():
        reject("span stance without its span", {"region": key})
    prediction = ann.get("prediction")
    shown = _prediction(prediction) if isinstance(prediction, Mapping) else None
    suggested = shown[2] if shown is not None else predicted.get(doc_id, set())
    for key, span in regions.items():
        origin = span.pop("origin")
        unchanged = origin == "prediction" or (
            origin is None and (span["start"], span["end"], span["issue"]) in suggested
        )
        out.spans.append(
            {
                "doc_id": doc_id,
                "round": round_name,
                "annotator": annotator,
                "annotation_id": ann_id,
                "region_id": span.pop("region_id"),
                **span,
                "stance": region_stance.get(key),
                "from_prediction": unchanged,
                "schema_version": schema.schema_version,
            }
        )
    out.annotations.append(
        {
            "doc_id": doc_id,
            "round": round_name,
            "annotator": annotator,
            "annotation_id": ann_id,
            "task_id": task_id,
            "stance": None if cancelled else stance,
            "cancelled": cancelled,
            "ground_truth": bool(ann.get("ground_truth")),
            "lead_time": ann.get("lead_time"),
            "created_at": ann.get("created_at"),
            "updated_at": ann.get("updated_at"),
            "n_spans": len(regions),
            "schema_version": schema.schema_version,
            "model_version": shown[0] if shown is not None else None,
            "suggested_stance": shown[1] if shown is not None else None,
        }
    )


def _prediction(prediction: Mapping[str, Any]) -> tuple[str | None, str | None, set[Span]]:
    """(model_version, suggested stance, suggested spans) of the prediction an export shows
    with an annotation (Label Studio embeds the task's prediction in each annotation)."""
    stance: str | None = None
    spans: set[Span] = set()
    for item in prediction.get("result") or []:
        value = item.get("value") or {}
        if item.get("from_name") == STANCE and value.get("choices"):
            stance = str(value["choices"][0])
        elif item.get("from_name") == ISSUE and value.get("labels"):
            start, end = value.get("start"), value.get("end")
            if isinstance(start, int) and isinstance(end, int):
                spans.add((start, end, str(value["labels"][0])))
    version = prediction.get("model_version")
    return (str(version) if version else None), stance, spans


def _region_key(item: Mapping[str, Any], value: Mapping[str, Any]) -> str:
    if item.get("id"):
        return f"id:{item['id']}"
    return f"at:{value.get('start')}:{value.get('end')}"


def _span(
    item: Mapping[str, Any],
    value: Mapping[str, Any],
    text: str,
    schema: AnnotationSchema,
    reject: Callable[[str, object], None],
) -> tuple[str, dict[str, Any] | None]:
    key = _region_key(item, value)
    labels, start, end = value.get("labels") or [], value.get("start"), value.get("end")
    if len(labels) != 1 or labels[0] not in schema.issue_names:
        reject(f"issue label {labels!r} is not one label of the schema", item)
        return key, None
    if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
        reject(f"offsets {start!r}..{end!r} are outside the text (length {len(text)})", item)
        return key, None
    return key, {
        "start": start,
        "end": end,
        "text": text[start:end],
        "issue": labels[0],
        "origin": item.get("origin"),
        "region_id": item.get("id"),
    }
