"""NAdam (Dozat 2016, "Incorporating Nesterov Momentum into Adam", ICLR workshop).

Adam with a Nesterov look-ahead on the first moment; weight decay is decoupled as in AdamW.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.optim.optimizer import ParamsT

from losstune.optim.base import OPTIMIZERS
from losstune.optim.optimizers._adam_family import AdamFamily


@OPTIMIZERS.register("nadam")
@dataclass(frozen=True)
class NAdamFactory(AdamFamily):
    """``torch.optim.NAdam`` with decoupled weight decay."""

    def build(self, params: ParamsT) -> torch.optim.Optimizer:
        return torch.optim.NAdam(params, decoupled_weight_decay=True, **self.adam_kwargs())
