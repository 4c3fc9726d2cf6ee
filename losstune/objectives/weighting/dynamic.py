"""Dynamic loss-based sample reweighting (after Sow et al. 2025, "Dynamic Loss-Based Sample
Reweighting for Improved Large Language Model Pretraining", arXiv:2502.06733).

Each batch, rows are weighted from their own (detached) loss:
``w_i = N * softmax_i(sign * z_i / T)``, with ``z`` the z-scored batch losses (all weights are
1 when the losses are equal up to rounding). ``sign = +1`` up-weights hard rows
(``direction="up_hard"``: de-prioritise redundant, already-learnt rows, what the paper found
to work best); ``-1`` down-weights them (``"down_hard"``: robustness to noisy labels and
outliers). Weights are capped at ``w_max`` so a few rows cannot dominate, and are all 1 during
a warm-up fraction of training, while per-row losses are still uninformative. This
parametrization is ours, not one of the paper's named strategies (seed-catalogue §3.2).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from losstune._hyper import hyperparameter
from losstune.objectives.weighting.base import WEIGHTINGS, Weighting, before
from losstune.params import Choice, Float, Param
from losstune.task import ALL_TASKS

_REL_STD = 1e-6  # a spread below ~float32 rounding of the mean loss is noise, not difficulty


@WEIGHTINGS.register("dynamic")
@dataclass(frozen=True)
class Dynamic(Weighting):
    """Per-row weights ``N * softmax(sign * zscore(loss) / temperature)``, capped at ``w_max``.

    ``temperature`` lies in ``[0.01, 100]``: z-scores span a few units, so at 0.01 the weights
    are one-hot on the hardest row and at 100 uniform within a few percent (no weighting).
    ``w_max`` (a multiple of the mean weight 1) lies in ``[1, 1000]``: above the batch size
    it never binds, and 1000 is past every batch size the search tries.
    """

    direction: str = hyperparameter("up_hard", choices=("up_hard", "down_hard"))
    temperature: float = hyperparameter(1.0, low=0.01, high=100.0)
    w_max: float = hyperparameter(5.0, low=1.0, high=1000.0)
    switch = "warmup"

    warmup: float = hyperparameter(0.1, low=0.0, high=1.0, high_open=True)

    tasks = ALL_TASKS

    @classmethod
    def space(cls) -> dict[str, Param]:
        return {
            "direction": Choice(("up_hard", "down_hard")),
            "temperature": Float(0.1, 10.0, log=True),
            "w_max": Float(2.0, 10.0),
            "warmup": Float(0.0, 0.2),
        }

    def __call__(
        self,
        losses: Tensor,
        target: Tensor,
        *,
        class_counts: Tensor | None,
        progress: float,
    ) -> Tensor:
        if losses.numel() < 2:
            return torch.ones_like(losses)
        std, mean = torch.std_mean(losses, correction=0)
        spread = std > _REL_STD * mean.abs() + 1e-12  # false for NaN too
        sign = 1.0 if self.direction == "up_hard" else -1.0
        z = (losses - mean) / torch.where(spread, std, 1.0)
        weights = losses.numel() * torch.softmax(sign * z / self.temperature, dim=0)
        uniform = before(progress, self.warmup, losses) | ~spread
        return torch.where(uniform, 1.0, weights.clamp_max(self.w_max))
