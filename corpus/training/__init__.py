"""Models in the annotation loop: train on a release, evaluate, learning curves.

* :mod:`corpus.training.data`: a release as training data (checked, read with ``datasets``);
* :mod:`corpus.training.fit`: the stance classifier and the CRF span tagger, chosen on
  validation;
* :mod:`corpus.training.evaluate`: scores with bootstrap intervals, confusion plot;
* :mod:`corpus.training.store`: the immutable model folder, written like a version;
* :mod:`corpus.training.card`: the model card;
* :mod:`corpus.training.train`: :func:`train_model`;
* :mod:`corpus.training.curve`: :func:`learning_curve`, simulated rounds on a labelled
  release, one line per sampling strategy.

Reading a stored model and predicting with it is :mod:`corpus.inference` (below the
rounds, which pre-annotate and sample with it).
"""

from __future__ import annotations

from corpus.training.curve import CurveResult, learning_curve
from corpus.training.evaluate import Evaluation, evaluate_model
from corpus.training.store import ModelInfo, list_models
from corpus.training.train import TrainResult, train_model

__all__ = [
    "CurveResult",
    "Evaluation",
    "ModelInfo",
    "TrainResult",
    "evaluate_model",
    "learning_curve",
    "list_models",
    "train_model",
]
