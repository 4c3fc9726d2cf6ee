"""Squared error ``(y_hat - y)^2``: the default regression loss (Gaussian log-likelihood)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from losstune.objectives.base import LOSSES, Loss
from losstune.task import Task


@LOSSES.register("mse")
@dataclass(frozen=True)
class MeanSquaredError(Loss):
    """Per-row squared residual; its minimiser is the conditional mean."""

    tasks = frozenset({Task.REGRESSION})
    softmax_based = False

    def __call__(self, outputs: Tensor, target: Tensor) -> Tensor:
        return (outputs - target) ** 2
