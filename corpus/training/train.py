"""`corpus model train`: a stance classifier and a span tagger from a release, stored as an
immutable model folder with its manifest and model card."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from corpus.errors import translate_os_errors
from corpus.extras import skip_plots
from corpus.inference.folder import (
    CARD,
    CONFUSION,
    STANCE_FILE,
    TAGGER_FILE,
    ModelManifest,
    ReleaseRef,
    file_entry,
    model_version,
)
from corpus.inference.predict import StoredModel, library_versions
from corpus.neardup.components import group_components
from corpus.progress import Progress, ProgressCallback, Steps, drive
from corpus.store import Store, as_store
from corpus.training.card import render_card
from corpus.training.data import SPLITS, ReleaseData, check_trainable, read_release
from corpus.training.evaluate import (
    ALL,
    CONFUSION_PLOT,
    Evaluation,
    evaluate_docs,
    plot_confusion,
)
from corpus.training.fit import select_stance, select_tagger, tagger_from_bytes
from corpus.training.store import check_name, default_name, write_model


@dataclass
class TrainResult:
    name: str
    path: Path
    version: str
    release: str
    parameters: dict[str, Any]
    scores: dict[str, Any]
    training_seconds: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "path": str(self.path)}


def score_summary(evaluation: Evaluation) -> dict[str, Any]:
    """The headline figures of an evaluation (kept in the manifest and shown by list)."""
    everything = next(s for s in evaluation.spans if s.label == ALL)
    return {
        "documents": evaluation.documents,
        "stance_macro_f1": evaluation.macro_f1.__dict__,
        "span_exact_f1": everything.exact_f1.__dict__,
        "span_overlap_f1": everything.overlap_f1.__dict__,
    }


@translate_os_errors
def train_model(
    store: Store | str | os.PathLike[str],
    release: str | os.PathLike[str],
    *,
    name: str | None = None,
    seed: int = 0,
    bootstrap: int = 1000,
    cache_dir: Path | None = None,
    plots: bool | None = None,
    progress: ProgressCallback | None = None,
) -> TrainResult:
    """Train on ``release`` (a folder, or a release number of the store) and store the model
    as ``<store>/models/<name>`` (default ``release-<number>``).

    Hyper-parameters are chosen on the validation split; the card reports validation and
    test scores with ``bootstrap`` replicates. Refused with :class:`~corpus.errors.ModelError`:
    a release without gold, or whose train or validation split is too small.

    ``plots``: ``None`` draws the card's confusion matrix (``confusion.png``) when matplotlib
    (the ``plots`` extra) is installed, else the card and ``notes`` say it was not drawn;
    ``True`` draws it or raises :class:`~corpus.errors.MissingExtraError`; ``False`` leaves
    it out.
    """
    if bootstrap < 0:
        raise ValueError(f"bootstrap must be 0 or more replicates, not {bootstrap}")
    plots_note = skip_plots(plots, CONFUSION_PLOT)
    steps = _train(as_store(store), Path(release), name, seed, bootstrap, cache_dir, plots_note)
    return drive(steps, progress)


def _components(store: Store, data: ReleaseData) -> dict[str, str] | None:
    """The near-duplicate component of each train group at the release's version, when the
    release is this store's (a release folder from elsewhere: its stored groups only)."""
    from corpus.release import releases_dir

    if data.path.parent != releases_dir(store).resolve():
        return None
    if data.version not in store.version_names():
        return None
    groups = {d.dup_group for d in data.docs.get("train", [])}
    return group_components(store, data.version, groups)


def _train(
    store: Store,
    release: Path,
    name: str | None,
    seed: int,
    bootstrap: int,
    cache_dir: Path | None,
    plots_note: str | None,
) -> Steps[TrainResult]:
    yield Progress("read", f"reading release {release} (checksums, then its tables)")
    data = read_release(store, release, cache_dir=cache_dir)
    check_trainable(data)
    name = check_name(name) if name is not None else default_name(store, data.release)
    yield Progress("read", f"release {data.release}: {_sizes(data)}")
    started = time.perf_counter()
    stance, stance_tried = select_stance(
        data.labelled("train"),
        data.labelled("validation"),
        seed=seed,
        components=_components(store, data),
    )
    yield Progress("stance", f"stance: C = {stance.params['C']} (of {len(stance_tried)} tried)")
    tagger, tagger_params, tagger_tried = select_tagger(
        data.sentences["train"], data.sentences.get("validation", [])
    )
    seconds = round(time.perf_counter() - started, 2)
    yield Progress(
        "spans", f"spans: c1 = {tagger_params['c1']}, c2 = {tagger_params['c2']} ({seconds} s)"
    )
    notes = [
        f"stance label {label!r} has fewer than 2 train documents: the model never predicts it"
        for label in stance.dropped
    ]
    manifest = ModelManifest(
        name=name,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        training_seconds=seconds,
        release=ReleaseRef(
            release=data.release,
            path=str(data.path),
            version=data.version,
            schema_hash=data.schema_hash,
            files=data.files,
        ),
        schema_hash=data.schema_hash,
        stance_labels=data.stance_labels,
        trained_stance_labels=stance.labels,
        tags=data.tags,
        language=data.language,
        libraries=library_versions(),
        parameters={"stance": stance.params, "tagger": tagger_params, "seed": seed},
        selection={"stance": stance_tried, "tagger": tagger_tried},
        data={
            split: {
                "documents": len(data.docs.get(split, [])),
                "labelled": len(data.labelled(split)),
                "sentences": len(data.sentences.get(split, [])),
            }
            for split in SPLITS
        },
        scores={},
        notes=notes,
        files={},
    )

    def fill(tmp: Path) -> ModelManifest:
        import joblib

        joblib.dump(stance.pipeline, tmp / STANCE_FILE)
        (tmp / TAGGER_FILE).write_bytes(tagger)
        version = model_version(
            name, file_entry(tmp / STANCE_FILE).sha256, file_entry(tmp / TAGGER_FILE).sha256
        )
        model = StoredModel(tmp, manifest, version, stance.pipeline, tagger_from_bytes(tagger))
        evaluations = {
            split: evaluate_docs(
                model, data.docs[split], release=data.release, split=split,
                bootstrap=bootstrap, seed=seed,
            )
            for split in ("validation", "test")
            if data.labelled(split)
        }  # fmt: skip
        if "test" in evaluations and plots_note is None:
            plot_confusion(evaluations["test"], tmp / CONFUSION)
        final = manifest.model_copy(
            update={"scores": {s: score_summary(e) for s, e in evaluations.items()}}
        )
        card = render_card(final, version, evaluations, plots_note=plots_note)
        (tmp / CARD).write_text(card, encoding="utf-8")
        return final

    yield Progress("write", f"evaluating and writing model {name}")
    path, final, version = write_model(store, name, fill)
    return TrainResult(
        name=name,
        path=path,
        version=version,
        release=data.release,
        parameters=final.parameters,
        scores=final.scores,
        training_seconds=seconds,
        notes=[*notes, *([plots_note] if plots_note else [])],
    )


def _sizes(data: ReleaseData) -> str:
    return ", ".join(
        f"{split} {len(data.docs.get(split, []))} documents "
        f"({len(data.labelled(split))} with gold stance)"
        for split in SPLITS
    )


__all__ = ["TrainResult", "score_summary", "train_model"]
