"""The shared warm-up arithmetic of every ``LambdaLR`` schedule, and their base class.

Conventions (step = optimizer step, 0-based, of a run of ``total_steps``):

- warm-up lasts ``W = round(warmup * total_steps)`` steps and ramps the multiplier linearly as
  ``(step + 1) / (W + 1)``, so no step runs at a learning rate of exactly 0 and step ``W`` is
  the first at the full learning rate (multiplier 1);
- a decay runs from its first step (multiplier 1) to the *last* step, ``total_steps - 1``,
  which runs at ``min_lr_ratio`` times the learning rate; later steps stay there.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from functools import partial

import torch
from torch.optim.lr_scheduler import LambdaLR

from losstune._hyper import hyperparameter
from losstune.optim.base import Schedule
from losstune.params import Float, Param


def check_total_steps(total_steps: int) -> int:
    """``total_steps`` if it is a whole number >= 1, else a ``ValueError`` naming it."""
    if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps < 1:
        raise ValueError(
            f"A schedule needs total_steps >= 1 (a whole number of optimizer steps); got "
            f"{total_steps!r}. Pass steps_per_epoch * epochs."
        )
    return total_steps


def warmup_steps(warmup: float, total_steps: int) -> int:
    """Number of warm-up steps: ``warmup`` of the run, leaving at least one step after it."""
    return min(round(warmup * total_steps), total_steps - 1)


def progress(step: int, start: int, end: int) -> float:
    """Linear position of ``step`` from ``start`` (0) to ``end`` (1), clamped to ``[0, 1]``."""
    return min(max((step - start) / max(end - start, 1), 0.0), 1.0)


@dataclass(frozen=True)
class WarmupSchedule(Schedule):
    """A ``LambdaLR`` schedule: linear warm-up over ``warmup`` of the run, then
    :meth:`after_warmup`."""

    warmup: float = hyperparameter(0.0, low=0.0, high=1.0, high_open=True)

    @classmethod
    def space(cls) -> dict[str, Param]:
        return {"warmup": Float(0.0, 0.1)}

    def build(
        self, optimizer: torch.optim.Optimizer, total_steps: int
    ) -> torch.optim.lr_scheduler.LRScheduler:
        check_total_steps(total_steps)
        return LambdaLR(optimizer, partial(self.multiplier, total_steps=total_steps))

    def multiplier(self, step: int, total_steps: int) -> float:
        """Learning rate at optimizer step ``step`` (0-based) over each group's base rate."""
        warm = warmup_steps(self.warmup, total_steps)
        if step < warm:
            return (step + 1) / (warm + 1)
        return self.after_warmup(step, warm, total_steps)

    @abstractmethod
    def after_warmup(self, step: int, warmup_steps: int, total_steps: int) -> float:
        """The multiplier from step ``warmup_steps`` (where it is 1) on."""
