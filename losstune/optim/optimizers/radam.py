"""RAdam (Liu et al. 2020, "On the Variance of the Adaptive Learning Rate and Beyond",
arXiv:1908.03265).

Adam whose adaptive step is switched on only once the second-moment estimate's variance is
tractable, a built-in warm-up; weight decay is decoupled as in AdamW.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.optim.optimizer import ParamsT

from losstune.optim.base import OPTIMIZERS
from losstune.optim.optimizers._adam_family import AdamFamily


@OPTIMIZERS.register("radam")
@dataclass(frozen=True)
class RAdamFactory(AdamFamily):
    """``torch.optim.RAdam`` with decoupled weight decay."""

    def build(self, params: ParamsT) -> torch.optim.Optimizer:
        return torch.optim.RAdam(params, decoupled_weight_decay=True, **self.adam_kwargs())
