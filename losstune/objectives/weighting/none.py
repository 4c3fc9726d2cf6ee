"""No reweighting: every row counts the same (the baseline every scheme is compared with)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from losstune.objectives.weighting.base import WEIGHTINGS, Weighting
from losstune.task import ALL_TASKS


@WEIGHTINGS.register("none")
@dataclass(frozen=True)
class NoWeighting(Weighting):
    """All weights 1, so the objective is the plain mean loss."""

    tasks = ALL_TASKS

    def __call__(
        self,
        losses: Tensor,
        target: Tensor,
        *,
        class_counts: Tensor | None,
        progress: float,
    ) -> Tensor:
        return torch.ones_like(losses)
