"""Pure converters between stored documents and Label Studio tasks and exports."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
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

    How results are grouped into spans: each issue-label result is one span (the same span
    given twice is kept once; a second, different span with an id already used is
    rejected). A span stance with an ``id`` belongs to the span with that id. A span stance
    without one (API clients and ML backends often send none) belongs to the one span at
    exactly its offsets; it is rejected when no span, or more than one (e.g. two issue
    labels over the same text), is there. A second, different stance for one span is
    rejected. Rejected items are listed with their reason; the rest is stored.
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
    regions: list[dict[str, Any]] = []
    span_stances: list[tuple[Mapping[str, Any], Mapping[str, Any], str]] = []
    for item in ann.get("result") or []:
        name, kind, value = item.get("from_name"), item.get("type"), item.get("value") or {}
        if name == STANCE and kind == "choices":
            choices = value.get("choices") or []
            if len(choices) != 1 or choices[0] not in schema.stance_names:
                reject(f"document stance {choices!r} is not one label of the schema", item)
            else:
                stance = choices[0]
        elif name == ISSUE and kind == "labels":
            span = _span(value, text, schema, reject, item)
            if span is not None:
                _add_region(regions, span, item, reject)
        elif name == SPAN_STANCE and kind == "choices":
            choices = value.get("choices") or []
            if len(choices) != 1 or choices[0] not in schema.span_stance_names:
                reject(f"span stance {choices!r} is not one label of the schema", item)
            else:
                span_stances.append((item, value, choices[0]))
        else:
            reject(f"unknown result {name!r} of type {kind!r}", item)
    region_stance = _attach_stances(regions, span_stances, reject)
    prediction = ann.get("prediction")
    shown = _prediction(prediction) if isinstance(prediction, Mapping) else None
    suggested = shown[2] if shown is not None else predicted.get(doc_id, set())
    for i, span in enumerate(regions):
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
                "stance": region_stance.get(i),
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


def _add_region(
    regions: list[dict[str, Any]],
    span: dict[str, Any],
    item: Mapping[str, Any],
    reject: Callable[[str, object], None],
) -> None:
    """Add one issue span (see :func:`validate_task` for how results are grouped)."""
    where = (span["start"], span["end"], span["issue"])
    for old in regions:
        if old["region_id"] != span["region_id"]:
            continue
        if (old["start"], old["end"], old["issue"]) == where:
            return  # the same span given twice is one span
        if span["region_id"] is not None:
            reject(f"a second issue span with region id {span['region_id']!r}", item)
            return
    regions.append(span)


def _attach_stances(
    regions: Sequence[Mapping[str, Any]],
    span_stances: Iterable[tuple[Mapping[str, Any], Mapping[str, Any], str]],
    reject: Callable[[str, object], None],
) -> dict[int, str]:
    """index of a region -> its span stance (see :func:`validate_task`)."""
    out: dict[int, str] = {}
    for item, value, choice in span_stances:
        region_id = item.get("id")
        if region_id:
            there = [i for i, r in enumerate(regions) if r["region_id"] == region_id]
        else:
            start, end = value.get("start"), value.get("end")
            there = [i for i, r in enumerate(regions) if (r["start"], r["end"]) == (start, end)]
        if not there:
            reject("span stance without its span", item)
            continue
        if len(there) > 1:
            issues = ", ".join(sorted(str(regions[i]["issue"]) for i in there))
            reject(
                f"span stance without a region id at {value.get('start')}..{value.get('end')} "
                f"cannot be attributed to one span: {len(there)} issue spans are there "
                f"({issues}); give each region's results the same id",
                item,
            )
            continue
        if out.get(there[0], choice) != choice:
            reject(f"a second, different span stance for one span ({out[there[0]]!r} kept)", item)
            continue
        out[there[0]] = choice
    return out


def _span(
    value: Mapping[str, Any],
    text: str,
    schema: AnnotationSchema,
    reject: Callable[[str, object], None],
    item: Mapping[str, Any],
) -> dict[str, Any] | None:
    labels, start, end = value.get("labels") or [], value.get("start"), value.get("end")
    if len(labels) != 1 or labels[0] not in schema.issue_names:
        reject(f"issue label {labels!r} is not one label of the schema", item)
        return None
    if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
        reject(f"offsets {start!r}..{end!r} are outside the text (length {len(text)})", item)
        return None
    return {
        "start": start,
        "end": end,
        "text": text[start:end],
        "issue": labels[0],
        "origin": item.get("origin"),
        "region_id": item.get("id") or None,
    }
