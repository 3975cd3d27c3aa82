"""Pull a round: archive the raw export, validate it, store a new dataset version."""

from __future__ import annotations

import json
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpus.atomic import write_json_atomic
from corpus.errors import RoundError, translate_os_errors
from corpus.faults import fault_point
from corpus.features import arrow_schema
from corpus.label_schema import AnnotationSchema, load_schema
from corpus.labelstudio import StudioClient
from corpus.labelstudio.config import ISSUE
from corpus.migrations import map_rows
from corpus.models import AnnotationRow, SpanAnnotation
from corpus.preannotate import PreAnnotator
from corpus.progress import Progress, ProgressCallback, Steps, drive
from corpus.rounds.convert import (
    Reject,
    Span,
    StoredDoc,
    task_fingerprint,
    validate_task,
)
from corpus.rounds.preannotators import LazyRoundPreAnnotator
from corpus.rounds.pulled import (
    AnnotatorKeys,
    annotator_keys,
    archive_export,
    pseudonym_key,
    pulled_versions,
    remove_leftovers,
    rows_digest,
)
from corpus.rounds.push import owned_project
from corpus.rounds.schemas import current_version, label_map, round_schema
from corpus.rounds.state import RoundState, load_round, round_dir, save_round
from corpus.store import Store, as_store, derive_version

ROUND_TABLES = {"annotations": arrow_schema(AnnotationRow), "spans": arrow_schema(SpanAnnotation)}


@dataclass
class PullResult:
    round: str
    version: str | None
    written: bool
    tasks: int = 0
    changed_tasks: int = 0
    annotations: int = 0
    spans: int = 0
    rejects: list[Reject] = field(default_factory=list)
    archive: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "round": self.round,
            "version": self.version,
            "written": self.written,
            "tasks": self.tasks,
            "changed_tasks": self.changed_tasks,
            "annotations": self.annotations,
            "spans": self.spans,
            "rejects": [r.to_dict() for r in self.rejects],
            "archive": str(self.archive) if self.archive else None,
        }


@translate_os_errors
def pull_round(
    client: StudioClient,
    store: Store | str | os.PathLike[str],
    name: str,
    *,
    schema: AnnotationSchema | None = None,
    preannotator: PreAnnotator | None = None,
    progress: ProgressCallback | None = None,
) -> PullResult:
    """Export, archive, validate and store a round's annotations as a new version.

    Annotations are validated against the label schema the round was started under (its
    kept copy; ``schema`` only for rounds made before copies were kept) and then mapped
    into the store's current schema through its migrations. Only tasks whose data or
    annotations changed since the last pull are validated again; with no change at all
    nothing is written (``result.written`` is False).
    """
    store = as_store(store)
    state = load_round(store.root, name)
    made_under = round_schema(store, state, schema or load_schema())
    pre = preannotator or LazyRoundPreAnnotator(store, state, made_under)
    return drive(_pull(client, store, made_under, name, pre), progress)


@translate_os_errors
def pull_export(
    store: Store | str | os.PathLike[str],
    name: str,
    raw: bytes,
    *,
    annotators: AnnotatorKeys,
    schema: AnnotationSchema | None = None,
    preannotator: PreAnnotator | None = None,
    progress: ProgressCallback | None = None,
) -> PullResult:
    """Store ``raw``, the JSON of one Label Studio export of round ``name``'s project, as
    :func:`pull_round` does once it has exported: archived, validated, mapped to the current
    schema and written as a new version (or nothing, when nothing changed).

    ``annotators`` keys the pseudonyms (:func:`~corpus.rounds.pulled.annotator_keys` reads
    them from the server). The same code path as :func:`pull_round`, without a server: the
    differential tests feed it simulated exports.
    """
    store = as_store(store)
    state = load_round(store.root, name)
    made_under = round_schema(store, state, schema or load_schema())
    pre = preannotator or LazyRoundPreAnnotator(store, state, made_under)

    def steps() -> Steps[PullResult]:
        with store.lock():
            result = yield from _commit_pull(store, made_under, name, pre, annotators, raw)
        return result

    return drive(steps(), progress)


def _pull(
    client: StudioClient,
    store: Store,
    schema: AnnotationSchema,
    name: str,
    preannotator: PreAnnotator,
) -> Steps[PullResult]:
    state = load_round(store.root, name)
    if state.project_id is None:
        raise RoundError(
            f"round {name!r} has no project yet", hint=f"Run `corpus round start {name}`."
        )
    if owned_project(client, state.project_id, store) is None:
        raise RoundError(
            f"the project {state.project_id} of round {name!r} is gone from {client.url}",
            hint=f"Run `corpus round push {name}` to make it again (annotations made in the "
            "deleted project are lost unless an earlier pull archived them).",
        )
    yield Progress("pull", "exporting from Label Studio", 0, 1)
    raw = client.export(state.project_id)
    annotators = annotator_keys(client, store)
    with store.lock():
        result = yield from _commit_pull(store, schema, name, preannotator, annotators, raw)
    return result


def _commit_pull(
    store: Store,
    schema: AnnotationSchema,
    name: str,
    preannotator: PreAnnotator,
    annotators: AnnotatorKeys,
    raw: bytes,
) -> Steps[PullResult]:
    """Archive, validate and store one export, under the store lock.

    Crash-safe in this order: the archive (atomic; the same export is archived once), the
    version (atomic; a version whose rows equal the round's last pull is not written again),
    then the round's state, which is only a cache of what the versions say.
    """
    state = load_round(store.root, name)
    folder = round_dir(store.root, name)
    remove_leftovers(folder)
    result = PullResult(round=name, version=None, written=False)
    archived = _archive_in_background(folder / "exports", raw)
    tasks: list[dict[str, Any]] = json.loads(raw)
    result.tasks = len(tasks)
    pulled = pulled_versions(store, name)
    last_version = pulled[-1] if pulled else None
    previous = _load_pull_state(folder)
    if previous.get("version") != last_version:  # stale: left by a crash or an older run
        previous = {}
    fingerprints = {str(t.get("id")): task_fingerprint(t) for t in tasks}
    unchanged = {
        tid for tid, fp in fingerprints.items() if previous.get("fingerprints", {}).get(tid) == fp
    }
    if (
        previous
        and unchanged == set(fingerprints)
        and set(fingerprints) == set(previous.get("fingerprints", {}))
    ):
        result.archive = archived.result()
        fault_point("pull:after-archive")
        result.rejects = [Reject(**r) for r in previous.get("rejects", [])]
        result.version = last_version
        _save_state(store, state, pulled)
        return result
    docs = {
        d: StoredDoc(row["text"], row["text_sha256"])
        for d, row in store.documents(state.version, state.doc_ids).items()
    }
    key = pseudonym_key(store)
    predicted: dict[str, set[Span]] = {}
    annotations: list[dict[str, Any]] = []
    spans: list[dict[str, Any]] = []
    rejects_by_task: dict[str, list[dict[str, Any]]] = {}
    reuse = (
        _previous_rows(store, last_version, name, tasks, unchanged)
        if previous and last_version
        else None
    )
    seen_docs: set[str] = set()
    for i, task in enumerate(tasks):
        tid = str(task.get("id"))
        doc_id = (task.get("data") or {}).get("doc_id")
        if isinstance(doc_id, str):
            seen_docs.add(doc_id)
        if reuse is not None and tid in unchanged:
            annotations.extend(reuse[0].get(tid, []))
            spans.extend(reuse[1].get(tid, []))
            rejects_by_task[tid] = previous.get("rejects_by_task", {}).get(tid, [])
            continue
        result.changed_tasks += 1
        if (
            isinstance(doc_id, str)
            and doc_id in docs
            and doc_id not in predicted
            and _compares_suggestions(task)
        ):
            predicted[doc_id] = {
                (s.start, s.end, s.issue) for s in preannotator.predict(docs[doc_id].text)
            }
        checked = validate_task(
            task,
            docs=docs,
            schema=schema,
            round_name=name,
            who=lambda user: annotators.pseudonym(key, user),
            predicted=predicted,
        )
        annotations.extend(checked.annotations)
        spans.extend(checked.spans)
        rejects_by_task[tid] = [r.to_dict() for r in checked.rejects]
        if i % 500 == 0:
            yield Progress("validate", "validating annotations", i, len(tasks))
    rejects = [Reject(**r) for rs in rejects_by_task.values() for r in rs]
    for doc_id in state.doc_ids:
        if doc_id not in seen_docs:
            rejects.append(
                Reject("task deleted in Label Studio: no task holds this document", doc_id=doc_id)
            )
    annotations, spans, relabel = _to_current_schema(store, schema, annotations, spans)
    result.rejects = rejects
    result.annotations, result.spans = len(annotations), len(spans)
    result.archive = archived.result()  # the export is kept before anything is stored
    fault_point("pull:after-archive")
    digest = rows_digest(annotations, spans, rejects)
    if last_version is not None and store.manifest(last_version).extra.get("rows") == digest:
        version = last_version  # the same rows as the last pull: nothing new to store
    else:
        version = write_pull_version(
            store,
            state.version,
            name,
            annotations,
            spans,
            rejects,
            result.archive,
            state.simulated,
            digest=digest,
            relabel=relabel,
        )
        result.written = True
        pulled.append(version)
        fault_point("pull:after-version")
    result.version = version
    _save_state(store, state, pulled)
    write_json_atomic(
        folder / "pull_state.json",
        {
            "version": version,
            "fingerprints": fingerprints,
            "rejects_by_task": rejects_by_task,
            "rejects": [r.to_dict() for r in rejects],
        },
    )
    write_json_atomic(folder / "rejects.json", [r.to_dict() for r in rejects])
    return result


def _save_state(store: Store, state: RoundState, pulled: list[str]) -> None:
    if state.pulled_versions != pulled:
        state.pulled_versions = list(pulled)
        save_round(store.root, state)


def _compares_suggestions(task: dict[str, Any]) -> bool:
    """Whether a span of the task has no ``origin`` (made through the API, not in the UI)
    in an annotation whose export does not embed the prediction it was shown.

    Only such spans are compared with the pre-annotator's suggestions to learn whether they
    were accepted as is (the UI records that in ``origin``; the export embeds the task's
    prediction in each annotation), so only their documents need ``predict`` again;
    running it over every document made pulls slow.
    """
    return any(
        item.get("from_name") == ISSUE
        and item.get("type") == "labels"
        and item.get("origin") is None
        for ann in task.get("annotations") or []
        if not isinstance(ann.get("prediction"), dict)
        for item in ann.get("result") or []
    )


def _archive_in_background(folder: Path, raw: bytes) -> Future[Path]:
    """:func:`archive_export` in a thread while the export is parsed and checked.

    zlib lets go of the GIL, so gzip runs on another core. The thread is not a daemon: the
    archive is completed whatever the caller does next, even if it fails or stops early.
    """
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="corpus-archive")
    try:
        return pool.submit(archive_export, folder, raw)
    finally:
        pool.shutdown(wait=False)


def _load_pull_state(folder: Path) -> dict[str, Any]:
    path = folder / "pull_state.json"
    if not path.is_file():
        return {}
    value: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return value


def _previous_rows(
    store: Store, version: str, name: str, tasks: list[dict[str, Any]], unchanged: set[str]
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]] | None:
    """Rows of unchanged tasks from the last pulled version, keyed by task id."""
    if version not in store.version_names():
        return None
    ann_by_task: dict[str, list[dict[str, Any]]] = {}
    task_of_annotation: dict[int, str] = {}
    for row in store.iter_rows(version, "annotations"):
        tid = str(row["task_id"])
        if row["round"] == name and tid in unchanged:
            ann_by_task.setdefault(tid, []).append(row)
            task_of_annotation[row["annotation_id"]] = tid
    spans_by_task: dict[str, list[dict[str, Any]]] = {}
    for row in store.iter_rows(version, "spans"):
        owner = task_of_annotation.get(row["annotation_id"])
        if row["round"] == name and owner is not None:
            spans_by_task.setdefault(owner, []).append(row)
    return ann_by_task, spans_by_task


def write_pull_version(
    store: Store,
    base: str,
    name: str,
    annotations: list[dict[str, Any]],
    spans: list[dict[str, Any]],
    rejects: list[Reject],
    archive: Path | None,
    simulated: bool = False,
    *,
    digest: str | None = None,
    relabel: dict[str, list[str]] | None = None,
) -> str:
    """A new version holding this round's annotations, derived from the store's LATEST
    version (lineage is a line): every table is carried forward, other rounds' rows and gold
    included; only this round's rows are replaced. ``base`` is the version the round's
    documents come from (recorded in the manifest)."""
    with store.lock():
        return derive_version(
            store,
            _latest(store, base),
            round_name=name,
            tables={
                "annotations": (ROUND_TABLES["annotations"], annotations),
                "spans": (ROUND_TABLES["spans"], spans),
            },
            kind="pull",
            message=f"annotations of round {name}",
            extra={
                "export_archive": archive.name if archive else None,
                "rejects": [r.to_dict() for r in rejects],
                "simulated": simulated,
                "rows": digest or rows_digest(annotations, spans, rejects),
                "base": base,
                **({"needs_relabel": relabel} if relabel else {}),
            },
        )


def _to_current_schema(
    store: Store,
    schema: AnnotationSchema,
    annotations: list[dict[str, Any]],
    spans: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, list[str]]]:
    """Rows of a round made under an older schema, mapped through the store's migrations."""
    mapping = label_map(store, schema.schema_version, current_version(store, schema.schema_version))
    if mapping is None:
        return annotations, spans, {}
    mapped = map_rows(mapping, {"annotations": annotations, "spans": spans})
    return mapped.rows["annotations"], mapped.rows["spans"], dict(mapped.relabel)


def _latest(store: Store, fallback: str) -> str:
    return store.latest_name() or fallback
