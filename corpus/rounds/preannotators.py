"""The pre-annotator of a round: a stored model (checked against the round's schema) or
the keywords of its schema."""

from __future__ import annotations

import os
from pathlib import Path

from corpus.errors import ModelError
from corpus.inference import ModelPreAnnotator, load_model, models_dir
from corpus.label_schema import AnnotationSchema
from corpus.preannotate import KeywordPreAnnotator, NoPreAnnotator, PreAnnotator, SpanSuggestion
from corpus.rounds.state import RoundState
from corpus.store import Store


def model_preannotator(
    store: Store, model: str | os.PathLike[str], schema: AnnotationSchema
) -> ModelPreAnnotator:
    """A stored model as a pre-annotator, refused when it was trained under another schema
    (its labels would not be the round's)."""
    loaded = load_model(store, model)
    if loaded.schema_hash != schema.hash():
        raise ModelError(
            f"model {loaded.name} was trained under schema {loaded.schema_hash} (release "
            f"{loaded.manifest.release.release}); this round's schema is {schema.hash()}: "
            "its labels are not the round's",
            path=loaded.path,
            hint="Train a model on a release built under the current schema "
            "(`corpus model train RELEASE`), or keep the keyword suggestions.",
        )
    return ModelPreAnnotator(loaded)


def model_reference(store: Store, folder: Path) -> str:
    """How a round records its model: the name of a store model, else the folder's path."""
    inside = models_dir(store.root).resolve()
    return folder.name if folder.resolve().parent == inside else str(folder.resolve())


def round_preannotator(store: Store, state: RoundState, schema: AnnotationSchema) -> PreAnnotator:
    """The pre-annotator a round was started with: its model, its schema's keywords, or
    none (``--preannotate none``)."""
    if not state.settings.predictions:
        return NoPreAnnotator()
    if state.settings.model is not None:
        return model_preannotator(store, state.settings.model, schema)
    return KeywordPreAnnotator(schema)


class LazyRoundPreAnnotator:
    """The round's own pre-annotator, loaded only if a pull needs it (rarely: exports embed
    the prediction each annotation was shown), so that a round whose model is gone can
    still be pulled."""

    def __init__(self, store: Store, state: RoundState, schema: AnnotationSchema) -> None:
        self._args = (store, state, schema)
        self._loaded: PreAnnotator | None = None
        self.model_version = state.model_version

    def predict(self, text: str) -> list[SpanSuggestion]:
        if self._loaded is None:
            self._loaded = round_preannotator(*self._args)
        return self._loaded.predict(text)


__all__ = ["LazyRoundPreAnnotator", "model_preannotator", "model_reference", "round_preannotator"]
