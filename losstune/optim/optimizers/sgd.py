"""SGD with (optionally Nesterov) momentum (Sutskever et al. 2013, "On the importance of
initialization and momentum in deep learning", ICML).

Weight decay is torch's coupled L2 term, added to the gradient.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch.optim.optimizer import ParamsT

from losstune._hyper import hyperparameter
from losstune.optim.base import OPTIMIZERS, OptimizerFactory, learning_rate, weight_decay
from losstune.params import Choice, Float, Param


@OPTIMIZERS.register("sgd")
@dataclass(frozen=True)
class SGDFactory(OptimizerFactory):
    """``torch.optim.SGD``; Nesterov momentum needs ``momentum > 0``. Under μP it follows
    ``mup.MuSGD``'s learning-rate rule."""

    update_rule: ClassVar[str] = "sgd"

    lr: float = learning_rate(1e-2)
    momentum: float = hyperparameter(0.9, low=0.0, high=1.0, high_open=True)
    nesterov: bool = hyperparameter(False, kind=bool)
    weight_decay: float = weight_decay(0.0)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.nesterov and self.momentum == 0:
            raise ValueError(
                "sgd: nesterov=True needs momentum > 0; got momentum=0.0. "
                "Set momentum (e.g. 0.9) or nesterov=False."
            )

    @classmethod
    def space(cls) -> dict[str, Param]:
        return {
            "lr": Float(1e-3, 0.3, log=True),
            "momentum": Float(0.8, 0.99),
            "nesterov": Choice((True, False)),
            "weight_decay": Float(1e-6, 1e-2, log=True),
        }

    def build(self, params: ParamsT) -> torch.optim.Optimizer:
        return torch.optim.SGD(
            params,
            lr=self.lr,
            momentum=self.momentum,
            nesterov=self.nesterov,
            weight_decay=self.weight_decay,
        )
