"""Log-cosh loss ``log(cosh(r))`` (e.g. Chen et al. 2019, "Log Hyperbolic Cosine Loss Improves
Variational Auto-Encoder"; Saleh & Saleh 2022, "Statistical Properties of the log-cosh Loss
Function Used in Machine Learning", arXiv:2208.04564).

About ``r^2 / 2`` for small residuals and ``|r| - log 2`` for large ones: a smooth,
hyperparameter-free Huber. ``cosh`` overflows at ``|r| > ~89`` in float32, so it is computed
as ``|r| + softplus(-2|r|) - log 2``, which is exact and finite everywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor

from losstune.objectives.base import LOSSES, Loss
from losstune.task import Task


@LOSSES.register("log_cosh")
@dataclass(frozen=True)
class LogCosh(Loss):
    """``log(cosh(y_hat - y))``, computed without overflow."""

    tasks = frozenset({Task.REGRESSION})
    softmax_based = False
    boosting_hessian = 1.0  # sup of sech^2; exact Newton diverges past |r| ~ 1.1

    def __call__(self, outputs: Tensor, target: Tensor) -> Tensor:
        r = (outputs - target).abs()
        return r + F.softplus(-2.0 * r) - math.log(2.0)
