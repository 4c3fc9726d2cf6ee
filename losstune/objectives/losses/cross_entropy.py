"""Cross-entropy: the default classification loss, ``-log softmax(z)_y``."""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor

from losstune.objectives.base import LOSSES, Loss, class_logits
from losstune.task import CLASSIFICATION


@LOSSES.register("cross_entropy")
@dataclass(frozen=True)
class CrossEntropy(Loss):
    """Plain cross-entropy on (temperature-scaled) logits; binary logits use ``[0, z]``."""

    tasks = CLASSIFICATION

    def __call__(self, outputs: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(class_logits(outputs), target, reduction="none")
