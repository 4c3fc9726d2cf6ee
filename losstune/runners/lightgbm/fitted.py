"""A trained LightGBM model with what it needs to predict on new rows, and how it logs to
MLflow: the pyfunc model on raw rows (as every family), and the booster with
``mlflow.lightgbm`` next to it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import lightgbm as lgb
import numpy as np

from losstune.runners.outputs import Predictor
from losstune.task import Task

if TYPE_CHECKING:
    from losstune.runners.base import ModelTracker


@dataclass(frozen=True)
class Stage:
    """A booster and how many of its rounds the model keeps (its best round)."""

    booster: lgb.Booster
    rounds: int


@dataclass
class FittedBooster(Predictor):
    """The boosted stages (one; two for a scheme that switches on part-way), the starting
    score, the task, classes, target scaling and feature preprocessing.

    The raw output is ``init + sum(stage.predict(raw_score=True))``: LightGBM leaves an
    ``init_score`` out of its own predictions. ``predict`` and ``predict_proba``
    (:class:`~losstune.runners.outputs.Predictor`) accept raw rows or preprocessed features.
    """

    stages: list[Stage]
    init: np.ndarray
    task: Task
    classes: list[Any] | None
    target_mean: float = 0.0
    target_std: float = 1.0
    preprocessor: Any = None

    def outputs(self, features: np.ndarray) -> np.ndarray:
        """Raw scores: logits ``(N,)`` / ``(N, K)``, or standardised regression values."""
        x = np.asarray(features, dtype=np.float64)
        shape = (len(x), len(self.init)) if self.task is Task.MULTICLASS else (len(x),)
        out = np.broadcast_to(self.init, shape).astype(np.float64)
        for stage in self.stages:
            out = out + np.asarray(
                stage.booster.predict(x, num_iteration=stage.rounds, raw_score=True)
            ).reshape(shape)
        return out

    @property
    def n_rounds(self) -> int:
        """The boosting rounds the model keeps, over its stages."""
        return sum(stage.rounds for stage in self.stages)

    def log_to(
        self, tracker: ModelTracker, input_example: Any = None, *, name: str = "model"
    ) -> str:
        """Log the model as an MLflow pyfunc model that predicts on raw rows (the URI this
        returns), and its last booster with ``mlflow.lightgbm`` as ``<name>-booster`` (the
        trees alone, on preprocessed features, for LightGBM's own tools).
        """
        import mlflow.lightgbm

        from losstune.runners.pyfunc import RawRowsModel, log_pyfunc

        model = RawRowsModel.of(self, self.source_columns(input_example), self.classes)
        lightgbm_pin = f"lightgbm=={lgb.__version__}"
        uri = log_pyfunc(
            tracker, model, input_example, name=name, extra_requirements=[lightgbm_pin]
        )
        tracker.log_flavor_model(
            mlflow.lightgbm.log_model,
            self.stages[-1].booster,
            name=f"{name}-booster",
            pip_requirements=[lightgbm_pin, f"mlflow=={mlflow.__version__}"],
        )
        return uri
