"""The ``review`` strategy: a Label Studio project where a curator settles disagreements.

Only documents with disagreements go to the review project, each with every annotator's
answer as a prediction (``model_version`` = the annotator's pseudonym); everything else is
accepted by majority. :func:`pull_review` reads the curator's decisions back as gold.
Review state lives in ``<store>/rounds/<name>/review.json``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from corpus.adjudication.core import decide, predictions, reviewed
from corpus.adjudication.gold import AdjudicationResult, load_inputs, write_gold
from corpus.adjudication.votes import DocumentVotes
from corpus.atomic import write_json_atomic
from corpus.errors import LabelStudioError, RoundError, translate_os_errors
from corpus.label_schema import AnnotationSchema, load_schema
from corpus.labels.votes import recency
from corpus.labelstudio import StudioClient
from corpus.labelstudio.config import config_sha256, label_config, project_instructions
from corpus.progress import Progress, ProgressCallback, Steps, drive
from corpus.rounds.convert import Reject, StoredDoc, to_task, validate_task
from corpus.rounds.project import find_or_create_project, owned_project
from corpus.rounds.pulled import annotator_keys, archive_export, pseudonym_key
from corpus.rounds.state import project_title, round_dir
from corpus.store import Store, as_store

REVIEW_FILE = "review.json"
BATCH = 500


class ReviewDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    annotation_ids: list[int] = Field(description="Annotations shown as predictions.")
    reasons: list[str] = Field(description="Why the document needs review.")


class ReviewState(BaseModel):
    """``<store>/rounds/<name>/review.json``."""

    model_config = ConfigDict(extra="forbid")

    round: str
    project_id: int | None = None
    project_title: str
    source_version: str = Field(description="The pulled version the review was built from.")
    span_agreement: float
    label_config_sha256: str
    labels_sha256: str | None = Field(
        default=None, description="The label names the review was made with (None: before)."
    )
    created: str
    docs: dict[str, ReviewDoc] = Field(default_factory=dict)


def review_title(name: str, store_id: str) -> str:
    """``corpus <name> review · <store id>``, within 3 to 50 characters."""
    return project_title(name, store_id, "review")


def review_path(store_root: Path, name: str) -> Path:
    return round_dir(store_root, name) / REVIEW_FILE


def load_review(store_root: Path, name: str) -> ReviewState | None:
    path = review_path(store_root, name)
    if not path.is_file():
        return None
    return ReviewState.model_validate_json(path.read_text(encoding="utf-8"))


def save_review(store_root: Path, state: ReviewState) -> None:
    write_json_atomic(review_path(store_root, state.round), state.model_dump(mode="json"))


def review_task(
    row: dict[str, Any], doc: DocumentVotes, *, version: str, reasons: list[str]
) -> dict[str, Any]:
    """A task like the round's (same ``data``) with one prediction per annotator."""
    data = to_task(row, version=version, round_name=doc.round, suggestions=[], model_version="")
    return {"data": data["data"], "meta": {"reasons": reasons}, "predictions": predictions(doc)}


@dataclass
class ReviewResult:
    """The review project after :func:`start_review`; ``project_id`` None: nothing to review."""

    round: str
    project_id: int | None
    project_title: str
    source_version: str
    created_project: bool
    documents: list[str]
    accepted: int
    imported: int = 0
    already_there: int = 0
    replaced: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@translate_os_errors
def start_review(
    client: StudioClient,
    store: Store | str | os.PathLike[str],
    name: str,
    *,
    schema: AnnotationSchema | None = None,
    span_agreement: float = 1.0,
    progress: ProgressCallback | None = None,
) -> ReviewResult:
    """Create (or find again) the review project and import the documents in disagreement.

    Idempotent: tasks are matched on ``data.doc_id``. A task whose annotators changed their
    answers since it was imported is replaced, unless a curator already worked on it.
    ``project_id`` of the result is None when nothing needs review.
    """
    if not 0.0 <= span_agreement <= 1.0:
        raise ValueError(f"span_agreement must be between 0 and 1, not {span_agreement}")
    store = as_store(store)
    steps = _start_review(client, store, schema or load_schema(), name, span_agreement)
    with store.lock():  # review.json is read, changed and written: one writer
        return drive(steps, progress)


def _start_review(
    client: StudioClient,
    store: Store,
    schema: AnnotationSchema,
    name: str,
    span_agreement: float,
) -> Steps[ReviewResult]:
    inputs = load_inputs(store, name)
    gold = decide(inputs.docs, inputs.skipped, span_agreement=span_agreement)
    xml = label_config(schema)
    state = load_review(store.root, name)
    labels = schema.labels_sha256()
    if state is not None and state.labels_sha256 not in (None, labels):
        raise RoundError(
            f"the annotation schema changed since the review project of round {name!r} was made",
            hint=f"Finish it with `corpus adjudicate {name} --pull` using the old schema, "
            f"or delete {review_path(store.root, name)} and its project to start over.",
        )
    if state is None:
        state = ReviewState(
            round=name,
            project_title=review_title(name, store.store_id()),
            source_version=inputs.version,
            span_agreement=span_agreement,
            label_config_sha256=config_sha256(xml),
            created=datetime.now(UTC).isoformat(timespec="seconds"),
        )
    state.labels_sha256 = labels  # how the config looks (titles, keys) may change; labels not
    state.source_version, state.span_agreement = inputs.version, span_agreement
    wanted = {d.doc_id: d for d in inputs.docs if d.doc_id in gold.disagreements}
    result = ReviewResult(
        name,
        state.project_id,
        state.project_title,
        inputs.version,
        created_project=False,
        documents=sorted(wanted),
        accepted=len(inputs.docs) - len(wanted),
    )
    if not wanted and state.project_id is None:  # nothing to review: no empty project
        return result
    if state.project_id is None or owned_project(client, state.project_id, store) is None:
        state.project_id, result.created_project = _find_or_create_project(
            client, store, state, xml, schema
        )
        save_review(store.root, state)
    pid = result.project_id = state.project_id
    existing = client.task_keys(pid)
    for doc_id, tasks in existing.items():
        seen, now = state.docs.get(doc_id), wanted.get(doc_id)
        current = [int(r["annotation_id"]) for r in now.annotations.values()] if now else None
        if seen and current and seen.annotation_ids != current and not any(n for _, n in tasks):
            for task_id, _ in tasks:
                client.delete_task(task_id)
            result.replaced += 1
    existing = client.task_keys(pid)
    missing = [d for d in sorted(wanted) if d not in existing]
    result.already_there = len(wanted) - len(missing)
    for i in range(0, len(missing), BATCH):
        chunk = missing[i : i + BATCH]
        payload = [
            review_task(
                inputs.rows[d],
                wanted[d],
                version=inputs.state.version,
                reasons=gold.disagreements[d],
            )
            for d in chunk
        ]
        result.imported += client.import_tasks(pid, chunk, payload)
        yield Progress("review", "importing", result.already_there + i + len(chunk), len(wanted))
    for doc_id, doc in wanted.items():
        state.docs[doc_id] = ReviewDoc(
            annotation_ids=[int(r["annotation_id"]) for r in doc.annotations.values()],
            reasons=gold.disagreements[doc_id],
        )
    save_review(store.root, state)
    return result


def _find_or_create_project(
    client: StudioClient, store: Store, state: ReviewState, xml: str, schema: AnnotationSchema
) -> tuple[int, bool]:
    return find_or_create_project(
        client,
        store,
        state.project_title,
        description=(
            f"corpus review of round {state.round}: documents whose annotators disagree; "
            "each annotator's answer is a prediction named after their pseudonym"
        ),
        label_config=xml,
        maximum_annotations=1,
        show_skip_button=False,
        show_collab_predictions=True,
        enable_empty_annotation=False,
        **project_instructions(schema),
    )


@translate_os_errors
def pull_review(
    client: StudioClient,
    store: Store | str | os.PathLike[str],
    name: str,
    *,
    schema: AnnotationSchema | None = None,
    progress: ProgressCallback | None = None,
) -> AdjudicationResult:
    """The curator's decisions as gold (``decided_by`` "review"), majority for the rest.

    The export is archived unchanged and validated as a round pull is; a curator annotation
    with any invalid item, or without a document stance, is not used (listed in ``rejects``).
    Documents in disagreement without a curator decision keep their majority gold and are
    listed in ``pending``.
    """
    store = as_store(store)
    steps = _pull_review(client, store, schema or load_schema(), name)
    with store.lock():
        return drive(steps, progress)


def _pull_review(
    client: StudioClient, store: Store, schema: AnnotationSchema, name: str
) -> Steps[AdjudicationResult]:
    state = load_review(store.root, name)
    if state is None or state.project_id is None:
        raise RoundError(
            f"round {name!r} has no review project",
            hint=f"Create it with `corpus adjudicate {name} --strategy review`.",
        )
    annotators = annotator_keys(client, store)  # after the store's checks: no server needed
    inputs = load_inputs(store, name)
    yield Progress("review", "exporting the review project", 0, 1)
    try:
        raw = client.export(state.project_id)
    except LabelStudioError as exc:
        if exc.status_code == 404:
            raise RoundError(
                f"the review project {state.project_id} of round {name!r} is gone",
                hint=f"Run `corpus adjudicate {name} --strategy review` to make it again.",
            ) from None
        raise
    archive = archive_export(round_dir(store.root, name) / "review-exports", raw)
    tasks: list[dict[str, Any]] = json.loads(raw)
    stored = {
        d: StoredDoc(r["text"], r["text_sha256"])
        for d, r in store.documents(inputs.state.version, inputs.state.doc_ids).items()
    }
    key = pseudonym_key(store)
    curated: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    rejects: list[Reject] = []
    for task in tasks:
        checked = validate_task(
            task,
            docs=stored,
            schema=schema,
            round_name=name,
            who=lambda user: annotators.pseudonym(key, user),
            predicted={},
        )
        rejects.extend(checked.rejects)
        bad = {r.annotation_id for r in checked.rejects}
        for ann in checked.annotations:
            if ann["cancelled"] or ann["annotation_id"] in bad:
                continue
            if ann["stance"] is None:
                rejects.append(
                    Reject(
                        "the curator's annotation has no document stance; it was not used",
                        ann["task_id"],
                        ann["doc_id"],
                        ann["annotation_id"],
                    )
                )
                continue
            old = curated.get(ann["doc_id"])
            if old is None or recency(ann) > recency(old[0]):
                spans = [s for s in checked.spans if s["annotation_id"] == ann["annotation_id"]]
                curated[ann["doc_id"]] = (ann, spans)
    gold = decide(inputs.docs, inputs.skipped, span_agreement=state.span_agreement)
    by_doc = {d.doc_id: d for d in inputs.docs}
    decided = {}
    for doc_id, (ann, spans) in curated.items():
        doc = by_doc.get(doc_id) or DocumentVotes(
            doc_id, name, stored[doc_id].text, annotations={}, marks={}
        )
        decided[doc_id] = reviewed(doc, ann, spans)
    gold.gold_annotations = sorted(
        [g for g in gold.gold_annotations if g.doc_id not in decided]
        + [g for g, _ in decided.values()],
        key=lambda g: g.doc_id,
    )
    gold.gold_spans = sorted(
        [s for s in gold.gold_spans if s.doc_id not in decided]
        + [s for _, spans in decided.values() for s in spans],
        key=lambda s: (s.doc_id, s.start, s.end, s.issue),
    )
    gold.unresolved = [u for u in gold.unresolved if u.doc_id not in decided]
    pending = sorted(d for d in gold.disagreements if d not in decided)
    version, written = write_gold(
        store,
        inputs.version,
        name,
        gold,
        strategy="review",
        extra={
            "review_project_id": state.project_id,
            "reviewed": sorted(decided),
            "pending": pending,
            "export_archive": archive.name,
            "rejects": [r.to_dict() for r in rejects],
        },
    )
    return AdjudicationResult(
        name,
        "review",
        store.manifest(version).parent or inputs.version,
        version,
        written,
        gold,
        reviewed=sorted(decided),
        pending=pending,
        rejects=rejects,
        archive=archive,
        pull=inputs.version,
    )
