"""Huber loss (Huber 1964, "Robust Estimation of a Location Parameter").

Quadratic for residuals below ``delta``, linear above: MSE's smooth fit near the optimum with
MAE's robustness to outliers. ``0.5 r^2`` if ``|r| <= delta`` else ``delta (|r| - delta / 2)``,
exactly ``F.huber_loss(reduction="none", delta=delta)``, written out so that ``delta`` may be a
tensor (one value per population member, see :mod:`losstune.objectives.batched`). Set ``delta``
relative to the scale of the (standardised) target.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from losstune._hyper import hyperparameter
from losstune.objectives.base import LOSSES, Loss
from losstune.params import Float, Param
from losstune.task import Task


@LOSSES.register("huber")
@dataclass(frozen=True)
class Huber(Loss):
    """Quadratic inside ``|r| <= delta``, linear outside.

    ``delta`` is in target units (targets are not rescaled), so its domain ``[1e-6, 1e6]``
    spans twelve orders of magnitude: below it the loss is ``delta * |r|``, MAE with a
    vanishing gradient; above it every residual is inside, which is ``mse``."""

    delta: float = hyperparameter(1.0, low=1e-6, high=1e6)

    tasks = frozenset({Task.REGRESSION})
    softmax_based = False
    boosting_hessian = 1.0  # sup of its curvature; LightGBM's `huber` uses 1 too

    @classmethod
    def space(cls) -> dict[str, Param]:
        return {"delta": Float(0.1, 5.0, log=True)}

    def __call__(self, outputs: Tensor, target: Tensor) -> Tensor:
        r = (outputs - target).abs()
        return torch.where(r < self.delta, 0.5 * r * r, self.delta * (r - 0.5 * self.delta))
