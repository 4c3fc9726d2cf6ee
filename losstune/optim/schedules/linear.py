"""Linear decay after a linear warm-up (the schedule of BERT, Devlin et al. 2019, "BERT:
Pre-training of Deep Bidirectional Transformers for Language Understanding", arXiv:1810.04805).
"""

from __future__ import annotations

from dataclasses import dataclass

from losstune._hyper import hyperparameter
from losstune.optim.base import SCHEDULES
from losstune.optim.schedules._warmup import WarmupSchedule, progress


@SCHEDULES.register("linear")
@dataclass(frozen=True)
class LinearSchedule(WarmupSchedule):
    """Warm-up, then a straight line from 1 to ``min_lr_ratio`` at the last step."""

    min_lr_ratio: float = hyperparameter(0.0, low=0.0, high=1.0)

    def after_warmup(self, step: int, warmup_steps: int, total_steps: int) -> float:
        return 1 - (1 - self.min_lr_ratio) * progress(step, warmup_steps, total_steps - 1)
