"""Adafactor (Shazeer & Stern 2018, "Adafactor: Adaptive Learning Rates with Sublinear Memory
Cost", arXiv:1804.04235).

Factors the second-moment estimate of a matrix into row and column statistics and keeps no
first moment, so it has no momentum: schedules that cycle momentum leave it alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch.optim.optimizer import ParamsT

from losstune._hyper import hyperparameter
from losstune.optim.base import OPTIMIZERS, OptimizerFactory, learning_rate, weight_decay
from losstune.params import Float, Param


@OPTIMIZERS.register("adafactor")
@dataclass(frozen=True)
class AdafactorFactory(OptimizerFactory):
    """``torch.optim.Adafactor``.

    Args:
        lr: step size (torch default 1e-2).
        beta2_decay: the second-moment decay at step t is ``1 - t ** beta2_decay``, in
            ``[-1, 0]``: -1 is the exact running mean of the squared gradients; below it
            early gradients outweigh recent ones, which no schedule wants.
        eps: floor on the relative step scale (torch's ``eps[1]``), in ``[0, 1]``: at 1 the
            step is no longer relative to the parameter's RMS at all.
        d: clipping threshold on the update's RMS, in ``[1, 1000]``: past ~10 it never
            clips, so larger values only mean "off".
        weight_decay: decoupled weight decay.

    Its step is scaled by each parameter's RMS, so under μP it has a rule of its own
    (``losstune.scaling.mup.adafactor_rule``).
    """

    update_rule: ClassVar[str] = "adafactor"

    lr: float = learning_rate(1e-2)
    beta2_decay: float = hyperparameter(-0.8, low=-1.0, high=0.0)
    eps: float = hyperparameter(1e-3, low=0.0, high=1.0)
    d: float = hyperparameter(1.0, low=1.0, high=1e3)
    weight_decay: float = weight_decay(0.0)

    @classmethod
    def space(cls) -> dict[str, Param]:
        return {"lr": Float(1e-4, 3e-2, log=True), "weight_decay": Float(1e-6, 1e-1, log=True)}

    def build(self, params: ParamsT) -> torch.optim.Optimizer:
        return torch.optim.Adafactor(
            params,
            lr=self.lr,
            beta2_decay=self.beta2_decay,
            eps=(None, self.eps),
            d=self.d,
            weight_decay=self.weight_decay,
        )
