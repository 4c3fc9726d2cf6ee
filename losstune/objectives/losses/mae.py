"""Absolute error ``|y_hat - y|`` (Laplace log-likelihood): robust to outlying targets."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from losstune.objectives.base import LOSSES, Loss
from losstune.task import Task


@LOSSES.register("mae")
@dataclass(frozen=True)
class MeanAbsoluteError(Loss):
    """Per-row absolute residual; its minimiser is the conditional median."""

    tasks = frozenset({Task.REGRESSION})
    softmax_based = False
    boosting_hessian = 1.0  # no curvature to derive; LightGBM's `l1` uses 1

    def __call__(self, outputs: Tensor, target: Tensor) -> Tensor:
        return (outputs - target).abs()
