"""Warmup-stable-decay (Hu et al. 2024, "MiniCPM: Unveiling the Potential of Small Language
Models with Scalable Training Strategies", arXiv:2404.06395).

Warm-up, a long flat stretch at the full learning rate, then a linear decay to
``min_lr_ratio`` over the last ``decay`` fraction of the run.
"""

from __future__ import annotations

from dataclasses import dataclass

from losstune._hyper import hyperparameter
from losstune.optim.base import SCHEDULES
from losstune.optim.schedules._warmup import WarmupSchedule, progress


@SCHEDULES.register("wsd")
@dataclass(frozen=True)
class WarmupStableDecaySchedule(WarmupSchedule):
    """Warm-up, constant, then linear decay over the last ``decay`` of the run."""

    decay: float = hyperparameter(0.2, low=0.0, high=1.0, low_open=True)
    min_lr_ratio: float = hyperparameter(0.0, low=0.0, high=1.0)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.warmup + self.decay > 1:
            raise ValueError(
                f"wsd: warmup ({self.warmup}) + decay ({self.decay}) = "
                f"{self.warmup + self.decay} is more than the whole run; lower one so they "
                "sum to at most 1."
            )

    def after_warmup(self, step: int, warmup_steps: int, total_steps: int) -> float:
        last = total_steps - 1
        decay_start = max(warmup_steps, last - max(round(self.decay * total_steps), 1))
        return 1 - (1 - self.min_lr_ratio) * progress(step, decay_start, last)
