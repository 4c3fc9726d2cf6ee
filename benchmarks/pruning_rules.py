"""The pruning rules the benchmark compares, by name, each an Optuna pruner.

Every rule is built fresh for one replay (``rule.make(epochs, seed)``), because pruners keep
state (Ray's ASHA bracket, a curve pruner's random generator). Ray Tune's ASHA is Ray's own
bracket (``ray.tune.schedulers.async_hyperband._Bracket``) behind Optuna's pruner interface,
so every rule is replayed by the same loop; it needs no running Ray.

Example:
    >>> RULES.get("median").family
    'rank'
    >>> type(RULES.get("hyperband").make(epochs=30, seed=0)).__name__
    'HyperbandPruner'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import optuna

from losstune._registry import Registry

FAMILIES = ("baseline", "rank", "curve")


@dataclass(frozen=True)
class Rule:
    """One pruning rule of the benchmark.

    Attributes:
        name: its registry key and its label in the report.
        family: ``"baseline"`` (no pruning), ``"rank"`` (median, successive halving, ASHA...)
            or ``"curve"`` (learning-curve extrapolation).
        description: the settings, for the report.
        build: ``build(epochs, seed)`` returns a fresh pruner for one replay.
    """

    name: str
    family: str
    description: str
    build: Callable[[int, int], optuna.pruners.BasePruner]

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"Rule family {self.family!r} is unknown; use one of {FAMILIES}.")

    def make(self, epochs: int, seed: int) -> optuna.pruners.BasePruner:
        """A fresh pruner for a replay of ``epochs``-epoch trials, seeded with ``seed``."""
        if epochs < 1:
            raise ValueError(f"epochs must be >= 1; got {epochs}.")
        return self.build(epochs, seed)


RULES: Registry[Rule] = Registry("pruning rule")


def _register(rule: Rule) -> Rule:
    return RULES.register(rule.name)(rule)


class RayAshaPruner(optuna.pruners.BasePruner):
    """Ray Tune's ASHA rule (one bracket, ``AsyncHyperBandScheduler``'s defaults) as an
    Optuna pruner.

    Each report goes to Ray's ``_Bracket.on_result`` with the reward negated for a metric to
    minimise, exactly as ``AsyncHyperBandScheduler.on_trial_result`` does; at ``max_t`` the
    scheduler stops a trial as finished, so the last epoch never prunes.
    """

    def __init__(self, max_t: int, grace_period: int = 1, reduction_factor: float = 4) -> None:
        from ray.tune.schedulers.async_hyperband import _Bracket

        if not 1 <= grace_period <= max_t:
            raise ValueError(f"grace_period must be in 1..max_t={max_t}; got {grace_period}.")
        self.max_t = max_t
        self._bracket = _Bracket(grace_period, max_t, reduction_factor, s=0, stop_last_trials=True)

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        """Whether Ray's bracket says STOP for the trial's latest report."""
        from ray.tune.schedulers.trial_scheduler import TrialScheduler

        step = trial.last_step
        if step is None or step >= self.max_t:
            return False
        value = trial.intermediate_values[step]
        reward = value if study.direction == optuna.study.StudyDirection.MAXIMIZE else -value
        action = self._bracket.on_result(_RayTrialId(str(trial.number)), step, reward)
        return action == TrialScheduler.STOP


class _RayTrialId:
    """The one attribute of a Ray ``Trial`` that the bracket reads."""

    def __init__(self, trial_id: str) -> None:
        self.trial_id = trial_id


def _nop(epochs: int, seed: int) -> optuna.pruners.BasePruner:
    return optuna.pruners.NopPruner()


def _median(epochs: int, seed: int) -> optuna.pruners.BasePruner:
    from losstune.search.samplers import PRUNERS

    return PRUNERS.get("median")()


def _successive_halving(epochs: int, seed: int) -> optuna.pruners.BasePruner:
    return optuna.pruners.SuccessiveHalvingPruner()


def _hyperband(epochs: int, seed: int) -> optuna.pruners.BasePruner:
    return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=epochs)


def _asha(epochs: int, seed: int) -> optuna.pruners.BasePruner:
    return RayAshaPruner(max_t=epochs, grace_period=1, reduction_factor=4)


def _curve(delta: float) -> Callable[[int, int], optuna.pruners.BasePruner]:
    def build(epochs: int, seed: int) -> optuna.pruners.BasePruner:
        from losstune.scaling import CurvePruner

        return CurvePruner(delta=delta, max_resource=epochs, seed=seed)

    return build


_register(Rule("none", "baseline", "Optuna NopPruner: every trial runs all epochs", _nop))
_register(
    Rule(
        "median",
        "rank",
        "losstune's default: Optuna MedianPruner(n_startup_trials=5, n_warmup_steps=5)",
        _median,
    )
)
_register(
    Rule(
        "successive_halving",
        "rank",
        "Optuna SuccessiveHalvingPruner() defaults: min_resource='auto' (1 for 30 epochs), "
        "reduction_factor=4, min_early_stopping_rate=0",
        _successive_halving,
    )
)
_register(
    Rule(
        "hyperband",
        "rank",
        "Optuna HyperbandPruner(min_resource=1, max_resource=epochs), reduction_factor=3",
        _hyperband,
    )
)
_register(
    Rule(
        "asha",
        "rank",
        "Ray Tune ASHA: one _Bracket(grace_period=1, max_t=epochs, reduction_factor=4), "
        "rungs at epochs 1, 4, 16 (of 30)",
        _asha,
    )
)
for _delta in (0.01, 0.05, 0.1):
    _register(
        Rule(
            f"curve_{_delta:g}",
            "curve",
            f"losstune CurvePruner(delta={_delta:g}, max_resource=epochs), other settings "
            "default: prune when P(final beats the incumbent) < delta",
            _curve(_delta),
        )
    )


def ordered_names() -> list[str]:
    """Every rule name, baseline first, then rank rules, then curve rules (the report's
    order)."""
    return sorted(RULES.names(), key=lambda n: (FAMILIES.index(RULES.get(n).family), n))


def available(name: str) -> bool:
    """Whether rule ``name`` can be built here (the curve pruner may not exist yet)."""
    try:
        RULES.get(name).make(epochs=2, seed=0)
    except ImportError:
        return False
    return True
