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

from losstune.runners.outputs import Predictor
from losstune.task import Task

if TYPE_CHECKING:
    from losstune.runners.base import ModelTracker

_CHUNK = 65_536


@dataclass
class FittedModel(Predictor):
    """The trained module plus the task, classes, target scaling and feature preprocessing;
    ``predict`` and ``predict_proba`` (:class:`~losstune.runners.outputs.Predictor`) accept
    raw rows or preprocessed features (an array or a tensor)."""

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

        columns = self.source_columns(input_example)
        cpu = replace(self, module=copy.deepcopy(self.module).cpu().eval())
        model = RawRowsModel.of(cpu, columns, self.classes)
        torch_pin = f"torch=={torch.__version__.split('+')[0]}"
        return log_pyfunc(tracker, model, input_example, name=name, extra_requirements=[torch_pin])


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
