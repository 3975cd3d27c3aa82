"""Re-runs that cost nothing (issue 20), against the real Label Studio of the session.

A re-push of a complete round is recognised from the project's count and newest task id and
touches nothing; a re-pull with no change is answered without an export and leaves the store
as a full pull leaves it; after a change, the pull exports again and stores what a full pull
of the same server stores.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import SEEDS, write_article
from studio_fixtures import BACKENDS

from corpus.ingestion import ingest
from corpus.label_schema import AnnotationSchema
from corpus.labelstudio import StudioClient
from corpus.labelstudio.changes import ProjectSnapshot
from corpus.preannotate import KeywordPreAnnotator
from corpus.rounds import PullResult, PushResult, pull_round, push_round, start_round
from corpus.rounds.rerun import pull_watch
from corpus.rounds.reuse import load_pull_state
from corpus.rounds.state import load_round, round_dir
from corpus.store import Store


def start(client: StudioClient, store: Store, schema: AnnotationSchema, name: str) -> PushResult:
    pre = KeywordPreAnnotator(schema)
    return start_round(client, store, name, schema=schema, preannotator=pre, anchor=1, seed=3)


def pull(
    client: StudioClient, store: Store, schema: AnnotationSchema, name: str, *, full: bool = False
) -> PullResult:
    pre = KeywordPreAnnotator(schema)
    return pull_round(client, store, name, schema=schema, preannotator=pre, full=full)


def server_tasks(ls: Any, project_id: int) -> dict[int, tuple[str, Any, int]]:
    """task id -> (doc_id, updated_at, overlap): what a push may change."""
    return {
        int(t.id): (t.data["doc_id"], t.updated_at, t.overlap)
        for t in ls.tasks.list(project=project_id, fields="task_only", page_size=1000)
    }


def stored_files(store: Store) -> dict[str, str]:
    """sha256 of every file the store holds outside the rounds' caches and archives."""
    out = {}
    for path in sorted(store.root.rglob("*")):
        rel = path.relative_to(store.root).as_posix()
        if path.is_file() and not rel.startswith(("rounds/", ".lock")):
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def tables_of(store: Store, version: str) -> dict[str, list[dict[str, Any]]]:
    return {t: store.read_table(version, t).to_pylist() for t in ("annotations", "spans")}


TOPICS = (
    ("Trade talks", "Negotiators met in Geneva to discuss tariffs on steel and soybeans."),
    ("Climate pact", "Both governments pledged to cut coal use and fund solar research."),
    ("Chip controls", "New export controls on chips worried manufacturers in Shenzhen."),
    ("Student visas", "Universities reported fewer visas for graduate students this year."),
    ("Fentanyl", "Officials agreed on joint work against fentanyl precursor shipments."),
    ("Taiwan strait", "Naval exercises near Taiwan raised concern among regional partners."),
)


@pytest.fixture
def seeded(store: Store, schema: AnnotationSchema, tmp_path: Path) -> Store:
    folder = tmp_path / "articles"
    for i, (title, text) in enumerate(TOPICS):
        write_article(folder, f"a{i}.txt", title, text, f"Report number {i} on {title.lower()}.")
    ingest([SEEDS, folder], store=store, schema=schema)
    return store


@pytest.mark.parametrize("studio", BACKENDS, indirect=True)
def test_a_repush_of_a_complete_round_touches_nothing(
    studio_client: StudioClient, ls_client: Any, seeded: Store, schema: AnnotationSchema
) -> None:
    first = start(studio_client, seeded, schema, "again")
    state = load_round(seeded.root, "again")
    n = len(state.doc_ids)
    assert first.imported == n and not first.unchanged
    assert state.pushed is not None and state.pushed.tasks == n
    pid = state.project_id
    assert pid is not None
    before = server_tasks(ls_client, pid)
    anchors = [t for t, (doc, _, overlap) in before.items() if doc in state.anchor_ids]
    assert len(anchors) == 1 and before[anchors[0]][2] > 1  # the anchor was opened to all

    for result in (
        start(studio_client, seeded, schema, "again"),
        push_round(studio_client, seeded, "again", preannotator=KeywordPreAnnotator(schema)),
    ):
        assert result.unchanged and result.imported == 0 and result.already_there == n
        assert result.duplicates_removed == 0
    assert server_tasks(ls_client, pid) == before  # no task made, changed or deleted

    # a task deleted on the server: the count differs, the push imports it again
    victim = next(t for t in before if t not in anchors)
    ls_client.tasks.delete(id=str(victim))
    healed = push_round(studio_client, seeded, "again", preannotator=KeywordPreAnnotator(schema))
    assert not healed.unchanged and healed.imported == 1 and healed.already_there == n - 1
    assert start(studio_client, seeded, schema, "again").unchanged

    # the same count, other tasks: one deleted, a copy of another imported (a newer id)
    now = server_tasks(ls_client, pid)
    gone, copied = sorted(t for t in now if t not in anchors)[:2]
    ls_client.tasks.delete(id=str(gone))
    ls_client.projects.import_tasks(
        id=pid, request=[{"data": ls_client.tasks.get(id=str(copied)).data}]
    )
    assert len(server_tasks(ls_client, pid)) == n
    fixed = push_round(studio_client, seeded, "again", preannotator=KeywordPreAnnotator(schema))
    assert not fixed.unchanged and fixed.imported == 1 and fixed.duplicates_removed == 1
    docs = [doc for doc, _, _ in server_tasks(ls_client, pid).values()]
    assert sorted(docs) == sorted(state.doc_ids)
    assert push_round(
        studio_client, seeded, "again", preannotator=KeywordPreAnnotator(schema)
    ).unchanged


def annotate(ls: Any, task_id: int, user: int, stance: str, *, skip: bool = False) -> int:
    result = (
        []
        if skip
        else [
            {
                "from_name": "stance",
                "to_name": "text",
                "type": "choices",
                "value": {"choices": [stance]},
            }
        ]
    )
    made = ls.annotations.create(id=task_id, completed_by=user, result=result, was_cancelled=skip)
    return int(made.id)


@pytest.mark.parametrize("studio", BACKENDS, indirect=True)
def test_an_unchanged_repull_exports_nothing_and_stores_what_a_full_pull_stores(
    studio_client: StudioClient,
    ls_client: Any,
    seeded: Store,
    schema: AnnotationSchema,
    make_annotator: Callable[..., Any],
) -> None:
    start(studio_client, seeded, schema, "quiet")
    pid = load_round(seeded.root, "quiet").project_id
    tasks = sorted(server_tasks(ls_client, pid))
    a = make_annotator("quiet-a")
    annotate(ls_client, tasks[0], a.id, "supportive")
    annotate(ls_client, tasks[1], a.id, "opposed", skip=True)
    first = pull(studio_client, seeded, schema, "quiet")
    assert first.written and first.exported
    watch = load_pull_state(round_dir(seeded.root, "quiet"))["watch"]
    assert watch is not None and watch["counts"] == [len(tasks), 1, 1]
    files = stored_files(seeded)

    again = pull(studio_client, seeded, schema, "quiet")
    assert not again.exported and not again.written and again.version == first.version
    assert again.tasks == len(tasks) and again.rejects == first.rejects
    assert again.archive == first.archive
    assert stored_files(seeded) == files
    full = pull(studio_client, seeded, schema, "quiet", full=True)
    assert full.exported and not full.written and full.version == first.version
    assert full.rejects == again.rejects and full.archive == again.archive
    assert stored_files(seeded) == files


CHANGES: dict[str, Callable[[Any, list[int], int, int], None]] = {
    "annotation edited": lambda ls, tasks, user, ann: ls.annotations.update(
        id=ann,
        result=[
            {
                "from_name": "stance",
                "to_name": "text",
                "type": "choices",
                "value": {"choices": ["opposed"]},
            }
        ],
    ),
    "annotation added": lambda ls, tasks, user, ann: annotate(ls, tasks[2], user, "neutral"),
    "skip added": lambda ls, tasks, user, ann: annotate(ls, tasks[3], user, "", skip=True),
    "annotation deleted": lambda ls, tasks, user, ann: ls.annotations.delete(id=ann),
    "task deleted": lambda ls, tasks, user, ann: ls.tasks.delete(id=str(tasks[1])),
    # the annotator's annotations lose their author (SET_NULL): no count or updated_at shows it
    "annotator deleted": lambda ls, tasks, user, ann: ls.users.delete(id=user),
}


@pytest.mark.parametrize(
    ("change", "studio"),
    [
        *(pytest.param(c, "sqlite", marks=pytest.mark.sqlite, id=f"{c}-sqlite") for c in CHANGES),
        # an edit is seen only through updated_at (no count changes): on the team server too
        pytest.param(
            "annotation edited", "postgres", marks=pytest.mark.postgres, id="edited-postgres"
        ),
    ],
    indirect=["studio"],
)
def test_after_a_change_the_pull_equals_a_full_pull(
    change: str,
    studio_client: StudioClient,
    ls_client: Any,
    seeded: Store,
    schema: AnnotationSchema,
    make_annotator: Callable[..., Any],
    tmp_path: Path,
) -> None:
    name = "chg"
    start(studio_client, seeded, schema, name)
    pid = load_round(seeded.root, name).project_id
    tasks = sorted(server_tasks(ls_client, pid))
    a = make_annotator("chg-a")
    ann = annotate(ls_client, tasks[0], a.id, "supportive")
    annotate(ls_client, tasks[1], a.id, "mixed")
    first = pull(studio_client, seeded, schema, name)
    assert first.written and not pull(studio_client, seeded, schema, name).exported

    CHANGES[change](ls_client, tasks, a.id, ann)
    twin = Store(tmp_path / "twin")
    shutil.copytree(seeded.root, twin.root)
    quick = pull(studio_client, seeded, schema, name)
    full = pull(studio_client, twin, schema, name, full=True)
    assert quick.exported and quick.written and full.written
    assert quick.version == full.version != first.version
    assert quick.to_dict() | {"archive": None} == full.to_dict() | {"archive": None}
    assert tables_of(seeded, quick.version) == tables_of(twin, full.version)
    for table in ("annotations", "spans"):
        ours = sorted((seeded.root / "versions" / quick.version).rglob(f"{table}*.parquet"))
        theirs = sorted((twin.root / "versions" / full.version).rglob(f"{table}*.parquet"))
        assert [p.read_bytes() for p in ours] == [p.read_bytes() for p in theirs]
    assert not pull(studio_client, seeded, schema, name).exported  # quiet again


def snapshot(
    counts: tuple[int, int, int], at: str = "2026-12-08T10:00:00+00:00"
) -> ProjectSnapshot:
    return ProjectSnapshot(7, *counts, server_time=datetime.fromisoformat(at))


def test_a_pull_watch_holds_the_counts_and_the_tasks_saved_near_the_export() -> None:
    tasks = [
        {"id": 1, "updated_at": "2026-12-08T09:00:00.000001Z", "annotations": []},
        {
            "id": 2,
            "updated_at": "2026-12-08T09:59:55.5Z",
            "annotations": [
                {"completed_by": 4, "was_cancelled": False},
                {"completed_by": 5, "was_cancelled": True},
            ],
        },
    ]
    seen = snapshot((2, 1, 1))
    watch = pull_watch(seen, seen, tasks, {4: "j4", 5: "j5"}, "a.json.gz")
    assert watch is not None
    assert watch["counts"] == [2, 1, 1] and watch["since"] == "2026-12-08T09:59:50+00:00"
    assert watch["window"] == {"2": "2026-12-08T09:59:55.500000+00:00"}  # task 1 is older
    assert watch["annotators"] == {"4": "j4", "5": "j5"} and watch["archive"] == "a.json.gz"
    # a change during the export (the counts before, after and in the export disagree)
    assert pull_watch(snapshot((2, 1, 0)), seen, tasks, {}, None) is None
    assert pull_watch(seen, snapshot((3, 1, 1)), tasks, {}, None) is None
    # no server clock (no Date header): nothing to compare with next time
    assert pull_watch(None, seen, tasks, {}, None) is None
