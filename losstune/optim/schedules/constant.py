"""Constant learning rate after an optional linear warm-up (Goyal et al. 2017, "Accurate,
Large Minibatch SGD: Training ImageNet in 1 Hour", arXiv:1706.02677, for the warm-up)."""

from __future__ import annotations

from dataclasses import dataclass

from losstune.optim.base import SCHEDULES
from losstune.optim.schedules._warmup import WarmupSchedule


@SCHEDULES.register("constant")
@dataclass(frozen=True)
class ConstantSchedule(WarmupSchedule):
    """Multiplier 1 after warm-up, to the end of the run."""

    def after_warmup(self, step: int, warmup_steps: int, total_steps: int) -> float:
        return 1.0
