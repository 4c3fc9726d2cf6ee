"""Generalized cross-entropy (Zhang & Sabuncu 2018, "Generalized Cross Entropy Loss for Training
Deep Neural Networks with Noisy Labels", arXiv:1805.07836).

``L_q = (1 - p_y^q) / q``: a Box-Cox interpolation between CE (``q -> 0``) and MAE on
probabilities (``q = 1``, see :mod:`~losstune.objectives.losses.mae_probs`), trading CE's fast
fitting for MAE's robustness to label noise.

``p_y^q`` is computed as ``exp(q * log_softmax)`` and ``1 - exp(.)`` as ``-expm1(.)``: the
gradient stays finite when ``p_y`` underflows, and small ``q`` keeps full precision.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from losstune._hyper import hyperparameter
from losstune.objectives.base import LOSSES, Loss, class_logits
from losstune.params import Float, Param
from losstune.task import CLASSIFICATION


@LOSSES.register("gce")
@dataclass(frozen=True)
class GeneralizedCrossEntropy(Loss):
    """``(1 - p_y^q) / q``, with ``q`` in ``(0, 1]`` (the paper's default is 0.7)."""

    q: float = hyperparameter(0.7, low=0.0, high=1.0, low_open=True)

    tasks = CLASSIFICATION

    @classmethod
    def space(cls) -> dict[str, Param]:
        return {"q": Float(0.1, 1.0)}

    def __call__(self, outputs: Tensor, target: Tensor) -> Tensor:
        log_p = torch.log_softmax(class_logits(outputs), dim=1)
        log_py = log_p.gather(1, target.unsqueeze(1)).squeeze(1)
        return -torch.expm1(self.q * log_py) / self.q
