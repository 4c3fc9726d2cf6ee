"""Symmetric cross-entropy (Wang et al. 2019, "Symmetric Cross Entropy for Robust Learning with
Noisy Labels", arXiv:1908.06112).

``SCE = alpha * CE + beta * RCE``. The reverse cross-entropy ``RCE = -sum_k p_k log q_k`` swaps
prediction ``p`` and one-hot label ``q``; with the paper's convention ``log 0 := A = -4`` it is
``RCE = -A * (1 - p_y) = 4 * (1 - p_y)``, a scaled MAE on probabilities. CE fits, RCE resists
label noise.

.. note::
    The authors' code clamps the one-hot label at ``1e-4``, i.e. ``A = log(1e-4) ~ -9.21``, not
    ``-4``. That only rescales ``beta`` by ~2.3; this module follows the paper (``A = -4``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from losstune._hyper import hyperparameter
from losstune.objectives.base import LOSSES, Loss, class_logits
from losstune.params import Float, Param
from losstune.task import CLASSIFICATION

LOG_ZERO = -4.0  # the paper's A: the value log 0 is clipped to in the reverse cross-entropy


@LOSSES.register("symmetric_ce")
@dataclass(frozen=True)
class SymmetricCrossEntropy(Loss):
    """``alpha * CE + beta * 4 * (1 - p_y)``; defaults are the paper's CIFAR-10 setting.

    Both weights lie in ``[0, 100]``: the paper's largest is ``alpha = 6`` (CIFAR-100), and
    only their ratio and a learning-rate factor matter, so beyond 100 it is a typo."""

    alpha: float = hyperparameter(0.1, low=0.0, high=100.0)
    beta: float = hyperparameter(1.0, low=0.0, high=100.0)

    tasks = CLASSIFICATION

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.alpha == 0.0 and self.beta == 0.0:
            raise ValueError(
                f"{self.name}: hyperparameters 'alpha' and 'beta' are both 0, which leaves no "
                "loss; set at least one of them > 0."
            )

    @classmethod
    def space(cls) -> dict[str, Param]:
        return {"alpha": Float(0.1, 1.0, log=True), "beta": Float(0.1, 1.0, log=True)}

    def __call__(self, outputs: Tensor, target: Tensor) -> Tensor:
        log_p = torch.log_softmax(class_logits(outputs), dim=1)
        log_py = log_p.gather(1, target.unsqueeze(1)).squeeze(1)
        rce = LOG_ZERO * torch.expm1(log_py)  # -A * (1 - p_y)
        return -self.alpha * log_py + self.beta * rce
