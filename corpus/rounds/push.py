"""Start a round and push its tasks to Label Studio (idempotent, safe after a crash).

Every function takes a connected :class:`~corpus.labelstudio.StudioClient`; nothing here
builds one.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from corpus.errors import RoundError, translate_os_errors
from corpus.label_schema import AnnotationSchema, load_schema
from corpus.labelstudio import StudioClient
from corpus.labelstudio.config import config_sha256, label_config, project_instructions
from corpus.preannotate import (
    KeywordPreAnnotator,
    NoPreAnnotator,
    PreAnnotator,
    stance_suggestion,
)
from corpus.progress import Progress, ProgressCallback, Steps, drive
from corpus.rounds.convert import to_task
from corpus.rounds.population import plan_sample
from corpus.rounds.preannotators import model_preannotator, model_reference, round_preannotator
from corpus.rounds.project import ensure_project, mark_anchors, remove_duplicates
from corpus.rounds.rerun import push_still_complete, record_push
from corpus.rounds.sample import MODEL_STRATEGIES
from corpus.rounds.schemas import check_current_schema, round_schema, save_round_schema
from corpus.rounds.state import (
    RoundSettings,
    RoundState,
    load_round,
    project_title,
    save_round,
)
from corpus.store import Store, as_store


@dataclass
class PushResult:
    state: RoundState
    created_project: bool = False
    imported: int = 0
    already_there: int = 0
    duplicates_removed: int = 0
    unchanged: bool = False  # the project showed what the last complete push left: no listing

    def to_dict(self) -> dict[str, Any]:
        return {
            "round": self.state.name,
            "project_id": self.state.project_id,
            "version": self.state.version,
            "tasks": len(self.state.doc_ids),
            "created_project": self.created_project,
            "imported": self.imported,
            "already_there": self.already_there,
            "duplicates_removed": self.duplicates_removed,
            "unchanged": self.unchanged,
        }


def check_round_options(*, sample: int | None, overlap: int, anchor: int, batch_size: int) -> None:
    """Refuse settings that make no sense (``ValueError``, before anything is created)."""
    if sample is not None and sample < 1:
        raise ValueError(f"sample must be at least 1 (or None for all documents), not {sample}")
    if overlap < 1:
        raise ValueError(f"overlap must be at least 1 annotator per task, not {overlap}")
    if anchor < 0:
        raise ValueError(f"anchor must be 0 or more documents, not {anchor}")
    if sample is not None and anchor > sample:
        raise ValueError(f"anchor ({anchor}) cannot exceed sample ({sample})")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")


@translate_os_errors
def start_round(
    client: StudioClient,
    store: Store | str | os.PathLike[str],
    name: str,
    *,
    version: str | None = None,
    schema: AnnotationSchema | None = None,
    preannotator: PreAnnotator | None = None,
    sample: int | None = None,
    overlap: int = 1,
    seed: int = 0,
    anchor: int = 0,
    batch_size: int = 1000,
    strategy: str = "random",
    relabel: str | None = None,
    include_labelled: bool = False,
    model: str | os.PathLike[str] | None = None,
    preannotate: str | os.PathLike[str] | None = None,
    explore: float = 0.2,
    simulated: bool = False,
    progress: ProgressCallback | None = None,
) -> PushResult:
    """Create (or find again) the round's project and push its tasks.

    ``sample`` documents of ``version`` (default: the latest; all when ``sample`` is None),
    at most one per near-duplicate component, reproducible from ``seed``, chosen by
    ``strategy`` (:mod:`corpus.rounds.sample`) among the documents no earlier round has sent
    (nor a near-duplicate of one) and that have no gold (``include_labelled`` drops that rule,
    ``relabel`` re-sends an earlier round's documents). ``overlap`` annotators per task;
    ``anchor`` of the sampled documents stay open to every annotator.

    What annotators see is ``preannotate``: ``"keywords"`` (the schema's keywords),
    ``"none"`` (tasks carry no predictions) or a stored model (a name in
    ``<store>/models/`` or a folder, see :mod:`corpus.inference`: spans with their marginal
    probability and the document stance with its probability); a ``preannotator`` object may
    be passed instead. ``model`` is the stored model the ``uncertainty`` and
    ``diverse-uncertainty`` strategies rank documents by (with an ``explore`` share picked at
    random), without being shown unless ``preannotate`` names it too. As before ``--model``
    existed, ``preannotate=None`` means ``model`` when one is given (shown *and* ranking),
    else the keywords; and a pre-annotating model ranks documents when ``model`` is None.
    ``simulated`` marks a round whose annotations come from simulated annotators (the
    demo): every version pulled from it, and every release built on it, says so.
    """
    check_round_options(sample=sample, overlap=overlap, anchor=anchor, batch_size=batch_size)
    if relabel is not None and include_labelled:
        raise ValueError("relabel and include_labelled exclude each other")
    if preannotate is not None and preannotator is not None:
        raise ValueError("pass preannotate or a preannotator, not both")
    if not 0.0 <= explore <= 1.0:
        raise ValueError(f"explore must be between 0 and 1, not {explore}")
    if preannotate is None and preannotator is None:
        preannotate = model  # as before --model: the model is shown and ranks (or keywords)
    separate = model is not None and str(model) != str(preannotate)
    if separate and strategy not in MODEL_STRATEGIES:
        raise ValueError(
            f"model ranks documents only for the {' and '.join(MODEL_STRATEGIES)} strategies, "
            f"not {strategy!r}; pass preannotate=MODEL to show a model's suggestions"
        )
    schema = schema or load_schema()
    store = as_store(store)
    shown_model = None
    if preannotate is None or str(preannotate) == "keywords":
        preannotator = preannotator or KeywordPreAnnotator(schema)
    elif str(preannotate) == NoPreAnnotator.NAME:
        preannotator = NoPreAnnotator()
    else:
        loaded = model_preannotator(store, preannotate, schema)
        preannotator, shown_model = loaded, model_reference(store, loaded.model.path)
    sampler: PreAnnotator = preannotator
    sampling_name = None
    if separate and model is not None:
        ranking = model_preannotator(store, model, schema)
        sampler, sampling_name = ranking, model_reference(store, ranking.model.path)
    steps = _start(
        client,
        store,
        schema,
        name,
        version=version,
        preannotator=preannotator,
        sampler=sampler,
        settings=RoundSettings(
            sample=sample,
            overlap=overlap,
            seed=seed,
            anchor=anchor,
            batch_size=batch_size,
            strategy=strategy,
            relabel=relabel,
            include_labelled=include_labelled,
            model=shown_model,
            sampling_model=sampling_name,
            predictions=not isinstance(preannotator, NoPreAnnotator),
            explore=explore if strategy in MODEL_STRATEGIES else None,
        ),
        simulated=simulated,
    )
    with store.lock():  # round.json is read, changed and written: one writer
        return drive(steps, progress)


def _start(
    client: StudioClient,
    store: Store,
    schema: AnnotationSchema,
    name: str,
    *,
    version: str | None,
    preannotator: PreAnnotator,
    sampler: PreAnnotator,
    settings: RoundSettings,
    simulated: bool,
) -> Steps[PushResult]:
    xml = label_config(schema)
    try:
        state = load_round(store.root, name)
    except RoundError:
        state = None
    if version is None:
        version = state.version if state is not None else store.latest_name()
        if version is None:
            raise RoundError(
                "the store has no version to sample from", hint="Run `corpus ingest` first."
            )
    if state is not None:
        if state.version != version or state.settings != settings:
            raise RoundError(
                f"round {name!r} already exists with version {state.version} and "
                f"settings {state.settings.model_dump()}",
                hint="Use another round name, or `corpus round push` to continue this one.",
            )
    else:
        store.manifest(version)  # a clear error for an unknown version
        check_current_schema(store, schema)
        yield Progress(
            "sample", f"choosing documents of version {version} ({settings.strategy} strategy)"
        )
        sample = plan_sample(store, name, version, settings, preannotator, sampler=sampler)
        if not sample.doc_ids:
            left = ", ".join(f"{n} {why}" for why, n in sample.excluded.items()) or "none"
            raise RoundError(
                f"nothing to sample for round {name!r} from version {version}: "
                f"{sample.population} candidate document(s) (left out: {left})",
                hint="Ingest more articles, or pass --include-labelled (or --relabel ROUND) "
                "to send documents again.",
            )
        state = RoundState(
            name=name,
            version=version,
            project_title=project_title(name, store.store_id()),
            settings=settings,
            doc_ids=sample.doc_ids,
            anchor_ids=sample.anchor_ids,
            scores=sample.scores,
            excluded=sample.excluded,
            population=sample.population,
            explored=sample.explored,
            schema_hash=schema.hash(),
            label_config_sha256=config_sha256(xml),
            model_version=preannotator.model_version,
            sampling_model_version=(
                sampler.model_version if settings.strategy in MODEL_STRATEGIES else None
            ),
            created=datetime.now(UTC).isoformat(timespec="seconds"),
            simulated=simulated,
        )
        save_round(store.root, state)
        save_round_schema(store, state, schema)
    created = ensure_project(client, store, state, schema)
    if not created and state.project_id is not None and state.schema_hash == schema.hash():
        client.update_project(state.project_id, **project_instructions(schema))  # old projects
    result = yield from _push(client, store, name, preannotator=preannotator)
    result.created_project = created
    return result


@translate_os_errors
def push_round(
    client: StudioClient,
    store: Store | str | os.PathLike[str],
    name: str,
    *,
    schema: AnnotationSchema | None = None,
    preannotator: PreAnnotator | None = None,
    progress: ProgressCallback | None = None,
) -> PushResult:
    """Import the round's missing tasks; safe to re-run after a crash or a killed server.

    Suggestions come from ``preannotator`` (default: the keywords of the schema the round
    was started under). A project of another store is refused; a project the server lost
    is made again (empty: its annotations are gone unless a pull archived them).
    """
    store = as_store(store)
    state = load_round(store.root, name)
    if state.project_id is None:
        raise RoundError(
            f"round {name!r} has no project yet", hint=f"Run `corpus round start {name}`."
        )
    made_under = round_schema(store, state, schema or load_schema())
    if preannotator is None:
        preannotator = round_preannotator(store, state, made_under)
    with store.lock():  # round.json changes when the project is made again
        state = load_round(store.root, name)
        created = ensure_project(client, store, state, made_under)
    result = drive(_push(client, store, name, preannotator=preannotator), progress)
    result.created_project = created
    return result


def _push(
    client: StudioClient, store: Store, name: str, *, preannotator: PreAnnotator
) -> Steps[PushResult]:
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
            hint="The annotation schema changed since the round started, or its model was "
            "trained again under the same name; start a new round.",
        )
    pid = state.project_id
    result = PushResult(state=state)
    total = len(state.doc_ids)
    if push_still_complete(client, state):  # a count and an id, not a listing of every task
        result.already_there, result.unchanged = total, True
        yield Progress("push", "every task is there since the last push", total, total)
        return result
    existing = client.task_keys(pid)
    result.duplicates_removed = remove_duplicates(client, existing)
    missing = [d for d in state.doc_ids if d not in existing]
    result.already_there = len(state.doc_ids) - len(missing)
    yield Progress("push", "checking existing tasks", result.already_there, total)
    docs = store.documents(state.version, set(missing))
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
                    stance=stance_suggestion(preannotator, docs[d]["text"]),
                )
                for d in chunk
            ]
            if not state.settings.predictions:  # --preannotate none: nothing to anchor on
                for task in payload:
                    del task["predictions"]
            if importing is not None:
                result.imported += importing[0].result()
                done += importing[1]
                importing = None
                yield Progress("push", "importing tasks", done, total)
            importing = pool.submit(client.import_tasks, pid, chunk, payload), len(chunk)
        if importing is not None:
            result.imported += importing[0].result()
            yield Progress("push", "importing tasks", done + importing[1], total)
    if state.anchor_ids:
        mark_anchors(client, pid, state.anchor_ids, existing)
    record_push(client, store, name)
    return result
