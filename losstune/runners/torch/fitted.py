"""A trained network with what it needs to predict on new rows, and how it logs to MLflow
(as a pyfunc model on raw rows; :func:`log_module` logs a bare network with mlflow.pytorch)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from losstune.task import Task

if TYPE_CHECKING:
    from losstune.runners.base import ModelTracker

_CHUNK = 65_536


@dataclass
class FittedModel:
    """The trained module plus the task, classes, target scaling and feature preprocessing.

    ``predict`` and ``predict_proba`` accept raw rows (a DataFrame, transformed with the
    dataset's fitted preprocessor) or an already preprocessed float array. ``predict``
    returns the class labels in their own dtype (ints stay ints, strings stay strings), so
    they compare with the user's labels (``sklearn.metrics.accuracy_score``).
    """

    module: nn.Module
    task: Task
    classes: list[Any] | None
    target_mean: float = 0.0
    target_std: float = 1.0
    preprocessor: Any = None

    def outputs(self, features: np.ndarray | torch.Tensor) -> np.ndarray:
        """Raw network outputs (logits, or standardised regression predictions)."""
        device = next(self.module.parameters()).device
        x = torch.as_tensor(features, dtype=torch.float32, device=device)
        self.module.eval()
        with torch.no_grad():
            chunks = [self.module(x[i : i + _CHUNK]) for i in range(0, len(x), _CHUNK)]
        out = torch.cat(chunks) if chunks else torch.empty(0, 1, device=device)
        return out.squeeze(1).cpu().numpy() if out.shape[1] == 1 else out.cpu().numpy()

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(N, K)`` (binary: ``K = 2``)."""
        if self.task is Task.REGRESSION:
            raise ValueError("predict_proba is for classification; use predict for regression.")
        return probabilities(self.outputs(self._features(X)), self.task)

    def predict(self, X: Any) -> np.ndarray:
        """Class labels (classification) or target values (regression)."""
        out = self.outputs(self._features(X))
        if self.task is Task.REGRESSION:
            return out * self.target_std + self.target_mean
        codes = probabilities(out, self.task).argmax(1)
        return label_array(self.classes)[codes] if self.classes else codes

    def log_to(
        self, tracker: ModelTracker, input_example: Any = None, *, name: str = "model"
    ) -> str:
        """Log the model into ``tracker``'s run as an MLflow pyfunc model that predicts on raw
        rows (:mod:`losstune.runners.pyfunc`); return the URI that loads it.

        ``input_example`` is a few raw rows with the source columns, e.g.
        ``dataset.raw_example``: the model's input example, and what its signature's output
        is inferred from. A CPU copy in eval mode is logged; this model keeps its device.
        """
        from losstune.runners.pyfunc import RawRowsModel, log_pyfunc

        if self.preprocessor is None or not hasattr(self.preprocessor, "feature_names_in_"):
            raise ValueError(
                "This model has no fitted preprocessor that names its source columns, so it "
                "cannot predict on raw rows. Fix: train it on a Dataset from "
                "losstune.load_dataset, which carries one."
            )
        if isinstance(input_example, np.ndarray | torch.Tensor):
            raise TypeError(
                "log_to takes raw rows as its input example (a DataFrame with the source "
                "columns), not preprocessed features. Fix: pass dataset.raw_example."
            )
        cpu = replace(self, module=copy.deepcopy(self.module).cpu().eval())
        model = RawRowsModel.of(cpu, list(self.preprocessor.feature_names_in_), self.classes)
        torch_pin = f"torch=={torch.__version__.split('+')[0]}"
        return log_pyfunc(tracker, model, input_example, name=name, extra_requirements=[torch_pin])

    def _features(self, X: Any) -> np.ndarray:
        if isinstance(X, np.ndarray | torch.Tensor) and X.dtype != object:
            return np.asarray(X, dtype=np.float32)
        if self.preprocessor is None:
            raise ValueError("This model has no preprocessor; pass preprocessed float features.")
        return np.asarray(self.preprocessor.transform(X), dtype=np.float32)


def label_array(classes: Sequence[Any]) -> np.ndarray:
    """The class labels as an array of their own dtype (int64, str, bool, ...); object only
    when they mix types, which one NumPy dtype would convert (ints to strings)."""
    if len({type(c) for c in classes}) == 1:
        return np.asarray(classes)
    return np.asarray(classes, dtype=object)


def probabilities(outputs: np.ndarray, task: Task) -> np.ndarray:
    """Softmax (multiclass) or sigmoid as two columns (binary) of raw outputs."""
    t = torch.as_tensor(outputs, dtype=torch.float64)
    if task is Task.BINARY:
        p1 = torch.sigmoid(t)
        return torch.stack([1 - p1, p1], dim=1).numpy()
    return torch.softmax(t, dim=1).numpy()


def log_module(
    tracker: ModelTracker,
    module: nn.Module,
    input_example: torch.Tensor | None = None,
    *,
    name: str = "model",
    pip_requirements: Sequence[str] | None = None,
) -> str:
    """Log ``module`` with ``mlflow.pytorch`` into ``tracker``'s run; return its URI.

    With an input example the module is saved as ``pt2`` (``torch.export``, MLflow 3's
    default): a graph that loads without unpickling or importing losstune. Without one it is
    pickled (``torch.save``), which needs the model's class importable when loading. Either
    way a CPU copy in eval mode is saved, so the caller's module keeps its device and mode.
    Requirements default to the running mlflow and torch versions, so MLflow does not infer
    them.
    """
    import mlflow.pytorch

    options: dict[str, Any] = {"serialization_format": "pickle"}
    if input_example is not None:
        if not isinstance(input_example, torch.Tensor) or input_example.ndim < 2:
            raise TypeError(
                "input_example must be a batch of inputs, a torch.Tensor of shape (N, ...) "
                f"with N > 1; got {type(input_example).__name__} "
                f"{tuple(getattr(input_example, 'shape', ()))}. Pass e.g. valid_x[:8]."
            )
        example = input_example.detach().cpu().numpy()
        options = {"serialization_format": "pt2", "input_example": example}
    if pip_requirements is None:
        pip_requirements = [
            f"mlflow=={mlflow.__version__}",
            f"torch=={torch.__version__.split('+')[0]}",
        ]
    model = copy.deepcopy(module).cpu().eval()
    return tracker.log_flavor_model(
        mlflow.pytorch.log_model,
        model,
        name=name,
        pip_requirements=list(pip_requirements),
        **options,
    )
