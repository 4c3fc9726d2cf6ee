"""Mean absolute error on probabilities (Ghosh et al. 2017, "Robust Loss Functions under Label
Noise for Deep Neural Networks", arXiv:1712.09482).

Defined here as half the L1 distance between the softmax and the one-hot target,
``0.5 * |p - onehot(y)|_1 = 1 - p_y`` (the paper's ``|p - e_y|_1 = 2 - 2 p_y``, halved so the
loss lies in ``[0, 1]``). It is symmetric, hence robust to uniform label noise, but slow to fit.
It equals :mod:`generalized cross-entropy <losstune.objectives.losses.gce>` at ``q = 1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from losstune.objectives.base import LOSSES, Loss, class_logits
from losstune.task import CLASSIFICATION


@LOSSES.register("mae_probs")
@dataclass(frozen=True)
class MAEProbs(Loss):
    """``1 - p_y``: bounded and noise-robust; the same as ``gce`` with ``q = 1``."""

    tasks = CLASSIFICATION

    def __call__(self, outputs: Tensor, target: Tensor) -> Tensor:
        log_p = torch.log_softmax(class_logits(outputs), dim=1)
        log_py = log_p.gather(1, target.unsqueeze(1)).squeeze(1)
        return -torch.expm1(log_py)
