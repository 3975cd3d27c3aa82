"""Round state kept in the store: which project, which version, which documents."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from corpus.atomic import write_json_atomic
from corpus.errors import RoundError
from corpus.rounds.sample import MODEL_STRATEGIES
from corpus.store import Store

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class RoundSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sample: int | None = Field(description="Documents to sample; None = all (one per dup group).")
    overlap: int = Field(ge=1, description="Annotators per task (maximum_annotations).")
    seed: int
    unit: str = Field(default="document", description="Task unit; only 'document' for now.")
    anchor: int = Field(default=0, ge=0, description="Documents every annotator labels.")
    batch_size: int = Field(default=1000, ge=1)
    strategy: str = Field(default="random", description="How documents are sampled.")
    relabel: str | None = Field(
        default=None, description="An earlier round whose documents are sent again."
    )
    include_labelled: bool = Field(
        default=False, description="Also sample documents earlier rounds sent, or with gold."
    )
    model: str | None = Field(
        default=None,
        description="Stored model whose predictions annotators see (a name in "
        "<store>/models/ or a folder); it also ranks documents for the uncertainty strategies "
        "unless sampling_model is set. None: keyword suggestions, or none (predictions).",
    )
    sampling_model: str | None = Field(
        default=None,
        description="Stored model that ranks documents for the uncertainty strategies without "
        "being shown (`--model`); None: the pre-annotating model ranks them (`model`).",
    )
    predictions: bool = Field(
        default=True,
        description="Whether tasks carry predictions; False: `--preannotate none`, annotators "
        "see no suggestion.",
    )
    explore: float | None = Field(
        default=None, ge=0, le=1, description="Random share of an uncertainty sample."
    )


class PushReceipt(BaseModel):
    """What a complete push left in the project: re-runs skip listing its tasks while the
    server still shows exactly this (:mod:`corpus.rounds.rerun`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    project_id: int
    tasks: int = Field(description="Tasks in the project: one per sampled document.")
    newest_task_id: int = Field(description="The largest task id then (ids are never reused).")


class RoundState(BaseModel):
    """``<store>/rounds/<name>/round.json``."""

    model_config = ConfigDict(extra="forbid")

    name: str
    version: str = Field(description="Dataset version the round samples from.")
    project_id: int | None = None
    project_title: str
    settings: RoundSettings
    doc_ids: list[str] = Field(description="Sampled documents, in push order.")
    anchor_ids: list[str] = Field(default_factory=list)
    schema_hash: str
    label_config_sha256: str
    model_version: str = Field(
        description="What annotators see: the pre-annotator's model_version "
        "(keywords-<schema hash>, a model's version) or 'none'."
    )
    sampling_model_version: str | None = Field(
        default=None, description="Version of the model that ranked the documents, if any."
    )
    created: str
    pulled_versions: list[str] = Field(default_factory=list)
    simulated: bool = Field(
        default=False, description="Annotations come from simulated annotators (corpus demo)."
    )
    scores: dict[str, float] = Field(
        default_factory=dict, description="Each sampled document's score under the strategy."
    )
    excluded: dict[str, int] = Field(
        default_factory=dict, description="Documents left out of the sample, by reason."
    )
    population: int | None = Field(default=None, description="Documents the sample chose from.")
    explored: list[str] = Field(
        default_factory=list, description="Sampled documents picked at random (explore share)."
    )
    server: str | None = Field(
        default=None, description="Identity of the Label Studio server of the project."
    )
    pushed: PushReceipt | None = Field(
        default=None, description="What the last complete push left on the server."
    )

    def shown(self) -> str:
        """What annotators saw, in words: ``keywords (keywords-1a2b)``, ``model base
        (base-3c4d)`` or ``none``."""
        if not self.settings.predictions:
            return "none"
        if self.settings.model is not None:
            return f"model {self.settings.model} ({self.model_version})"
        return f"keywords ({self.model_version})"

    def sampled_by(self) -> str | None:
        """The model that ranked the documents, in words, or None (no model did)."""
        s = self.settings
        if s.sampling_model is not None:
            return f"model {s.sampling_model} ({self.sampling_model_version})"
        if s.strategy in MODEL_STRATEGIES and s.model is not None:  # rounds before --model
            return f"model {s.model} ({self.sampling_model_version or self.model_version})"
        return None


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise RoundError(
            f"{name!r} is not a valid round name",
            hint="Use letters, digits, '.', '_' or '-', up to 64 characters (e.g. round-1).",
        )
    return name


def project_title(name: str, store_id: str, kind: str = "") -> str:
    """``corpus <name> [<kind>] · <store id>``, within Label Studio's 3 to 50 characters.

    The store's id in the title tells projects of two stores apart on a shared server (the
    id in the description decides, see :func:`corpus.rounds.project.owned_project`).
    """
    tail = f"{' ' + kind if kind else ''} · {store_id[:6]}"
    room = 50 - len("corpus ") - len(tail)
    if len(name) > room:
        digest = hashlib.sha256(name.encode()).hexdigest()[:6]
        name = f"{name[: room - 7]}-{digest}"
    return f"corpus {name}{tail}"


def round_dir(store_root: Path, name: str) -> Path:
    return store_root / "rounds" / check_name(name)


def load_round(store_root: Path, name: str) -> RoundState:
    path = round_dir(store_root, name) / "round.json"
    if not path.is_file():
        raise RoundError(
            f"no round {name!r} in the store {store_root}",
            hint=f"Start it with `corpus round start {name} --version VERSION`.",
        )
    return _read_state(path)


def _read_state(path: Path) -> RoundState:
    try:
        return RoundState.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        raise RoundError(
            f"{path} is damaged and cannot be read ({exc.error_count()} problem(s), first: "
            f"{exc.errors()[0]['msg']})",
            hint="Restore it from a backup; the round's project and pulled versions are "
            "listed in it.",
        ) from None


def save_round(store_root: Path, state: RoundState) -> None:
    """Atomic write: a crash leaves the old state or the new one, never half of one."""
    folder = round_dir(store_root, state.name)
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder / "round.json", state.model_dump(mode="json"))


def list_rounds(store_root: Store | str | os.PathLike[str]) -> list[RoundState]:
    """The rounds of a store (a :class:`~corpus.store.Store` or its folder), by name."""
    root = store_root.root if isinstance(store_root, Store) else Path(store_root)
    folder = root / "rounds"
    if not folder.is_dir():
        return []
    return [
        _read_state(p / "round.json")
        for p in sorted(folder.iterdir())
        if (p / "round.json").is_file()
    ]


def round_order(store_root: Path) -> list[str]:
    """The store's rounds, oldest first (by when they were started, then by name)."""
    return [r.name for r in sorted(list_rounds(store_root), key=lambda r: (r.created, r.name))]
