"""Label smoothing (Szegedy et al. 2016, "Rethinking the Inception Architecture for Computer
Vision", arXiv:1512.00567; analysed by Müller et al. 2019, "When Does Label Smoothing Help?").

Cross-entropy against ``(1 - eps) * onehot(y) + eps / K``: it caps how confident the model is
rewarded for being, which often improves calibration. Binary logits use the two classes
``[0, z]``, so ``K = 2``. Written as torch's formula, ``(1 - eps) * nll + eps * mean_c(-log p_c)``,
so that ``eps`` may be a tensor (one value per population member).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from losstune._hyper import hyperparameter
from losstune.objectives.base import LOSSES, Loss, class_logits
from losstune.params import Float, Param
from losstune.task import CLASSIFICATION


@LOSSES.register("label_smoothing")
@dataclass(frozen=True)
class LabelSmoothing(Loss):
    """Cross-entropy with smoothed targets; equals ``F.cross_entropy(label_smoothing=eps)``."""

    eps: float = hyperparameter(0.1, low=0.0, high=1.0, high_open=True)

    tasks = CLASSIFICATION

    @classmethod
    def space(cls) -> dict[str, Param]:
        return {"eps": Float(0.0, 0.3)}

    def __call__(self, outputs: Tensor, target: Tensor) -> Tensor:
        log_p = torch.log_softmax(class_logits(outputs), dim=1)
        nll = -log_p.gather(1, target.unsqueeze(1)).squeeze(1)
        smooth = -log_p.sum(dim=1)
        return (1.0 - self.eps) * nll + (self.eps / log_p.shape[1]) * smooth
