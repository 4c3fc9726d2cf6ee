"""Poly-1 loss (Leng et al. 2022, "PolyLoss: A Polynomial Expansion Perspective of
Classification Loss Functions", arXiv:2204.12511).

``CE + eps * (1 - p_t)``: the first term of CE's Taylor expansion in ``(1 - p_t)`` is given an
extra weight ``eps``. ``eps > 0`` pushes harder on rows that are not yet confident; ``eps = -1``
removes the leading polynomial term entirely (the smallest value that keeps the loss
monotone in ``p_t``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from losstune._hyper import hyperparameter
from losstune.objectives.base import LOSSES, Loss, class_logits
from losstune.params import Float, Param
from losstune.task import CLASSIFICATION


@LOSSES.register("poly1")
@dataclass(frozen=True)
class Poly1(Loss):
    """Cross-entropy plus ``eps * (1 - p_t)``; ``eps = 0`` is plain CE.

    ``eps`` lies in ``[-1, 100]``: below -1 the loss is not monotone in ``p_t``; the paper
    sweeps up to ~10, and at 100 the CE term is a rounding error next to a scaled MAE."""

    eps: float = hyperparameter(1.0, low=-1.0, high=100.0)

    tasks = CLASSIFICATION

    @classmethod
    def space(cls) -> dict[str, Param]:
        return {"eps": Float(-1.0, 5.0)}

    def __call__(self, outputs: Tensor, target: Tensor) -> Tensor:
        log_p = torch.log_softmax(class_logits(outputs), dim=1)
        log_pt = log_p.gather(1, target.unsqueeze(1)).squeeze(1)
        return -log_pt - self.eps * torch.expm1(log_pt)
