"""Ray Tune schedulers (when to stop a trial on Ray) by name, like Optuna's pruners."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from losstune._registry import Registry


@dataclass(frozen=True)
class SchedulerSettings:
    """What a scheduler is built with: the epochs of the longest trial, the epochs every
    trial runs before it may be stopped, the search seed."""

    max_t: int
    grace_period: int = 2
    seed: int = 0


RAY_SCHEDULERS: Registry[Callable[[SchedulerSettings], Any]] = Registry("Ray Tune scheduler")


@RAY_SCHEDULERS.register("asha")
def _asha(settings: SchedulerSettings) -> Any:
    """ASHA on the epochs: ``grace_period`` epochs first, reduction factor 3."""
    from ray.tune.schedulers import ASHAScheduler

    return ASHAScheduler(
        time_attr="training_iteration",
        max_t=settings.max_t,
        grace_period=min(settings.grace_period, settings.max_t),
        reduction_factor=3,
    )


@RAY_SCHEDULERS.register("median")
def _median(settings: SchedulerSettings) -> Any:
    """Ray's median stopping rule, like Optuna's median pruner (5 epochs, 5 trials)."""
    from ray.tune.schedulers import MedianStoppingRule

    return MedianStoppingRule(
        time_attr="training_iteration", grace_period=5, min_samples_required=5
    )


@RAY_SCHEDULERS.register("curve")
def _curve(settings: SchedulerSettings) -> Any:
    """Learning-curve extrapolation (:class:`~losstune.scaling.CurveStoppingScheduler`)."""
    from losstune.scaling import CurveStoppingScheduler

    return CurveStoppingScheduler(max_t=settings.max_t, seed=settings.seed)


@RAY_SCHEDULERS.register("none")
def _none(settings: SchedulerSettings) -> Any:
    """Every trial runs to its end."""
    from ray.tune.schedulers import FIFOScheduler

    return FIFOScheduler()


def check_scheduler(pruner: Any) -> None:
    """Refuse an Optuna pruner instance or an unknown name, before Ray starts."""
    if pruner is None or isinstance(pruner, str):
        RAY_SCHEDULERS.get(pruner or "none")
        return
    if type(pruner).__module__.startswith("optuna"):
        raise ValueError(
            f"backend='ray' stops trials with a Ray Tune scheduler, not the Optuna pruner "
            f"{type(pruner).__name__}; pass one of {', '.join(RAY_SCHEDULERS.names())} or a "
            "ray.tune.schedulers.TrialScheduler."
        )


def make_scheduler(pruner: Any, settings: SchedulerSettings) -> Any:
    """The scheduler named ``pruner`` (None: ``"none"``), or the given instance."""
    if pruner is None or isinstance(pruner, str):
        return RAY_SCHEDULERS.get(pruner or "none")(settings)
    return pruner
