"""The I/O edge of rounds: push tasks to Label Studio, read status, pull annotations.

Every function takes a connected ``LabelStudio`` client; nothing here builds one.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx

from corpus.errors import LabelStudioError, RoundError, StudioNotRunningError
from corpus.labelconfig import config_sha256, label_config
from corpus.preannotate import PreAnnotator
from corpus.rounds.convert import sample_documents, to_task
from corpus.rounds.model import (
    RoundSettings,
    RoundState,
    load_round,
    project_title,
    save_round,
)
from corpus.schema import AnnotationSchema
from corpus.store import Store

T = TypeVar("T")
ANCHOR_OVERLAP = 1000  # "everyone": the task stays open to every annotator
RETRIES = 4


@dataclass(frozen=True)
class RoundEvent:
    """Progress: ``stage`` is e.g. "push" or "pull"; ``done`` of ``total`` items."""

    stage: str
    done: int
    total: int
    message: str = ""


@dataclass
class PushResult:
    state: RoundState
    created_project: bool = False
    imported: int = 0
    already_there: int = 0
    duplicates_removed: int = 0


@dataclass(frozen=True)
class Done:
    """The last event of a round generator, carrying its result."""

    result: Any


@contextlib.contextmanager
def api(endpoint: str, url: str = "") -> Iterator[None]:
    """Turn SDK and HTTP failures into our errors (never the raw ApiError text)."""
    from label_studio_sdk.core.api_error import ApiError

    from corpus.studio import wrap_api_error

    try:
        yield
    except ApiError as exc:
        raise wrap_api_error(exc, endpoint, url=url or None) from None
    except httpx.ConnectError:
        raise StudioNotRunningError(
            f"Label Studio stopped answering during {endpoint}", endpoint=endpoint
        ) from None
    except (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError) as exc:
        raise LabelStudioError(
            f"Label Studio did not answer {endpoint} ({type(exc).__name__})",
            endpoint=endpoint,
            hint="The server may be overloaded or restarting; run the command again.",
        ) from None


def transient(exc: BaseException) -> bool:
    if isinstance(exc, StudioNotRunningError):
        return False
    if isinstance(exc, LabelStudioError):
        return exc.status_code is None or exc.status_code >= 500 or exc.status_code == 429
    return False


def retrying(fn: Callable[[], T], *, attempts: int = RETRIES, base: float = 0.5) -> T:
    """Retry an idempotent call on 5xx/timeouts with exponential backoff (tenacity)."""
    from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

    wrapped = retry(
        retry=retry_if_exception(transient),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=base, max=8),
        reraise=True,
    )(fn)
    return wrapped()


def _docs_for(store: Store, version: str, doc_ids: set[str] | None) -> dict[str, dict[str, Any]]:
    """Document rows (id, title, text, sha, group) of a version, optionally filtered."""
    columns = ["doc_id", "title", "text", "text_sha256", "dup_group"]
    docs: dict[str, dict[str, Any]] = {}
    for batch in store.iter_batches(version, "documents", columns):
        for row in batch.to_pylist():
            if doc_ids is None or row["doc_id"] in doc_ids:
                docs[row["doc_id"]] = row
    return docs


def start_round(
    client: Any,
    store: Store,
    schema: AnnotationSchema,
    name: str,
    *,
    version: str,
    preannotator: PreAnnotator,
    sample: int | None = None,
    overlap: int = 1,
    seed: int = 0,
    anchor: int = 0,
    batch_size: int = 1000,
    simulated: bool = False,
) -> Iterator[RoundEvent | Done]:
    """Create (or find again) the round's project and push its tasks.

    ``simulated`` marks a round whose annotations come from simulated annotators (the demo):
    every version pulled from it, and every release built on it, says so.
    """
    settings = RoundSettings(
        sample=sample, overlap=overlap, seed=seed, anchor=anchor, batch_size=batch_size
    )
    xml = label_config(schema)
    try:
        state = load_round(store.root, name)
    except RoundError:
        state = None
    if state is not None:
        if state.version != version or state.settings != settings:
            raise RoundError(
                f"round {name!r} already exists with version {state.version} and "
                f"settings {state.settings.model_dump()}",
                hint="Use another round name, or `corpus round push` to continue this one.",
            )
    else:
        store.manifest(version)  # a clear error for an unknown version
        pairs = [(d["doc_id"], d["dup_group"]) for d in _docs_for(store, version, None).values()]
        doc_ids, anchor_ids = sample_documents(pairs, n=sample, seed=seed, anchor=anchor)
        state = RoundState(
            name=name,
            version=version,
            project_title=project_title(name),
            settings=settings,
            doc_ids=doc_ids,
            anchor_ids=anchor_ids,
            schema_hash=schema.hash(),
            label_config_sha256=config_sha256(xml),
            model_version=preannotator.model_version,
            created=datetime.now(UTC).isoformat(timespec="seconds"),
            simulated=simulated,
        )
        save_round(store.root, state)
    created = False
    if state.project_id is None or not _project_exists(client, state.project_id):
        state.project_id, created = _find_or_create_project(client, state, xml)
        save_round(store.root, state)
    result = yield from _push(client, store, name, preannotator=preannotator)
    result.created_project = created
    yield Done(result)


def _project_exists(client: Any, project_id: int) -> bool:
    try:
        with api(f"GET /api/projects/{project_id}"):
            client.projects.get(id=project_id)
    except LabelStudioError as exc:
        if exc.status_code == 404:
            return False
        raise
    return True


def find_or_create_project(client: Any, title: str, **settings: Any) -> tuple[int, bool]:
    """The project with this title (found again after a lost state), or a new one."""
    with api("GET /api/projects"):
        for project in client.projects.list(title=title):
            if project.title == title:
                return int(project.id), False
    with api("POST /api/projects"):
        project = client.projects.create(title=title, **settings)
    return int(project.id), True


def _find_or_create_project(client: Any, state: RoundState, xml: str) -> tuple[int, bool]:
    return find_or_create_project(
        client,
        state.project_title,
        description=f"corpus round {state.name} on dataset version {state.version}",
        label_config=xml,
        maximum_annotations=state.settings.overlap,
        show_skip_button=True,
        show_collab_predictions=True,
        model_version=state.model_version,
        enable_empty_annotation=False,
    )


def existing_tasks(client: Any, project_id: int) -> dict[str, list[tuple[int, int]]]:
    """doc_id -> [(task id, annotations)] of the tasks already in the project."""
    with api(f"GET /api/projects/{project_id}"):
        count = client.projects.get(id=project_id).task_number or 0
    found: dict[str, list[tuple[int, int]]] = {}
    if count == 0:
        return found
    with api("GET /api/tasks"):
        for task in client.tasks.list(project=project_id, fields="task_only", page_size=1000):
            doc_id = (task.data or {}).get("doc_id")
            if isinstance(doc_id, str):
                found.setdefault(doc_id, []).append(
                    (int(task.id), int(task.total_annotations or 0))
                )
    return found


def push_round(
    client: Any, store: Store, name: str, *, preannotator: PreAnnotator
) -> Iterator[RoundEvent | Done]:
    """Import the round's missing tasks; safe to re-run after a crash or a killed server."""
    result = yield from _push(client, store, name, preannotator=preannotator)
    yield Done(result)


def _push(
    client: Any, store: Store, name: str, *, preannotator: PreAnnotator
) -> Generator[RoundEvent, None, PushResult]:
    """Import the round's missing tasks.

    Label Studio ignores ids on import and never de-duplicates, so tasks are matched on
    ``data.doc_id``: only missing documents are imported, duplicates left by an earlier
    crash are removed (keeping the task with annotations), and an import that failed
    mid-request is retried only after re-reading what the server has.
    """
    state = load_round(store.root, name)
    if state.project_id is None:
        raise RoundError(
            f"round {name!r} has no project yet", hint=f"Run `corpus round start {name}`."
        )
    if preannotator.model_version != state.model_version:
        raise RoundError(
            f"round {name!r} was started with pre-annotator {state.model_version}, "
            f"not {preannotator.model_version}",
            hint="The annotation schema changed since the round started; start a new round.",
        )
    pid = state.project_id
    result = PushResult(state=state)
    existing = retrying(lambda: existing_tasks(client, pid))
    result.duplicates_removed = _remove_duplicates(client, existing)
    missing = [d for d in state.doc_ids if d not in existing]
    result.already_there = len(state.doc_ids) - len(missing)
    total = len(state.doc_ids)
    yield RoundEvent("push", result.already_there, total, "checking existing tasks")
    docs = _docs_for(store, state.version, set(missing))
    size = state.settings.batch_size
    chunks = [missing[i : i + size] for i in range(0, len(missing), size)]
    done = result.already_there
    # While the server imports one batch, the next is built here (pre-annotator included, in
    # the caller's thread); imports stay one at a time, in order, in a single worker thread.
    # Nothing is in flight when an event is yielded.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="corpus-import") as pool:
        importing: tuple[Future[int], int] | None = None
        for chunk in chunks:
            payload = [
                to_task(
                    docs[d],
                    version=state.version,
                    round_name=name,
                    suggestions=preannotator.predict(docs[d]["text"]),
                    model_version=state.model_version,
                )
                for d in chunk
            ]
            if importing is not None:
                result.imported += importing[0].result()
                done += importing[1]
                importing = None
                yield RoundEvent("push", done, total)
            importing = pool.submit(_import_safely, client, pid, chunk, payload), len(chunk)
        if importing is not None:
            result.imported += importing[0].result()
            yield RoundEvent("push", done + importing[1], total)
    if state.anchor_ids:
        _mark_anchors(client, pid, state.anchor_ids)
    return result


def _import_safely(client: Any, pid: int, doc_ids: list[str], payload: list[dict[str, Any]]) -> int:
    """Import one batch; on a transient failure, import only what did not arrive."""
    for attempt in range(RETRIES):
        try:
            with api(f"POST /api/projects/{pid}/import"):
                client.projects.import_tasks(
                    id=pid,
                    request=payload,
                    return_task_ids=False,
                    request_options={"max_retries": 0, "timeout": 600},
                )
            return len(payload)
        except LabelStudioError as exc:
            if not transient(exc) or attempt == RETRIES - 1:
                raise
            time.sleep(0.5 * 2**attempt)
            there = retrying(lambda: existing_tasks(client, pid))
            keep = [(d, p) for d, p in zip(doc_ids, payload, strict=True) if d not in there]
            doc_ids, payload = [d for d, _ in keep], [p for _, p in keep]
            if not payload:
                return 0
    return 0  # pragma: no cover


def _remove_duplicates(client: Any, existing: dict[str, list[tuple[int, int]]]) -> int:
    removed = 0
    for doc_id, tasks in existing.items():
        if len(tasks) < 2:
            continue
        keep = max(tasks, key=lambda t: (t[1], -t[0]))  # most annotations, then oldest
        for task_id, n_annotations in tasks:
            if task_id != keep[0] and n_annotations == 0:
                with api(f"DELETE /api/tasks/{task_id}"):
                    client.tasks.delete(id=str(task_id))
                removed += 1
        existing[doc_id] = [keep]
    return removed


def _mark_anchors(client: Any, pid: int, anchor_ids: list[str]) -> None:
    anchors = set(anchor_ids)
    for doc_id, tasks in existing_tasks(client, pid).items():
        if doc_id in anchors:
            for task_id, _ in tasks:
                with api(f"PATCH /api/tasks/{task_id}"):
                    client.tasks.update(id=str(task_id), overlap=ANCHOR_OVERLAP)


@dataclass
class RoundStatus:
    name: str
    project_id: int | None
    version: str
    documents: int
    tasks: int = 0
    annotated: int = 0
    skipped: int = 0
    per_annotator: dict[str, dict[str, int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def round_status(client: Any, store: Store, name: str) -> RoundStatus:
    """Tasks total / annotated / skipped, and per annotator (by Label Studio e-mail).

    E-mails are shown to the coordinator here and never stored.
    """
    import json

    from corpus.rounds.pull import export_round

    state = load_round(store.root, name)
    status = RoundStatus(
        name=name, project_id=state.project_id, version=state.version, documents=len(state.doc_ids)
    )
    if state.project_id is None:
        return status
    tasks = json.loads(export_round(client, state.project_id))
    with api("GET /api/users"):
        emails = {int(u.id): str(u.email) for u in client.users.list()}
    status.tasks = len(tasks)
    for task in tasks:
        anns = task.get("annotations") or []
        done = [a for a in anns if not a.get("was_cancelled")]
        status.annotated += bool(done)
        status.skipped += bool(anns) and not done
        for a in anns:
            user = a.get("completed_by")
            uid = user.get("id") if isinstance(user, dict) else user
            who = emails.get(int(uid), f"user {uid}") if uid is not None else "unknown"
            counts = status.per_annotator.setdefault(who, {"done": 0, "skipped": 0})
            counts["skipped" if a.get("was_cancelled") else "done"] += 1
    return status
