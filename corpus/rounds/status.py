"""How far a round is: tasks total, annotated and skipped, per annotator."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from corpus.errors import translate_os_errors
from corpus.labelstudio import StudioClient
from corpus.rounds.push import owned_project
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

    E-mails are shown to the coordinator here and never stored.
    """
    store = as_store(store)
    state = load_round(store.root, name)
    status = RoundStatus(
        name=name, project_id=state.project_id, version=state.version, documents=len(state.doc_ids)
    )
    if state.project_id is None or owned_project(client, state.project_id, store) is None:
        return status
    tasks = json.loads(client.export(state.project_id))
    emails = {u.id: u.email for u in client.users()}
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
