"""`corpus demo`: the whole loop on the embedded default, with simulated annotators.

Ingest the seed articles (plus generated ones, titled ``[generated]``, when more documents
are asked for), start a round with overlap in the real Label Studio, have simulated
annotators (real Label Studio users created through the API) submit annotations derived from
the pre-annotations with realistic disagreement, pull, measure agreement, adjudicate by
majority, build a release marked as simulated and verify it with ``load_dataset``. Then
the model in the loop: train a model on the release, ingest a second batch of generated
articles, start a second round that samples them by the model's uncertainty and shows the
model's suggestions (stance and spans with their probabilities), have the simulated
annotators label it, pull it, and report how often each model version's suggestions were
kept. Re-running it continues where it stopped and repeats nothing already done.
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
from corpus.errors import (
    IngestError,
    ModelError,
    ReleaseGateError,
    RoundError,
    display_path,
    translate_os_errors,
)
from corpus.iaa import agreement, fmt, write_report
from corpus.inference import check_folder, models_dir
from corpus.ingestion import ingest
from corpus.ingestion.core import normalize, split_title
from corpus.label_schema import AnnotationSchema, load_schema
from corpus.labelstudio import StudioClient
from corpus.preannotate import KeywordPreAnnotator, PreAnnotator
from corpus.progress import Progress, ProgressCallback, Steps, drive
from corpus.release import build_release, releases_dir, verify_release
from corpus.rounds import load_round, pull_round, start_round
from corpus.rounds.preannotators import model_preannotator
from corpus.simulate import annotator_profiles, generate_articles, simulate_result
from corpus.store import Store, as_store, next_minor, version_folders
from corpus.training import train_model

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


ROUND_2_MESSAGE = "demo: articles for round 2"


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
    model: str | None = None  # model_version of the model trained on the release
    model_round: str | None = None  # the second round, sampled and pre-annotated by it
    model_agreement: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Path) else v for k, v in self.__dict__.items()}


def _seed_files(seeds: Path) -> list[Path]:
    return sorted(p for p in seeds.rglob("*.txt") if p.is_file())


def check_seeds(seeds: str | os.PathLike[str]) -> Path:
    """The seed folder, or :class:`~corpus.errors.IngestError` when it is missing or holds
    no ``.txt`` article (checked before anything starts, Label Studio included)."""
    folder = Path(seeds)
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise IngestError(
            f"the seed folder {display_path(folder)} {what}",
            hint="Pass --seeds with a folder of .txt articles (a title line, a blank line, "
            "paragraphs), such as the project's seeds/ folder.",
        )
    if not _seed_files(folder):
        raise IngestError(
            f"the seed folder {display_path(folder)} holds no .txt article",
            hint="Add .txt articles (a title line, a blank line, paragraphs) or pass another "
            "--seeds folder.",
        )
    return folder


def _generate(seeds: Path, folder: Path, n: int, seed: int) -> Path:
    """``n`` generated articles (recombined seed paragraphs) in ``folder``."""
    paragraphs: list[str] = []
    for path in _seed_files(seeds):
        _, body = split_title(normalize(path.read_text(encoding="utf-8")))
        paragraphs += body.split("\n\n")
    folder.mkdir(parents=True, exist_ok=True)
    for i, (title, body) in enumerate(generate_articles(paragraphs, n, seed=seed)):
        path = folder / f"generated-{i:04d}.txt"
        if not path.exists():
            path.write_text(f"{title}\n\n{body}\n", encoding="utf-8")
    return folder


def _articles(seeds: Path, store: Store, n: int | None, seed: int) -> list[Path]:
    """The seed folder, plus a folder of generated articles when ``n`` exceeds the seeds."""
    missing = (n or 0) - len(_seed_files(seeds))
    inputs = [seeds]
    if missing > 0:
        inputs.append(_generate(seeds, store.root / "demo" / "generated", missing, seed))
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
    seeds: str | os.PathLike[str],
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
    seeds = check_seeds(seeds)
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
    base = ingested.version or next(  # the first round's ingest, not the second round's
        v
        for v in reversed(store.version_names())
        if store.manifest(v).kind == "ingest" and store.manifest(v).message != ROUND_2_MESSAGE
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
    model = yield from _model(store, release_path, seed)
    second: tuple[str, Path] | None = None
    if model is not None:
        second = yield from _model_round(
            client, store, schema, seeds, model, users, docs or len(state.doc_ids), seed
        )
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
        model=model[1] if model else None,
        model_round=second[0] if second else None,
        model_agreement=second[1] if second else None,
    )


def _model(store: Store, release: Path, seed: int) -> Steps[tuple[str, str] | None]:
    """(name, version) of the model trained on ``release`` (trained now if needed)."""
    name = f"demo-{release.name}"
    folder = models_dir(store.root) / name
    if folder.is_dir():
        _, version = check_folder(folder)
        yield Progress("model", f"model {version} on release {release.name} already trained")
        return name, version
    try:
        trained = train_model(store, release, name=name, seed=seed, bootstrap=200)
    except ModelError as exc:
        yield Progress("model", f"no model: {exc.message}")
        return None
    test = trained.scores.get("test", {})
    figures = ", ".join(
        f"{what} {fmt_score(test[key])}"
        for what, key in (("stance macro-F1", "stance_macro_f1"), ("span F1", "span_exact_f1"))
        if key in test
    )
    yield Progress(
        "model",
        f"model {trained.version} trained on release {release.name} in "
        f"{trained.training_seconds:.0f} s (test: {figures or 'no labelled test document'}); "
        f"card at {trained.path / 'README.md'}",
    )
    return name, trained.version


def fmt_score(metric: dict[str, Any]) -> str:
    value = metric.get("value")
    return "n/a" if value is None else f"{value:.2f}"


def _model_round(
    client: StudioClient,
    store: Store,
    schema: AnnotationSchema,
    seeds: Path,
    model: tuple[str, str],
    users: list[tuple[int, str]],
    docs: int,
    seed: int,
) -> Steps[tuple[str, Path]]:
    """A second round on new articles, sampled by the model's uncertainty, pre-annotated by
    it, labelled by the simulated annotators, pulled, with its agreement report."""
    name = f"demo-model-{model[0].removeprefix('demo-')}"
    n = max(4, docs // 3)
    try:
        version = load_round(store.root, name).version
    except RoundError:
        folder = _generate(seeds, store.root / "demo" / "generated-round-2", n, seed + 1)
        ingest([folder], store=store, schema=schema, message=ROUND_2_MESSAGE)
        version = store.latest_name() or ""
    pushed = start_round(
        client, store, name, version=version, schema=schema, model=model[0], sample=n // 2,
        strategy="uncertainty", overlap=len(users), seed=seed, simulated=True,
    )  # fmt: skip
    state = pushed.state
    yield Progress(
        "round 2",
        f"round {name}: {len(state.doc_ids)} of {state.population} new documents chosen by "
        f"uncertainty ({len(state.explored)} at random), pre-annotated by {model[1]}",
    )
    pre = model_preannotator(store, model[0], schema)
    created = _annotate(client, store, schema, state.project_id or 0, version, users, pre, seed)
    pull_round(client, store, name, schema=schema)
    report = agreement(store, name, schema=schema, bootstrap=200)
    files = write_report(report, store.root / "rounds" / name / "agreement")
    kept = next((m for m in report.per_model_version if m.model_version == model[1]), None)
    yield Progress(
        "round 2",
        f"{created} simulated annotations; suggestions of {model[1]} kept: spans "
        f"{kept.accepted_suggestions if kept else 'n/a'}, stance "
        f"{kept.stance_accepted if kept else 'n/a'}; report at {files[-1]}",
    )
    return name, files[-1]


def _annotate(
    client: StudioClient,
    store: Store,
    schema: AnnotationSchema,
    project_id: int,
    version: str,
    users: list[tuple[int, str]],
    pre: PreAnnotator,
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
    built = [
        folder / name
        for name in version_folders(folder).versions  # stray folders are not releases
        if (folder / name / "manifest.json").is_file()
    ]
    for path in reversed(built):
        if json.loads((path / "manifest.json").read_text())["version"] == version:
            yield Progress("release", f"release {path.name} of version {version} already built")
            return path, []
    number = next_minor(built[-1].name if built else None)
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
