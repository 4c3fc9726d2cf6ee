"""A search space as Optuna define-by-run suggestions.

Each active path is suggested under its dotted name, so a conditional child
(``loss.focal.gamma``) is its own Optuna parameter with one fixed distribution: TPE's
multivariate, grouped mode models each branch of the tree separately and never sees a
parameter change range between trials. Fixed values are returned, not suggested, so they
never appear as Optuna parameters. Imported explicitly (``import optuna`` happens here only).

Example:
    >>> import optuna
    >>> from losstune.spaces import default_space
    >>> space = default_space("binary")
    >>> study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    >>> config = suggest(study.ask(), space)
    >>> space.contains(config)
    True
"""

from __future__ import annotations

from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from losstune.params import Choice, Fixed, Float, Int, Param
from losstune.spaces.space import SearchSpace


def suggest(trial: optuna.Trial, space: SearchSpace) -> dict[str, Any]:
    """The config for ``trial``: every active path suggested under its own name."""

    def pick(path: str, param: Param) -> Any:
        if isinstance(param, Float):
            return trial.suggest_float(path, param.low, param.high, log=param.log)
        if isinstance(param, Int):
            return trial.suggest_int(path, param.low, param.high, log=param.log)
        if isinstance(param, Choice):
            return trial.suggest_categorical(path, param.options)
        return param.value

    return space.sample(pick)


def distributions(space: SearchSpace) -> dict[str, BaseDistribution]:
    """Every searched path (active or not) as an Optuna distribution: for ``ask`` with fixed
    distributions, or to build a ``FrozenTrial`` from past results."""
    return {
        path: distribution(param)
        for path, param in space.paths().items()
        if not isinstance(param, Fixed)
    }


def distribution(param: Param) -> BaseDistribution:
    """The Optuna distribution of one searched parameter (a Fixed one has none)."""
    if isinstance(param, Float):
        return FloatDistribution(param.low, param.high, log=param.log)
    if isinstance(param, Int):
        return IntDistribution(param.low, param.high, log=param.log)
    if isinstance(param, Choice):
        return CategoricalDistribution(param.options)
    raise ValueError(f"{param!r} is fixed, not searched; it has no Optuna distribution.")
