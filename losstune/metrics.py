"""Evaluation metrics, registered by name, computed with scikit-learn.

Classification metrics take ``(y_true, proba)`` with ``proba`` of shape ``(N, K)`` (binary:
``K = 2``); regression metrics take ``(y_true, y_pred)``. Each metric knows whether larger is
better, so a search can maximise or minimise it without a lookup table elsewhere, and the
range its values can take (``low``, ``high``), so an interval around a mean never leaves it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn import metrics as skm

from losstune._registry import Registry
from losstune.task import CLASSIFICATION, Task

IMBALANCE_THRESHOLD = 0.2
"""Below this smallest-class share of rows, the default metric is balanced accuracy."""


@dataclass(frozen=True)
class Metric:
    """A scalar score of predictions; ``greater_is_better`` gives the optimisation direction,
    ``low`` and ``high`` the range of its values (``-inf`` / ``inf`` when unbounded)."""

    fn: Callable[[np.ndarray, np.ndarray], float]
    greater_is_better: bool
    tasks: frozenset[Task]
    name: str = ""
    low: float = -math.inf
    high: float = math.inf

    @property
    def direction(self) -> str:
        """``"maximize"`` or ``"minimize"``, as Optuna and Ray Tune spell it."""
        return "maximize" if self.greater_is_better else "minimize"

    def clip(self, value: float) -> float:
        """``value`` moved into ``[low, high]`` (NaN stays NaN): the end of an interval
        computed around a mean (accuracy 0.98 +- 0.15 ends at 1.0, not 1.13)."""
        if math.isnan(value):
            return value
        return min(max(float(value), self.low), self.high)

    def __call__(self, y_true: np.ndarray, predictions: np.ndarray) -> float:
        return float(self.fn(np.asarray(y_true), np.asarray(predictions)))


METRICS: Registry[Metric] = Registry("metric")
_REGRESSION = frozenset({Task.REGRESSION})


def _register(
    name: str,
    fn: Callable,
    greater: bool,
    tasks: frozenset[Task],
    bounds: tuple[float, float] = (0.0, 1.0),
) -> None:
    METRICS.register(name)(Metric(fn, greater, tasks, name, *bounds))


def _labels(proba: np.ndarray) -> np.ndarray:
    return np.arange(proba.shape[1])


def _roc_auc(y: np.ndarray, proba: np.ndarray) -> float:
    if len(np.unique(y)) < 2:
        return float("nan")  # undefined with a single class present
    if proba.shape[1] == 2:
        return skm.roc_auc_score(y, proba[:, 1])
    return skm.roc_auc_score(y, proba, multi_class="ovr", labels=_labels(proba))


_register("accuracy", lambda y, p: skm.accuracy_score(y, p.argmax(1)), True, CLASSIFICATION)
_register(
    "balanced_accuracy",
    lambda y, p: skm.balanced_accuracy_score(y, p.argmax(1)),
    True,
    CLASSIFICATION,
)
_register(
    "macro_f1",
    lambda y, p: skm.f1_score(y, p.argmax(1), average="macro", labels=_labels(p), zero_division=0),
    True,
    CLASSIFICATION,
)
_register("roc_auc", _roc_auc, True, CLASSIFICATION)
_NON_NEGATIVE = (0.0, math.inf)
_register(
    "log_loss",
    lambda y, p: skm.log_loss(y, p, labels=_labels(p)),
    False,
    CLASSIFICATION,
    _NON_NEGATIVE,
)
_register("rmse", lambda y, p: skm.root_mean_squared_error(y, p), False, _REGRESSION, _NON_NEGATIVE)
_register("mae", lambda y, p: skm.mean_absolute_error(y, p), False, _REGRESSION, _NON_NEGATIVE)
_register("r2", lambda y, p: skm.r2_score(y, p), True, _REGRESSION, (-math.inf, 1.0))


def get_metric(name: str, task: Task) -> Metric:
    """The metric ``name``, checked to apply to ``task``."""
    metric = METRICS.get(name)
    if task not in metric.tasks:
        usable = [n for n, m in METRICS.items() if task in m.tasks]
        raise ValueError(
            f"Metric {name!r} does not apply to {task.value} tasks; use one of {usable}."
        )
    return metric


def metrics_for(task: Task) -> list[str]:
    """Names of every metric that applies to ``task``."""
    return [name for name, metric in METRICS.items() if task in metric.tasks]


def default_metric(task: Task, class_counts: np.ndarray | None = None) -> tuple[str, str]:
    """The default metric for a task and the reason it was chosen (to print to the user).

    Accuracy for classification, balanced accuracy when the smallest class holds under 20% of
    the rows (accuracy would reward ignoring it), RMSE for regression.
    """
    if task is Task.REGRESSION:
        return "rmse", "regression task: root mean squared error"
    if class_counts is None or len(class_counts) == 0:
        return "accuracy", "classification task: accuracy"
    share = float(np.min(class_counts) / np.sum(class_counts))
    if share < IMBALANCE_THRESHOLD:
        return (
            "balanced_accuracy",
            f"smallest class holds {share:.1%} of rows (< {IMBALANCE_THRESHOLD:.0%}): "
            "balanced accuracy",
        )
    return "accuracy", f"smallest class holds {share:.1%} of rows: accuracy"
