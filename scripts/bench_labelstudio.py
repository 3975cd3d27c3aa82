"""Benchmark rounds on a local Label Studio: corpus push and pull against the bare SDK calls.

The script starts its own Label Studio 1.23.2 (``corpus.labelstudio.studio_up``, SQLite, in a
temporary home; stopped at the end, also on error), ingests ``--tasks`` (+1%) generated
news-size articles (3-10 KB: the seed's paragraphs sampled and shuffled, ~30% of the words
swapped for other seed words, no duplicates) and measures, in the same run:

push (``--tasks`` tasks, batches of 1,000):
  * payloads: ``to_task(doc, suggestions=KeywordPreAnnotator.predict(text))`` for every
    document, the same payloads corpus sends (timed on its own, for information);
  * bare: ``client.projects.import_tasks(id, request=chunk, request_options={"max_retries": 0,
    "timeout": 600})`` per chunk of 1,000 into a new project; only these calls are timed
    (payloads prebuilt, project created beforehand);
  * corpus: ``start_round(...)`` end to end with ``batch_size=1000`` on a new round: reading
    the store, sampling, saving the round, finding/creating the project, checking existing
    tasks, building the payloads (pre-annotator included) and importing them.
  The bare import runs once before and once after corpus; the ratio is against their mean.
  Then re-runs with nothing new, each against corpus' first ``start_round``: ``start_round``
  again on the same round, and ``push_round`` (both must find the project as the push left it:
  ``unchanged``, nothing imported).

pull (the same tasks, one annotation each: document stance plus 1-2 spans, one of them a
pre-annotated span accepted as is when there is one, some with a span stance, two
annotators):
  * the annotated project is the project of a corpus round: it is created under the round's
    title and filled by one import with inline annotations, then ``start_round`` adopts it
    (it finds the project by title and imports nothing); not timed in the ratios;
  * bare: ``client.projects.exports.as_json(pid, timeout=600)``; on Community edition the SDK
    asks ``/api/version/``, then downloads ``GET .../export?download_all_tasks=true`` (no
    snapshot; ``timeout`` is not used, the client's is) and ``json.load``s it;
  * corpus: ``pull_round(...)`` end to end, the round's first pull: export, gzip archive,
    parse, validate every annotation against the store, write a new dataset version.
  The bare export runs once before and once after corpus; the ratio is against their mean.
  Then ``pull_round`` again with nothing changed on the server, against the first
  ``pull_round`` (it must answer from the project's counts and the tasks saved since the last
  pull: ``exported`` False, the same version).

Corpus gets its own :class:`~corpus.labelstudio.StudioClient` whose SDK's ``import_tasks``
and ``download_sync`` are wrapped with a timer, so the table also splits corpus' time into
waiting on those calls and the rest.

Annotations are made like the UI makes them (``origin`` on every region); ``--api-annotations``
leaves ``origin`` out, as annotations made through the API do, so the pull re-runs the
pre-annotator to tell accepted suggestions apart (the slower path).

Only ratios within one run mean anything (the machine is noisy); this script asserts nothing
about time.

    .venv/bin/python scripts/bench_labelstudio.py [--tasks 10000] [--keep] [--api-annotations]
"""

from __future__ import annotations

import argparse
import gzip
import importlib.metadata
import os
import random
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from corpus.ingestion import ingest
from corpus.label_schema import AnnotationSchema, load_schema
from corpus.labelstudio import StudioClient, connect, default_venv_dir, studio_down, studio_up
from corpus.labelstudio.config import ISSUE, SPAN_STANCE, STANCE, TEXT, label_config
from corpus.preannotate import KeywordPreAnnotator
from corpus.rounds import PullResult, PushResult, pull_round, push_round, start_round
from corpus.rounds.convert import to_task
from corpus.rounds.project import owner_mark
from corpus.rounds.sample import sample_documents
from corpus.rounds.state import load_round, project_title
from corpus.rounds.status import round_status
from corpus.store import Store

ROOT = Path(__file__).resolve().parent.parent
STUDIO_VENV = default_venv_dir(os.environ, ROOT)  # $CORPUS_STUDIO_VENV or <repo>/.venv-labelstudio
VERSION = "0.1.0"  # the version the ingest writes into the empty store
BATCH = 1000
PER_FOLDER = 1000
MB = 1_000_000
T = TypeVar("T")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


# --- data -------------------------------------------------------------------------------------


def generate(folder: Path, n: int, seed: int = 0) -> int:
    """Write ``n`` distinct articles of 3-10 KB in the seed layout; returns the bytes written."""
    text = next(ROOT.glob("seeds/*.txt")).read_text(encoding="utf-8")
    title, _, body = text.strip().partition("\n")
    paragraphs = [np.array(p.split(), dtype=object) for p in body.strip().split("\n\n")]
    vocab = np.concatenate(paragraphs)
    rng = np.random.default_rng(seed)
    total = 0
    for i in range(n):
        k = int(rng.integers(len(paragraphs) // 3, len(paragraphs) + 1))
        blocks = []
        for j in rng.permutation(len(paragraphs))[:k]:
            words = paragraphs[j].copy()
            mask = rng.random(len(words)) < 0.3
            words[mask] = vocab[rng.integers(len(vocab), size=int(mask.sum()))]
            blocks.append(" ".join(words))
        data = (f"{title} (report {i})\n\n" + "\n\n".join(blocks) + "\n").encode("utf-8")
        path = folder / f"part-{i // PER_FOLDER:04d}" / f"article-{i:07d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        total += len(data)
    return total


def documents(store: Store, version: str) -> dict[str, dict[str, Any]]:
    columns = ["doc_id", "title", "text", "text_sha256", "dup_group"]
    return {r["doc_id"]: r for r in store.read_table(version, "documents", columns).to_pylist()}


def payloads(
    docs: dict[str, dict[str, Any]], doc_ids: list[str], pre: KeywordPreAnnotator, round_name: str
) -> list[dict[str, Any]]:
    """What corpus sends for ``round_name`` (``to_task`` with the pre-annotator's suggestions)."""
    return [
        to_task(
            docs[d],
            version=VERSION,
            round_name=round_name,
            suggestions=pre.predict(docs[d]["text"]),
            model_version=pre.model_version,
        )
        for d in doc_ids
    ]


_WORD = re.compile(r"\w{4,}")


def annotation(
    task: dict[str, Any], schema: AnnotationSchema, user: int, rng: random.Random, origin: bool
) -> dict[str, Any]:
    """Stance + 1-2 spans: one accepted suggestion (if any) and/or one hand-made span."""
    text: str = task["data"][TEXT]
    result: list[dict[str, Any]] = [
        {
            "from_name": STANCE,
            "to_name": TEXT,
            "type": "choices",
            "value": {"choices": [rng.choice(schema.stance_names)]},
        }
    ]
    spans: list[tuple[int, int, str, str]] = []
    suggested = task["predictions"][0]["result"]
    if suggested:
        s = rng.choice(suggested)["value"]
        spans.append((s["start"], s["end"], s["labels"][0], "prediction"))
    if not spans or rng.random() < 0.5:
        words = list(_WORD.finditer(text))
        m = words[rng.randrange(len(words))]
        spans.append((m.start(), m.end(), rng.choice(schema.issue_names), "manual"))
    for n, (start, end, issue, made) in enumerate(spans):
        value = {"start": start, "end": end, "text": text[start:end]}
        items = [(ISSUE, "labels", {**value, "labels": [issue]})]
        if rng.random() < 0.5:
            items.append(
                (
                    SPAN_STANCE,
                    "choices",
                    {**value, "choices": [rng.choice(schema.span_stance_names)]},
                )
            )
        for name, kind, val in items:
            item = {"id": f"r{n}", "from_name": name, "to_name": TEXT, "type": kind, "value": val}
            if origin:
                item["origin"] = made if name == ISSUE else "manual"
            result.append(item)
    return {"result": result, "completed_by": user}


# --- bare calls -------------------------------------------------------------------------------


def create_project(
    client: Any, title: str, xml: str, model_version: str, description: str = "bench"
) -> int:
    """The same settings corpus uses for a round's project (``_find_or_create_project``)."""
    project = client.projects.create(
        title=title,
        description=description,
        label_config=xml,
        maximum_annotations=1,
        show_skip_button=True,
        show_collab_predictions=True,
        model_version=model_version,
        enable_empty_annotation=False,
    )
    return int(project.id)


def bare_import(client: Any, pid: int, tasks: list[dict[str, Any]]) -> float:
    """Seconds spent in ``import_tasks`` calls only (chunks of 1,000)."""
    spent = 0.0
    for i in range(0, len(tasks), BATCH):
        chunk = tasks[i : i + BATCH]
        start = time.perf_counter()
        client.projects.import_tasks(
            id=pid, request=chunk, request_options={"max_retries": 0, "timeout": 600}
        )
        spent += time.perf_counter() - start
    return spent


def bare_export(client: Any, pid: int, n: int) -> float:
    seconds, tasks = timed(lambda: client.projects.exports.as_json(pid, timeout=600))
    if len(tasks) != n:
        raise SystemExit(f"as_json returned {len(tasks)} tasks, expected {n}")
    return seconds


def corpus_start(
    client: StudioClient, store: Store, schema: AnnotationSchema, name: str, n: int
) -> PushResult:
    pre = KeywordPreAnnotator(schema)
    return start_round(
        client,
        store,
        name,
        version=VERSION,
        schema=schema,
        preannotator=pre,
        sample=n,
        batch_size=BATCH,
        include_labelled=True,  # both rounds sample the same documents on purpose
    )


class ServerTime:
    """Wall time a client spends in ``import_tasks`` and in the export download.

    Wraps the two SDK methods under one :class:`StudioClient` (the one corpus gets), so the
    report can split corpus' time into the server calls and the rest; nothing else changes.
    """

    def __init__(self, client: StudioClient) -> None:
        self.seconds = 0.0
        projects, exports = client.sdk.projects, client.sdk.projects.exports
        import_tasks, download_sync = projects.import_tasks, exports.download_sync

        def timed_import(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return import_tasks(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        def timed_download(*args: Any, **kwargs: Any) -> Iterator[bytes]:
            start = time.perf_counter()
            try:
                chunks = list(download_sync(*args, **kwargs))
            finally:
                self.seconds += time.perf_counter() - start
            return iter(chunks)

        projects.import_tasks, exports.download_sync = timed_import, timed_download

    def take(self) -> float:
        seconds, self.seconds = self.seconds, 0.0
        return seconds


def corpus_pull_round(
    client: StudioClient, store: Store, schema: AnnotationSchema, name: str
) -> PullResult:
    pre = KeywordPreAnnotator(schema)
    return pull_round(client, store, name, schema=schema, preannotator=pre)


# --- the run ----------------------------------------------------------------------------------


def run(work: Path, n: int, *, origin: bool) -> None:
    schema = load_schema()
    pre = KeywordPreAnnotator(schema)
    xml = label_config(schema)
    rows: list[tuple[str, float]] = []

    log(f"generating {n} articles")
    nbytes = generate(work / "articles", n + n // 100)
    store = Store(work / "store")
    seconds, ingested = timed(lambda: ingest([work / "articles"], store=store, schema=schema))
    log(f"ingested {ingested.documents_added} documents ({nbytes / MB:.1f} MB) in {seconds:.1f}s")
    docs = documents(store, VERSION)
    pairs = [(d, r["dup_group"]) for d, r in docs.items()]
    doc_ids, _ = sample_documents(pairs, n=n, seed=0)
    if len(doc_ids) != n:
        raise SystemExit(f"only {len(doc_ids)} distinct documents after ingest, wanted {n}")

    home = work / "studio"
    log("starting Label Studio")
    info = studio_up(home, venv_dir=STUDIO_VENV, timeout=300)
    try:
        client: Any = connect(info.connection(), timeout=600.0).sdk  # for the bare calls
        corpus_client = connect(info.connection(), timeout=600.0)
        server = ServerTime(corpus_client)
        warm = create_project(client, "bench warm-up", xml, pre.model_version)
        client.projects.import_tasks(
            id=warm, request=payloads(docs, doc_ids[:20], pre, "warm"), return_task_ids=False
        )
        client.projects.exports.as_json(warm, timeout=600)

        # push ---------------------------------------------------------------------------------
        seconds, tasks = timed(lambda: payloads(docs, doc_ids, pre, "bench-push"))
        rows.append(("push  payloads: to_task + predict (for information)", seconds))
        pid = create_project(client, "bench bare push 1", xml, pre.model_version)
        log("bare import #1")
        bare_push = [bare_import(client, pid, tasks)]
        rows.append(("push  bare import_tasks #1", bare_push[0]))
        log("corpus start_round")
        server.take()
        corpus_push, pushed = timed(
            lambda: corpus_start(corpus_client, store, schema, "bench-push", n)
        )
        rows.append(("push  corpus start_round", corpus_push))
        in_calls = server.take()
        rows.append(("        of which waiting on import_tasks calls", in_calls))
        rows.append(("        of which not overlapped with them", corpus_push - in_calls))
        assert isinstance(pushed, PushResult) and pushed.imported == n, pushed
        assert load_round(store.root, "bench-push").doc_ids == doc_ids  # the same tasks
        log("corpus start_round again, then push_round (nothing new)")
        restart_secs, restarted = timed(
            lambda: corpus_start(corpus_client, store, schema, "bench-push", n)
        )
        rows.append(("push  corpus start_round re-run (round already pushed)", restart_secs))
        repush_secs, repushed = timed(
            lambda: push_round(corpus_client, store, "bench-push", preannotator=pre)
        )
        rows.append(("push  corpus push_round with nothing new", repush_secs))
        for again in (restarted, repushed):
            assert again.unchanged and again.imported == 0 and again.already_there == n, again
        pid = create_project(client, "bench bare push 2", xml, pre.model_version)
        log("bare import #2")
        bare_push.append(bare_import(client, pid, tasks))
        rows.append(("push  bare import_tasks #2", bare_push[1]))
        del tasks

        # annotate -----------------------------------------------------------------------------
        users = [
            int(client.users.create(username=f"bench-{k}", email=f"bench-{k}@corpus.local").id)
            for k in ("a", "b")
        ]
        rng = random.Random(1)
        annotated = payloads(docs, doc_ids, pre, "bench-pull")
        for i, task in enumerate(annotated):
            task["annotations"] = [annotation(task, schema, users[i % 2], rng, origin)]
        n_spans = sum(
            1
            for t in annotated
            for item in t["annotations"][0]["result"]
            if item["type"] == "labels"
        )
        pid = create_project(  # a project of this store, which start_round adopts
            client,
            project_title("bench-pull", store.store_id()),
            xml,
            pre.model_version,
            description=owner_mark(store),
        )
        log("importing the annotated tasks")
        seconds = bare_import(client, pid, annotated)
        rows.append(("pull  setup: import with inline annotations", seconds))
        del annotated
        log("start_round adopts the annotated project")
        seconds, adopted = timed(
            lambda: corpus_start(corpus_client, store, schema, "bench-pull", n)
        )
        rows.append(("pull  setup: start_round on the full project (no-op)", seconds))
        assert isinstance(adopted, PushResult) and adopted.imported == 0, adopted
        assert adopted.already_there == n and adopted.state.project_id == pid, adopted

        # pull ---------------------------------------------------------------------------------
        log("bare export #1")
        bare_pull = [bare_export(client, pid, n)]
        rows.append(("pull  bare exports.as_json #1", bare_pull[0]))
        log("corpus pull_round")
        server.take()
        corpus_pull, pulled = timed(
            lambda: corpus_pull_round(corpus_client, store, schema, "bench-pull")
        )
        rows.append(("pull  corpus pull_round", corpus_pull))
        in_calls = server.take()
        rows.append(("        of which the export download", in_calls))
        rows.append(
            ("        of which the rest (archive, parse, validate, write)", corpus_pull - in_calls)
        )
        assert isinstance(pulled, PullResult), pulled
        assert pulled.written and pulled.tasks == n and pulled.annotations == n, pulled.to_dict()
        assert pulled.spans == n_spans and not pulled.rejects, pulled.to_dict()
        log("corpus pull_round again (nothing changed)")
        repull_secs, repulled = timed(
            lambda: corpus_pull_round(corpus_client, store, schema, "bench-pull")
        )
        rows.append(("pull  corpus pull_round re-run (nothing changed)", repull_secs))
        assert not repulled.exported and not repulled.written, repulled.to_dict()
        assert repulled.version == pulled.version, repulled.to_dict()
        log("bare export #2")
        bare_pull.append(bare_export(client, pid, n))
        rows.append(("pull  bare exports.as_json #2", bare_pull[1]))
        assert pulled.archive is not None
        export_mb = len(gzip.decompress(pulled.archive.read_bytes())) / MB

        # status -------------------------------------------------------------------------------
        log("corpus round_status (API counts, no export)")
        status_secs, status = timed(lambda: round_status(corpus_client, store, "bench-pull"))
        rows.append(("status corpus round_status (counts, no export)", status_secs))
        assert status.tasks == n and status.annotated == n, status.to_dict()
        assert sum(c["done"] for c in status.per_annotator.values()) == n, status.to_dict()
    finally:
        log("stopping Label Studio")
        studio_down(home)

    sdk = importlib.metadata.version("label-studio-sdk")
    print(
        f"Label Studio {info.version} (SQLite, local), label-studio-sdk {sdk}; {n:,} tasks, "
        f"{nbytes / MB:.1f} MB of articles, export {export_mb:.1f} MB; batches of {BATCH}; "
        f"annotations {'with' if origin else 'without'} region origin; {n_spans:,} spans"
    )
    width = max(len(r[0]) for r in rows)
    print(f"{'step':<{width}}  {'seconds':>8}")
    for label, secs in rows:
        print(f"{label:<{width}}  {secs:>8.2f}")
    push_base = sum(bare_push) / len(bare_push)
    pull_base = sum(bare_pull) / len(bare_pull)
    build = next(s for label, s in rows if label.startswith("push  payloads"))
    print(
        f"ratio push: corpus start_round / bare import_tasks (mean of 2) = "
        f"{corpus_push / push_base:.2f}  (target <= 1.3)"
    )
    print(
        f"      (for information: corpus / (payload building + bare import) = "
        f"{corpus_push / (build + push_base):.2f})"
    )
    print(
        f"ratio pull: corpus pull_round / bare exports.as_json (mean of 2) = "
        f"{corpus_pull / pull_base:.2f}  (target <= 1.5)"
    )
    print(
        f"ratio re-push: start_round re-run / first start_round = {restart_secs / corpus_push:.3f}"
        f", push_round with nothing new / first start_round = {repush_secs / corpus_push:.3f}"
        "  (target <= 0.2)"
    )
    print(
        f"ratio re-pull: pull_round with nothing changed / first pull_round = "
        f"{repull_secs / corpus_pull:.3f}  (target <= 0.2)"
    )
    print(
        f"ratio status: corpus round_status / bare exports.as_json (mean of 2) = "
        f"{status_secs / pull_base:.3f}  (the export it used to download)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=10_000, help="tasks per project")
    parser.add_argument("--keep", action="store_true", help="keep the store and server data")
    parser.add_argument(
        "--api-annotations",
        action="store_true",
        help="annotations without region origin, as made through the API",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-labelstudio-"))
    try:
        run(work, args.tasks, origin=not args.api_annotations)
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
