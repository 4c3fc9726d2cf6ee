"""Cosine decay after a linear warm-up (Loshchilov & Hutter 2017, "SGDR: Stochastic Gradient
Descent with Warm Restarts", arXiv:1608.03983, without the restarts).

The multiplier falls from 1 at the end of warm-up to ``min_lr_ratio`` at the last step along
half a cosine; it is ``(1 + min_lr_ratio) / 2`` half-way through the decay.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from losstune._hyper import hyperparameter
from losstune.optim.base import SCHEDULES
from losstune.optim.schedules._warmup import WarmupSchedule, progress


@SCHEDULES.register("cosine")
@dataclass(frozen=True)
class CosineSchedule(WarmupSchedule):
    """Warm-up, then cosine decay to ``min_lr_ratio`` times the learning rate."""

    min_lr_ratio: float = hyperparameter(0.0, low=0.0, high=1.0)

    def after_warmup(self, step: int, warmup_steps: int, total_steps: int) -> float:
        done = progress(step, warmup_steps, total_steps - 1)
        return self.min_lr_ratio + (1 - self.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * done))
