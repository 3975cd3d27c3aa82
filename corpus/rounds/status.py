"""How far a round is: tasks total, annotated and skipped, per annotator."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from corpus.errors import translate_os_errors
from corpus.labelstudio import StudioClient
from corpus.labelstudio.counts import project_counts
from corpus.rounds.project import round_project
from corpus.rounds.state import load_round
from corpus.store import Store, as_store


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


@translate_os_errors
def round_status(
    client: StudioClient, store: Store | str | os.PathLike[str], name: str
) -> RoundStatus:
    """Tasks total / annotated / skipped, and per annotator (by Label Studio e-mail).

    Counts come from the project and Data Manager counts, never the whole export (fast at
    10,000 tasks). E-mails are shown to the coordinator here and never stored. A project the
    server lost, or one of another store, is a :class:`~corpus.errors.RoundError`.
    """
    store = as_store(store)
    state = load_round(store.root, name)
    status = RoundStatus(
        name=name, project_id=state.project_id, version=state.version, documents=len(state.doc_ids)
    )
    if state.project_id is None:  # started, but its project was never made
        return status
    project = round_project(client, store, state)  # refused: gone, or another store's
    counts = project_counts(client, project)
    status.tasks, status.annotated, status.skipped = counts.tasks, counts.annotated, counts.skipped
    emails = {u.id: u.email for u in client.users()}
    for uid, (done, skipped) in sorted(counts.per_user.items()):
        who = emails.get(uid, f"user {uid}")
        status.per_annotator[who] = {"done": done, "skipped": skipped}
    return status
