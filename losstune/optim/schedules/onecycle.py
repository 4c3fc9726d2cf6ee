"""One-cycle policy (Smith & Topin 2019, "Super-Convergence: Very Fast Training of Neural
Networks Using Large Learning Rates", arXiv:1708.07120), via torch's ``OneCycleLR``.

The learning rate rises from ``lr / div_factor`` to each group's ``lr`` over the first
``pct_start`` of the run, then anneals (cosine) to ``lr / (div_factor * final_div_factor)`` at
the last step. Momentum (or Adam's ``beta1``) cycles the other way, between 0.95 and 0.85,
only where every group has one to cycle; optimizers without momentum (Adafactor, SGD with
``momentum=0``, Muon's mixed groups) keep theirs untouched.

The rise is snapped to a whole number of steps ``R`` (at least 2, leaving at least one to
fall), so the peak is hit exactly at step ``R - 1``, and torch never divides by zero (its
``OneCycleLR`` does when ``pct_start * total_steps == 1``). A run of fewer than 3 steps has no
room for a cycle and keeps each group's learning rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.optim.lr_scheduler import LambdaLR, OneCycleLR

from losstune._hyper import hyperparameter
from losstune.optim.base import SCHEDULES, Schedule
from losstune.optim.schedules._warmup import check_total_steps
from losstune.params import Float, Param


@SCHEDULES.register("onecycle")
@dataclass(frozen=True)
class OneCycleSchedule(Schedule):
    """One cycle peaking at each group's current learning rate after ``pct_start`` of the run.

    It starts at ``lr / div_factor`` (``[1, 1e4]``) and ends at ``lr / (div_factor *
    final_div_factor)`` (``[1, 1e8]``; torch's defaults are 25 and 1e4): past those bounds the
    start or the end is a learning rate of ~0, which the bounds already reach.
    """

    pct_start: float = hyperparameter(0.3, low=0.0, high=1.0, low_open=True, high_open=True)
    div_factor: float = hyperparameter(25.0, low=1.0, high=1e4)
    final_div_factor: float = hyperparameter(1e4, low=1.0, high=1e8)

    @classmethod
    def space(cls) -> dict[str, Param]:
        return {"pct_start": Float(0.05, 0.5)}

    def build(
        self, optimizer: torch.optim.Optimizer, total_steps: int
    ) -> torch.optim.lr_scheduler.LRScheduler:
        if check_total_steps(total_steps) < 3:
            return LambdaLR(optimizer, _constant)
        rise = min(max(round(self.pct_start * total_steps), 2), total_steps - 1)
        return OneCycleLR(
            optimizer,
            max_lr=[group["lr"] for group in optimizer.param_groups],
            total_steps=total_steps,
            pct_start=rise / total_steps,
            div_factor=self.div_factor,
            final_div_factor=self.final_div_factor,
            cycle_momentum=_has_momentum(optimizer),
        )


def _has_momentum(optimizer: torch.optim.Optimizer) -> bool:
    """Whether every group has the momentum ``OneCycleLR`` would cycle (it reads the kind,
    ``betas`` or ``momentum``, from ``optimizer.defaults``)."""
    groups = optimizer.param_groups
    if "betas" in optimizer.defaults:
        return all("betas" in group for group in groups)
    return "momentum" in optimizer.defaults and all(g.get("momentum", 0) > 0 for g in groups)


def _constant(step: int) -> float:
    return 1.0
