"""A stored model loaded and used: stance probabilities, spans with their marginal
probability, and how unsure the model is about a document.

* the stance: the calibrated classifier's probabilities over the schema's stance labels
  (labels the model never saw in training get 0);
* spans: the CRF's best tag sequence per sentence, read as BIO spans; a span's score is the
  smallest marginal probability of its tokens' tags (CRFsuite's forward-backward marginals),
  so a span is never more certain than its least certain token;
* uncertainty (for sampling): the stance's predictive entropy over the labels the model
  knows, divided by its maximum, plus ``SPAN_WEIGHT`` times the tagger's token-level
  uncertainty (the mean of ``1 - marginal`` of the best tag over the document's
  ``TOP_TOKENS`` least certain tokens), the sum divided by ``1 + SPAN_WEIGHT``: 0 = sure of
  everything, 1 = knows nothing.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import os
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpus.errors import ModelError
from corpus.inference.features import bio_spans, sentences, token_features
from corpus.inference.folder import (
    STANCE_FILE,
    TAGGER_FILE,
    ModelManifest,
    read_manifest,
    resolve,
    verified_bytes,
)
from corpus.preannotate import SpanSuggestion, StanceSuggestion
from corpus.store import Store, as_store

SPAN_WEIGHT = 0.5
TOP_TOKENS = 10


@dataclass
class StoredModel:
    """A verified model folder, loaded."""

    path: Path
    manifest: ModelManifest
    version: str  # name + short hash: the model_version of its predictions
    stance: Any  # the fitted scikit-learn pipeline (TF-IDF + calibrated linear model)
    tagger: Any  # pycrfsuite.Tagger

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def schema_hash(self) -> str:
        return self.manifest.schema_hash


@dataclass(frozen=True)
class DocumentPrediction:
    stance: StanceSuggestion
    probabilities: dict[str, float]
    spans: list[SpanSuggestion]
    stance_uncertainty: float
    span_uncertainty: float

    @property
    def uncertainty(self) -> float:
        return (self.stance_uncertainty + SPAN_WEIGHT * self.span_uncertainty) / (1 + SPAN_WEIGHT)


def library_versions() -> dict[str, str]:
    """Versions of the libraries a model depends on (recorded in its manifest)."""
    from importlib.metadata import version

    from corpus.about import __version__

    names = ("scikit-learn", "python-crfsuite", "numpy", "scipy", "joblib")
    return {"corpus": __version__, **{n: version(n) for n in names}}


def load_model(
    store: Store | str | os.PathLike[str] | None, model: str | os.PathLike[str]
) -> StoredModel:
    """Read and verify a model: ``model`` is a folder, or a name in ``<store>/models/``.

    Refused (:class:`ModelError`): a folder whose files fail their checksums, a model
    pickled by another scikit-learn version (which scikit-learn cannot read reliably), and
    weights that do not load or cannot predict one short text (named in the error).
    """
    import joblib

    root = as_store(store).root if store is not None else Path.cwd()
    folder = resolve(root, model)
    manifest, version = read_manifest(folder)
    files = verified_bytes(folder, manifest)
    trained, here = manifest.libraries.get("scikit-learn"), library_versions()["scikit-learn"]
    if trained != here:
        raise ModelError(
            f"model {manifest.name} was trained with scikit-learn {trained}; this is {here}, "
            "which cannot read it reliably",
            path=folder,
            hint=f"Train it again with `corpus model train {manifest.release.release}`.",
        )
    with _unreadable(folder, STANCE_FILE):
        stance = joblib.load(io.BytesIO(files[STANCE_FILE]))
    with _unreadable(folder, TAGGER_FILE):
        tagger = open_tagger(files[TAGGER_FILE])
    loaded = StoredModel(folder, manifest, version, stance, tagger)
    with _unreadable(folder, f"{STANCE_FILE} or {TAGGER_FILE}"):  # loads, but does it predict?
        predict_documents(loaded, [PROBE])
    return loaded


PROBE = "Trade talks resumed. Both sides said exchanges would continue."


@contextlib.contextmanager
def _unreadable(folder: Path, name: str) -> Iterator[None]:
    """Any failure inside (unpickling, opening the CRF model, a probe prediction) as a
    :class:`ModelError` naming the file: a model is checked before anything uses it."""
    try:
        yield
    except Exception as exc:  # a pickle can raise anything
        raise ModelError(
            f"model folder {folder}: {name} cannot be used as a model "
            f"({type(exc).__name__}: {exc})",
            path=folder,
            hint="Train the model again with `corpus model train RELEASE`, or restore the "
            "folder from a backup.",
        ) from None


@functools.cache
def _tagger_class() -> Any:
    import pycrfsuite

    class KeptTagger(pycrfsuite.Tagger):  # type: ignore[misc]
        """A tagger that keeps its model's bytes alive (CRFsuite reads them in place)."""

        model_bytes = b""

    return KeptTagger


def open_tagger(model: bytes) -> Any:
    """A CRFsuite tagger over a model file's bytes (kept alive as long as the tagger)."""
    tagger = _tagger_class()()
    tagger.model_bytes = model
    tagger.open_inmemory(model)
    return tagger


def stance_probabilities(
    stance: Any, texts: Sequence[str], labels: Sequence[str]
) -> list[dict[str, float]]:
    """Probabilities over ``labels`` (the schema's stance labels), one mapping per text."""
    if not texts:
        return []
    probs = stance.predict_proba(list(texts))
    classes = [str(c) for c in stance.classes_]
    out = []
    for row in probs:
        given = dict(zip(classes, (float(p) for p in row), strict=True))
        out.append({label: given.get(label, 0.0) for label in labels})
    return out


def tag_text(tagger: Any, text: str, language: str) -> tuple[list[SpanSuggestion], list[float]]:
    """Spans of ``text`` with their scores, and every token's uncertainty."""
    spans: list[SpanSuggestion] = []
    uncertain: list[float] = []
    for tokens in sentences(text, language):
        words = [text[a:b] for a, b in tokens]
        tags = tagger.tag(token_features(words))  # also the sequence marginal() reads
        marginals = [tagger.marginal(tag, t) for t, tag in enumerate(tags)]
        uncertain.extend(1.0 - p for p in marginals)
        for first, stop, label in bio_spans(tags):
            score = min(marginals[first:stop])
            start, end = tokens[first][0], tokens[stop - 1][1]
            spans.append(SpanSuggestion(start, end, label, round(score, 4)))
    return spans, uncertain


def entropy(probabilities: Sequence[float]) -> float:
    """Shannon entropy divided by its maximum (0 = certain, 1 = uniform)."""
    k = len(probabilities)
    if k < 2:
        return 0.0
    h = -sum(p * math.log(p) for p in probabilities if p > 0)
    return max(0.0, min(1.0, h / math.log(k)))


def document_predictions(
    stance: Any,
    tagger: Any,
    texts: Sequence[str],
    *,
    stance_labels: Sequence[str],
    trained_labels: Sequence[str],
    language: str,
) -> list[DocumentPrediction]:
    """Stance, spans and uncertainty of each text, from a fitted stance pipeline and a CRF
    tagger (``trained_labels``: the stance labels the pipeline learned)."""
    out = []
    for text, probs in zip(texts, stance_probabilities(stance, texts, stance_labels), strict=True):
        best = max(stance_labels, key=lambda label: probs[label])
        spans, uncertain = tag_text(tagger, text, language)
        top = sorted(uncertain, reverse=True)[:TOP_TOKENS]
        out.append(
            DocumentPrediction(
                stance=StanceSuggestion(best, round(probs[best], 4)),
                probabilities=probs,
                spans=spans,
                stance_uncertainty=entropy([probs[label] for label in trained_labels]),
                span_uncertainty=sum(top) / len(top) if top else 0.0,
            )
        )
    return out


def predict_documents(model: StoredModel, texts: Sequence[str]) -> list[DocumentPrediction]:
    """Stance, spans and uncertainty of each text under a stored model."""
    return document_predictions(
        model.stance,
        model.tagger,
        texts,
        stance_labels=model.manifest.stance_labels,
        trained_labels=model.manifest.trained_stance_labels,
        language=model.manifest.language,
    )


class ModelPreAnnotator:
    """A stored model as a pre-annotator (spans and stance) and an uncertainty scorer."""

    def __init__(self, model: StoredModel) -> None:
        self.model = model
        self._cache: OrderedDict[str, DocumentPrediction] = OrderedDict()

    @property
    def model_version(self) -> str:
        return self.model.version

    def predict_document(self, text: str) -> DocumentPrediction:
        found = self._cache.get(text)
        if found is None:
            found = predict_documents(self.model, [text])[0]
            self._cache[text] = found
            if len(self._cache) > 8:
                self._cache.popitem(last=False)
        return found

    def predict(self, text: str) -> list[SpanSuggestion]:
        return self.predict_document(text).spans

    def predict_stance(self, text: str) -> StanceSuggestion:
        return self.predict_document(text).stance

    def uncertainty(self, texts: Sequence[str]) -> list[float]:
        return [p.uncertainty for p in predict_documents(self.model, texts)]


__all__ = [
    "SPAN_WEIGHT",
    "TOP_TOKENS",
    "DocumentPrediction",
    "ModelPreAnnotator",
    "StoredModel",
    "document_predictions",
    "entropy",
    "library_versions",
    "load_model",
    "open_tagger",
    "predict_documents",
    "stance_probabilities",
    "tag_text",
]
