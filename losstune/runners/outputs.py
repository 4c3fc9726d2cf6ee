"""From a model's raw outputs to what users and metrics read, the same for every runner:
probabilities (sigmoid / softmax of the logits), class labels in their own dtype, the
metrics of a split, and the :class:`Predictor` every family's fitted model is.

Raw outputs are logits (classification: ``(N,)`` for binary, ``(N, K)`` for multiclass) or
standardised predictions (regression), whichever family produced them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import expit, softmax

from losstune.metrics import get_metric, metrics_for
from losstune.runners.errors import TrainingDiverged
from losstune.task import Task


def label_array(classes: Sequence[Any]) -> np.ndarray:
    """The class labels as an array of their own dtype (int64, str, bool, ...); object only
    when they mix types, which one NumPy dtype would convert (ints to strings)."""
    if len({type(c) for c in classes}) == 1:
        return np.asarray(classes)
    return np.asarray(classes, dtype=object)


def probabilities(outputs: np.ndarray, task: Task) -> np.ndarray:
    """Softmax (multiclass) or sigmoid as two columns (binary) of raw outputs, in float64."""
    logits = np.asarray(outputs, dtype=np.float64)
    if task is Task.BINARY:
        p1 = expit(logits)
        return np.stack([1.0 - p1, p1], axis=1)
    return np.asarray(softmax(logits, axis=1))


def score_outputs(
    outputs: np.ndarray,
    target: np.ndarray,
    task: Task,
    names: Sequence[str] | None = None,
    *,
    target_mean: float = 0.0,
    target_std: float = 1.0,
) -> dict[str, float]:
    """The metrics ``names`` (default: every metric of the task) of raw outputs; non-finite
    outputs mean the run diverged."""
    if not np.all(np.isfinite(outputs)):
        raise TrainingDiverged("The model outputs NaN or infinite values; lower the learning rate.")
    if task is Task.REGRESSION:
        predictions = outputs * target_std + target_mean
    else:
        predictions = probabilities(outputs, task)
    names = names or metrics_for(task)
    return {name: get_metric(name, task)(target, predictions) for name in names}


def epoch_metrics(task: Task, metric: str) -> list[str]:
    """What every report carries: the recipe's metric and the cheap ones (ROC-AUC over many
    classes is not cheap)."""
    cheap = ["rmse", "mae"] if task is Task.REGRESSION else ["accuracy", "log_loss"]
    return list(dict.fromkeys([metric, *cheap]))


class Predictor(ABC):
    """``predict`` and ``predict_proba`` on raw rows or preprocessed features, from a fitted
    model's raw :meth:`outputs`: what every family's fitted model shares.

    A subclass (a dataclass) holds ``task``, ``classes``, ``target_mean``, ``target_std``
    and the dataset's fitted ``preprocessor``. Raw rows (a DataFrame) go through the
    preprocessor; a numeric array is taken as preprocessed features. ``predict`` returns the
    class labels in their own dtype (ints stay ints, strings stay strings), so they compare
    with the user's labels (``sklearn.metrics.accuracy_score``).
    """

    task: Task
    classes: list[Any] | None
    target_mean: float
    target_std: float
    preprocessor: Any

    @abstractmethod
    def outputs(self, features: Any) -> np.ndarray:
        """Raw outputs of preprocessed features: logits, or standardised regression values."""

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(N, K)`` (binary: ``K = 2``)."""
        if self.task is Task.REGRESSION:
            raise ValueError("predict_proba is for classification; use predict for regression.")
        return probabilities(self.outputs(self.features(X)), self.task)

    def predict(self, X: Any) -> np.ndarray:
        """Class labels (classification) or target values (regression)."""
        out = self.outputs(self.features(X))
        if self.task is Task.REGRESSION:
            return out * self.target_std + self.target_mean
        codes = probabilities(out, self.task).argmax(1)
        return label_array(self.classes)[codes] if self.classes else codes

    def features(self, X: Any) -> Any:
        """``X`` as preprocessed features: a numeric array as it is, raw rows transformed."""
        dtype = getattr(X, "dtype", None)  # a DataFrame has none; an array or tensor has one
        if dtype is not None and dtype != np.dtype(object):
            return X
        if self.preprocessor is None:
            raise ValueError("This model has no preprocessor; pass preprocessed float features.")
        return np.asarray(self.preprocessor.transform(X), dtype=np.float64)

    def source_columns(self, input_example: Any) -> list[str]:
        """The columns a pyfunc model of this one reads; a ValueError without a fitted
        preprocessor that names them, a TypeError for an ``input_example`` that is not raw
        rows (``Fitted.log_to`` checks both before logging)."""
        if self.preprocessor is None or not hasattr(self.preprocessor, "feature_names_in_"):
            raise ValueError(
                "This model has no fitted preprocessor that names its source columns, so it "
                "cannot predict on raw rows. Fix: train it on a Dataset from "
                "losstune.load_dataset, which carries one."
            )
        if input_example is not None and not hasattr(input_example, "columns"):
            raise TypeError(
                "log_to takes raw rows as its input example (a DataFrame with the source "
                "columns), not preprocessed features. Fix: pass dataset.raw_example."
            )
        return list(self.preprocessor.feature_names_in_)
