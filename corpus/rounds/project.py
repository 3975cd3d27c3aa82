"""The round's project on Label Studio: which store it belongs to, finding it again or
making it, and keeping its tasks one per document.

:mod:`corpus.rounds.push` drives a push through these; :mod:`corpus.rounds.status`,
:mod:`corpus.rounds.pull` and :mod:`corpus.adjudication.review` look projects up here.
"""

from __future__ import annotations

from typing import Any

from corpus.errors import RoundError
from corpus.label_schema import AnnotationSchema
from corpus.labelstudio import ProjectInfo, StudioClient
from corpus.labelstudio.config import label_config, project_instructions
from corpus.rounds.state import RoundState, save_round
from corpus.store import Store

ANCHOR_OVERLAP = 1000  # "everyone": the task stays open to every annotator
OWNER_KEY = "corpus-store:"


def owner_mark(store: Store) -> str:
    """The line a project's description carries to say which store it belongs to."""
    return f"{OWNER_KEY} {store.store_id()}"


def ensure_project(
    client: StudioClient, store: Store, state: RoundState, schema: AnnotationSchema
) -> bool:
    """Give the round a project of this store: its own (a project of another store is
    refused), or a new one when it has none or the server lost it. True when made now."""
    if state.project_id is not None and owned_project(client, state.project_id, store):
        return False
    xml = label_config(schema)
    state.project_id, created = _find_or_create_project(client, store, state, xml, schema)
    save_round(store.root, state)
    return created


def round_project(client: StudioClient, store: Store, state: RoundState) -> ProjectInfo:
    """The round's project on the server; :class:`RoundError` when the round has none yet,
    when the server lost it (``corpus round push`` makes it again) or when it belongs to
    another store."""
    if state.project_id is None:
        raise RoundError(
            f"round {state.name!r} has no project yet",
            hint=f"Run `corpus round start {state.name}`.",
        )
    project = owned_project(client, state.project_id, store)
    if project is None:
        raise RoundError(
            f"the project {state.project_id} of round {state.name!r} is gone from {client.url}",
            hint=f"Run `corpus round push {state.name}` to make it again (annotations made in "
            "the deleted project are lost unless an earlier pull archived them).",
        )
    return project


def owned_project(client: StudioClient, project_id: int, store: Store) -> ProjectInfo | None:
    """The project if the server still has it (None when deleted); a project of another
    store is refused. A project made before projects were marked is ours (its id came from
    this store's state) and is marked now."""
    project = client.project(project_id)
    if project is None:
        return None
    mark = owner_mark(store)
    if mark in project.description:
        return project
    other = next(
        (line for line in project.description.splitlines() if line.startswith(OWNER_KEY)), None
    )
    if other is not None:
        raise RoundError(
            f"project {project_id} ({project.title!r}) at {client.url} belongs to another store "
            f"({other.removeprefix(OWNER_KEY).strip()}), not to {store.root} "
            f"({store.store_id()})",
            hint="Two stores never share a project. Check --store (or CORPUS_STORE), or start "
            "the round under another name to make a project of this store.",
        )
    client.update_project(project_id, description=f"{project.description}\n\n{mark}".strip())
    return project


def find_or_create_project(
    client: StudioClient, store: Store, title: str, *, description: str, **settings: Any
) -> tuple[int, bool]:
    """This store's project with this title (found again after a lost state), or a new one.

    Titles are not identities: a project is adopted only when its description carries this
    store's mark (:func:`owner_mark`), so two stores on one server never share a project.
    """
    mark = owner_mark(store)
    for project in client.projects_titled(title):
        if mark in project.description:
            return project.id, False
    made = client.create_project(title=title, description=f"{description}\n\n{mark}", **settings)
    return made.id, True


def _find_or_create_project(
    client: StudioClient, store: Store, state: RoundState, xml: str, schema: AnnotationSchema
) -> tuple[int, bool]:
    return find_or_create_project(
        client,
        store,
        state.project_title,
        description=f"corpus round {state.name} on dataset version {state.version}",
        label_config=xml,
        maximum_annotations=state.settings.overlap,
        show_skip_button=True,
        show_collab_predictions=state.settings.predictions,
        model_version=state.model_version,
        enable_empty_annotation=False,
        **project_instructions(schema),
    )


def remove_duplicates(client: StudioClient, existing: dict[str, list[tuple[int, int]]]) -> int:
    """Delete extra copies of a document's task (keeping the one with most annotations)."""
    removed = 0
    for doc_id, tasks in existing.items():
        if len(tasks) < 2:
            continue
        keep = max(tasks, key=lambda t: (t[1], -t[0]))  # most annotations, then oldest
        for task_id, n_annotations in tasks:
            if task_id != keep[0] and n_annotations == 0:
                client.delete_task(task_id)
                removed += 1
        existing[doc_id] = [keep]
    return removed


def mark_anchors(
    client: StudioClient,
    pid: int,
    anchor_ids: list[str],
    existing: dict[str, list[tuple[int, int]]],
) -> None:
    """Open the anchor documents' tasks to every annotator. The tasks listed before the
    import are known; the project is listed again only when an anchor was just imported."""
    anchors = set(anchor_ids)
    if not anchors <= existing.keys():
        existing = client.task_keys(pid)
    for doc_id, tasks in existing.items():
        if doc_id in anchors:
            for task_id, _ in tasks:
                client.set_task_overlap(task_id, ANCHOR_OVERLAP)
