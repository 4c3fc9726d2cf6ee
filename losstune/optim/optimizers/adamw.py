"""AdamW (Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization", arXiv:1711.05101).

Adam with weight decay applied to the weights directly rather than through the gradient: the
default optimizer of losstune.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.optim.optimizer import ParamsT

from losstune.optim.base import OPTIMIZERS
from losstune.optim.optimizers._adam_family import AdamFamily


@OPTIMIZERS.register("adamw")
@dataclass(frozen=True)
class AdamWFactory(AdamFamily):
    """``torch.optim.AdamW``; defaults lr 1e-3, weight decay 1e-2."""

    def build(self, params: ParamsT) -> torch.optim.Optimizer:
        return torch.optim.AdamW(params, **self.adam_kwargs())
