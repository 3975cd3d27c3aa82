"""Stored models in use: read and verify a model folder, predict, score uncertainty.

* :mod:`corpus.inference.folder`: the model folder (manifest, files, checksums);
* :mod:`corpus.inference.features`: tokens and CRF features shared with training;
* :mod:`corpus.inference.predict`: :func:`load_model` and :class:`ModelPreAnnotator`
  (a pre-annotator suggesting spans and the stance, and an uncertainty scorer).

Training, evaluating and learning curves live in :mod:`corpus.training`, a layer above the
rounds; this package sits below them so that a round can load its model by name.
"""

from __future__ import annotations

from corpus.inference.folder import ModelManifest, check_folder, models_dir, resolve
from corpus.inference.predict import (
    DocumentPrediction,
    ModelPreAnnotator,
    StoredModel,
    load_model,
    predict_documents,
)

__all__ = [
    "DocumentPrediction",
    "ModelManifest",
    "ModelPreAnnotator",
    "StoredModel",
    "check_folder",
    "load_model",
    "models_dir",
    "predict_documents",
    "resolve",
]
