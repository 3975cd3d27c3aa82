"""`corpus demo`: the whole loop on the embedded default, with simulated annotators.

Ingest the seed articles (plus generated ones, titled ``[generated]``, when more documents
are asked for), start a round with overlap in the real Label Studio, have simulated
annotators (real Label Studio users created through the API) submit annotations derived from
the pre-annotations with realistic disagreement, pull, measure agreement, adjudicate by
majority, build a release marked as simulated and verify it with ``load_dataset``.
Re-running it continues where it stopped and repeats nothing already done.
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpus.adjudication import adjudicate
from corpus.errors import ReleaseGateError, translate_os_errors
from corpus.iaa import agreement, fmt, write_report
from corpus.ingestion import ingest
from corpus.ingestion.core import normalize, split_title
from corpus.label_schema import AnnotationSchema, load_schema
from corpus.labelstudio import StudioClient
from corpus.preannotate import KeywordPreAnnotator
from corpus.progress import Progress, ProgressCallback, Steps, drive
from corpus.release import build_release, releases_dir, verify_release
from corpus.rounds import load_round, pull_round, start_round
from corpus.simulate import annotator_profiles, generate_articles, simulate_result
from corpus.store import Store, as_store, parse_version

SIM_DOMAIN = "demo.corpus.local"


def demo_force_reason(gates: list[dict[str, Any]]) -> str | None:
    """The reason the demo forces its release, or None when a failed gate is one a split
    assignment (or anything else but more documents) could pass: then nothing is forced."""
    if not gates or not all(g.get("unavoidable") for g in gates):
        return None
    return (
        "demo: too few simulated documents for every label in every split, and no split "
        "assignment can fill these gaps (run the demo with more --docs): "
        + "; ".join(str(g["message"]) for g in gates)
    )


@dataclass
class DemoResult:
    store: Path
    ingested: str
    round: str
    project_url: str
    annotators: list[str]
    pulled: str
    agreement: Path
    gold: str
    release: Path
    verified: dict[str, Any] = field(default_factory=dict)
    forced: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Path) else v for k, v in self.__dict__.items()}


def _articles(seeds: Path, store: Store, n: int | None, seed: int) -> list[Path]:
    """The seed folder, plus a folder of generated articles when ``n`` exceeds the seeds."""
    seed_files = sorted(p for p in seeds.rglob("*.txt") if p.is_file())
    inputs = [seeds]
    missing = (n or 0) - len(seed_files)
    if missing > 0:
        paragraphs: list[str] = []
        for path in seed_files:
            _, body = split_title(normalize(path.read_text(encoding="utf-8")))
            paragraphs += body.split("\n\n")
        folder = store.root / "demo" / "generated"
        folder.mkdir(parents=True, exist_ok=True)
        for i, (title, body) in enumerate(generate_articles(paragraphs, missing, seed=seed)):
            path = folder / f"generated-{i:04d}.txt"
            if not path.exists():
                path.write_text(f"{title}\n\n{body}\n", encoding="utf-8")
        inputs.append(folder)
    return inputs


def _users(client: StudioClient, count: int) -> list[tuple[int, str]]:
    """Simulated annotators as real Label Studio users (found again on a re-run)."""
    existing = {u.email: u.id for u in client.users()}
    users = []
    for i in range(count):
        email = f"sim-annotator-{i + 1}@{SIM_DOMAIN}"
        if email not in existing:
            user = client.create_user(username=f"sim-annotator-{i + 1}", email=email)
            existing[email] = user.id
        users.append((existing[email], email))
    return users


@translate_os_errors
def run_demo(
    client: StudioClient,
    store: Store | str | os.PathLike[str],
    *,
    seeds: Path,
    schema: AnnotationSchema | None = None,
    docs: int | None = None,
    annotators: int = 3,
    seed: int = 0,
    progress: ProgressCallback | None = None,
) -> DemoResult:
    """Run every stage; ``progress`` gets one event per step saying what it found."""
    if docs is not None and docs < 1:
        raise ValueError(f"docs must be at least 1, not {docs}")
    if annotators < 1:
        raise ValueError(f"annotators must be at least 1, not {annotators}")
    steps = _demo(client, as_store(store), schema or load_schema(), seeds, docs, annotators, seed)
    return drive(steps, progress)


def _demo(
    client: StudioClient,
    store: Store,
    schema: AnnotationSchema,
    seeds: Path,
    docs: int | None,
    annotators: int,
    seed: int,
) -> Steps[DemoResult]:
    server_url = client.url
    inputs = _articles(seeds, store, docs, seed)
    ingested = ingest(
        inputs, store=store, schema=schema, message="demo: seed and generated articles"
    )
    base = ingested.version or next(
        v for v in reversed(store.version_names()) if store.manifest(v).kind == "ingest"
    )
    yield Progress(
        "ingest",
        f"version {base}: {ingested.documents_added} new documents "
        f"({ingested.exact_duplicates} already stored)",
    )

    name = f"demo-{base}"
    pre = KeywordPreAnnotator(schema)
    pushed = start_round(
        client, store, name, version=base, schema=schema, preannotator=pre, sample=docs,
        overlap=annotators, seed=seed, simulated=True,
    )  # fmt: skip
    state = load_round(store.root, name)
    project_url = f"{server_url.rstrip('/')}/projects/{state.project_id}/data"
    yield Progress(
        "round",
        f"round {name}: {len(state.doc_ids)} tasks ({pushed.imported} new), "
        f"{annotators} annotators per task, at {project_url}",
    )

    users = _users(client, annotators)
    created = _annotate(client, store, schema, state.project_id or 0, base, users, pre, seed)
    emails = [email for _, email in users]
    yield Progress(
        "annotate",
        f"{created} simulated annotations submitted through the API by {', '.join(emails)}",
    )

    pulled = pull_round(client, store, name, schema=schema, preannotator=pre)
    pulled_version = pulled.version or ""
    yield Progress(
        "pull",
        f"version {pulled_version}: {pulled.annotations} annotations, {pulled.spans} spans, "
        f"{len(pulled.rejects)} rejected",
    )

    report = agreement(store, name, schema=schema)
    files = write_report(report, store.root / "rounds" / name / "agreement")
    yield Progress("agreement", f"stance alpha {fmt(report.stance_alpha)}; report at {files[-1]}")

    gold = adjudicate(store, name)
    gold_version = gold.version or ""
    decided = Counter(g.decided_by for g in gold.gold.gold_annotations)
    yield Progress(
        "adjudicate",
        f"version {gold_version}: gold for {len(gold.gold.gold_annotations)} documents "
        f"({', '.join(f'{k} {v}' for k, v in sorted(decided.items()))}), "
        f"{len(gold.gold.gold_spans)} gold spans",
    )

    release_path, forced = yield from _release(store, schema, gold_version)
    verified = verify_release(release_path)
    yield Progress("verify", f"{release_path}: checksums, card and load_dataset OK")
    return DemoResult(
        store=store.root,
        ingested=base,
        round=name,
        project_url=project_url,
        annotators=emails,
        pulled=pulled_version,
        agreement=files[-1],
        gold=gold_version,
        release=release_path,
        verified=verified.to_dict(),
        forced=forced,
    )


def _annotate(
    client: StudioClient,
    store: Store,
    schema: AnnotationSchema,
    project_id: int,
    version: str,
    users: list[tuple[int, str]],
    pre: KeywordPreAnnotator,
    seed: int,
) -> int:
    """Each simulated annotator labels every task they have not labelled yet."""
    profiles = annotator_profiles(len(users))
    texts = {d["doc_id"]: d["text"] for d in store.read_table(version, "documents").to_pylist()}
    rng = random.Random(seed)
    created = 0
    for task in json.loads(client.export(project_id)):
        doc_id = task["data"]["doc_id"]
        done = {a.get("completed_by") for a in task.get("annotations") or []}
        suggestions = pre.predict(texts[doc_id])
        for (user_id, _), who in zip(users, profiles, strict=True):
            if user_id in done:
                continue
            result = simulate_result(doc_id, texts[doc_id], suggestions, schema, who, seed)
            client.create_annotation(
                task["id"],
                result=result,
                completed_by=user_id,
                lead_time=round(rng.uniform(20, 180), 1),
            )
            created += 1
    return created


def _release(store: Store, schema: AnnotationSchema, version: str) -> Steps[tuple[Path, list[str]]]:
    """Build the next release of ``version`` (or find the one already built)."""
    folder = releases_dir(store)
    built = (
        [p for p in folder.glob("*") if (p / "manifest.json").is_file()] if folder.is_dir() else []
    )
    built.sort(key=lambda p: parse_version(p.name))
    for path in reversed(built):
        if json.loads((path / "manifest.json").read_text())["version"] == version:
            yield Progress("release", f"release {path.name} of version {version} already built")
            return path, []
    major, minor, _ = parse_version(built[-1].name) if built else (0, 0, 0)
    number = f"{major}.{minor + 1}.0"
    try:
        result = build_release(store, version, release=number, schema=schema)
    except ReleaseGateError as exc:
        reason = demo_force_reason(exc.gates)
        if reason is None:
            raise
        yield Progress("release", f"release gates forced ({reason})")
        result = build_release(store, version, release=number, schema=schema, force=reason)
    rows = result.rows["documents"]
    yield Progress(
        "release",
        f"release {number} at {result.path} (documents: train {rows['train']}, "
        f"validation {rows['validation']}, test {rows['test']})",
    )
    return result.path, result.forced
