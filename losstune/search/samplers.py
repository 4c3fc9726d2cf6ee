"""Samplers (what to try next) and pruners (when to stop a trial), by name.

Both are Optuna's; the names are what the API, the CLI and a recipe's provenance use. An
Optuna sampler or pruner instance is accepted as is.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

from losstune._registry import Registry

if TYPE_CHECKING:
    import optuna

SAMPLERS: Registry[Callable[[int], optuna.samplers.BaseSampler]] = Registry("sampler")
PRUNERS: Registry[Callable[[], optuna.pruners.BasePruner]] = Registry("pruner")


@SAMPLERS.register("tpe")
def _tpe(seed: int) -> optuna.samplers.BaseSampler:
    """Multivariate TPE over the conditional space (``group=True`` models each branch)."""
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            multivariate=True, group=True, n_startup_trials=10, seed=seed
        )


@SAMPLERS.register("random")
def _random(seed: int) -> optuna.samplers.BaseSampler:
    import optuna

    return optuna.samplers.RandomSampler(seed=seed)


@PRUNERS.register("median")
def _median() -> optuna.pruners.BasePruner:
    """Stop a trial whose epoch-``k`` value is worse than the median of earlier trials at
    ``k``, after 5 finished trials and from epoch 5 on."""
    import optuna

    return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=5)


@PRUNERS.register("curve")
def _curve() -> optuna.pruners.BasePruner:
    """Stop a trial when its extrapolated learning curve (an ensemble of parametric curve
    families fitted to its epochs so far) gives it < 5% chance of finishing better than the
    best complete trial; from its 5th epoch on, after 3 complete trials."""
    from losstune.scaling import CurvePruner

    return CurvePruner()


@PRUNERS.register("none")
def _none() -> optuna.pruners.BasePruner:
    import optuna

    return optuna.pruners.NopPruner()


def make_sampler(
    sampler: str | optuna.samplers.BaseSampler, seed: int
) -> optuna.samplers.BaseSampler:
    """The sampler named ``sampler`` seeded with ``seed``, or the given instance."""
    if isinstance(sampler, str):
        return SAMPLERS.get(sampler)(seed)
    return sampler


def make_pruner(pruner: str | optuna.pruners.BasePruner | None) -> optuna.pruners.BasePruner:
    """The pruner named ``pruner`` (``None`` means ``"none"``), or the given instance."""
    if pruner is None:
        pruner = "none"
    if isinstance(pruner, str):
        return PRUNERS.get(pruner)()
    return pruner
