"""Focal loss (Lin et al. 2017, "Focal Loss for Dense Object Detection", arXiv:1708.02002).

``FL = -alpha_t * (1 - p_t)^gamma * log p_t``. With one logit per row (binary) ``p_t`` is the
sigmoid probability of the true class and ``alpha_t`` is ``alpha`` for positives and
``1 - alpha`` for negatives: exactly ``torchvision.ops.sigmoid_focal_loss``. ``alpha = None``
(the default) drops the class factor; it is binary-only because the paper defines it for one
foreground class against background.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from losstune._hyper import hyperparameter
from losstune.objectives.base import LOSSES, Loss, class_logits
from losstune.params import Float, Param
from losstune.task import CLASSIFICATION

_TINY = 1e-12  # keeps d/dp (1 - p)^gamma finite where p_t rounds to exactly 1


@LOSSES.register("focal")
@dataclass(frozen=True)
class Focal(Loss):
    """Down-weights well-classified rows by ``(1 - p_t)^gamma``; ``gamma = 0`` is CE.

    ``alpha`` (binary only, not searched) weights positives by ``alpha`` and negatives by
    ``1 - alpha``; the paper's detection setting is ``gamma = 2, alpha = 0.25``. ``gamma``
    lies in ``[0, 20]``: the paper tries up to 5, and at 20 a row at ``p_t = 0.5`` already
    weighs 1e-6, so larger values silence every row the model is not sure of yet.
    """

    gamma: float = hyperparameter(2.0, low=0.0, high=20.0)
    alpha: float | None = hyperparameter(None, low=0.0, high=1.0, optional=True)

    tasks = CLASSIFICATION

    @classmethod
    def space(cls) -> dict[str, Param]:
        return {"gamma": Float(0.0, 5.0)}

    def __call__(self, outputs: Tensor, target: Tensor) -> Tensor:
        if self.alpha is not None and outputs.ndim != 1:
            raise ValueError(
                f"focal: hyperparameter 'alpha' ({self.alpha}) is binary-only, but the outputs "
                f"have shape {tuple(outputs.shape)} (multiclass); set alpha to None, or use a "
                "class weighting scheme for multiclass imbalance."
            )
        log_p = torch.log_softmax(class_logits(outputs), dim=1)
        log_pt = log_p.gather(1, target.unsqueeze(1)).squeeze(1)
        one_minus_pt = (-torch.expm1(log_pt)).clamp_min(_TINY)
        loss = -(one_minus_pt**self.gamma) * log_pt
        if self.alpha is None:
            return loss
        alpha_t = torch.where(target == 1, self.alpha, 1.0 - self.alpha)
        return alpha_t.to(loss.dtype) * loss
