"""Pull a round: archive the raw export, validate it, store a new dataset version."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpus.atomic import write_json_atomic
from corpus.errors import translate_os_errors
from corpus.faults import fault_point
from corpus.features import arrow_schema
from corpus.label_schema import AnnotationSchema, load_schema
from corpus.labels.mapping import LabelMap, map_rows
from corpus.labelstudio import StudioClient
from corpus.labelstudio.changes import ProjectSnapshot, project_snapshot
from corpus.labelstudio.config import ISSUE
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
from corpus.rounds.project import round_project
from corpus.rounds.pulled import (
    AnnotatorKeys,
    annotator_keys,
    archive_in_background,
    pseudonym_key,
    pulled_versions,
    remove_leftovers,
    rows_digest,
)
from corpus.rounds.rerun import pull_unchanged, pull_watch
from corpus.rounds.reuse import PULL_STATE_FORMAT, kept_marks, load_pull_state, previous_rows
from corpus.rounds.schemas import current_version, migrations, round_schema
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
    exported: bool = True  # False: the server showed no change since the last pull

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
            "exported": self.exported,
        }


@translate_os_errors
def pull_round(
    client: StudioClient,
    store: Store | str | os.PathLike[str],
    name: str,
    *,
    schema: AnnotationSchema | None = None,
    preannotator: PreAnnotator | None = None,
    full: bool = False,
    progress: ProgressCallback | None = None,
) -> PullResult:
    """Export, archive, validate and store a round's annotations as a new version.

    Annotations are validated against the label schema the round was started under (its
    kept copy; ``schema`` only for rounds made before copies were kept) and then mapped
    into the store's current schema through its migrations. Only tasks whose data or
    annotations changed since the last pull are validated again; with no change at all
    nothing is written (``result.written`` is False). When the project's counts and the
    tasks saved since the last pull show no change, nothing is exported either
    (``result.exported`` is False; :mod:`corpus.rounds.rerun`); ``full`` exports anyway.
    """
    store = as_store(store)
    state = load_round(store.root, name)
    made_under = round_schema(store, state, schema or load_schema())
    pre = preannotator or LazyRoundPreAnnotator(store, state, made_under)
    return drive(_pull(client, store, made_under, name, pre, full=full), progress)


@translate_os_errors
def pull_export(
    store: Store | str | os.PathLike[str],
    name: str,
    export: bytes,
    *,
    schema: AnnotationSchema | None = None,
    preannotator: PreAnnotator | None = None,
    annotators: AnnotatorKeys | None = None,
    progress: ProgressCallback | None = None,
) -> PullResult:
    """What :func:`pull_round` does with a Label Studio export (the JSON bytes of
    ``export``): archive, validate, reuse unchanged tasks' rows, map once into the current
    schema, store. For exports kept elsewhere and for tests fed export JSON (no server:
    ``annotators`` defaults to a server with no identity and no join times)."""
    store = as_store(store)
    state = load_round(store.root, name)
    made_under = round_schema(store, state, schema or load_schema())
    pre = preannotator or LazyRoundPreAnnotator(store, state, made_under)
    keys = annotators or AnnotatorKeys("", {})
    with store.lock():
        steps = _commit_pull(store, made_under, name, pre, keys, export)
        return drive(steps, progress)


def _pull(
    client: StudioClient,
    store: Store,
    schema: AnnotationSchema,
    name: str,
    preannotator: PreAnnotator,
    *,
    full: bool,
) -> Steps[PullResult]:
    state = load_round(store.root, name)
    project = round_project(client, store, state)  # refused: none, gone, another store's
    if not full:
        yield Progress("check", "asking Label Studio what changed since the last pull", 0, 1)
        same = _unchanged(client, store, name, project.id)
        if same is not None:
            return same
    yield Progress("pull", "exporting from Label Studio", 0, 1)
    before = project_snapshot(client, project.id)
    raw = client.export(project.id)
    after = project_snapshot(client, project.id)
    annotators = annotator_keys(client, store)
    with store.lock():
        result = yield from _commit_pull(
            store, schema, name, preannotator, annotators, raw, seen=(before, after)
        )
    return result


def _unchanged(client: StudioClient, store: Store, name: str, project_id: int) -> PullResult | None:
    """What a pull with no change since the last one returns, when the server shows none
    (nothing exported, nothing written but the watch moved forward); None: export."""
    kept = pull_unchanged(client, store, name, project_id)
    if kept is None:
        return None
    previous, version, archive = kept
    _save_state(store, load_round(store.root, name), pulled_versions(store, name))
    return PullResult(
        round=name,
        version=version,
        written=False,
        tasks=int(previous["watch"]["counts"][0]),
        rejects=[Reject(**r) for r in previous.get("rejects", [])],
        archive=archive,
        exported=False,
    )


def _commit_pull(
    store: Store,
    schema: AnnotationSchema,
    name: str,
    preannotator: PreAnnotator,
    annotators: AnnotatorKeys,
    raw: bytes,
    *,
    seen: tuple[ProjectSnapshot | None, ProjectSnapshot | None] = (None, None),
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
    archived = archive_in_background(folder / "exports", raw)
    tasks: list[dict[str, Any]] = json.loads(raw)
    result.tasks = len(tasks)
    pulled = pulled_versions(store, name)
    last_version = pulled[-1] if pulled else None
    previous = load_pull_state(folder)
    if previous.get("version") != last_version or previous.get("format") != PULL_STATE_FORMAT:
        previous = {}  # stale (left by a crash) or by an older corpus (rows' versions unsure)
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
        watch = pull_watch(*seen, tasks, annotators.joined, result.archive.name)
        write_json_atomic(folder / "pull_state.json", {**previous, "watch": watch})
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
        previous_rows(store, last_version, name, tasks, unchanged)
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
    if reuse is not None and last_version is not None:  # marks of reused rows were made then
        relabel = kept_marks(store, last_version, tasks, unchanged, relabel)
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
            "format": PULL_STATE_FORMAT,
            "version": version,
            "fingerprints": fingerprints,
            "rejects_by_task": rejects_by_task,
            "rejects": [r.to_dict() for r in rejects],
            "watch": pull_watch(*seen, tasks, annotators.joined, result.archive.name),
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
    """Rows mapped once into the store's current schema, each from its own version: rows
    validated now are in the round's schema, rows reused from the last pull already in the
    version that pull mapped them to (:mod:`corpus.labels.mapping`)."""
    current = current_version(store, schema.schema_version)
    mapped = map_rows(
        LabelMap.of(migrations(store), current),
        {"annotations": annotations, "spans": spans},
        made_under=schema.schema_version,
    )
    return mapped.rows["annotations"], mapped.rows["spans"], dict(mapped.relabel)


def _latest(store: Store, fallback: str) -> str:
    return store.latest_name() or fallback
